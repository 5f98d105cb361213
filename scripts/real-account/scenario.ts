/**
 * The steps of the real-account check, in order, against one stack:
 *
 *   Create → Update → Replace → rotate → rotate → CancelInFlight (rolled back) → delete
 *
 * Each step waits until every invocation of the handler that it caused has
 * ended (Lambda's REPORT line), then checks:
 * - the stack's status, and that no SesSmtpUser failed (except what a
 *   cancellation explains);
 * - the handler's log lines: no `"level":"WARN"`, `Refused` or ERROR line
 *   (in the cancelled stage they are reported, not failed);
 * - what only a real account shows about the records the handler trusts
 *   (ResourceProperties on IN_PROGRESS events, the function record's
 *   LastUpdatedTimestamp, the events of a cancelled operation);
 * - the invariant (invariant.ts), allowing up to one Lambda lifetime for it
 *   to converge.
 */
import { spawn } from 'node:child_process';
import { Aws } from './aws';
import { Declared, Observation, RotationState, invariantFindings, parseIssuedId } from './invariant';
import { Plan, Stage } from './plan';
import {
  CancelledOperation, Invocation, StackEventRecord, cancelledOperations, invocationsOf, loggedPropertiesMismatch,
  operationsOf, resolveRefs, unfinished,
} from './records';

export interface StepReport {
  readonly name: string;
  stackStatus?: string;
  readonly findings: string[];
  /** What was seen and is not a failure (for example WARN lines while CloudFormation cancels). */
  readonly notes: string[];
}

/** One record a real account must confirm (README, "What stays trusted"). */
export interface Assumption {
  readonly id: string;
  readonly text: string;
  readonly confirmedBy: string[];
  readonly contradictedBy: string[];
}

/** The calls the steps make (a fake account in the offline test). */
export type ScenarioAws = Pick<Aws, 'stack' | 'physicalIds' | 'stackEvents' | 'logEvents' | 'user' | 'secret' | 'rotateSecret' | 'lastUpdated' | 'deleteStack'>;

/** How long the waits pause; the offline test shortens them. */
export interface Timing {
  /** Between two looks at a stack, a rotation or the logs. */
  readonly pollMs: number;
  /** How long no new log line must arrive before the logs count as complete. */
  readonly logQuietMs: number;
  /** Between two looks at an invariant that does not hold yet. */
  readonly convergePollMs: number;
}

export const REAL_TIMING: Timing = { pollMs: 5_000, logQuietMs: 15_000, convergePollMs: 30_000 };

export interface ScenarioOptions {
  readonly assemblyDir: string;
  readonly region: string;
  /** How long a broken invariant may take to converge after the last invocation ended. */
  readonly settleMs: number;
  /** Set when the maintainer pressed Ctrl-C: stop at the next wait. */
  readonly aborted: () => boolean;
  readonly log: (line: string) => void;
  /** Deploys one stage; `cdk deploy` with the pinned CLI unless given. Resolves to its exit code. */
  readonly deploy?: (stageId: string) => Promise<number>;
  /** The template's `Operator` parameter: who runs the check (break-glass on the credentials secrets). */
  readonly operator?: string;
  readonly timing?: Timing;
}

/** A step that cannot go on (the stack is not where the next step needs it). */
export class StepAborted extends Error {}

const CREDENTIALS_TYPE = 'Custom::SesSmtpCredentials';
/**
 * How far LastUpdatedTimestamp may lie outside the function's operation: the
 * handler gives it a minute of slack itself (values written more than a
 * minute before it may come from an older handler).
 */
const RECORD_SLACK_MS = 60_000;
/** A Lambda invocation ends within 15 minutes; the wait for one to end gets a minute more. */
const INVOCATION_MAX_MS = 16 * 60_000;

export const ASSUMPTIONS = {
  properties: 'A custom resource\'s *_IN_PROGRESS stack event carries the ResourceProperties sent to it (the template\'s, resolved)',
  reservedTags: 'Secrets CloudFormation creates carry the reserved aws:cloudformation:stack-id, stack-name and logical-id tags',
  lastUpdated: 'DescribeStackResource\'s LastUpdatedTimestamp of the handler function moves when CloudFormation updates the function, and only then',
  cancelled: 'A cancelled Create is logged CREATE_FAILED "… cancelled" and followed by a Delete with a physical id CloudFormation generated; a cancelled Update is logged UPDATE_FAILED "… cancelled" and rolled back with the old physical id',
  gate: 'CloudFormation\'s records match every genuine request: the handler refuses none of them',
} as const;

