/**
 * CloudFormation's own records of a stack, served on 127.0.0.1 the way the
 * CloudFormation API serves them (query protocol, XML), for the two reads the
 * handler makes to check who sent a request (lib/handler/authority.js):
 *
 * - DescribeStackEvents: the stack's event log, newest first, 100 a page.
 *   CloudFormation logs a resource's `<ACTION>_IN_PROGRESS` event, with the
 *   properties it sends (ResourceProperties), before it invokes the custom
 *   resource, and `<ACTION>_COMPLETE` / `_FAILED` when the answer arrives.
 *   A cleanup or rollback-cleanup Delete is logged for the physical id it
 *   deletes (the old or the new one), while the resource's current record
 *   keeps the other id.
 * - DescribeStackResource: a resource's current record: type, physical id,
 *   status and its template Metadata (intrinsics resolved). A resource that
 *   was deleted is answered with CloudFormation's ValidationError.
 *
 * Sources: the CloudFormation User Guide, "Monitor the progress of a stack
 * update" (an `UPDATE_IN_PROGRESS` event when CloudFormation begins a
 * resource, `UPDATE_COMPLETE` when it is done; a replaced resource's old
 * physical id is deleted after the new one exists, in the
 * `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` phase), the custom resource request
 * reference (a Delete names the physical id it deletes), and the API
 * reference of StackEvent (`ResourceProperties`: "BLOB of the properties used
 * to create the resource") and StackResourceDetail (`Metadata`).
 *
 * What real event histories show and this plays too (the lead's research
 * notes, from AWS-recorded snapshots and the Hooks User Guide): a Create's
 * answer is logged as `CREATE_IN_PROGRESS` "Resource creation Initiated"
 * with the physical id it gave, right before `CREATE_COMPLETE` / `_FAILED`
 * (a Create cancelled before any answer has none); an Update's and a
 * Delete's are not. With pre-provision Hooks registered (`hooks`), each Hook's
 * invocation is logged after the resource's first `*_IN_PROGRESS` event: two
 * events with the resource's logical id, type and status, an empty physical
 * id on a Create, no properties, and `HookType` / `HookStatus`
 * (`HOOK_IN_PROGRESS`, then `HOOK_COMPLETE_SUCCEEDED`) / `HookStatusReason`
 * / `HookInvocationPoint` (`PRE_PROVISION`); then `*_IN_PROGRESS` "Hook
 * invocations complete.  Resource creation initiated" (two spaces; for an
 * Update or a Delete the same words with its action, which no public sample
 * shows), with no properties. NextToken is a cursor into the history: events
 * logged after a page was read do not shift the pages after it.
 *
 * Whoever plays CloudFormation (the emulator, or a World for single
 * requests) writes here through StackLog. Requests are not authorised here:
 * the handler role's CloudFormation permissions are checked on the template
 * (test/ses-smtp-user.test.ts); moto's enforcement covers IAM and Secrets Manager.
 */
import { randomUUID } from 'node:crypto';
import { LoopbackService } from './loopback-service';

export type ResourceAction = 'CREATE' | 'UPDATE' | 'DELETE';

interface LoggedEvent {
  readonly eventId: string;
  readonly logicalId: string;
  readonly physicalId: string;
  readonly type: string;
  readonly status: string;
  readonly timestamp: Date;
  readonly properties?: string;
  readonly reason?: string;
  /** A Hook's invocation on the resource: the Hook's name, and its HookStatus and reason. */
  readonly hook?: { readonly type: string; readonly status: string; readonly reason: string };
}

interface ResourceRecord {
  type: string;
  physicalId: string;
  status: string;
  metadata?: string;
  updated: Date;
}

const PAGE = 100;

/** A custom resource request, as far as CloudFormation's log of it goes. */
export interface LoggedRequest {
  readonly RequestType: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties?: unknown;
}

/** CloudFormation's action for each request type, as its event log names it. */
const ACTION: Record<string, ResourceAction> = { Create: 'CREATE', Update: 'UPDATE', Delete: 'DELETE' };

