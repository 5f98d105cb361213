/**
 * `npm run integ:real-account`: the real-account check of
 * docs/real-account-check.md. Needs credentials for a sandbox account whose
 * eu-west-1 is CDK-bootstrapped; takes about 20 minutes; always deletes what it
 * made.
 *
 *   npm run integ:real-account                      # the check
 *   npm run integ:real-account -- --dry-run         # synth, snapshot check and the plan; no AWS call
 *   npm run integ:real-account -- --cleanup         # remove what a killed run left
 *
 * Options: --operator ARN (required for the check: the role or user you run it
 * as, by its IAM ARN, a * allowed; the credentials secrets' resource policy
 * lets only it, as break-glass, start the rotations the check makes),
 * --region R (default eu-west-1), --keep-logs (keep the handler's log
 * group even when the run passes), --settle-minutes N (how long a broken
 * invariant may take to converge, default 16: one Lambda lifetime and a minute).
 *
 * Exit codes: 0 passed; 1 a check failed; 2 the check could not run (stale
 * snapshot, no credentials, leftovers of another run); 3 inconclusive: every
 * check passed, but no delivery was running when CloudFormation cancelled it,
 * so the cancellation case was not exercised (run it again).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SNAPSHOT_DIR, staleStacks, synthIntegApp } from '../../test/support/integ-snapshot';
import { Aws } from './aws';
import { Plan, readPlan } from './plan';
import { EXIT, foundBeforeTeardown, summaryOf, verdictOf } from './report';
import { Scenario, StepAborted } from './scenario';
import { teardown } from './teardown';

interface Options {
  readonly dryRun: boolean;
  readonly cleanup: boolean;
  readonly region: string;
  readonly keepLogs: boolean;
  readonly settleMs: number;
  readonly operator?: string;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const known = ['--dry-run', '--cleanup', '--keep-logs', '--region', '--settle-minutes', '--operator'];
  const unknown = argv.filter((a, i) => a.startsWith('--') && !known.includes(a) && !['--region', '--settle-minutes', '--operator'].includes(argv[i - 1]));
  if (unknown.length) throw new Error(`unknown option ${unknown.join(' ')}; options: ${known.join(', ')}`);
  const minutes = Number(value('--settle-minutes') ?? 16);
  if (!Number.isFinite(minutes) || minutes < 0) throw new Error(`--settle-minutes must be a number of minutes, got ${value('--settle-minutes')}`);
  return {
    dryRun: argv.includes('--dry-run'),
    cleanup: argv.includes('--cleanup'),
    region: value('--region') ?? 'eu-west-1',
    keepLogs: argv.includes('--keep-logs'),
    settleMs: minutes * 60_000,
    operator: value('--operator'),
  };
}

const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The plan as text: what the check would deploy and check. */
export function describePlan(plan: Plan): string {
  const lines = [`stack ${plan.stackName}; IAM users created by the check: ${plan.users.join(', ')}`];
  for (const stage of plan.stages) {
    lines.push(`deploy ${stage.id}${stage.failsOnPurpose ? ' (a sibling fails on purpose: expect UPDATE_ROLLBACK_COMPLETE)' : ''}`);
    for (const c of stage.credentials) {
      lines.push(`  ${c.logicalId}: user ${c.userName}, ${c.targets.length} region(s)${c.rotating ? ', rotating' : ''}${c.properties.Serial ? `, serial ${String(c.properties.Serial)}` : ''}`);
    }
    if (stage.id === 'Replace') lines.push('rotate ×2 (RotateSecret on the rotating SesSmtpUser\'s primary secret, then wait until its token is AWSCURRENT)');
  }
  lines.push('delete the stack; then delete the users, and the handler\'s log group if the run passed');
  return lines.join('\n');
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const assemblyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-real-account-'));
  try {
    log('synthesizing test/integ.ses-smtp-user.ts');
    synthIntegApp(assemblyDir);
    const stale = staleStacks(assemblyDir);
    if (stale.length > 0) {
      console.error(`The checked-in snapshot (${path.relative(process.cwd(), SNAPSHOT_DIR)}) differs from a fresh synth in ${stale.join(', ')}: `
        + 'run `npm run integ:snapshot`, review and commit it, so that what is deployed is what CI has seen.');
      return EXIT.notRun;
    }
    const plan = readPlan(assemblyDir);
    if (options.dryRun) {
      console.log(describePlan(plan));
      return EXIT.passed;
    }
    const aws = new Aws({ region: options.region });
    if (options.cleanup) {
      const result = await teardown(aws, { stackName: plan.stackName, users: plan.users, secretArns: [], deleteLogs: true, log });
      for (const line of [...result.findings, ...result.notes]) console.log(line);
      return EXIT.passed;
    }
    if (!options.operator || !/^arn:[^:]+:iam::\d{12}:(role|user)\//.test(options.operator)) {
      console.error('Name the role or user you run the check as: --operator arn:aws:iam::<account>:role/<name> (a * is allowed, for example '
        + 'role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*). The credentials secrets\' resource policy lets only deployments and '
        + 'break-glass principals start a rotation, and the check starts two.');
      return EXIT.notRun;
    }
    const refusal = await preflight(aws, plan);
    if (refusal) {
      console.error(refusal);
      return EXIT.notRun;
    }
    return await check(aws, plan, assemblyDir, options);
  } finally {
    fs.rmSync(assemblyDir, { recursive: true, force: true });
  }
}