export class Scenario {
  readonly steps: StepReport[] = [];
  readonly assumptions: Record<keyof typeof ASSUMPTIONS, Assumption>;
  cancellations: CancelledOperation[] = [];
  /** Some SesSmtpUser delivery was running when CloudFormation cancelled it. */
  exercised = false;
  stackId?: string;
  logGroupName?: string;
  /** Every secret ARN the stack ever had. */
  readonly secretArns = new Set<string>();
  readonly userNames: string[];

  private live?: Stage;
  private cursor = 0;
  private functionUpdatedAt?: number;
  private readonly rotations: Record<string, RotationState> = {};
  private readonly physicalIdsSeen: Record<string, string> = {};

  private readonly timing: Timing;

  constructor(private readonly aws: ScenarioAws, private readonly plan: Plan, private readonly options: ScenarioOptions) {
    this.userNames = plan.users;
    this.timing = options.timing ?? REAL_TIMING;
    this.assumptions = Object.fromEntries(Object.entries(ASSUMPTIONS)
      .map(([id, text]) => [id, { id, text, confirmedBy: [], contradictedBy: [] }])) as unknown as Record<keyof typeof ASSUMPTIONS, Assumption>;
  }

  /** Runs every step; stops at the first step that leaves the stack unusable for the next. */
  async run(): Promise<void> {
    const [create, update, replace, cancel] = this.plan.stages;
    await this.deploy(create);
    await this.deploy(update);
    await this.deploy(replace);
    await this.rotate(1);
    await this.rotate(2);
    await this.deploy(cancel);
    await this.deleteStack();
  }

  // ---- steps ---------------------------------------------------------------

  private async deploy(stage: Stage): Promise<void> {
    const step = this.begin(stage.id);
    const first = this.stackId === undefined;
    // What a rollback must give back: the physical ids (so the keys) of every SesSmtpUser.
    const idsBefore = stage.failsOnPurpose && this.stackId ? await this.aws.physicalIds(this.stackId) : {};
    const exit = await (this.options.deploy ?? ((id: string) => this.cdkDeploy(id)))(stage.id);
    this.stackId = (await this.aws.stack(this.plan.stackName))?.StackId;
    step.stackStatus = this.stackId ? await this.waitForStack(this.stackId, (status) => !status.endsWith('_IN_PROGRESS')) : undefined;
    const expected = stage.failsOnPurpose ? 'UPDATE_ROLLBACK_COMPLETE' : first ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE';
    if (!this.stackId || step.stackStatus !== expected) {
      step.findings.push(`stack ${this.plan.stackName} is ${String(step.stackStatus)} after \`cdk deploy ${stage.id}\` (exit ${exit}), expected ${expected}`);
      if (this.stackId) {
        const failed = (await this.aws.stackEvents(this.stackId, this.cursor)).filter((e) => e.status.endsWith('_FAILED'));
        step.findings.push(...failed.map((e) => `${e.logicalId} ${e.status}: ${e.reason ?? ''}`));
      }
      throw new StepAborted(`${stage.id} did not end ${expected}`);
    }
    const previous = this.live;
    this.live = stage.failsOnPurpose ? previous : stage;
    const events = await this.aws.stackEvents(this.stackId, this.cursor);
    this.remember(events);
    if (!this.logGroupName) {
      this.logGroupName = (await this.aws.physicalIds(this.stackId))[stage.handlerLogGroupLogicalId];
    }
    const invocations = await this.settle(events[0]?.at ?? this.cursor);

    step.findings.push(...this.eventFindings(events, stage.failsOnPurpose));
    step.findings.push(...this.propertyFindings(step.name, events, stage, previous));
    step.findings.push(...await this.functionRecordFindings(step.name, stage, events));
    this.logFindings(step, invocations, { tolerant: stage.failsOnPurpose });
    if (stage.failsOnPurpose) {
      this.cancellationFindings(step, events, invocations);
      const idsAfter = await this.aws.physicalIds(this.stackId);
      for (const c of previous?.credentials ?? []) {
        if (idsAfter[c.logicalId] !== idsBefore[c.logicalId]) {
          step.findings.push(`${c.logicalId}: the rollback left physical id ${String(idsAfter[c.logicalId])}, not ${String(idsBefore[c.logicalId])}: a rollback restores the previous key, it does not issue another`);
        }
      }
    }
    else this.gateConfirmed(step.name, invocations);
    await this.converge(step);
  }

