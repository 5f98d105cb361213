/**
 * CloudFormation, as the lifecycle simulation plays it for one stack with
 * one Custom::SesSmtpCredentials resource and the secrets it writes.
 *
 * It sends the requests of each lifecycle moment in CloudFormation's order
 * and logs the statuses real CloudFormation logs (lib/handler/authority.js
 * reads them back through test/support/cfn-records.ts):
 *
 * - create and update: `<ACTION>_IN_PROGRESS` with the properties sent, then
 *   `<ACTION>_COMPLETE` / `_FAILED` from the first answer CloudFormation
 *   takes; later answers for the same request are ignored.
 * - cleanup: after a successful update that replaced the physical id, a
 *   Delete of the old id with the old properties, whose failure CloudFormation
 *   ignores (the stack still ends UPDATE_COMPLETE).
 * - a sibling resource fails while the custom resource is in flight:
 *   CloudFormation logs `CREATE_FAILED` / `UPDATE_FAILED` "Resource creation
 *   cancelled" / "Resource update cancelled", stops waiting for that answer
 *   and rolls back at once (cloudformation-coverage-roadmap#1730, aws-cdk#26139,
 *   aws-cdk#31541): a cancelled Create gets a Delete with a physical id
 *   CloudFormation made up (`<stack>-<logical id>-<random>`); a cancelled
 *   Update gets a rollback Update with the old properties and the old id.
 * - a sibling fails after the custom resource finished: the rollback Delete
 *   of what was created, or the rollback Update back to the old properties
 *   and then (rollback cleanup) a Delete of the new id.
 * - no answer within ServiceTimeout (1 hour): `_FAILED` "CloudFormation did
 *   not receive a response from your Custom Resource", then the same
 *   rollback as for a cancellation.
 * - stack delete: Delete of the current id, then the secrets.
 *
 * Lambda's part: each request is invoked once; the simulation adds
 * redeliveries (Lambda's retry of a failed or killed invocation, same
 * event) and copies (an invoker's made-up deliveries of the same request).
 */
import { randomUUID } from 'node:crypto';
import type { StackLog } from '../cfn-records';
import type { CfnResponse } from '../cloudformation';
import type { Delivery } from './runtime';

export type RequestType = 'Create' | 'Update' | 'Delete';
export type Phase = 'create' | 'update' | 'cleanup' | 'rollback' | 'rollback-cleanup' | 'delete';

/** What the template says about the custom resource: which user, which serial. */
export interface Desired {
  readonly user: string;
  readonly serial: string;
}

export interface CfnRequestEvent {
  readonly RequestType: RequestType;
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly ResourceProperties: Record<string, unknown>;
  readonly PhysicalResourceId?: string;
  readonly OldResourceProperties?: Record<string, unknown>;
}

export interface Operation {
  readonly phase: Phase;
  readonly event: CfnRequestEvent;
  readonly desired: Desired;
  readonly deliveries: Delivery[];
  /** CloudFormation took an answer (or gave up waiting). */
  settled: boolean;
  /** Answers to this request never reach CloudFormation. */
  answersLost: boolean;
  answer?: CfnResponse;
  readonly cancelTimeout: () => void;
}

/** What the rest of the simulation gives the stack actor. */
export interface StackEnvironment {
  readonly stackId: string;
  readonly stackName: string;
  readonly logicalId: string;
  readonly resourceType: string;
  readonly log: StackLog;
  /** The properties CloudFormation sends for a desired state (every scalar a string). */
  properties(desired: Desired): Record<string, unknown>;
  /** A pre-signed ResponseURL stand-in for a request id. */
  responseUrl(requestId: string): string;
  /** Invokes the handler with a CloudFormation request. */
  invoke(event: CfnRequestEvent, label: string): Delivery;
  /** Starts a timer on the simulation's clock. */
  timer(fire: () => void, ms: number): () => void;
  /** CloudFormation deletes the secrets (after the custom resource, in a delete or a rollback of the create). */
  deleteSecrets(): void;
  /** The secret resources were updated to the template's desired state (their registration Metadata). */
  secretsDescribe(desired: Desired): void;
  /** Notes what happened, for the census of defects (e.g. 'cancel-create'). */
  mark(what: string): void;
}

/** CloudFormation waits at most this long for an answer (the construct's ServiceTimeout). */
export const SERVICE_TIMEOUT_MS = 3_600_000;

