/**
 * CloudTrail's event history, served on 127.0.0.1 the way the CloudTrail API
 * serves it (JSON 1.1, `CloudTrail_20131101.LookupEvents`), for the one read
 * the handler makes: who created an access key (lib/handler/key-origin.js).
 * moto has no LookupEvents.
 *
 * What AWS documents and this stand-in plays:
 * - IAM is a global service: its events are recorded in us-east-1 (in the
 *   aws partition), and LookupEvents there returns them.
 * - An event shows up in the event history some time after the call:
 *   "typically within 5 minutes", not guaranteed (CloudTrail User Guide,
 *   "How CloudTrail works"). `lagMs` plays that delay.
 * - LookupEvents takes at most one lookup attribute, StartTime/EndTime
 *   (epoch seconds), MaxResults up to 50 and a NextToken; events come
 *   newest first; each carries `CloudTrailEvent`, the record as a JSON
 *   string: `userIdentity` (for a role session, `arn` =
 *   `arn:aws:sts::<account>:assumed-role/<role>/<session>` and
 *   `sessionContext.sessionIssuer.arn` = the role's ARN), `requestParameters`
 *   and `responseElements` (for CreateAccessKey the key's id, never its secret).
 * - The rate of lookups is limited to two per second per account and region;
 *   beyond it, ThrottlingException.
 *
 * With `followMoto`, every access key moto's IAM created is in the history
 * too, as AWS records it: whether or not its answer reached the caller (moto
 * keeps the list, test/support/moto_fixtures.py). The caller is known by the
 * access key id its request was signed with: `principals` maps the ids the
 * tests sign with to who they play (the handler's role session); any other
 * signer is a person, an IAM user.
 */
import { randomUUID } from 'node:crypto';
import { LoopbackAnswer, LoopbackService } from './loopback-service';

export interface RecordedCall {
  readonly eventName: string;
  readonly eventSource: string;
  /** The caller: an assumed role's ARN and its role ARN, or an IAM user's ARN. */
  readonly principalArn: string;
  readonly roleArn?: string;
  readonly requestParameters: Record<string, unknown>;
  readonly responseElements: Record<string, unknown>;
  /** Epoch ms when the call was made. */
  readonly at: number;
  readonly resources?: Array<{ ResourceType: string; ResourceName: string }>;
}

interface StoredEvent extends RecordedCall {
  readonly eventId: string;
}

export class CloudTrailRecords {
  /** How long after a call its event shows in the history. */
  public lagMs = 0;
  /** Every LookupEvents request, in order. */
  public readonly lookups: Array<Record<string, unknown>> = [];
  private readonly events: StoredEvent[] = [];
  private readonly service = new LoopbackService((req, body) => this.serve(String(req.headers['x-amz-target'] ?? ''), body));

  private moto?: { endpoint: string; principals: Record<string, { principalArn: string; roleArn?: string }> };

  /** @param now the clock CloudTrail stamps with (the lifecycle simulation's virtual one) */
  constructor(private now: () => number = Date.now) {}

  get endpoint(): string {
    return this.service.endpoint;
  }

  /** Follows another clock from now on (each simulation run has its own). */
  useClock(now: () => number): void {
    this.now = now;
  }

  /** Serves the access keys moto's IAM created as well (see the file's comment). */
  followMoto(endpoint: string, principals: Record<string, { principalArn: string; roleArn?: string }>): void {
    this.moto = { endpoint, principals };
  }

  record(call: RecordedCall): void {
    this.events.push({ ...call, eventId: randomUUID() });
  }

  reset(): void {
    this.events.length = 0;
    this.lookups.length = 0;
    this.lagMs = 0;
  }

  start(): Promise<void> {
    return this.service.start();
  }

  stop(): Promise<void> {
    return this.service.stop();
  }

