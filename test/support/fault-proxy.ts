/**
 * A fault-injecting HTTP proxy between the AWS SDK v3 clients and moto, for
 * faults moto cannot produce (throttling, a 5xx after the call took effect, an
 * unparsable answer, a reset connection, a slow call). The SDK parses real
 * bytes, so tests see exactly the errors SDK v3 makes of them.
 *
 * Point a client at `proxy.endpoint` instead of `moto.endpoint`. Requests are
 * forwarded byte for byte (they are SigV4-signed), to moto or, for services
 * moto does not play here (CloudFormation's records), to the route given for
 * that service. Loopback only.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';

export type FaultKind = 'throttle-before' | '5xx-after' | 'garbage-after' | 'reset-after' | 'reset-before' | 'delay' | 'rate-limited';

/** Form fields (IAM, query protocol) or the JSON body (Secrets Manager). */
export type RequestParams = Record<string, unknown>;

interface RuleBase {
  /** The API action, e.g. 'CreateAccessKey' or 'PutSecretValue'. */
  action: string;
  /** Narrows the rule to some requests of that action. */
  match?: (params: RequestParams) => boolean;
  /** How many matching requests the rule applies to (default 1). */
  times?: number;
}

export type FaultRule = RuleBase & (
  /** Not forwarded; answered HTTP 400 as AWS answers when throttled. */
  | { kind: 'throttle-before' }
  /** Forwarded (the effect happens), then answered 500 InternalFailure (or 503 ServiceUnavailable). */
  | { kind: '5xx-after'; status?: 500 | 503 }
  /**
   * Forwarded, then answered HTTP 200 with an unparsable body made from the
   * real one. By default the real body cut inside its last closing tag (XML)
   * or before its last character (JSON), so it holds nearly all the real text,
   * secrets included. `garble` replaces that default.
   */
  | { kind: 'garbage-after'; garble?: (realBody: string) => string }
  /** Forwarded, then the client's connection is destroyed without an answer. */
  | { kind: 'reset-after' }
  /** The client's connection is destroyed; nothing is forwarded. */
  | { kind: 'reset-before' }
  /** Forwarded after `ms` (at most MAX_DELAY_MS), even if the client gave up meanwhile. */
  | { kind: 'delay'; ms: number }
);

export interface ProxiedRequest {
  /** 'iam', 'secretsmanager', … (from X-Amz-Target or the signature's credential scope). */
  service: string;
  action: string;
  /** The HTTP status the client got, or 'reset' when its connection was destroyed. */
  status: number | 'reset';
  /** The fault applied, if any. */
  fault?: FaultKind;
  /** moto's status when the request was forwarded. */
  upstreamStatus?: number;
}

/** A service's request rate, as a token bucket: `perSecond` tokens a second, at most `burst` saved up. */
export interface RateLimit {
  /** e.g. 'iam' (from the signature's credential scope). */
  service: string;
  perSecond: number;
  /** Default: one second's worth (at least 1). */
  burst?: number;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  inject(rule: FaultRule): void;
  /**
   * Answers a service's requests beyond the rate as that service does when
   * it throttles (IAM: HTTP 400 `Throttling` / `Rate exceeded`, XML), without
   * forwarding them. A refused request takes no token. Replaces an earlier
   * limit for the same service; `perSecond: Infinity` removes it.
   */
  limitRate(limit: RateLimit): void;
  /** Drops every rule, every rate limit and the request log. */
  clear(): void;
  /** What passed through, in order of completion: never bodies. */
  readonly requests: ProxiedRequest[];
  stop(): Promise<void>;
}

export const MAX_DELAY_MS = 30_000;

interface Recognised { service: string; action: string; params: RequestParams; json: boolean }

function recognise(req: http.IncomingMessage, body: Buffer): Recognised {
  const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) {
    const dot = target.lastIndexOf('.');
    let params: RequestParams = {};
    try {
      const parsed = JSON.parse(body.toString('utf8') || '{}');
      if (parsed && typeof parsed === 'object') params = parsed;
    } catch {
      // not JSON: no params
    }
    return { service: scope?.[1] ?? target.slice(0, dot).toLowerCase(), action: target.slice(dot + 1), params, json: true };
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const params: RequestParams = Object.fromEntries(form.entries());
  return { service: scope?.[1] ?? 'unknown', action: form.get('Action') ?? 'unknown', params, json: false };
}