  /** RotateSecret on the rotating SesSmtpUser's primary secret, then wait for its four steps to finish. */
  private async rotate(n: number): Promise<void> {
    const step = this.begin(`rotate ${n}`);
    const resource = this.live?.credentials.find((c) => c.rotating);
    if (!resource || !this.stackId) throw new StepAborted('no rotating SesSmtpUser is live');
    const ids = await this.aws.physicalIds(this.stackId);
    const primary = ids[resource.targets[0].secretLogicalId];
    const othersBefore = await Promise.all(resource.targets.slice(1).map(async (t) => currentVersion((await this.aws.secret(ids[t.secretLogicalId])).stages)));
    const keysBefore = (await this.aws.user(resource.userName)).keys.map((k) => k.id);
    const previousCurrent = this.rotations[resource.logicalId]?.current ?? parseIssuedId(ids[resource.logicalId])?.accessKeyId;

    const startedAt = Date.now();
    const token = await this.aws.rotateSecret(primary);
    this.options.log(`rotation ${n}: RotateSecret ${primary} → token ${token}`);
    let finished = false;
    while (!finished && Date.now() - startedAt < 5 * 60_000) {
      await this.pause(this.timing.pollMs);
      finished = currentVersion((await this.aws.secret(primary)).stages) === token;
      // A failed step shows in the log (logFindings reports it): no need to wait out the 5 minutes.
      const failed = invocationsOf(await this.aws.logEvents(String(this.logGroupName), this.cursor + 1))
        .flatMap((i) => i.outcomes).some((o) => o.rotationStep && o.status !== 'SUCCESS');
      if (failed) break;
    }
    if (!finished) step.findings.push(`rotation ${token} of ${primary} did not make its version AWSCURRENT within 5 minutes`);
    const invocations = await this.settle(this.cursor + 1);
    this.logFindings(step, invocations, { tolerant: false });
    this.gateConfirmed(step.name, invocations);

    const keysAfter = (await this.aws.user(resource.userName)).keys.map((k) => k.id);
    const made = keysAfter.filter((k) => !keysBefore.includes(k));
    if (made.length !== 1 || !previousCurrent || !keysAfter.includes(previousCurrent) || keysAfter.length !== 2) {
      step.findings.push(`rotation ${n}: IAM user ${resource.userName} went from [${keysBefore.join(', ')}] to [${keysAfter.join(', ')}]; `
        + `expected the key current before (${String(previousCurrent)}) kept as the grace key and exactly one new key`);
    } else {
      this.rotations[resource.logicalId] = { current: made[0], grace: previousCurrent };
    }
    for (const [index, target] of resource.targets.slice(1).entries()) {
      const now = currentVersion((await this.aws.secret(ids[target.secretLogicalId])).stages);
      if (now === othersBefore[index]) step.findings.push(`rotation ${n}: secret ${target.secretLogicalId} (${target.region}) still has its AWSCURRENT version of before the rotation`);
    }
    await this.converge(step);
  }

  private async deleteStack(): Promise<void> {
    const step = this.begin('delete');
    if (!this.stackId) throw new StepAborted('no stack to delete');
    await this.aws.deleteStack(this.stackId);
    const status = await this.waitForStack(this.stackId, (s) => s === 'DELETE_COMPLETE' || s === 'DELETE_FAILED');
    step.stackStatus = status;
    const events = await this.aws.stackEvents(this.stackId, this.cursor);
    this.remember(events);
    if (status !== 'DELETE_COMPLETE') step.findings.push(`stack deletion ended ${status}`);
    const invocations = await this.settle(events[0]?.at ?? this.cursor);
    step.findings.push(...this.eventFindings(events, false));
    this.logFindings(step, invocations, { tolerant: false });
    this.gateConfirmed(step.name, invocations);
    this.live = undefined;
    await this.converge(step);
  }

  // ---- checks --------------------------------------------------------------

  /** Every SesSmtpUser operation ended well, except operations CloudFormation cancelled. */
  private eventFindings(events: StackEventRecord[], cancelling: boolean): string[] {
    return events.filter((e) => e.type === CREDENTIALS_TYPE && e.status.endsWith('_FAILED'))
      .filter((e) => !(cancelling && /cancel/i.test(e.reason ?? '') && (e.status === 'CREATE_FAILED' || e.status === 'UPDATE_FAILED')))
      .map((e) => `${e.logicalId} ${e.status}: ${e.reason ?? ''}`);
  }