/** Why a run cannot start: the stack or a user of the check already exists. */
async function preflight(aws: Aws, plan: Plan): Promise<string | undefined> {
  const stack = await aws.stack(plan.stackName);
  if (stack) return `Stack ${plan.stackName} already exists (${String(stack.StackStatus)}): another run is going on or did not finish. Remove it with \`npm run integ:real-account -- --cleanup\`.`;
  for (const userName of plan.users) {
    const marker = await aws.runMarker(userName);
    if (marker === '') return `IAM user ${userName} exists and was not created by this check; the check needs that name. Use another account, or delete or rename the user.`;
    if (marker !== undefined) return `IAM user ${userName} was left by run ${marker}. Remove it with \`npm run integ:real-account -- --cleanup\`.`;
  }
  return undefined;
}

async function check(aws: Aws, plan: Plan, assemblyDir: string, options: Options): Promise<number> {
  const runId = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping at the next wait, then deleting what the run made (Ctrl-C again to quit at once, then run with --cleanup)');
  });
  log(`run ${runId} in ${options.region}`);
  const scenario = new Scenario(aws, plan, {
    assemblyDir, region: options.region, settleMs: options.settleMs, aborted: () => interrupted, log, operator: options.operator,
  });
  let failure: string | undefined;
  try {
    for (const userName of plan.users) await aws.createUser(userName, runId);
    await untilVisible(aws, plan.users);
    await scenario.run();
  } catch (e) {
    failure = e instanceof StepAborted ? `stopped: ${e.message}` : `error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
  }
  const found = { steps: scenario.steps, assumptions: Object.values(scenario.assumptions), exercised: scenario.exercised, failure };
  const down = await teardown(aws, {
    stackName: plan.stackName, stackId: scenario.stackId, users: plan.users, secretArns: [...scenario.secretArns],
    logGroupName: scenario.logGroupName, deleteLogs: !options.keepLogs && !foundBeforeTeardown(found), log,
  });
  const outcome = { ...found, teardown: down };
  const { verdict, exitCode } = verdictOf(outcome);
  const reportFile = path.join(os.tmpdir(), `ses-smtp-real-account-${runId}.json`);
  fs.writeFileSync(reportFile, `${JSON.stringify({
    runId, region: options.region, stackName: plan.stackName, stackId: scenario.stackId, verdict, ...outcome, cancellations: scenario.cancellations,
  }, null, 2)}\n`);
  console.log(`${summaryOf(`Real-account check ${runId} (${options.region})`, outcome)}\n  report: ${reportFile}`);
  return exitCode;
}

/**
 * IAM is eventually consistent: waits until every new user can be read, and
 * 10 s more, before CloudFormation attaches policies to them.
 */
async function untilVisible(aws: Aws, users: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const userName of users) {
    while (await aws.runMarker(userName) === undefined) {
      if (Date.now() > deadline) throw new Error(`IAM user ${userName} was created but cannot be read after a minute`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 10_000));
}

if (require.main === module) {
  main().then((code) => process.exit(code), (e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(EXIT.notRun);
  });
}