interface Upstream { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function forward(upstream: URL, req: http.IncomingMessage, body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const out = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

/**
 * The default garbage: the real body cut so that it cannot parse but still
 * holds nearly all of the real text (secrets included).
 */
export function truncateBody(real: string, json: boolean): string {
  if (json) return real.length > 1 ? real.slice(0, -1) : '{';
  // Cut inside the last closing tag: "…</Create" cannot parse ("closing tag is not closed").
  const last = real.lastIndexOf('</');
  return last > 0 ? real.slice(0, last + 3) : `${real}<`;
}

function errorAnswer(json: boolean, status: number, code: string, message: string, type: 'Sender' | 'Receiver') {
  const requestId = randomUUID();
  if (json) {
    return {
      status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
      body: JSON.stringify({ __type: code, message }),
    };
  }
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
      + `<Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>`
      + `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

/** The headers of a forwarded answer that still describe a changed body. */
function passHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding'].includes(k)) out[k] = v;
  }
  return out;
}

/**
 * @param upstreamEndpoint where requests go (moto)
 * @param routes other upstreams by service (the signature's credential scope), e.g.
 *   `{ cloudformation: records.endpoint }` for the CloudFormation records stand-in
 */
export async function startFaultProxy(upstreamEndpoint: string, routes: Record<string, string> = {}): Promise<FaultProxy> {
  const upstream = new URL(upstreamEndpoint);
  const routed = new Map(Object.entries(routes).map(([service, endpoint]) => [service, new URL(endpoint)]));
  const rules: Array<FaultRule & { left: number }> = [];
  const requests: ProxiedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const buckets = new Map<string, { perSecond: number; burst: number; tokens: number; at: number }>();

  /** Takes a token from the service's bucket; false when it is empty (the request is throttled). */
  function admit(service: string): boolean {
    const bucket = buckets.get(service);
    if (!bucket) return true;
    const now = Date.now();
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.at) / 1000) * bucket.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  function take(r: Recognised): FaultRule | undefined {
    const i = rules.findIndex((rule) => rule.action === r.action && (!rule.match || rule.match(r.params)));
    if (i < 0) return undefined;
    const rule = rules[i];
    if (--rule.left <= 0) rules.splice(i, 1);
    return rule;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const r = recognise(req, body);
    const rule = take(r);
    const log = (entry: Omit<ProxiedRequest, 'service' | 'action'>) => requests.push({ service: r.service, action: r.action, ...entry });
    const fault = rule?.kind;
    const reply = (status: number, headers: http.OutgoingHttpHeaders, text: string | Buffer, upstreamStatus?: number) => {
      const payload = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      res.writeHead(status, { ...headers, 'content-length': payload.length });
      res.end(payload);
      log({ status, fault, upstreamStatus });
    };
    const reset = (upstreamStatus?: number) => {
      req.socket.destroy();
      log({ status: 'reset', fault, upstreamStatus });
    };

    if (!rule && !admit(r.service)) {
      const a = r.json
        ? errorAnswer(true, 400, 'ThrottlingException', 'Rate exceeded', 'Sender')
        : errorAnswer(false, 400, 'Throttling', 'Rate exceeded', 'Sender');
      res.writeHead(a.status, { ...a.headers, 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
      log({ status: a.status, fault: 'rate-limited' });
      return;
    }
    if (rule?.kind === 'throttle-before') {
      const a = r.json
        ? errorAnswer(true, 400, 'ThrottlingException', 'Rate exceeded', 'Sender')
        : errorAnswer(false, 400, 'Throttling', 'Rate exceeded', 'Sender');
      return reply(a.status, a.headers, a.body);
    }
    if (rule?.kind === 'reset-before') return reset();
    if (rule?.kind === 'delay') {
      const ms = Math.max(0, Math.min(rule.ms, MAX_DELAY_MS));
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
        timers.add(t);
      });
    }

    const up = await forward(routed.get(r.service) ?? upstream, req, body);
    switch (rule?.kind) {
      case '5xx-after': {
        const status = rule.status ?? 500;
        const a = status === 503
          ? errorAnswer(r.json, 503, 'ServiceUnavailable', 'Service is unavailable. Please try again later.', 'Receiver')
          : errorAnswer(r.json, 500, r.json ? 'InternalServiceError' : 'InternalFailure', 'An internal error occurred.', 'Receiver');
        return reply(a.status, a.headers, a.body, up.status);
      }
      case 'garbage-after': {
        const real = up.body.toString('utf8');
        const text = rule.garble ? rule.garble(real) : truncateBody(real, r.json);
        return reply(200, passHeaders(up.headers), text, up.status);
      }
      case 'reset-after':
        return reset(up.status);
      default:
        return reply(up.status, passHeaders(up.headers), up.body, up.status);
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((e: Error) => {
        // moto unreachable or the like: say so to the client as a 502 (never a body).
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`fault proxy: ${e.message}`);
        }
      });
    });
  });
  // A destroyed client connection is the point of some faults, not an error.
  server.on('clientError', (_e, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    inject(rule) {
      const times = rule.times ?? 1;
      if (!Number.isInteger(times) || times < 1) throw new Error(`times must be a positive integer, not ${times}`);
      rules.push({ ...rule, left: times });
    },
    limitRate({ service, perSecond, burst }) {
      if (!(perSecond > 0)) throw new Error(`perSecond must be positive, not ${perSecond}`);
      if (perSecond === Infinity) {
        buckets.delete(service);
        return;
      }
      const size = burst ?? Math.max(1, perSecond);
      buckets.set(service, { perSecond, burst: size, tokens: size, at: Date.now() });
    },
    clear() {
      buckets.clear();
      rules.length = 0;
      requests.length = 0;
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