/** The writing side: what CloudFormation logs while it works on a stack. */
export class StackLog {
  public readonly events: LoggedEvent[] = [];
  public readonly resources = new Map<string, ResourceRecord>();
  /** The pre-provision Hooks registered in the account (their type names): each runs on every resource operation. */
  public hooks: string[] = [];

  /** @param now the clock CloudFormation stamps its events with (the lifecycle simulation's virtual one) */
  constructor(public readonly stackId: string, private readonly now: () => number = Date.now) {}

  get stackName(): string {
    return this.stackId.split('/')[1] ?? this.stackId;
  }

  /** Logs `<action>_IN_PROGRESS` for a resource, as CloudFormation does right before it acts on it. */
  begin(logicalId: string, type: string, action: ResourceAction, options: { physicalId?: string; properties?: unknown; metadata?: unknown } = {}): void {
    const status = `${action}_IN_PROGRESS`;
    const physicalId = options.physicalId ?? '';
    this.log({ logicalId, type, status, physicalId, properties: options.properties === undefined ? undefined : JSON.stringify(options.properties) });
    for (const hook of this.hooks) {
      this.log({ logicalId, type, status, physicalId, hook: { type: hook, status: 'HOOK_IN_PROGRESS', reason: 'Invoking hook' } });
      this.log({ logicalId, type, status, physicalId, hook: { type: hook, status: 'HOOK_COMPLETE_SUCCEEDED', reason: 'Hook succeeded with message: Successful validation' } });
    }
    if (this.hooks.length > 0) {
      const verb = { CREATE: 'creation', UPDATE: 'update', DELETE: 'deletion' }[action];
      this.log({ logicalId, type, status, physicalId, reason: `Hook invocations complete.  Resource ${verb} initiated` });
    }
    const current = this.resources.get(logicalId);
    if (action === 'CREATE' || !current) {
      this.resources.set(logicalId, { type, physicalId, status, metadata: metadataOf(options.metadata), updated: new Date(this.now()) });
    } else if (current.physicalId === physicalId || current.physicalId === '' || action === 'UPDATE') {
      // A cleanup Delete of a replaced id leaves the current record alone; the
      // rollback Delete of a Create that never got an id names the id CloudFormation made up.
      current.status = status;
      if (physicalId) current.physicalId = physicalId;
      current.updated = new Date(this.now());
      if (options.metadata !== undefined) current.metadata = metadataOf(options.metadata);
    }
  }

  /** Logs the end of a resource's operation, with the physical id CloudFormation then holds. */
  finish(logicalId: string, type: string, action: ResourceAction, ok: boolean, physicalId: string, reason?: string, answered = true): void {
    const status = `${action}_${ok ? 'COMPLETE' : 'FAILED'}`;
    // The answer to a Create: its physical id is logged the moment it arrives.
    if (action === 'CREATE' && answered) {
      const begun = [...this.events].reverse().find((e) => e.logicalId === logicalId && e.status === 'CREATE_IN_PROGRESS' && e.properties !== undefined);
      this.log({ logicalId, type, status: 'CREATE_IN_PROGRESS', physicalId, reason: 'Resource creation Initiated', properties: begun?.properties });
    }
    this.log({ logicalId, type, status, physicalId, reason });
    const current = this.resources.get(logicalId);
    if (!current) return;
    if (action === 'DELETE') {
      if (current.physicalId !== physicalId) return;
      if (ok) this.resources.delete(logicalId);
      else current.status = status;
      return;
    }
    current.status = status;
    current.updated = new Date(this.now());
    if (physicalId) current.physicalId = physicalId;
  }

  /**
   * Logs a custom resource request as CloudFormation does before it invokes the
   * handler: `<ACTION>_IN_PROGRESS` with the properties it sends (and the
   * template's Metadata, if given). Returns what logs the outcome from the answer.
   */
  request(event: LoggedRequest, metadata?: unknown): (answer: { Status: string; PhysicalResourceId: string }) => void {
    this.begin(event.LogicalResourceId, event.ResourceType, ACTION[event.RequestType], {
      physicalId: event.PhysicalResourceId, properties: event.ResourceProperties, metadata,
    });
    return this.outcomeOf(event);
  }

