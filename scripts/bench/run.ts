/**
 * `npm run bench`: footprint and cost of SesSmtpUser, next to the peer
 * construct @pepperize/cdk-ses-smtp-credentials (a devDependency only for
 * this benchmark) and a bare aws-cdk-lib stack. Not a test: it asserts
 * nothing, it prints markdown tables and writes bench-results.json.
 *
 * This runner orders the measurements, judges the targets and prints the
 * report. Each measurement is its own file:
 * 1. footprint.ts (with role-policies.ts, resolver.ts): resources for 1, 10
 *    and 100 users, fixed overhead and per user, users under CloudFormation's
 *    500-resource limit, and the users at which the handler role's policies
 *    break an IAM quota (10,240 characters of inline policy per role, 6,144
 *    per managed policy).
 * 2. assets.ts: Lambda asset bytes, raw and zipped.
 * 3. synth-cost.ts (running synth-child.ts): wall time and peak RSS of a
 *    child process that synthesizes, alternating kinds, medians and ratios
 *    to the bare stack.
 * 4. handler-calls.ts: AWS calls per request against moto; cold-import.ts:
 *    cold import time.
 * 5. template-size.ts: bytes of the self-contained template (handler inline)
 *    at 1, 100 and 123 users against CloudFormation's template limits.
 * 6. rotation-capacity.ts: users per stack when every user rotates.
 * 7. scale.ts (with peer-handler.ts): N Creates at once, then N Deletes,
 *    while an IAM token bucket throttles, for ours and the peer: successes,
 *    wall time, calls per request, keys and owner tags left.
 * stacks.ts builds the stacks measured; limits.ts holds the quotas and
 * targets, targets.ts judges them; common.ts the shared helpers.
 *
 * No traffic leaves 127.0.0.1: moto and the ResponseURL server listen there,
 * and child processes run with AWS_EC2_METADATA_DISABLED=true.
 *
 * Environment: BENCH_RUNS (timed synth runs per kind and size, default 15),
 * BENCH_IMPORT_RUNS (cold imports per handler, default 15), MOTO_PYTHON;
 * BENCH_ONLY=template-size prints only the template size table;
 * BENCH_SCALE_N (users, default 20,60,164) and BENCH_SCALE_RATES (IAM calls/s,
 * default unlimited,10,2) and BENCH_SCALE_CONCURRENCY (requests in flight, as a
 * reserved concurrency would cap them; default unlimited) select the scale matrix (the full default takes
 * about 10 minutes, most of it ours at 164 users and 2/s);
 * BENCH_ONLY=footprint prints only ours' footprint, as JSON, and stops;
 * BENCH_ONLY=scale runs and prints only the scale matrix;
 * BENCH_ONLY=synth runs and prints only the synth cost table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AssetSize, HAS_ZIP, assetSize, lambdaAssets } from './assets';
import { coldImports } from './cold-import';
import {
  IMPORT_RUNS, PEER_HANDLER_DIR, PEER_PACKAGE, ROOT, RUNS, SIZES, SYNTH_SIZES, kb, log, round, table, tmpRoot,
} from './common';
import { Footprint, footprint } from './footprint';
import { handlerCalls } from './handler-calls';
import { IAM_LIMITS, TEMPLATE_LIMITS } from './limits';
import { rotationCapacity } from './rotation-capacity';
import { describePolicies } from './role-policies';
import { BENCH_ACCOUNT, BENCH_REGION, benchUserName } from './stacks';
import { synthCost } from './synth-cost';
import { judgeTargets } from './targets';
import { TemplateSize, templateSizes } from './template-size';
import { ScaleResult, scaleMatrix, scaleSection } from './scale-report';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

const RESULTS_FILE = path.join(ROOT, 'bench-results.json');

/** CloudFormation reads among a request's calls. */
function cfnReads(calls: string[]): number {
  return calls.filter((c) => c === 'DescribeStackEvents' || c === 'DescribeStackResource').length;
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`temp dir ${tmpRoot}`);

  if (process.env.BENCH_ONLY === 'scale') {
    const scale = await scaleMatrix();
    fs.writeFileSync(path.join(ROOT, 'bench-scale-results.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), scale }, null, 2)}\n`);
    process.stdout.write(`${scaleSection(scale)}\n`);
    return;
  }
  if (process.env.BENCH_ONLY === 'synth') {
    process.stdout.write(`${synthSection(await synthCost())}\n`);
    return;
  }
  log('template size: self-contained stacks at 1/100/123 users');
  const sizes = await templateSizes();
  if (process.env.BENCH_ONLY === 'template-size') {
    process.stdout.write(`${templateSizeSection(sizes)}\n`);
    return;
  }

  log('footprint: synthesizing 1/10/100 users (and the limits) for ours and the peer');
  const ours = await footprint('ours');
  if (process.env.BENCH_ONLY === 'footprint') {
    // Quick look while tuning the template; the full run measures everything.
    const r = ours.result;
    console.log(JSON.stringify({ resources: r.resources, overflowPolicies: r.overflowPolicies, maxUsersUnder500: r.maxUsersUnder500, maxUsersWithinIam: r.rolePolicy.maxUsersWithinIam, realisticMaxUsers: r.realisticMaxUsers, bindingBound: r.bindingBound }, null, 2));
    return;
  }
  const peer = await footprint('peer');

  log('assets');
  const oursAssets = lambdaAssets(ours.templates.get(1)!.outdir);
  const peerAssets = lambdaAssets(peer.templates.get(1)!.outdir);
  const oursSource = assetSize(path.join(ROOT, 'lib', 'handler'), 'lib/handler (source)');
  const peerHandler = assetSize(PEER_HANDLER_DIR, `${PEER_PACKAGE} credentials-handler.lambda`);
  const sum = (list: AssetSize[], key: 'rawBytes' | 'zipBytes') => list.reduce((s, a) => s + a[key], 0);

  log('handler: Create / Update / Delete against moto');
  const handler = await handlerCalls();
  log('handler: the same with 2,000 other events in the stack\'s log');
  const busyHandler = await handlerCalls(2_000);
  log(`handler: cold import x${IMPORT_RUNS}`);
  const imports = coldImports({
    ours: path.join(ROOT, 'lib', 'handler', 'index.js'),
    peer: path.join(PEER_HANDLER_DIR, 'index.js'),
  });

  log('rotation: users per stack with rotateEvery');
  const rotation = await rotationCapacity();

  const scale: ScaleResult[] = await scaleMatrix();
  const synth = await synthCost();
  const targets = judgeTargets(ours.result, oursAssets, synth.summary, handler, sizes, synth.comparisons, scale);

  // ---- report
  const fp = (name: string, f: Footprint) => [
    name, f.resources[1], f.resources[10], `${f.resources[100]}${f.overflowPolicies[100] ? ` (${f.overflowPolicies[100]} overflow)` : ''}`,
    f.fixedOverhead, f.marginalPerUser, f.averagePerUser, f.maxUsersUnder500,
    `${f.rolePolicy.totalCharacters[1]} / ${f.rolePolicy.totalCharacters[10]} / ${f.rolePolicy.totalCharacters[100]}`,
    f.rolePolicy.totalExceeds10240At, f.rolePolicy.maxUsersWithinIam, `**${f.realisticMaxUsers}**`,
  ];
  const iamRow = (name: string, f: Footprint) => [
    name,
    ...SIZES.map((n) => `${f.rolePolicy.inlineCharacters[n]} inline + ${f.rolePolicy.managedPolicies[n]} managed`),
    `${f.rolePolicy.maxUsersWithinIam}: ${describePolicies(f.rolePolicy.atMax)}`,
    `${f.rolePolicy.maxUsersWithinIam + 1}: ${f.rolePolicy.atMaxPlusOne?.violation ?? 'over 500 resources'}`,
    f.bindingBound,
  ];
  const sections: string[] = [];
  sections.push(`# npm run bench — ${new Date().toISOString()}\n\nnode ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.release()}`);
  sections.push(`## Template footprint (one stack, existing users via iam.User.fromUserName; AWS::CDK::Metadata not counted)\n\n${table(
    ['construct', '1 user', '10 users', '100 users', 'fixed', 'per user (marginal)', 'per user (avg 1→100)', 'users ≤ 500 resources', 'handler role policy chars, all (1/10/100)', 'all in one inline policy > 10,240 at', 'users within IAM quotas', 'realistic users/stack'],
    [fp('ours (SesSmtpUser)', ours.result), fp(`peer (${PEER_PACKAGE})`, peer.result)],
  )}\n\n${table(
    ['handler role', '1 user', '10 users', '100 users', 'last that fits IAM', 'first that does not', 'binds first'],
    [iamRow('ours', ours.result), iamRow('peer', peer.result)],
  )}\n\n- ours, 1 user: ${JSON.stringify(ours.result.byType[1])}; 100 users: ${JSON.stringify(ours.result.byType[100])}\n- peer, 1 user: ${JSON.stringify(peer.result.byType[1])}; 100 users: ${JSON.stringify(peer.result.byType[100])}\n- The peer accepts an existing iam.IUser (creates users: ${peer.result.createsUsers}); it adds the CDK Provider framework (its own function) and two LogRetention custom resources. Its role policy lists users and secrets through Lazy lists, which CDK's split cannot size, so it stays one inline policy.\n- IAM sizes: non-whitespace characters of the handler role's policies, resolved with account ${BENCH_ACCOUNT}, ${BENCH_REGION}, users ${benchUserName(0)}…, secret ARNs arn:aws:secretsmanager:${BENCH_REGION}:${BENCH_ACCOUNT}:secret:SmtpSecretXXXXXXXX-AbCdEfGhIjKl-AbCdEf. Quotas: ${IAM_LIMITS.roleInlineAggregate} for a role's inline policies together, ${IAM_LIMITS.managedPolicy} per managed policy, ${IAM_LIMITS.managedPoliciesPerRole} managed policies per role (default). Every limit is found by synthesizing (binary search) and checked at the limit and one above.`);
  sections.push(`## With scheduled rotation (rotateEvery on every user)\n\n${table(
    ['fixed resources', 'resources per rotating user', 'users ≤ 500 resources', 'resources at that count'],
    [[rotation.fixed, rotation.perUser, `**${rotation.maxUsersUnder500}**`, rotation.resourcesAtMax]],
  )}\n\nPer rotating user: the send policy, the secret, the custom resource, the rotation schedule and Secrets Manager's invoke permission. The registration is the primary secret's template Metadata, not a resource.`);
  sections.push(`## Lambda assets\n\n${table(
    ['asset', 'files', 'raw', 'zipped'],
    [
      ...oursAssets.map((a) => [`ours: ${a.displayName}`, a.files, kb(a.rawBytes), kb(a.zipBytes)]),
      ...peerAssets.map((a) => [`peer: ${a.displayName}`, a.files, kb(a.rawBytes), kb(a.zipBytes)]),
      ['**ours, all Lambda assets**', oursAssets.reduce((s, a) => s + a.files, 0), kb(sum(oursAssets, 'rawBytes')), kb(sum(oursAssets, 'zipBytes'))],
      ['**peer, all Lambda assets**', peerAssets.reduce((s, a) => s + a.files, 0), kb(sum(peerAssets, 'rawBytes')), kb(sum(peerAssets, 'zipBytes'))],
    ],
  )}\n\nZipped with ${HAS_ZIP ? '`zip -r -9 -X`' : 'zlib deflate (level 9) plus zip headers'}. Ours staged from lib/handler (${kb(oursSource.rawBytes)} raw there); peer handler in its package: ${kb(peerHandler.rawBytes)} raw.`);
  sections.push(synthSection(synth));
  sections.push(`## Handler against moto (one IAM user, one empty secret, one SMTP region)\n\n${handler.skipped ? `Skipped: ${handler.skipped}` : table(
    ['request', 'status', 'AWS calls', 'calls', 'ms'],
    handler.steps.map((s) => [s.request, s.status + (s.reason ? ` (${s.reason})` : ''), s.calls.length, s.calls.join(', '), s.ms]),
  )}\n\n${busyHandler.skipped ? '' : `CloudFormation reads (DescribeStackEvents + DescribeStackResource) per request, with 0 and with 2,000 other events in the stack's log (all within the hour):\n\n${table(
    ['request', 'reads, quiet log', 'reads, 2,000 other events'],
    handler.steps.map((s, i) => [s.request, cfnReads(s.calls), cfnReads(busyHandler.steps[i]?.calls ?? [])]),
  )}\n\n`}Access keys left on the user after both deletes: ${handler.keysLeftAfterDelete ?? 'n/a'} (checked outside the count). Calls counted with an SDK middleware on the handler's clients; ms are against local moto, context only.\n\nCold import (fresh \`node\`, \`require\` of the handler entry, ${IMPORT_RUNS} runs): ours ${imports.ours.medianMs} ms median (${imports.ours.module}, SDK v3 clients from node_modules), peer ${imports.peer.medianMs} ms median (${imports.peer.module}, bundled).`);
  sections.push(templateSizeSection(sizes));
  sections.push(scaleSection(scale));
  sections.push(`## Targets\n\n${table(
    ['target', 'goal', 'measured', 'result'],
    targets.map((t) => [t.target, t.goal, t.measured, t.pass === null ? 'n/a' : t.pass ? 'PASS' : '**MISS**']),
  )}${targets.some((t) => t.note) ? `\n\n${targets.filter((t) => t.note).map((t) => `- ${t.target}: ${t.note}`).join('\n')}` : ''}`);
  const elapsed = round((Date.now() - started) / 1000, 1);
  sections.push(`Total bench time ${elapsed} s. Results: ${path.relative(ROOT, RESULTS_FILE)}`);
  const report = sections.join('\n\n');

  const results = {
    generatedAt: new Date().toISOString(),
    environment: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model },
    config: { synthRuns: RUNS, importRuns: IMPORT_RUNS, sizes: SIZES, synthSizes: SYNTH_SIZES, account: BENCH_ACCOUNT, region: BENCH_REGION, zip: HAS_ZIP ? 'zip -r -9 -X' : 'zlib estimate', rss: synth.rssSource },
    footprint: { ours: ours.result, peer: peer.result },
    assets: { ours: oursAssets, peer: peerAssets, oursSource, peerHandlerPackage: peerHandler },
    synth: { summary: synth.summary, samples: synth.samples },
    handler: { ...handler, coldImport: imports, busyLog: busyHandler },
    templateSize: { limits: TEMPLATE_LIMITS, sizes },
    rotation,
    scale,
    targets,
    elapsedSeconds: elapsed,
  };
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${report}\n`);
}

function synthSection(synth: Awaited<ReturnType<typeof synthCost>>): string {
  return `## Synth cost (child process: build the stack and app.synth() with asset staging; ${RUNS} alternating runs each after a discarded warm-up run per kind; peak RSS from ${synth.rssSource})\n\n${table(
    ['stack', 'users', 'resources', 'runs', 'median wall', 'wall spread (max−min)/median', 'of which load+construct', 'of which app.synth()', 'median peak RSS', 'wall ÷ bare', 'RSS ÷ bare', 'paired wall ÷ bare'],
    synth.summary.map((s) => [s.kind, s.users, s.resources, s.runs, `${s.medianWallMs} ms`, `${round(s.wallSpread * 100, 0)}%`, `${s.medianBuildMs} ms`, `${s.medianSynthMs} ms`, `${s.medianMaxRssMb} MB`, `${s.wallRatioToBare}×`, `${s.rssRatioToBare}×`, `${s.pairedWallRatioToBare}×`]),
  )}\n\n${synth.comparisons.map((c) => `- ${c.users} user${c.users > 1 ? 's' : ''}, ours − peer wall time, paired by round: median ${c.medianDiffMs} ms (95% bootstrap interval ${c.ciLowMs} … ${c.ciHighMs} ms); ours faster in ${c.oursFasterRounds} of ${c.rounds} rounds.`).join('\n')}\n\nbare = the same imported users and one iam.Policy attached to them. All kinds run as precompiled JS with plain node, this library from a node_modules directory as an app has it. Ratios within this run are the figure; absolute times are context.`;
}

function templateSizeSection(sizes: TemplateSize[]): string {
  return `## Template size: self-contained stack (HandlerCode.INLINE, BootstraplessSynthesizer)\n\n${table(
    ['users', 'resources', 'template bytes (cdk.out)', 'compacted', 'of which Code.ZipFile (unescaped)', 'same stack with a file asset', 'deploy path'],
    sizes.map((s) => [s.users, s.resources, s.inlineBytes.toLocaleString('en-US'), s.inlineCompactBytes.toLocaleString('en-US'), s.handlerBytes.toLocaleString('en-US'), s.assetBytes.toLocaleString('en-US'), s.deployPath]),
  )}\n\nLimits: ${TEMPLATE_LIMITS.templateBody.toLocaleString('en-US')} bytes as TemplateBody (a request's body, also a StackSet's TemplateBody), ${TEMPLATE_LIMITS.templateFromS3.toLocaleString('en-US')} bytes (1 MB) from S3 (TemplateURL). Users' names: ${benchUserName(0)}…`;
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
