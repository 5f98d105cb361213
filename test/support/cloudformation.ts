/**
 * Plays CloudFormation's part for the handler: builds request events and
 * receives the responses on a stand-in for CloudFormation's response bucket.
 *
 * The handler answers only https URLs of CloudFormation's response bucket in
 * its region (lib/handler/authority.js), so the stand-in is served under that
 * very name: `https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/...`,
 * with a certificate for that name from a CA made for the test process. While
 * a ResponseServer runs, Node's global https agent sends connections for that
 * name to the stand-in on 127.0.0.1 (the handler's own https.request code runs
 * unchanged, TLS checks included) and refuses every other host without a
 * packet leaving the machine, recording it in `foreignHosts()`.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

export interface CfnResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

/** The response bucket's host name in eu-west-1, as CloudFormation puts it in ResponseURL. */
export const RESPONSE_HOST = 'cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com';
/**
 * The response bucket's host in the AWS European Sovereign Cloud (derived from
 * S3's endpoint rules; lib/handler/partitions.js). The stand-in answers under
 * both names; a World for another region uses this one.
 */
export const EUSC_RESPONSE_HOST = 'cloudformation-custom-resource-response-euscdeeast1.s3.eusc-de-east-1.amazonaws.eu';
const BUCKET_HOSTS = [RESPONSE_HOST, EUSC_RESPONSE_HOST];

/** Node's https module itself (not the import's read-only namespace copy): its globalAgent is what https.request uses. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const httpsModule: { globalAgent: https.Agent } = require('node:https');

/** One bucket stand-in per test process, shared by every ResponseServer in it. */
interface Bucket {
  readonly server: https.Server;
  readonly port: number;
  readonly previousAgent: https.Agent;
  users: number;
}
let bucket: Bucket | undefined;
const receivers = new Map<string, (body: string) => void>();
const foreign: string[] = [];

/** Hosts the handler tried to reach other than the response bucket (none ever gets a packet). */
export function foreignHosts(): readonly string[] {
  return foreign;
}

function certificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-bucket-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', '2',
      '-subj', '/CN=CloudFormation response bucket (test)', '-addext', `subjectAltName=${BUCKET_HOSTS.map((h) => `DNS:${h}`).join(',')}`, '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'pipe', timeout: 30_000 });
    return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Connects the response bucket's name to the stand-in; refuses every other host. */
class LoopbackAgent extends https.Agent {
  constructor(private readonly port: number, ca: string) {
    super({ ca, keepAlive: false });
  }

  override createConnection(options: tls.ConnectionOptions): Socket {
    const host = String(options.servername ?? options.host);
    if (!BUCKET_HOSTS.includes(host)) {
      foreign.push(host);
      const socket = new Socket();
      process.nextTick(() => socket.destroy(new Error(`test harness: no connection to ${host} (only the response bucket is reachable)`)));
      return socket;
    }
    return tls.connect({ ...options, host: '127.0.0.1', port: this.port, servername: host });
  }
}

async function openBucket(): Promise<Bucket> {
  const { key, cert } = certificate();
  const server = https.createServer({ key, cert }, (req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const owner = /^\/([^/]+)\//.exec(req.url ?? '')?.[1];
      const receive = owner ? receivers.get(owner) : undefined;
      res.writeHead(receive && req.method === 'PUT' ? 200 : 403);
      res.end();
      receive?.(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const previousAgent = httpsModule.globalAgent;
  httpsModule.globalAgent = new LoopbackAgent(port, cert);
  return { server, port, previousAgent, users: 0 };
}

/** Collects every response body PUT to it; `raw` keeps the exact bytes for leak checks. */
export class ResponseServer {
  public readonly raw: string[] = [];
  /** Called with every body as it arrives (CloudFormation's reaction, in the lifecycle simulation). */
  public onBody?: (body: string) => void;
  private readonly id = randomUUID();
  private started = false;

  /** @param host the bucket's host name in ResponseURL: RESPONSE_HOST (eu-west-1) or EUSC_RESPONSE_HOST */
  constructor(private readonly host: string = RESPONSE_HOST) {
    if (!BUCKET_HOSTS.includes(host)) throw new Error(`test harness: the bucket stand-in has no certificate for ${host}`);
  }

  async start(): Promise<void> {
    bucket ??= await openBucket();
    bucket.users++;
    this.started = true;
    receivers.set(this.id, (body) => {
      this.raw.push(body);
      this.onBody?.(body);
    });
  }

  /** A pre-signed-URL stand-in for one request. */
  url(requestId: string): string {
    return `https://${this.host}/${this.id}/${encodeURIComponent(requestId)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200`;
  }

  last(): CfnResponse {
    if (this.raw.length === 0) throw new Error('no response was sent');
    return JSON.parse(this.raw[this.raw.length - 1]);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    receivers.delete(this.id);
    const b = bucket!;
    if (--b.users > 0) return;
    bucket = undefined;
    httpsModule.globalAgent = b.previousAgent;
    await new Promise<void>((resolve) => {
      b.server.close(() => resolve());
      b.server.closeAllConnections();
    });
  }
}

export type RequestType = 'Create' | 'Update' | 'Delete';

export interface EventOptions {
  physicalResourceId?: string;
  oldResourceProperties?: unknown;
  /** Reuse a RequestId, as a duplicate delivery of the same request does. */
  requestId?: string;
  /** The stack, resource and type the request is about (defaults: a sample stack's SmtpCredentials). */
  stackId?: string;
  logicalResourceId?: string;
  resourceType?: string;
  /** Where the answer goes (default: the response bucket stand-in). */
  responseUrl?: string;
  /** The resource's template Metadata, as CloudFormation records it (not part of the event). */
  metadata?: unknown;
}

export function cfnEvent(server: ResponseServer, requestType: RequestType, properties: unknown, options: EventOptions = {}) {
  const requestId = options.requestId ?? randomUUID();
  return {
    RequestType: requestType,
    ResponseURL: options.responseUrl ?? server.url(requestId),
    StackId: options.stackId ?? SAMPLE_STACK_ID,
    RequestId: requestId,
    LogicalResourceId: options.logicalResourceId ?? 'SmtpCredentials',
    ResourceType: options.resourceType ?? 'Custom::SesSmtpCredentials',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler', ...(properties as object) },
    ...(options.physicalResourceId !== undefined ? { PhysicalResourceId: options.physicalResourceId } : {}),
    ...(options.oldResourceProperties !== undefined ? { OldResourceProperties: options.oldResourceProperties } : {}),
  };
}

/** A Lambda context with the given time left. */
export function lambdaContext(remainingMs = 120_000) {
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - Date.now() };
}

/** The stack the sample requests come from, and the handler's own configuration in it (its environment in Lambda). */
export const SAMPLE_STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LegacyMailApp/guid';
export const SAMPLE_SELF = Object.freeze({
  stackId: SAMPLE_STACK_ID,
  ownerTagKey: 'SesSmtpCredentials:eu-west-1/LegacyMailApp',
  functionName: 'handler',
  region: 'eu-west-1',
  functionLogicalId: 'SesSmtpCredentialsHandlerFunctionA36E38FF',
});

/** Captures console output so tests can assert that no secret was logged. */
export function captureConsole(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => { lines.push(args.map(String).join(' ')); }));
  return { lines, restore: () => spies.forEach((s) => s.mockRestore()) };
}