  /** What logs a request's outcome from its answer (a Delete's is logged for the id it deleted). */
  outcomeOf(event: LoggedRequest): (answer: { Status: string; PhysicalResourceId: string }) => void {
    const action = ACTION[event.RequestType];
    return (answer) => this.finish(event.LogicalResourceId, event.ResourceType, action, answer.Status === 'SUCCESS',
      action === 'DELETE' ? String(event.PhysicalResourceId) : answer.PhysicalResourceId);
  }

  /**
   * Takes back the outcome last logged for a resource, as if CloudFormation had
   * never received that answer: the operation is in progress again, and a
   * redelivery of its request (Lambda's at-least-once invocation) is expected.
   */
  reopen(logicalId: string): void {
    let i = this.events.length - 1;
    while (i >= 0 && this.events[i].logicalId !== logicalId) i--;
    const last = this.events[i];
    if (!last || last.status.endsWith('_IN_PROGRESS')) return;
    this.events.splice(i, 1);
    // The answer's "Resource creation Initiated" goes with it.
    let j = i - 1;
    while (j >= 0 && this.events[j].logicalId !== logicalId) j--;
    if (j >= 0 && this.events[j].reason === 'Resource creation Initiated') this.events.splice(j, 1);
    const begun = [...this.events].reverse().find((e) => e.logicalId === logicalId);
    const current = this.resources.get(logicalId);
    if (begun && current) {
      current.status = begun.status;
      current.physicalId = begun.physicalId;
    } else if (begun) {
      this.resources.set(logicalId, { type: begun.type, physicalId: begun.physicalId, status: begun.status, updated: new Date(this.now()) });
    }
  }

  /** A resource that exists with its record complete (created before the scenario starts). */
  /**
   * Logs the stack's own `<action>_IN_PROGRESS` "User Initiated", as
   * CloudFormation does when a person or pipeline starts a stack operation
   * (create-stack, update-stack, delete-stack): the stack's logical id is its
   * name, its physical id the stack id, its type AWS::CloudFormation::Stack.
   */
  beginStackOperation(action: ResourceAction): void {
    this.log({ logicalId: this.stackName, type: 'AWS::CloudFormation::Stack', status: `${action}_IN_PROGRESS`, physicalId: this.stackId, reason: 'User Initiated' });
  }

  put(logicalId: string, type: string, physicalId: string, metadata?: unknown): void {
    this.begin(logicalId, type, 'CREATE', { metadata });
    this.finish(logicalId, type, 'CREATE', true, physicalId);
  }

  /** Logs an event that is not a resource operation's begin or end (a cancellation, a stack's own status). */
  note(logicalId: string, type: string, status: string, physicalId: string, reason?: string): void {
    this.log({ logicalId, type, status, physicalId, reason });
    const current = this.resources.get(logicalId);
    if (current && logicalId !== this.stackName) {
      current.status = status;
      current.updated = new Date(this.now());
    }
  }

  private log(e: Omit<LoggedEvent, 'eventId' | 'timestamp'>): void {
    if (this.events.length > 0 && this.now() < this.events[this.events.length - 1].timestamp.getTime()) {
      throw new Error('CloudFormation logs events in time order: this clock went back');
    }
    this.events.push({ ...e, eventId: randomUUID(), timestamp: new Date(this.now()) });
  }
}

