// @ts-check
'use strict';
/**
 * CloudFormation's log of one resource, read as operations.
 *
 * DescribeStackEvents lists a stack's events newest first, 100 a page.
 * CloudFormation logs `<ACTION>_IN_PROGRESS` for a resource (with the
 * properties it sends, `ResourceProperties`) before it acts on it, and
 * `<ACTION>_COMPLETE` / `<ACTION>_FAILED` when it is done: an answer came, or
 * it stopped waiting (a sibling failed: "Resource creation cancelled";
 * ServiceTimeout passed). An operation is the run of one resource's
 * IN_PROGRESS events for one action and physical id, and the event that
 * ended it; its first event is its identity: every delivery of a request
 * reads the same one, whatever its RequestId says.
 *
 * What CloudFormation logs, from real event histories (see docs/security.md,
 * "What the handler assumes of CloudFormation's log"): a custom resource's
 * Create logs `CREATE_IN_PROGRESS` (no reason, no physical id, with the
 * properties) before the request, then, when the answer arrives,
 * `CREATE_IN_PROGRESS` "Resource creation Initiated" with the id the answer
 * gave, then `CREATE_COMPLETE` / `CREATE_FAILED`. A Hook's invocation events
 * carry the resource's own logical id and `*_IN_PROGRESS` status, an empty
 * physical id and no properties, and `HookType`; "Hook invocations complete"
 * follows them. The Delete of a cleanup phase carries no properties, and its
 * type may read `AWS::CloudFormation::CustomResource`.
 *
 * Reading stops as soon as what is asked is known: the resource's newest
 * operation (and, when asked, the one before it), or the start of the
 * stack's current operation (no event of this resource older than that can
 * belong to an operation still in flight), or an hour and a bit back
 * (CloudFormation waits at most ServiceTimeout, an hour, for an answer).
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {import('./aws').StackEvent} StackEvent
 * @typedef {{
 *   action: 'CREATE' | 'UPDATE' | 'DELETE',
 *   physicalId: string,
 *   events: StackEvent[],
 *   end?: StackEvent,
 *   start: StackEvent,
 * }} LoggedOperation
 *   events: its IN_PROGRESS events, newest first; end: the event that ended it, if it ended; start: its first event
 */
const { uuidOf } = require('./journal');
const { StackEventCache } = require('./event-cache');

/** CloudFormation waits at most an hour (ServiceTimeout) for an answer: older events cannot be in flight. */
const OLDEST_EVENT_MS = 3_600_000 + 300_000;
/** DescribeStackEvents answers 100 events a page. */
const PAGE_SIZE = 100;
/** Events looked at most: 20 pages. */
const MAX_EVENTS_READ = 20 * PAGE_SIZE;
const ACTIONS = /** @type {const} */ (['CREATE', 'UPDATE', 'DELETE']);

/** @param {StackEvent} e @returns {{ action: 'CREATE' | 'UPDATE' | 'DELETE', phase: string } | undefined} */
function statusOf(e) {
  const match = /^(CREATE|UPDATE|DELETE)_(IN_PROGRESS|COMPLETE|FAILED)$/.exec(String(e.ResourceStatus));
  if (!match) return undefined;
  return { action: /** @type {'CREATE' | 'UPDATE' | 'DELETE'} */ (match[1]), phase: match[2] };
}

/**
 * The stack's own event that begins a stack operation a person or pipeline
 * started (create, update, delete): everything older belongs to operations
 * that ended before it began.
 * @param {StackEvent} e
 * @param {string} stackId
 */
function beginsStackOperation(e, stackId) {
  return e.ResourceType === 'AWS::CloudFormation::Stack' && e.PhysicalResourceId === stackId
    && /^(CREATE|UPDATE|DELETE)_IN_PROGRESS$/.test(String(e.ResourceStatus)) && e.ResourceStatusReason === 'User Initiated';
}

/**
 * Reads the resource's newest operation and, with `predecessor`, the one
 * before it, from the top of the stack's history down only as far as needed:
 * - the newest operation is known at its first event (an `IN_PROGRESS`
 *   event with no reason: nothing older belongs to it);
 * - the one before is known enough at its end event when that is
 *   `*_COMPLETE` (it needs nothing settled); otherwise at its first event;
 * - nothing older than the stack operation in progress, or than an hour and
 *   a bit, can be in flight;
 * - when the newest page shows nothing of the resource, `worthReading` (if
 *   given) decides whether to read on (authority.js asks CloudFormation
 *   whether the resource is being worked on at all).
 * @param {string} stackId
 * @param {string} logicalId
 * @param {AwsPort} aws
 * @param {{ predecessor?: boolean, pastStackStart?: boolean, cache?: StackEventCache, worthReading?: () => Promise<boolean> }} [options]
 *   pastStackStart: look for the predecessor before the stack operation's start too (a Delete of an id the
 *   handler never issued takes its properties from the operation before it, which may belong to the stack
 *   operation before this one: a rollback that failed, then delete-stack), within the same time and event bounds
 *   cache: what this container read before (event-cache.js); a fresh one when none is given
 * @returns {Promise<{ current?: LoggedOperation, previous?: LoggedOperation, stopped?: boolean, stackAction?: 'CREATE' | 'UPDATE' | 'DELETE' }>}
 *   stackAction: the stack operation in progress, when reading reached the event that began it
 *   stopped: worthReading said no
 */