  /** ResourceProperties of every IN_PROGRESS Create/Update of a SesSmtpUser against its template. */
  private propertyFindings(stepName: string, events: StackEventRecord[], stage: Stage, previous: Stage | undefined): string[] {
    const findings: string[] = [];
    const rollbackAt = events.find((e) => e.type === 'AWS::CloudFormation::Stack' && e.status === 'UPDATE_ROLLBACK_IN_PROGRESS')?.at ?? Infinity;
    let checked = 0;
    for (const logicalId of new Set(events.filter((e) => e.type === CREDENTIALS_TYPE).map((e) => e.logicalId))) {
      for (const operation of operationsOf(events, logicalId)) {
        const status = operation[0].status;
        if (status !== 'CREATE_IN_PROGRESS' && status !== 'UPDATE_IN_PROGRESS') continue;
        const template = operation[0].at < rollbackAt ? stage : previous;
        const planned = template?.credentials.find((c) => c.logicalId === logicalId);
        if (!planned) continue;
        let expected: Record<string, unknown>;
        try {
          expected = resolveRefs(planned.properties, this.physicalIdsSeen, String(this.stackId)) as Record<string, unknown>;
        } catch (e) {
          findings.push(`${logicalId} ${status}: cannot resolve its template properties (${(e as Error).message})`);
          continue;
        }
        const mismatch = loggedPropertiesMismatch(operation, expected);
        checked++;
        if (mismatch) {
          findings.push(`${logicalId} ${status}: ${mismatch}`);
          this.assumptions.properties.contradictedBy.push(`${stepName}: ${logicalId} ${status}`);
        }
      }
    }
    if (checked > 0 && findings.length === 0) this.assumptions.properties.confirmedBy.push(`${stepName}: ${checked} operation(s)`);
    return findings;
  }

  /** The handler function's LastUpdatedTimestamp lies within its latest operation, and stays put without one. */
  private async functionRecordFindings(stepName: string, stage: Stage, events: StackEventRecord[]): Promise<string[]> {
    const at = await this.aws.lastUpdated(String(this.stackId), stage.handlerFunctionLogicalId);
    const operation = operationsOf(events, stage.handlerFunctionLogicalId).pop();
    const before = this.functionUpdatedAt;
    this.functionUpdatedAt = at;
    let problem: string | undefined;
    if (at === undefined) {
      problem = 'the handler function\'s record has no LastUpdatedTimestamp';
    } else if (operation) {
      const [begin, end] = [operation[0].at, operation[operation.length - 1].at];
      if (at < begin - RECORD_SLACK_MS || at > end + RECORD_SLACK_MS) problem = `LastUpdatedTimestamp ${iso(at)} is outside the function's ${operation[0].status} (${iso(begin)} … ${iso(end)})`;
    } else if (before !== undefined && at !== before) {
      problem = `LastUpdatedTimestamp moved from ${iso(before)} to ${iso(at)} although CloudFormation did not touch the function`;
    }
    if (problem) {
      this.assumptions.lastUpdated.contradictedBy.push(`${stepName}: ${problem}`);
      return [problem];
    }
    const offset = operation ? ` (${((Number(at) - operation[operation.length - 1].at) / 1000).toFixed(1)} s from its ${operation[operation.length - 1].status})` : '';
    this.assumptions.lastUpdated.confirmedBy.push(`${stepName}: ${operation ? `${operation[0].status.replace('_IN_PROGRESS', '')} at ${iso(Number(at))}${offset}` : 'unchanged'}`);
    return [];
  }

  /** WARN, Refused and ERROR lines, and failed outcomes: failures, or (tolerant) notes. */
  private logFindings(step: StepReport, invocations: Invocation[], { tolerant }: { tolerant: boolean }): void {
    const clip = (s: string) => (s.length > 400 ? `${s.slice(0, 400)}…` : s);
    for (const invocation of invocations) {
      for (const line of invocation.errors) step.findings.push(`handler ERROR line: ${clip(line)}`);
      const seen = [...invocation.warnings.map((w) => `WARN: ${w}`), ...invocation.refusals.map((r) => `Refused: ${r}`),
        ...invocation.outcomes.filter((o) => o.status !== 'SUCCESS')
          .map((o) => `${o.requestType ?? o.rotationStep} of ${o.logicalId ?? 'a secret'} answered ${o.status}: ${String(o.reason)}`)];
      (tolerant ? step.notes : step.findings).push(...[...new Set(seen)].map(clip));
    }
  }

