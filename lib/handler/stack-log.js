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
const { createHash } = require('node:crypto');

/** CloudFormation waits at most an hour (ServiceTimeout) for an answer: older events cannot be in flight. */
const OLDEST_EVENT_MS = 3_600_000 + 300_000;
/** Pages of stack events read at most (100 events each). */
const MAX_EVENT_PAGES = 20;
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
 * Reads the resource's newest operation and, with `predecessor`, the one before it.
 * @param {string} stackId
 * @param {string} logicalId
 * @param {AwsPort} aws
 * @param {{ predecessor?: boolean }} [options]
 * @returns {Promise<{ current?: LoggedOperation, previous?: LoggedOperation }>}
 */
async function readOperations(stackId, logicalId, aws, { predecessor = false } = {}) {
  const oldest = aws.now() - OLDEST_EVENT_MS;
  /** @type {LoggedOperation[]} */
  const operations = [];
  /** @type {LoggedOperation | undefined} the operation being read (its older events may follow) */
  let open;
  const wanted = predecessor ? 2 : 1;
  const done = () => operations.length >= wanted && !open;
  /** @type {string | undefined} */
  let nextToken;
  for (let page = 0; page < MAX_EVENT_PAGES && !done(); page++) {
    const out = await aws.stackEvents(stackId, nextToken);
    for (const e of out.events) {
      if (e.Timestamp && new Date(e.Timestamp).getTime() < oldest) return close();
      if (beginsStackOperation(e, stackId)) {
        // Nothing older can be part of an operation on this resource still in flight.
        return close();
      }
      if (e.LogicalResourceId !== logicalId || e.HookType !== undefined) continue; // a Hook's invocation is not an operation
      const status = statusOf(e);
      if (!status) continue;
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
        continue;
      }
      if (open) {
        operations.push(open);
        open = undefined;
        if (done()) return close();
      }
      open = status.phase === 'IN_PROGRESS'
        ? { action: status.action, physicalId: id, events: [e], start: e }
        : { action: status.action, physicalId: '', events: [], end: e, start: e };
    }
    nextToken = out.nextToken;
    if (!nextToken) break;
  }
  return close();

  function close() {
    if (open && (open.events.length > 0 || !open.end)) operations.push(open);
    // A Create asks for no physical id; an Update's or a Delete's is the one its first event names.
    for (const op of operations) {
      if (op.action === 'CREATE') op.physicalId = '';
      else if (op.start.PhysicalResourceId) op.physicalId = op.start.PhysicalResourceId;
    }
    // An end event whose IN_PROGRESS events were not read is no operation we can identify.
    const identified = operations.filter((o) => o.events.length > 0);
    return { current: identified[0], previous: identified[1] };
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

/** @param {string} text @returns {string} a UUID-shaped digest (a Secrets Manager version id) */
function uuidOf(text) {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
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

module.exports = { readOperations, operationIdOf, loggedProperties, outcomeOf, ACTIONS, OLDEST_EVENT_MS };
