/**
 * What the real-account check always does at the end, passed or not (and
 * what `--cleanup` does for a run that was killed): delete the stack, then
 * the IAM users the check created (only users carrying its run tag), then any
 * secret of the run that still exists, then the handler's retained log group
 * (kept when the run failed, for reading).
 *
 * Anything it has to remove that the stack's deletion should have removed
 * (an access key, a secret) is returned as a finding: the handler left it.
 */
import { Aws } from './aws';

/** The calls the teardown makes. */
export type TeardownAws = Pick<Aws, 'stack' | 'deleteStack' | 'stackEvents' | 'runMarker' | 'deleteUser' | 'secret' | 'forceDeleteSecret' | 'logGroupsNamed' | 'deleteLogGroup'>;

export interface TeardownInput {
  readonly stackName: string;
  /** The stack's id when the run knows it (a deleted stack is found only by id). */
  readonly stackId?: string;
  readonly users: string[];
  readonly secretArns: string[];
  /** The handler's log group; without it, every retained log group of earlier runs of this stack. */
  readonly logGroupName?: string;
  readonly deleteLogs: boolean;
  readonly log: (line: string) => void;
}

export interface TeardownResult {
  /** What the stack's deletion left and the teardown removed. */
  readonly findings: string[];
  readonly notes: string[];
}

const STACK_WAIT_MS = 65 * 60_000;

export async function teardown(aws: TeardownAws, input: TeardownInput): Promise<TeardownResult> {
  const findings: string[] = [];
  const notes: string[] = [];
  await deleteStack(aws, input, notes);

  for (const userName of input.users) {
    const marker = await aws.runMarker(userName);
    if (marker === undefined) continue;
    if (marker === '') {
      notes.push(`IAM user ${userName} exists but was not created by this check: left alone`);
      continue;
    }
    const keys = await aws.deleteUser(userName);
    for (const key of keys) findings.push(`access key ${key} was still on IAM user ${userName} after the stack was deleted; the teardown deleted it`);
    input.log(`deleted IAM user ${userName}`);
  }

  for (const arn of input.secretArns) {
    const secret = await aws.secret(arn);
    if (secret.exists && !secret.deleted) {
      await aws.forceDeleteSecret(arn);
      findings.push(`secret ${arn} still existed after the stack was deleted; the teardown deleted it`);
    }
  }

  const groups = input.logGroupName ? [input.logGroupName] : await handlerLogGroups(aws, input.stackName);
  for (const group of groups) {
    if (input.deleteLogs) {
      await aws.deleteLogGroup(group);
      input.log(`deleted log group ${group}`);
    } else {
      notes.push(`the handler's log group ${group} is kept for reading; delete it with: aws logs delete-log-group --log-group-name ${group}`);
    }
  }
  return { findings, notes };
}

/** Deletes the stack if it still exists; retains what CloudFormation cannot delete, and says so. */
async function deleteStack(aws: TeardownAws, input: TeardownInput, notes: string[]): Promise<void> {
  const id = input.stackId ?? input.stackName;
  let status = await settled(aws, id);
  if (status === undefined || status === 'DELETE_COMPLETE') return;
  input.log(`deleting stack ${input.stackName} (${status})`);
  await aws.deleteStack(id);
  status = await settled(aws, id);
  if (status === 'DELETE_FAILED') {
    const events = await aws.stackEvents(id, 0);
    const failed = [...new Set(events.filter((e) => e.status === 'DELETE_FAILED' && e.type !== 'AWS::CloudFormation::Stack').map((e) => e.logicalId))];
    notes.push(`stack deletion failed for ${failed.join(', ')}; deleted again retaining them`);
    await aws.deleteStack(id, failed);
    status = await settled(aws, id);
  }
  if (status !== 'DELETE_COMPLETE') notes.push(`stack ${input.stackName} is ${String(status)}: delete it by hand`);
}

/** Waits while the stack is in progress; its final status, or undefined when there is no such stack. */
async function settled(aws: TeardownAws, id: string): Promise<string | undefined> {
  const started = Date.now();
  for (;;) {
    const status = (await aws.stack(id))?.StackStatus;
    if (status === undefined || !status.endsWith('_IN_PROGRESS') || Date.now() - started > STACK_WAIT_MS) return status;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
}

/** The handler log groups CloudFormation named for this stack in earlier runs (retained on delete). */
function handlerLogGroups(aws: TeardownAws, stackName: string): Promise<string[]> {
  return aws.logGroupsNamed(`${stackName}-SesSmtpCredentialsHandlerLogGroup`);
}