  /** No genuine request was refused: CloudFormation's records matched each of them. */
  private gateConfirmed(stepName: string, invocations: Invocation[]): void {
    const refused = invocations.filter((i) => i.refusals.length > 0).length;
    const answered = invocations.filter((i) => i.outcomes.length > 0).length;
    if (refused > 0) this.assumptions.gate.contradictedBy.push(`${stepName}: ${refused} refused invocation(s)`);
    else if (answered > 0) this.assumptions.gate.confirmedBy.push(`${stepName}: ${answered} request(s)`);
  }

  /** The rolled-back stage: what CloudFormation cancelled, and whether a delivery was running then. */
  private cancellationFindings(step: StepReport, events: StackEventRecord[], invocations: Invocation[]): void {
    const sibling = events.find((e) => e.type === 'Custom::FailOnPurpose' && e.status === 'CREATE_FAILED');
    if (!sibling) step.findings.push('the sibling FailOnPurpose never failed, yet the stack rolled back');
    else step.notes.push(`sibling: ${sibling.reason ?? ''}`);
    this.cancellations = cancelledOperations(events, invocations);
    this.exercised = this.cancellations.some((c) => c.inFlight);
    for (const c of this.cancellations) {
      const next = c.after.map((a) => `${a.status}${a.physicalId ? ` ${a.physicalId}` : ''}`).join(' → ');
      step.notes.push(`${c.logicalId}: ${c.requestType} cancelled ${((c.cancelledAt - c.began) / 1000).toFixed(1)} s after it began `
        + `(${c.inFlight ? 'a delivery was running' : 'no delivery was running'}); then ${next || 'nothing'}`);
      const problem = this.cancelledRecordProblem(c);
      if (problem) this.assumptions.cancelled.contradictedBy.push(`${c.logicalId}: ${problem}`);
      else this.assumptions.cancelled.confirmedBy.push(`${step.name}: ${c.logicalId} (${c.requestType})`);
    }
    if (!this.exercised) {
      step.notes.push('no SesSmtpUser delivery was running when CloudFormation cancelled it: the cancellation case was not exercised this run');
    }
  }

  /** What the sources say CloudFormation logs for a cancelled operation. */
  private cancelledRecordProblem(c: CancelledOperation): string | undefined {
    if (c.requestType === 'Create') {
      const del = c.after.find((a) => a.status === 'DELETE_IN_PROGRESS');
      if (!del) return 'no DELETE_IN_PROGRESS followed the cancelled Create';
      if (parseIssuedId(del.physicalId)) return `the rollback Delete names ${String(del.physicalId)}, an id the handler issued, not one CloudFormation generated`;
      if (!c.after.some((a) => a.status === 'DELETE_COMPLETE')) return 'the rollback Delete did not complete';
      return undefined;
    }
    const rollback = c.after.find((a) => a.status === 'UPDATE_IN_PROGRESS');
    if (!rollback) return 'no rollback UPDATE_IN_PROGRESS followed the cancelled Update';
    if (!parseIssuedId(rollback.physicalId)) return `the rollback Update names ${String(rollback.physicalId)}, not the id the handler issued before`;
    return undefined;
  }

  // ---- the invariant -------------------------------------------------------

  private declared(): Declared {
    const live = this.live?.credentials ?? [];
    const liveSecrets = new Set(live.flatMap((c) => c.targets.map((t) => this.physicalIdsSeen[t.secretLogicalId])));
    return {
      live,
      users: this.userNames,
      ownerTagKey: this.plan.stages[0].ownerTagKey,
      rotations: Object.fromEntries(Object.entries(this.rotations).filter(([id]) => live.some((c) => c.logicalId === id))),
      gone: [...this.secretArns].filter((arn) => !liveSecrets.has(arn)),
    };
  }

  async observe(declared: Declared): Promise<Observation> {
    const deleted = this.live === undefined;
    const physicalIds = deleted || !this.stackId ? {} : await this.aws.physicalIds(this.stackId);
    const arns = [...new Set([...declared.live.flatMap((c) => c.targets.map((t) => physicalIds[t.secretLogicalId])), ...declared.gone])]
      .filter((a): a is string => a !== undefined);
    const users = Object.fromEntries(await Promise.all(declared.users.map(async (u) => [u, await this.aws.user(u)] as const)));
    const secrets = Object.fromEntries(await Promise.all(arns.map(async (a) => [a, await this.aws.secret(a)] as const)));
    return { stackId: deleted ? undefined : this.stackId, stackName: this.plan.stackName, users, physicalIds, secrets };
  }

