/**
 * The targets this library sets itself (limits.ts), each judged against
 * this run's measurements: PASS, MISS, or n/a where it was not measured,
 * with a note that explains a miss.
 */
import { AssetSize } from './assets';
import { kb, round } from './common';
import { Footprint } from './footprint';
import { HandlerCost } from './handler-calls';
import type { ScaleResult } from './scale';
import { CFN_RESOURCE_LIMIT, TARGETS, TEMPLATE_LIMITS, USER_ARN_CHARS } from './limits';
import { StackKind } from './stacks';
import { PeerComparison, SynthSummary } from './synth-cost';
import { TemplateSize } from './template-size';

export interface TargetResult { target: string; goal: string; measured: string; pass: boolean | null; note?: string }

export function judgeTargets(fo: Footprint, oursAssets: AssetSize[], synth: SynthSummary[], handler: HandlerCost, sizes: TemplateSize[] = [],
  comparisons: PeerComparison[] = [], scale: ScaleResult[] = []): TargetResult[] {
  const synthOf = (kind: StackKind, users: number) => synth.find((s) => s.kind === kind && s.users === users)!;
  const oursAsset = oursAssets[0];
  const createStep = handler.steps.find((s) => s.request === 'Create');
  const targets: TargetResult[] = [
    {
      target: 'Fixed overhead', goal: `≤ ${TARGETS.fixedOverhead} resources`,
      measured: `${fo.fixedOverhead} (${Object.entries(fo.fixedByType).map(([t, c]) => `${c > 1 ? `${c}× ` : ''}${t.replace(/^AWS::/, '')}`).join(', ')})`,
      pass: fo.fixedOverhead <= TARGETS.fixedOverhead,
    },
    {
      target: 'Resources per additional user', goal: `exactly ${TARGETS.perUser}`,
      measured: `${fo.marginalPerUser} per user, plus CDK OverflowPolicies: ${fo.resources[100]} at 100 users = ${fo.fixedOverhead} + ${fo.marginalPerUser}×100 + ${fo.overflowPolicies[100]} (avg ${fo.averagePerUser})`,
      pass: fo.marginalPerUser === TARGETS.perUser && fo.linear,
      note: fo.linear ? undefined : `aws-cdk-lib splits the handler role's growing default policy into AWS::IAM::ManagedPolicy "OverflowPolicyN" resources (estimating 150 chars per token ARN against a 10,000-char inline budget), so some users add a 4th resource: ${fo.overflowPolicies[10]} at 10 users, ${fo.overflowPolicies[100]} at 100.`,
    },
    {
      target: 'Users per stack, CloudFormation 500 resources only', goal: `≥ ${TARGETS.usersPerStack}`,
      measured: `${fo.maxUsersUnder500} (${fo.verified500.atMax} resources; ${fo.verified500.atMaxPlusOne} with one more)`,
      pass: fo.maxUsersUnder500 >= TARGETS.usersPerStack,
      note: fo.maxUsersUnder500 < TARGETS.usersPerStack ? `${CFN_RESOURCE_LIMIT} − ${fo.fixedOverhead} leaves room for ${Math.floor((CFN_RESOURCE_LIMIT - fo.fixedOverhead) / fo.marginalPerUser)} users at ${fo.marginalPerUser} each; the OverflowPolicy resources CDK adds take the rest.` : undefined,
    },
    {
      target: 'Users per stack, realistic (500 resources and IAM policy quotas)', goal: `≥ ${TARGETS.usersPerStack}`,
      measured: `${fo.realisticMaxUsers} (binds first: ${fo.bindingBound})`,
      pass: fo.realisticMaxUsers >= TARGETS.usersPerStack,
      note: `The handler role names every user ARN (iam:CreateAccessKey, iam:TagUser); deleting keys and writing secrets are bounded by the stack's owner tag, not by names: ${fo.rolePolicy.perUserCharacters} resolved chars per user on top of ${fo.rolePolicy.fixedCharacters} (a user ARN ~${USER_ARN_CHARS}). In one inline policy that would pass IAM's 10,240-char role limit at ${fo.rolePolicy.totalExceeds10240At} users; the handler therefore writes statements of at most 30 ARNs, which aws-cdk-lib moves whole into managed OverflowPolicies (≤ 6,144 chars each, ≤ 10 per role). ` +
        (fo.rolePolicy.atMaxPlusOne?.violation
          ? `The first IAM quota broken is at ${fo.rolePolicy.maxUsersWithinIam + 1} users: ${fo.rolePolicy.atMaxPlusOne.violation}.`
          : `No IAM quota binds before CloudFormation's 500 resources; the ${fo.overflowPolicies[100]} OverflowPolicies at 100 users are what keeps the count under ${TARGETS.usersPerStack}.`),
    },
    { target: 'Lambda asset, zipped', goal: `≤ ${kb(TARGETS.assetBytes)}`, measured: `${kb(oursAsset.zipBytes)} (${oursAsset.zipBytes} B)`, pass: oursAsset.zipBytes <= TARGETS.assetBytes },
    {
      target: 'Lambda asset, raw', goal: `≤ ${kb(TARGETS.assetBytes)}`, measured: `${kb(oursAsset.rawBytes)} (${oursAsset.rawBytes} B, ${oursAsset.files} files)`, pass: oursAsset.rawBytes <= TARGETS.assetBytes,
      note: oursAsset.rawBytes > TARGETS.assetBytes ? 'Unminified, commented plain JS; the deployed artefact is the zip.' : undefined,
    },
  ];
  for (const [users, goal] of [[1, TARGETS.synthRatio1], [100, TARGETS.synthRatio100]] as const) {
    const s = synthOf('ours', users);
    const b = synthOf('bare', users);
    targets.push({
      target: `Synth wall time, ${users} user${users > 1 ? 's' : ''}, vs bare`, goal: `≤ ${goal}×`,
      measured: `${s.wallRatioToBare}× (${s.medianWallMs} vs ${b.medianWallMs} ms; paired ${s.pairedWallRatioToBare}×)`,
      pass: s.wallRatioToBare <= goal,
      note: s.wallRatioToBare > goal ? `+${round(s.medianWallMs - b.medianWallMs, 0)} ms wall over bare (median): loading modules and constructing +${s.medianBuildMs - b.medianBuildMs} ms (ours loads aws-lambda, aws-logs, aws-secretsmanager, aws-kms, aws-events(-targets); bare only aws-iam), app.synth() +${s.medianSynthMs - b.medianSynthMs} ms (${s.resources} resources vs ${b.resources}, and the handler asset fingerprinted and staged). Both pay aws-cdk-lib's fixed synth cost, which includes its default-on CloudFormation validation (bare app.synth(): ${b.medianSynthMs} ms). The peer (${synthOf('peer', users).resources} resources) is at ${synthOf('peer', users).wallRatioToBare}×.` : undefined,
    });
    const peer = synthOf('peer', users);
    const vsPeer = comparisons.find((c) => c.users === users);
    targets.push({
      target: `Synth wall time, ${users} user${users > 1 ? 's' : ''}, vs the peer`, goal: 'faster: the 95% interval of ours − peer (paired by round) below 0',
      measured: vsPeer
        ? `${vsPeer.medianDiffMs} ms (${vsPeer.ciLowMs} … ${vsPeer.ciHighMs} ms over ${vsPeer.rounds} rounds); ÷ bare ${s.wallRatioToBare}× against ${peer.wallRatioToBare}×; load+construct ${s.medianBuildMs} against ${peer.medianBuildMs} ms`
        : 'not measured',
      pass: vsPeer ? vsPeer.ciHighMs < 0 : null,
      note: vsPeer && vsPeer.ciHighMs >= 0
        ? `Not resolved in ${vsPeer.rounds} rounds (spread: ours ${round(s.wallSpread * 100, 0)}%, peer ${round(peer.wallSpread * 100, 0)}%): run again with BENCH_ONLY=synth and more BENCH_RUNS.`
        : undefined,
    });
    targets.push({
      target: `Synth peak RSS, ${users} user${users > 1 ? 's' : ''}, vs bare`, goal: `≤ ${goal}×`,
      measured: `${s.rssRatioToBare}× (${s.medianMaxRssMb} vs ${b.medianMaxRssMb} MB)`,
      pass: s.rssRatioToBare <= goal,
      note: s.rssRatioToBare > goal ? `+${round(s.medianMaxRssMb - b.medianMaxRssMb, 1)} MB over bare (peer: ${synthOf('peer', users).rssRatioToBare}×).` : undefined,
    });
  }
  targets.push(createStep
    ? { target: 'AWS calls per Create', goal: `≤ ${TARGETS.createCalls}`, measured: `${createStep.calls.length} (${createStep.calls.join(', ')})`, pass: createStep.status === 'SUCCESS' && createStep.calls.length <= TARGETS.createCalls }
    : { target: 'AWS calls per Create', goal: `≤ ${TARGETS.createCalls}`, measured: `not measured: ${handler.skipped}`, pass: null });
  const lifecycle = ['Create', 'Update (serial change)', 'Delete of the old key (CloudFormation cleanup after the update)', 'Delete']
    .map((request) => handler.steps.find((s) => s.request === request));
  const perRequest = lifecycle.every((s) => s) ? lifecycle.reduce((sum, s) => sum + s!.calls.length, 0) / lifecycle.length : undefined;
  const callsGoal = TARGETS.callsPerRequestBefore + TARGETS.extraCallsPerRequest;
  targets.push({
    target: 'AWS calls per request (Create, Update, cleanup Delete, Delete), vs before issue 22',
    goal: `≤ ${callsGoal} (${TARGETS.callsPerRequestBefore} + ${TARGETS.extraCallsPerRequest})`,
    measured: perRequest === undefined ? `not measured: ${handler.skipped}` : `${perRequest} (${lifecycle.map((s) => s!.calls.length).join(' / ')})`,
    pass: perRequest === undefined ? null : perRequest <= callsGoal,
  });
  const largest = sizes.reduce<TemplateSize | undefined>((max, size) => (max && max.users >= size.users ? max : size), undefined);
  targets.push(largest
    ? {
      target: `Self-contained template (handler inline), ${largest.users} users`, goal: `≤ ${TEMPLATE_LIMITS.templateFromS3.toLocaleString('en-US')} B (1 MB, from S3)`,
      measured: `${largest.inlineBytes.toLocaleString('en-US')} B (${round((largest.inlineBytes / TEMPLATE_LIMITS.templateFromS3) * 100, 0)}%)`,
      pass: largest.inlineBytes <= TEMPLATE_LIMITS.templateFromS3,
    }
    : { target: 'Self-contained template (handler inline)', goal: '≤ 1 MB', measured: 'not measured', pass: null });
  // The read-limited deployment (scale-report.ts, SCALE_READS): CloudFormation reads per request, and wall time
  // against the least the IAM calls need at the IAM rate.
  for (const r of scale.filter((x) => x.kind === 'ours' && x.cfnRate !== null && x.iamRate !== null)) {
    const at = `${r.users} users, IAM ${r.iamRate}/s, CloudFormation ${r.cfnRate} reads/s, ${r.concurrency ?? 'all'} at a time`;
    const reads = round((r.create.cfnReadsPerRequest + r.delete.cfnReadsPerRequest) / 2, 2);
    targets.push({ target: `CloudFormation reads per request (${at})`, goal: `≤ ${TARGETS.cfnReadsPerRequest}`, measured: `${reads} (Create ${r.create.cfnReadsPerRequest}, Delete ${r.delete.cfnReadsPerRequest})`, pass: reads <= TARGETS.cfnReadsPerRequest });
    const minimum = (phase: ScaleResult['create']) => (phase.iamPerRequest * phase.requests) / r.iamRate!;
    const ratio = round(Math.max(r.create.wallSeconds / minimum(r.create), r.delete.wallSeconds / minimum(r.delete)), 2);
    targets.push({ target: `Wall time / IAM minimum, worse of Create and Delete (${at})`, goal: `≤ ${TARGETS.wallOverIamMinimum}`, measured: String(ratio), pass: ratio <= TARGETS.wallOverIamMinimum });
  }
  return targets;
}