type StackStatus = 'NONE' | 'BUSY' | 'IDLE' | 'DELETE_FAILED' | 'ROLLBACK_FAILED' | 'UPDATE_ROLLBACK_FAILED' | 'GONE';

interface StackOperation {
  readonly kind: 'create' | 'update' | 'delete';
  /** The resource's record before the operation (update). */
  readonly before?: { physicalId: string; desired: Desired };
  readonly desired: Desired;
  /** The custom resource's create or update succeeded; the operation waits for its siblings. */
  resourceDone: boolean;
  /** The physical id the create or update answered. */
  newPhysicalId?: string;
  rollingBack: boolean;
}

export class StackActor {
  public status: StackStatus = 'NONE';
  /** CloudFormation's current record of the custom resource. */
  public record?: { physicalId: string; desired: Desired };
  /** Every request CloudFormation sent, oldest first. */
  public readonly operations: Operation[] = [];
  /** Something CloudFormation did that the simulation did not expect (a bug in the simulation). */
  public readonly problems: string[] = [];
  private stackOp?: StackOperation;
  /** The stack operation whose rollback failed (UPDATE_ROLLBACK_FAILED), for continue-update-rollback. */
  private failedRollback?: StackOperation;
  private current?: Operation;

  constructor(private readonly env: StackEnvironment) {}

  /** Whether CloudFormation is waiting for an answer or for the stack operation to end. */
  get busy(): boolean {
    return this.status === 'BUSY';
  }

  /** The request CloudFormation waits on, if any. */
  get waitingOn(): Operation | undefined {
    return this.current && !this.current.settled ? this.current : undefined;
  }

  // ---- what a person or pipeline does ----

  /** `cdk deploy` of a template with this desired state. */
  deploy(desired: Desired): string {
    this.finishStackOperation();
    if (this.status === 'NONE') {
      this.status = 'BUSY';
      this.env.log.beginStackOperation('CREATE');
      this.env.secretsDescribe(desired);
      this.stackOp = { kind: 'create', desired, resourceDone: false, rollingBack: false };
      this.send('create', 'Create', desired);
      return 'create';
    }
    if (this.status !== 'IDLE' || !this.record) return `no deploy (stack ${this.status})`;
    if (same(this.record.desired, desired)) return 'no change';
    this.status = 'BUSY';
    this.env.log.beginStackOperation('UPDATE');
    this.env.secretsDescribe(desired);
    this.stackOp = { kind: 'update', before: { ...this.record }, desired, resourceDone: false, rollingBack: false };
    this.send('update', 'Update', desired, { physicalId: this.record.physicalId, oldDesired: this.record.desired });
    return 'update';
  }

  /**
   * `aws cloudformation continue-update-rollback`: what CloudFormation tells
   * an operator to do with a stack in UPDATE_ROLLBACK_FAILED, which it never
   * leaves by itself. CloudFormation sends the rollback Update again (a new
   * operation), and on success the rollback cleanup.
   */
  continueUpdateRollback(): string {
    const op = this.failedRollback;
    if (this.status !== 'UPDATE_ROLLBACK_FAILED' || !op) return `no continue-update-rollback (stack ${this.status})`;
    this.failedRollback = undefined;
    this.status = 'BUSY';
    this.stackOp = op;
    this.rollBack(op, { cancelled: false });
    return 'continue-update-rollback';
  }

  /** `cdk destroy`, or deleting a stack that failed to roll back. */
  deleteStack(): string {
    this.finishStackOperation();
    if (this.status === 'NONE' || this.status === 'GONE' || this.status === 'BUSY') return `no delete (stack ${this.status})`;
    this.status = 'BUSY';
    this.env.log.beginStackOperation('DELETE');
    if (!this.record) {
      this.afterResourceDeleted();
      return 'delete (no resource)';
    }
    this.env.mark('stack-delete');
    this.stackOp = { kind: 'delete', desired: this.record.desired, resourceDone: false, rollingBack: false };
    this.send('delete', 'Delete', this.record.desired, { physicalId: this.record.physicalId });
    return 'delete';
  }

