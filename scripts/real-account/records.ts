/**
 * Reading the services' records of a run, without AWS calls (aws.ts fetches
 * them): the handler's log lines as Lambda writes them (Text format), and
 * CloudFormation's stack events. From them: every invocation of the handler
 * with its outcome lines and its WARN / Refused / ERROR lines, every
 * operation on a SesSmtpUser that CloudFormation cancelled and whether a
 * delivery was running at that moment, and what CloudFormation logged as
 * ResourceProperties.
 */

/** One CloudFormation stack event, as the check keeps it. */
export interface StackEventRecord {
  readonly logicalId: string;
  readonly physicalId?: string;
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  /** Epoch ms. */
  readonly at: number;
  /** ResourceProperties, the JSON text CloudFormation logged with the event. */
  readonly properties?: string;
}

/** One CloudWatch Logs event of the handler's log group. */
export interface LogEvent {
  /** Epoch ms. */
  readonly at: number;
  readonly message: string;
}

/** A JSON line of the handler that reports how a request or a rotation step ended. */
export interface Outcome {
  readonly at: number;
  readonly requestType?: string;
  readonly logicalId?: string;
  readonly rotationStep?: string;
  readonly status: string;
  readonly reason?: string;
}

/** One Lambda invocation of the handler. */
export interface Invocation {
  readonly requestId: string;
  start?: number;
  /** When Lambda wrote its REPORT line: the invocation has ended. */
  end?: number;
  readonly outcomes: Outcome[];
  /** Lines with `"level":"WARN"`. */
  readonly warnings: string[];
  /** Lines that say `Refused`. */
  readonly refusals: string[];
  /** `"level":"ERROR"` lines, timeouts and uncaught errors (outcome lines excluded). */
  readonly errors: string[];
}

const PLATFORM_LINE = /^(START|END|REPORT) RequestId: ([0-9a-f-]{36})/;
const APP_LINE = /^\S+\t([0-9a-f-]{36})\t(\w+)\t([\s\S]*)$/;

/** Groups the log events of a window into invocations (Lambda's Text log format). */
export function invocationsOf(events: LogEvent[]): Invocation[] {
  const byId = new Map<string, Invocation>();
  const of = (requestId: string): Invocation => {
    let invocation = byId.get(requestId);
    if (!invocation) {
      invocation = { requestId, outcomes: [], warnings: [], refusals: [], errors: [] };
      byId.set(requestId, invocation);
    }
    return invocation;
  };
  for (const event of [...events].sort((a, b) => a.at - b.at)) {
    const platform = PLATFORM_LINE.exec(event.message);
    if (platform) {
      if (platform[1] === 'START') of(platform[2]).start = event.at;
      if (platform[1] === 'REPORT') of(platform[2]).end = event.at;
      continue;
    }
    const line = APP_LINE.exec(event.message.trimEnd());
    if (!line) continue;
    const [, requestId, level, text] = line;
    const invocation = of(requestId);
    const json = parseObject(text);
    const outcome = json && typeof json.status === 'string' && (typeof json.requestType === 'string' || typeof json.rotationStep === 'string');
    if (outcome) {
      invocation.outcomes.push({
        at: event.at,
        requestType: asString(json.requestType),
        logicalId: asString(json.logicalResourceId),
        rotationStep: asString(json.rotationStep),
        status: String(json.status),
        reason: asString(json.reason),
      });
    }
    if (json?.level === 'WARN' || (!json && level === 'WARN')) invocation.warnings.push(asString(json?.message) ?? text);
    if (/\bRefused\b/.test(text)) invocation.refusals.push(text);
    if (!outcome && (json?.level === 'ERROR' || (level === 'ERROR' && json?.level !== 'WARN') || /Task timed out/.test(text))) invocation.errors.push(text);
  }
  return [...byId.values()].sort((a, b) => (a.start ?? 0) - (b.start ?? 0));
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text.trim());
    return value && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Invocations that started but have no REPORT line yet. */
export function unfinished(invocations: Invocation[]): Invocation[] {
  return invocations.filter((i) => i.start !== undefined && i.end === undefined);
}

/** A delivery of one CloudFormation request to the handler, as its log shows it. */
export interface Delivery {
  readonly requestId: string;
  readonly start?: number;
  /** When it logged its outcome (just before it sent the answer). */
  readonly answeredAt?: number;
  readonly status?: string;
  readonly reason?: string;
}

/** An operation on a SesSmtpUser that CloudFormation cancelled while it waited for the answer. */
export interface CancelledOperation {
  readonly logicalId: string;
  readonly requestType: 'Create' | 'Update';
  /** Its *_IN_PROGRESS event. */
  readonly began: number;
  /** Its *_FAILED event ("… cancelled"). */
  readonly cancelledAt: number;
  readonly cancelReason: string;
  /** What CloudFormation logged for this resource afterwards (the rollback), oldest first. */
  readonly after: Array<{ status: string; physicalId?: string; reason?: string; at: number }>;
  readonly deliveries: Delivery[];
  /**
   * A delivery had started before the cancellation and logged its answer after
   * it. (A delivery killed before it logged an outcome cannot be told apart
   * from other invocations and is not counted.)
   */
  readonly inFlight: boolean;
}