async function readOperations(stackId, logicalId, aws, { predecessor = false, pastStackStart = false, cache = new StackEventCache(), worthReading } = {}) {
  const oldest = aws.now() - OLDEST_EVENT_MS;
  /** @type {LoggedOperation[]} */
  const operations = [];
  /** @type {LoggedOperation | undefined} the operation being read (its older events may follow) */
  let open;
  const wanted = predecessor ? 2 : 1;
  let examined = 0;
  let seen = false;
  /** @type {'CREATE' | 'UPDATE' | 'DELETE' | undefined} */
  let stackAction;
  for await (const e of cache.newestFirst(stackId, aws)) {
    if (++examined > MAX_EVENTS_READ) break;
    if (e.Timestamp && new Date(e.Timestamp).getTime() < oldest) break;
    // Nothing older can be part of an operation on this resource still in flight.
    if (beginsStackOperation(e, stackId)) {
      stackAction ??= statusOf(e)?.action;
      // Past it only for the operation before this one, once this one is found above it.
      if (pastStackStart && (operations.length > 0 || open !== undefined)) continue;
      break;
    }
    // A Hook's invocation is not an operation.
    if (e.LogicalResourceId === logicalId && e.HookType === undefined) {
      seen = true;
      if (take(e)) break;
    }
    if (examined === PAGE_SIZE && !seen && worthReading && !(await worthReading())) return { ...close(), stopped: true };
  }
  return { ...close(), stackAction };

  /**
   * Adds one of the resource's events to the operations read so far.
   * @param {StackEvent} e
   * @returns {boolean} whether enough is known
   */
  function take(e) {
    const status = statusOf(e);
    if (!status) return false;
    // An IN_PROGRESS event belongs to the operation being read if it is for the
    // same action and the same physical id, or none ("Hook invocations
    // complete"; a Create's first event), or a Create's ("Resource creation
    // Initiated" names the id the answer gave). The end event of an update
    // that replaced the resource names the new id.
    const id = e.PhysicalResourceId ?? '';
    if (open && status.phase === 'IN_PROGRESS' && status.action === open.action
      && (open.events.length === 0 || open.action === 'CREATE' || id === '' || open.physicalId === '' || id === open.physicalId)) {
      if (id !== '' && (open.events.length === 0 || open.physicalId === '')) open.physicalId = id;
      open.events.push(e);
      open.start = e;
    } else {
      if (open) operations.push(open);
      open = status.phase === 'IN_PROGRESS'
        ? { action: status.action, physicalId: id, events: [e], start: e }
        : { action: status.action, physicalId: '', events: [], end: e, start: e };
    }
    if (status.phase === 'IN_PROGRESS' && !e.ResourceStatusReason) {
      // Its first event: the operation is whole.
      operations.push(/** @type {LoggedOperation} */ (open));
      open = undefined;
    } else if (open && open.events.length === 0 && status.phase === 'COMPLETE' && operations.length === wanted - 1 && operations.length > 0) {
      // The one before the newest ended well: nothing of it needs settling, so its start is not needed.
      operations.push(open);
      open = undefined;
    }
    return operations.length >= wanted;
  }

  function close() {
    if (open && (open.events.length > 0 || !open.end)) operations.push(open);
    else if (open?.end && statusOf(open.end)?.phase === 'COMPLETE' && operations.length > 0) operations.push(open);
    open = undefined;
    // A Create asks for no physical id; an Update's or a Delete's is the one its first event names.
    for (const op of operations) {
      if (op.action === 'CREATE') op.physicalId = '';
      else if (op.events.length > 0 && op.start.PhysicalResourceId) op.physicalId = op.start.PhysicalResourceId;
    }
    // The newest operation must be identified by its IN_PROGRESS events; the
    // one before may be known by its COMPLETE end alone.
    const [first, second] = operations;
    const current = first && first.events.length > 0 ? first : undefined;
    const previous = current && second && (second.events.length > 0 || outcomeOf(second) === 'complete') ? second : undefined;
    return { current, previous };
  }
}

/**
 * An operation's id: CloudFormation's id of the event that began it (its time, should an answer lack the id).
 * @param {string} stackId
 * @param {string} logicalId
 * @param {LoggedOperation} operation
 */
function operationIdOf(stackId, logicalId, operation) {
  const start = operation.start;
  return uuidOf(`${stackId}|${logicalId}|${start.EventId ?? new Date(start.Timestamp ?? 0).toISOString()}`);
}

/**
 * The properties CloudFormation logged for an operation (on one of its IN_PROGRESS events).
 * @param {LoggedOperation} operation
 * @returns {unknown} undefined when none is readable
 */
function loggedProperties(operation) {
  const logged = [...operation.events].reverse().find((e) => e.ResourceProperties !== undefined);
  if (!logged) return undefined;
  try {
    return JSON.parse(String(logged.ResourceProperties));
  } catch {
    return undefined;
  }
}

/**
 * How an operation ended, as CloudFormation logged it.
 * @param {LoggedOperation} operation
 * @returns {'in-progress' | 'complete' | 'failed'}
 */
function outcomeOf(operation) {
  if (!operation.end) return 'in-progress';
  return statusOf(operation.end)?.phase === 'COMPLETE' ? 'complete' : 'failed';
}

module.exports = { readOperations, operationIdOf, loggedProperties, outcomeOf, uuidOf, ACTIONS, OLDEST_EVENT_MS };