  /** Another resource of the stack fails: CloudFormation cancels what is in flight and rolls back. */
  siblingFails(): string {
    const op = this.stackOp;
    if (!op || op.kind === 'delete' || op.rollingBack || this.status !== 'BUSY') return 'no sibling to fail';
    op.rollingBack = true;
    const inFlight = this.waitingOn;
    if (inFlight && (inFlight.phase === 'create' || inFlight.phase === 'update')) {
      this.settle(inFlight);
      const action = inFlight.event.RequestType === 'Create' ? 'CREATE' : 'UPDATE';
      this.env.log.note(this.env.logicalId, this.env.resourceType, `${action}_FAILED`,
        inFlight.event.PhysicalResourceId ?? '', `Resource ${action === 'CREATE' ? 'creation' : 'update'} cancelled`);
      this.env.mark(`cancel-${inFlight.phase}`);
      this.rollBack(op, { cancelled: true });
      return `cancel ${inFlight.event.RequestType}`;
    }
    if (!op.resourceDone) return 'no sibling to fail (the resource is not in flight)';
    this.rollBack(op, { cancelled: false });
    return 'roll back';
  }

  /** Answers to the request in flight never reach CloudFormation (the PUT is lost). */
  loseAnswers(): string {
    const op = this.waitingOn;
    if (!op) return 'nothing in flight';
    op.answersLost = true;
    this.env.mark(`answers-lost-${op.phase}`);
    return `answers of ${op.event.RequestType} (${op.phase}) lost`;
  }

  /** Ends an open create or update whose resource is done: cleanup, then UPDATE_COMPLETE. */
  finishStackOperation(): void {
    const op = this.stackOp;
    if (!op || op.rollingBack || !op.resourceDone || this.waitingOn) return;
    this.stackOp = undefined;
    if (op.kind === 'update' && op.before && op.newPhysicalId !== op.before.physicalId) {
      this.send('cleanup', 'Delete', op.before.desired, { physicalId: op.before.physicalId });
      return;
    }
    this.status = 'IDLE';
  }

  // ---- what CloudFormation hears ----

  /** An answer PUT to the response bucket. */
  onAnswer(answer: CfnResponse): void {
    const op = this.operations.find((o) => o.event.RequestId === answer.RequestId);
    if (!op || op.settled || op.answersLost) return; // not CloudFormation's request, or no longer waited for
    op.answer = answer;
    this.settle(op);
    const ok = answer.Status === 'SUCCESS';
    const action = ACTION[op.event.RequestType];
    const physicalId = op.event.RequestType === 'Delete' ? String(op.event.PhysicalResourceId) : answer.PhysicalResourceId;
    this.env.log.finish(this.env.logicalId, this.env.resourceType, action, ok, physicalId, answer.Reason);
    this.after(op, ok, answer.PhysicalResourceId);
  }

  // ---- CloudFormation's own moves ----

  private send(phase: Phase, type: RequestType, desired: Desired, options: { physicalId?: string; oldDesired?: Desired } = {}): Operation {
    const requestId = randomUUID();
    const event: CfnRequestEvent = {
      RequestType: type,
      ResponseURL: this.env.responseUrl(requestId),
      StackId: this.env.stackId,
      RequestId: requestId,
      LogicalResourceId: this.env.logicalId,
      ResourceType: this.env.resourceType,
      ResourceProperties: this.env.properties(desired),
      ...(options.physicalId !== undefined ? { PhysicalResourceId: options.physicalId } : {}),
      ...(options.oldDesired ? { OldResourceProperties: this.env.properties(options.oldDesired) } : {}),
    };
    this.env.log.begin(this.env.logicalId, this.env.resourceType, ACTION[type], { physicalId: options.physicalId, properties: event.ResourceProperties });
    const op: Operation = {
      phase, event, desired, deliveries: [], settled: false, answersLost: false,
      cancelTimeout: this.env.timer(() => this.timedOut(op), SERVICE_TIMEOUT_MS),
    };
    this.operations.push(op);
    this.current = op;
    op.deliveries.push(this.env.invoke(event, `${type} (${phase})`));
    return op;
  }

  /** Lambda delivers the request again (its retry of a failed or killed invocation). */
  redeliver(op: Operation): Delivery {
    const delivery = this.env.invoke(op.event, `${op.event.RequestType} (${op.phase}) again`);
    op.deliveries.push(delivery);
    return delivery;
  }

  /** An invoker's made-up copy of the request in flight: the same request, its own RequestId and ResponseURL. */
  copy(op: Operation): Delivery {
    this.env.mark(`copies-${op.phase}`);
    const requestId = randomUUID();
    return this.env.invoke({ ...op.event, RequestId: requestId, ResponseURL: this.env.responseUrl(requestId) }, `copy of ${op.event.RequestType} (${op.phase})`);
  }

  private settle(op: Operation): void {
    op.settled = true;
    op.cancelTimeout();
  }

