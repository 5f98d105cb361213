/**
 * Plays CloudFormation's part for the handler: builds request events and
 * receives the responses on a pre-signed-URL stand-in served on 127.0.0.1.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export interface CfnResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

/** Collects every response body PUT to it; `raw` keeps the exact bytes for leak checks. */
export class ResponseServer {
  public readonly raw: string[] = [];
  private server?: http.Server;
  private port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        this.raw.push(body);
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  url(requestId: string): string {
    return `http://127.0.0.1:${this.port}/cfn-response/${requestId}`;
  }

  last(): CfnResponse {
    if (this.raw.length === 0) throw new Error('no response was sent');
    return JSON.parse(this.raw[this.raw.length - 1]);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
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
}

export function cfnEvent(server: ResponseServer, requestType: RequestType, properties: unknown, options: EventOptions = {}) {
  const requestId = options.requestId ?? randomUUID();
  return {
    RequestType: requestType,
    ResponseURL: server.url(requestId),
    StackId: options.stackId ?? 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LegacyMailApp/guid',
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

/** Captures console output so tests can assert that no secret was logged. */
export function captureConsole(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => { lines.push(args.map(String).join(' ')); }));
  return { lines, restore: () => spies.forEach((s) => s.mockRestore()) };
}