function metadataOf(metadata: unknown): string | undefined {
  return metadata === undefined ? undefined : JSON.stringify(metadata);
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function element(name: string, value: string | undefined): string {
  return value === undefined || value === '' ? '' : `<${name}>${xml(value)}</${name}>`;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** The reading side: an HTTP endpoint that answers as the CloudFormation API. */
export class CloudFormationRecords {
  /** Every API call made here, in order (action and stack only). */
  public readonly calls: Array<{ action: string; stack: string }> = [];
  private readonly stacks = new Map<string, StackLog>();

  /**
   * How long after it is logged an event shows in DescribeStackEvents. AWS
   * documents no such delay; the handler must not depend on there being none
   * (lib/handler/authority.js reads again after 1 and 2 seconds).
   */
  public lagMs = 0;

  /** @param now the clock CloudFormation stamps its events with (the lifecycle simulation's virtual one) */
  constructor(private readonly now: () => number = Date.now) {}
  private readonly service = new LoopbackService((_req, body) => ({ contentType: 'text/xml', ...this.answer(new URLSearchParams(body)) }));

  get endpoint(): string {
    return this.service.endpoint;
  }

  /** The log of one stack (made on first use). */
  stack(stackId: string): StackLog {
    let log = this.stacks.get(stackId);
    if (!log) {
      log = new StackLog(stackId, this.now);
      this.stacks.set(stackId, log);
    }
    return log;
  }

  reset(): void {
    this.stacks.clear();
    this.calls.length = 0;
    this.lagMs = 0;
  }

  start(): Promise<void> {
    return this.service.start();
  }

  stop(): Promise<void> {
    return this.service.stop();
  }

  private find(name: string | null): StackLog | undefined {
    if (!name) return undefined;
    return this.stacks.get(name) ?? [...this.stacks.values()].find((s) => s.stackName === name);
  }

  private answer(form: URLSearchParams): { status: number; body: string } {
    const action = form.get('Action') ?? '';
    const stackName = form.get('StackName');
    this.calls.push({ action, stack: String(stackName) });
    const stack = this.find(stackName);
    if (action === 'DescribeStackEvents') {
      if (!stack) return validationError(`Stack [${String(stackName)}] does not exist`);
      // The token is a cursor: how many of the oldest events are still to come.
      const visible = stack.events.filter((e) => e.timestamp.getTime() <= this.now() - this.lagMs).length;
      const before = form.get('NextToken') === null ? visible : Math.min(Number(form.get('NextToken')), visible);
      const from = Math.max(0, before - PAGE);
      const page = stack.events.slice(from, before).reverse();
      const next = from > 0 ? String(from) : undefined;
      const members = page.map((e) => `<member>${element('EventId', e.eventId)}${element('StackId', stack.stackId)}${element('StackName', stack.stackName)}`
        + `${element('LogicalResourceId', e.logicalId)}${element('PhysicalResourceId', e.physicalId)}${element('ResourceType', e.type)}`
        + `${element('Timestamp', e.timestamp.toISOString())}${element('ResourceStatus', e.status)}${element('ResourceStatusReason', e.reason)}`
        + `${element('ResourceProperties', e.properties)}`
        + (e.hook ? `${element('HookType', e.hook.type)}${element('HookStatus', e.hook.status)}${element('HookStatusReason', e.hook.reason)}`
          + `${element('HookInvocationPoint', 'PRE_PROVISION')}${element('HookFailureMode', 'FAIL')}` : '')
        + '</member>').join('');
      return ok('DescribeStackEvents', `<StackEvents>${members}</StackEvents>${element('NextToken', next)}`);
    }
    if (action === 'DescribeStackResource') {
      const logicalId = form.get('LogicalResourceId') ?? '';
      if (!stack) return validationError(`Stack '${String(stackName)}' does not exist`);
      const r = stack.resources.get(logicalId);
      if (!r) return validationError(`Resource ${logicalId} does not exist for stack ${stack.stackName}`);
      return ok('DescribeStackResource', `<StackResourceDetail>${element('StackId', stack.stackId)}${element('StackName', stack.stackName)}`
        + `${element('LogicalResourceId', logicalId)}${element('PhysicalResourceId', r.physicalId)}${element('ResourceType', r.type)}`
        + `${element('LastUpdatedTimestamp', r.updated.toISOString())}${element('ResourceStatus', r.status)}${element('Metadata', r.metadata)}</StackResourceDetail>`);
    }
    return { status: 400, body: errorBody('InvalidAction', `The action ${action} is not valid for this web service.`) };
  }
}

function ok(action: string, result: string): { status: number; body: string } {
  return {
    status: 200,
    body: `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result>`
      + `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function errorBody(code: string, message: string): string {
  return `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error>`
    + `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

function validationError(message: string): { status: number; body: string } {
  return { status: 400, body: errorBody('ValidationError', message) };
}