  private timedOut(op: Operation): void {
    if (op.settled) return;
    this.settle(op);
    this.env.mark(`timeout-${op.phase}`);
    const action = ACTION[op.event.RequestType];
    const physicalId = op.event.PhysicalResourceId ?? '';
    this.env.log.finish(this.env.logicalId, this.env.resourceType, action, false, physicalId,
      `CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId [${op.event.RequestId}].`, false);
    if (op.phase === 'create' || op.phase === 'update') {
      if (this.stackOp) this.stackOp.rollingBack = true;
      this.rollBack(this.stackOp, { cancelled: true });
      return;
    }
    this.after(op, false, physicalId);
  }

  /** What CloudFormation does next once a request is answered (or given up on). */
  private after(op: Operation, ok: boolean, answeredId: string): void {
    const stackOp = this.stackOp;
    switch (op.phase) {
      case 'create':
      case 'update':
        if (!stackOp) return this.problem(`an answer to ${op.phase} without a stack operation`);
        if (ok) {
          stackOp.resourceDone = true;
          stackOp.newPhysicalId = answeredId;
          this.record = { physicalId: answeredId, desired: op.desired };
          if (stackOp.rollingBack) this.rollBack(stackOp, { cancelled: false });
          return;
        }
        stackOp.rollingBack = true;
        if (op.phase === 'create') this.record = { physicalId: answeredId, desired: op.desired };
        this.rollBack(stackOp, { cancelled: false, failed: true });
        return;
      case 'cleanup':
        if (!ok) this.env.mark('failed-cleanup');
        this.status = 'IDLE'; // CloudFormation ignores a failed cleanup
        return;
      case 'rollback':
        if (op.event.RequestType === 'Update') {
          if (!ok) {
            this.status = 'UPDATE_ROLLBACK_FAILED';
            this.failedRollback = stackOp;
            this.stackOp = undefined;
            return;
          }
          const newId = stackOp?.newPhysicalId;
          this.record = { physicalId: answeredId, desired: op.desired };
          this.stackOp = undefined;
          if (stackOp?.resourceDone && newId && newId !== answeredId) {
            this.send('rollback-cleanup', 'Delete', stackOp.desired, { physicalId: newId });
            return;
          }
          this.status = 'IDLE';
          return;
        }
        // the rollback Delete of a create
        this.stackOp = undefined;
        if (!ok) {
          this.status = 'ROLLBACK_FAILED';
          return;
        }
        this.record = undefined;
        this.afterResourceDeleted();
        return;
      case 'rollback-cleanup':
        if (!ok) this.env.mark('failed-rollback-cleanup');
        this.status = 'IDLE';
        return;
      case 'delete':
        this.stackOp = undefined;
        if (!ok) {
          this.status = 'DELETE_FAILED';
          return;
        }
        this.record = undefined;
        this.afterResourceDeleted();
        return;
      default:
        return undefined;
    }
  }

  /** Rolls back a create or an update; `cancelled`: the resource's request was still in flight. */
  private rollBack(op: StackOperation | undefined, how: { cancelled: boolean; failed?: boolean }): void {
    if (!op) return this.problem('a rollback without a stack operation');
    this.env.secretsDescribe(op.before?.desired ?? op.desired);
    if (op.kind === 'create') {
      if (how.cancelled) {
        // The Create never answered: CloudFormation makes up a physical id for the Delete.
        const madeUp = `${this.env.stackName}-${this.env.logicalId}-${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;
        this.record = { physicalId: madeUp, desired: op.desired };
      }
      if (!this.record) return this.problem('a create rolled back without a record');
      this.send('rollback', 'Delete', this.record.desired, { physicalId: this.record.physicalId });
      return;
    }
    if (op.kind === 'update' && op.before) {
      if (how.cancelled || how.failed) {
        // No new id reached CloudFormation: roll back to the old properties under the old id.
        this.record = { ...op.before };
        op.resourceDone = false;
      }
      const current = op.resourceDone && op.newPhysicalId ? op.newPhysicalId : op.before.physicalId;
      this.send('rollback', 'Update', op.before.desired, { physicalId: current, oldDesired: op.desired });
    }
  }

  private afterResourceDeleted(): void {
    this.env.deleteSecrets();
    this.status = 'GONE';
  }

  private problem(what: string): void {
    this.problems.push(what);
  }
}

const ACTION = { Create: 'CREATE', Update: 'UPDATE', Delete: 'DELETE' } as const;

function same(a: Desired, b: Desired): boolean {
  return a.user === b.user && a.serial === b.serial;
}