/**
 * Every cancelled Create or Update of a resource of `type` in the events, with
 * the handler's deliveries of that request. CloudFormation logs a cancelled
 * operation as CREATE_FAILED / UPDATE_FAILED whose reason says "cancelled"
 * (cloudformation-coverage-roadmap#1814).
 */
export function cancelledOperations(events: StackEventRecord[], invocations: Invocation[], type = 'Custom::SesSmtpCredentials'): CancelledOperation[] {
  const ordered = events.filter((e) => e.type === type).sort((a, b) => a.at - b.at);
  const result: CancelledOperation[] = [];
  for (const [index, failed] of ordered.entries()) {
    const requestType = failed.status === 'CREATE_FAILED' ? 'Create' : failed.status === 'UPDATE_FAILED' ? 'Update' : undefined;
    if (!requestType || !/cancel/i.test(failed.reason ?? '')) continue;
    const inProgress = `${requestType.toUpperCase()}_IN_PROGRESS`;
    const began = ordered.slice(0, index).reverse().find((e) => e.logicalId === failed.logicalId && e.status === inProgress)?.at ?? failed.at;
    const deliveries: Delivery[] = invocations.flatMap((invocation) => invocation.outcomes
      .filter((o) => o.logicalId === failed.logicalId && o.requestType === requestType && (invocation.start ?? o.at) >= began - 1_000)
      .map((o) => ({ requestId: invocation.requestId, start: invocation.start, answeredAt: o.at, status: o.status, reason: o.reason })));
    result.push({
      logicalId: failed.logicalId,
      requestType,
      began,
      cancelledAt: failed.at,
      cancelReason: failed.reason ?? '',
      after: ordered.slice(index + 1).filter((e) => e.logicalId === failed.logicalId)
        .map((e) => ({ status: e.status, physicalId: e.physicalId, reason: e.reason, at: e.at })),
      deliveries,
      inFlight: deliveries.some((d) => d.start !== undefined && d.start <= failed.at && (d.answeredAt === undefined || d.answeredAt >= failed.at)),
    });
  }
  return result;
}

/** CloudFormation passes every scalar to a custom resource as a string; its event log keeps the template's types. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i]
      && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  const scalar = (v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v);
  return scalar(a) === scalar(b);
}

/** The properties the handler's gate compares (lib/handler/authority.js, CONTRACT_FIELDS). */
const CONTRACT_FIELDS = ['UserName', 'Targets', 'Serial', 'Source', 'OwnerTag'];

function contractOf(properties: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(CONTRACT_FIELDS.filter((f) => properties[f] !== undefined).map((f) => [f, properties[f]]));
}

/**
 * Resolves the intrinsics a SesSmtpUser's properties use: `{ Ref: logicalId }`
 * to the resource's physical id and `{ Ref: 'AWS::StackId' }` to the stack id.
 */
export function resolveRefs(value: unknown, physicalIds: Record<string, string>, stackId: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, physicalIds, stackId));
  if (value && typeof value === 'object') {
    const ref = (value as { Ref?: unknown }).Ref;
    if (typeof ref === 'string' && Object.keys(value).length === 1) {
      if (ref === 'AWS::StackId') return stackId;
      if (physicalIds[ref] === undefined) throw new Error(`no physical id for ${ref}`);
      return physicalIds[ref];
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, physicalIds, stackId)]));
  }
  return value;
}

/**
 * What CloudFormation logged as ResourceProperties with the IN_PROGRESS events
 * of one operation, compared with the template's properties (resolved):
 * undefined when they match, else what is wrong.
 */
export function loggedPropertiesMismatch(operationEvents: StackEventRecord[], expected: Record<string, unknown>): string | undefined {
  const logged = operationEvents.find((e) => e.status.endsWith('_IN_PROGRESS') && e.properties !== undefined);
  if (!logged) return 'no IN_PROGRESS event of the operation carries ResourceProperties';
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(logged.properties));
  } catch {
    return 'its ResourceProperties are not JSON';
  }
  if (!parsed || typeof parsed !== 'object') return 'its ResourceProperties are not an object';
  const got = contractOf(parsed as Record<string, unknown>);
  const want = contractOf(expected);
  return sameValue(got, want) ? undefined : `its ResourceProperties ${JSON.stringify(got)} are not the template's ${JSON.stringify(want)}`;
}

/**
 * The operations (IN_PROGRESS up to the next COMPLETE or FAILED) of one
 * resource, oldest first.
 */
export function operationsOf(events: StackEventRecord[], logicalId: string): StackEventRecord[][] {
  const operations: StackEventRecord[][] = [];
  let current: StackEventRecord[] | undefined;
  for (const event of events.filter((e) => e.logicalId === logicalId).sort((a, b) => a.at - b.at)) {
    if (event.status.endsWith('_IN_PROGRESS')) {
      if (!current || current[0].status !== event.status) {
        current = [];
        operations.push(current);
      }
      current.push(event);
    } else if (current) {
      current.push(event);
      current = undefined;
    }
  }
  return operations;
}