  /**
   * Checks the invariant; while it does not hold, looks again (every 30 s) for
   * up to settleMs (the invariant allows one Lambda lifetime after the last
   * delivery ended). Reserved tags are confirmed or contradicted here.
   */
  private async converge(step: StepReport): Promise<void> {
    const deadline = Date.now() + this.options.settleMs;
    for (;;) {
      const declared = this.declared();
      const findings = invariantFindings(declared, await this.observe(declared));
      if (findings.length === 0 || Date.now() >= deadline || this.options.aborted()) {
        step.findings.push(...findings);
        const tagProblems = findings.filter((f) => f.includes('reserved tag'));
        const unseen = findings.some((f) => f.includes('does not exist or is scheduled for deletion'));
        if (tagProblems.length) this.assumptions.reservedTags.contradictedBy.push(`${step.name}: ${tagProblems.length} secret tag(s)`);
        else if (declared.live.length > 0 && !unseen) this.assumptions.reservedTags.confirmedBy.push(`${step.name}: ${declared.live.flatMap((c) => c.targets).length} secret(s)`);
        return;
      }
      this.options.log(`${step.name}: invariant does not hold yet (${findings.length} finding(s)); looking again in ${this.timing.convergePollMs / 1000} s`);
      await this.pause(this.timing.convergePollMs);
      await this.settle(this.cursor + 1);
    }
  }

  // ---- waiting -------------------------------------------------------------

  /**
   * Waits until every handler invocation since `from` has ended and no log
   * line has arrived for timing.logQuietMs; returns those invocations.
   */
  private async settle(from: number): Promise<Invocation[]> {
    const started = Date.now();
    let seen = -1;
    let lastChange = started;
    for (;;) {
      const events = this.logGroupName ? await this.aws.logEvents(this.logGroupName, from) : [];
      const invocations = invocationsOf(events);
      const newest = Math.max(from, ...events.map((e) => e.at));
      const open = unfinished(invocations);
      // Quiet by this machine's clock (log timestamps are the service's).
      if (events.length !== seen) [seen, lastChange] = [events.length, Date.now()];
      const quiet = Date.now() - lastChange >= this.timing.logQuietMs;
      if ((open.length === 0 && quiet) || this.options.aborted()) {
        this.cursor = Math.max(this.cursor, newest);
        return invocations;
      }
      if (Date.now() - started > INVOCATION_MAX_MS) {
        throw new StepAborted(`handler invocations ${open.map((i) => i.requestId).join(', ')} did not end within ${INVOCATION_MAX_MS / 60_000} minutes`);
      }
      await this.pause(this.timing.pollMs);
    }
  }

  private async waitForStack(stackId: string, done: (status: string) => boolean): Promise<string> {
    for (;;) {
      const status = String((await this.aws.stack(stackId))?.StackStatus);
      if (done(status)) return status;
      await this.pause(this.timing.pollMs);
    }
  }

  private async pause(ms: number): Promise<void> {
    if (this.options.aborted()) throw new StepAborted('interrupted');
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  // ---- bookkeeping ---------------------------------------------------------

  private begin(name: string): StepReport {
    if (this.options.aborted()) throw new StepAborted('interrupted');
    const step: StepReport = { name, findings: [], notes: [] };
    this.steps.push(step);
    this.options.log(`step ${name}`);
    return step;
  }

  /** Physical ids and secret ARNs the events name; the cursor moves past them. */
  private remember(events: StackEventRecord[]): void {
    for (const e of events) {
      if (e.physicalId && e.status.endsWith('_COMPLETE') && e.type !== 'AWS::CloudFormation::Stack') this.physicalIdsSeen[e.logicalId] = e.physicalId;
      if (e.type === 'AWS::SecretsManager::Secret' && e.physicalId?.startsWith('arn:')) this.secretArns.add(e.physicalId);
      this.cursor = Math.max(this.cursor, e.at);
    }
  }

  private cdkDeploy(stageId: string): Promise<number> {
    const cli = require.resolve('aws-cdk/bin/cdk');
    const args = [cli, 'deploy', stageId, '--app', this.options.assemblyDir, '--require-approval', 'never', '--progress', 'events', '--ci',
      ...(this.options.operator ? ['--parameters', `Operator=${this.options.operator}`] : [])];
    this.options.log(`cdk ${args.slice(1).join(' ')}`);
    const env = { ...process.env, AWS_REGION: this.options.region, AWS_DEFAULT_REGION: this.options.region };
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? 1));
    });
  }
}

function currentVersion(stages: Record<string, string[]>): string | undefined {
  return Object.entries(stages).find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