  /** Answers LookupEvents, the one action CloudTrail serves the handler. */
  private async serve(target: string, body: string): Promise<LoopbackAnswer> {
    const json = (status: number, answer: unknown) => ({ status, contentType: 'application/x-amz-json-1.1', body: JSON.stringify(answer) });
    if (!target.endsWith('.LookupEvents')) return json(400, { __type: 'UnknownOperationException', message: `${target} is not served here` });
    const request = JSON.parse(body || '{}') as Record<string, unknown>;
    this.lookups.push(request);
    try {
      const answer = this.lookup(request, await this.motoEvents());
      return json(answer.status, answer.body);
    } catch (e) {
      return json(500, { __type: 'InternalFailure', message: `the stand-in could not read moto's key creations: ${(e as Error).message}` });
    }
  }

  /** The CreateAccessKey calls moto's IAM answered, as CloudTrail records them. */
  private async motoEvents(): Promise<StoredEvent[]> {
    if (!this.moto) return [];
    const response = await fetch(`${this.moto.endpoint}/_fixtures/iam-key-creations`);
    const creations = await response.json() as Array<{ accessKeyId: string; userName: string; callerAccessKeyId: string | null; at: number }>;
    return creations.map((c) => {
      const who = (c.callerAccessKeyId && this.moto!.principals[c.callerAccessKeyId]) || { principalArn: 'arn:aws:iam::123456789012:user/someone' };
      return {
        eventId: `moto-${c.accessKeyId}`,
        eventName: 'CreateAccessKey',
        eventSource: 'iam.amazonaws.com',
        principalArn: who.principalArn,
        ...(who.roleArn ? { roleArn: who.roleArn } : {}),
        requestParameters: { userName: c.userName },
        responseElements: { accessKey: { userName: c.userName, accessKeyId: c.accessKeyId, status: 'Active' } },
        at: c.at,
      };
    });
  }

  private lookup(request: Record<string, unknown>, fromMoto: StoredEvent[] = []): { status: number; body: unknown } {
    const attributes = (request.LookupAttributes as Array<{ AttributeKey: string; AttributeValue: string }> | undefined) ?? [];
    if (attributes.length > 1) return invalid('LookupAttributes: you can specify only one attribute');
    const max = Math.min(Number(request.MaxResults ?? 50), 50);
    const start = request.StartTime === undefined ? -Infinity : Number(request.StartTime) * 1000;
    const end = request.EndTime === undefined ? Infinity : Number(request.EndTime) * 1000;
    const visibleBefore = this.now() - this.lagMs;
    const [attribute] = attributes;
    const matching = [...this.events, ...fromMoto]
      .filter((e) => e.at <= visibleBefore && e.at >= start && e.at <= end)
      .filter((e) => !attribute || matches(e, attribute.AttributeKey, attribute.AttributeValue))
      .sort((a, b) => b.at - a.at);
    const from = Number(request.NextToken ?? 0);
    const page = matching.slice(from, from + max);
    return {
      status: 200,
      body: {
        Events: page.map((e) => ({
          EventId: e.eventId,
          EventName: e.eventName,
          ReadOnly: 'false',
          EventTime: e.at / 1000,
          EventSource: e.eventSource,
          Username: e.principalArn.split('/').pop(),
          Resources: e.resources ?? [],
          CloudTrailEvent: JSON.stringify({
            eventVersion: '1.09',
            userIdentity: e.roleArn
              ? { type: 'AssumedRole', arn: e.principalArn, sessionContext: { sessionIssuer: { type: 'Role', arn: e.roleArn } } }
              : { type: 'IAMUser', arn: e.principalArn },
            eventTime: new Date(e.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            eventSource: e.eventSource,
            eventName: e.eventName,
            awsRegion: 'us-east-1',
            requestParameters: e.requestParameters,
            responseElements: e.responseElements,
            eventID: e.eventId,
          }),
        })),
        ...(from + max < matching.length ? { NextToken: String(from + max) } : {}),
      },
    };
  }
}

function matches(e: StoredEvent, key: string, value: string): boolean {
  switch (key) {
    case 'EventName': return e.eventName === value;
    case 'EventSource': return e.eventSource === value;
    case 'Username': return e.principalArn.split('/').pop() === value;
    case 'ResourceName': return (e.resources ?? []).some((r) => r.ResourceName === value);
    default: return false;
  }
}

function invalid(message: string): { status: number; body: unknown } {
  return { status: 400, body: { __type: 'InvalidLookupAttributesException', message } };
}
