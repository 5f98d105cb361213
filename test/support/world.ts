/**
 * A moto-backed world for handler tests: real AWS SDK v3 clients pointed at
 * moto, a CloudFormation response server, and a record of every AWS call and
 * every key IAM handed out (so tests can verify passwords and look for leaks).
 */
import {
  CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand, ListUserTagsCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AwsPort } from '../../lib/handler/aws';
import type { RetryOptions } from '../../lib/handler/retry';
import { handleCloudFormationEvent } from '../../lib/handler/cloudformation';
import { createHandler } from '../../lib/handler/dispatch';
import { CfnResponse, EventOptions, RequestType, ResponseServer, captureConsole, cfnEvent, lambdaContext } from './cloudformation';
import { FaultProxy, startFaultProxy } from './fault-proxy';
import { Moto, motoClientConfig, startMoto } from './moto';
import { GetParameterCommand, MotoSsmClient } from './ssm';

/**
 * Injected access-denied faults fail at once (the retry itself is tested in
 * handler-faults), and a transient fault repeated 4 times fails the call, so
 * failure paths stay short; the handler itself retries until its deadline.
 */
const NO_RETRY = { accessDeniedRetryMs: [], retry: { baseMs: 50, capMs: 200, maxAttempts: 4 } };

export interface IssuedKey { accessKeyId: string; secretAccessKey: string }

/** Makes a failing command for fault injection on top of real moto behaviour. */
export type Fault = (commandName: string, input: Record<string, unknown>) => Error | undefined;

export class World {
  public moto!: Moto;
  public readonly server = new ResponseServer();
  public iam!: IAMClient;
  public secrets!: SecretsManagerClient;
  /** SSM Parameter Store in moto (hand-signed: @aws-sdk/client-ssm is not a dependency). */
  public ssm!: MotoSsmClient;
  /** Every key CreateAccessKey returned, in order (test-side knowledge only). */
  public readonly issued: IssuedKey[] = [];
  /** Every AWS command the handler sent, in order. */
  public readonly calls: string[] = [];
  /** Every line the handler logged (console is captured while it runs). */
  public readonly logs: string[] = [];
  public fault?: Fault;
  /**
   * The handler's retry policy; by default failure paths are kept short (a
   * transient fault repeated 4 times fails the call). Scale tests set the
   * handler's own policy, which retries until the deadline.
   */
  public retry?: RetryOptions;
  /** Like fault, but thrown after the call reached moto and took effect. */
  public faultAfter?: Fault;

  /** With `viaProxy`: the fault-injecting proxy between the handler and moto. */
  public proxy?: FaultProxy;
  /** The clients the handler uses: through the proxy when there is one, else the same as iam/secrets. */
  private handlerIam!: IAMClient;
  private handlerSecrets!: SecretsManagerClient;
  private handlerSsm!: MotoSsmClient;

  /**
   * @param options.viaProxy the handler reaches moto through a fault-injecting
   *   proxy (`world.proxy`); the test's own calls go to moto directly.
   */
  async start(options: { viaProxy?: boolean } = {}): Promise<void> {
    this.moto = await startMoto();
    await this.server.start();
    this.iam = new IAMClient(motoClientConfig(this.moto, 'us-east-1'));
    this.secrets = new SecretsManagerClient(motoClientConfig(this.moto));
    this.ssm = new MotoSsmClient(this.moto.endpoint);
    this.handlerSsm = new MotoSsmClient(this.moto.endpoint);
    this.handlerSsm.intercept = (name, input) => {
      if (this.recording) this.calls.push(name);
      return this.fault?.(name, input);
    };
    this.handlerIam = this.iam;
    this.handlerSecrets = this.secrets;
    if (options.viaProxy) {
      this.proxy = await startFaultProxy(this.moto.endpoint);
      const viaProxy = { ...this.moto, endpoint: this.proxy.endpoint };
      this.handlerIam = new IAMClient(motoClientConfig(viaProxy, 'us-east-1'));
      this.handlerSecrets = new SecretsManagerClient(motoClientConfig(viaProxy));
    }
    const clients = new Set([this.iam, this.secrets, this.handlerIam, this.handlerSecrets]);
    for (const client of clients as Set<{ middlewareStack: IAMClient['middlewareStack'] }>) {
      client.middlewareStack.add((next, context) => async (args) => {
        const name = String(context.commandName).replace(/Command$/, '');
        if (this.recording) this.calls.push(name);
        const injected = this.fault?.(name, args.input as Record<string, unknown>);
        if (injected) throw injected;
        const result = await next(args);
        // The call took effect, but the caller sees a failure (a lost answer).
        const lost = this.faultAfter?.(name, args.input as Record<string, unknown>);
        if (lost) throw lost;
        if (name === 'CreateAccessKey') {
          const key = (result.output as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
          this.issued.push({ accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });
        }
        return result;
      }, { step: 'initialize', name: 'testRecorder' });
    }
  }

  private recording = false;

  async stop(): Promise<void> {
    await this.proxy?.stop();
    await this.server.stop();
    await this.moto?.stop();
  }

  async reset(): Promise<void> {
    await this.moto.reset();
    this.issued.length = 0;
    this.calls.length = 0;
    this.logs.length = 0;
    this.fault = undefined;
    this.faultAfter = undefined;
    this.proxy?.clear();
  }

  /** Sends one CloudFormation request through the real handler plumbing and returns the response. */
  async send(type: RequestType, properties: unknown, options: EventOptions = {}, remainingMs = 120_000): Promise<CfnResponse> {
    const before = this.server.raw.length;
    await this.observe(() => handleCloudFormationEvent(cfnEvent(this.server, type, properties, options) as never, lambdaContext(remainingMs),
      (signal, undoSignal) => this.port(signal, undoSignal)));
    expect(this.server.raw.length).toBe(before + 1); // exactly one answer per request
    return this.server.last();
  }

  /**
   * Delivers the same request several times at once, as an at-least-once
   * invocation may; returns every answer, in the order of `delays` (each
   * delivery starts after its delay).
   */
  async sendConcurrently(type: RequestType, properties: unknown, delays: number[], options: EventOptions = {}, remainingMs = 120_000): Promise<CfnResponse[]> {
    const event = cfnEvent(this.server, type, properties, options);
    return this.observe(() => Promise.all(delays.map(async (delay) => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      return handleCloudFormationEvent(event as never, lambdaContext(remainingMs),
        (signal, undoSignal) => this.port(signal, undoSignal));
    }))) as Promise<CfnResponse[]>;
  }

  /**
   * Sends many different requests at once, as CloudFormation does with the
   * custom resources of one stack; returns every answer, in order. Each
   * request gets exactly one answer.
   */
  async sendAll(requests: Array<{ type: RequestType; properties: unknown; options?: EventOptions }>, remainingMs = 120_000): Promise<CfnResponse[]> {
    const events = requests.map((r) => cfnEvent(this.server, r.type, r.properties, r.options));
    const answers = await this.observe(() => Promise.all(events.map((event) => handleCloudFormationEvent(event as never, lambdaContext(remainingMs),
      (signal, undoSignal) => this.port(signal, undoSignal))))) as CfnResponse[];
    for (const event of events) {
      expect(this.server.raw.filter((body) => (JSON.parse(body) as CfnResponse).RequestId === event.RequestId)).toHaveLength(1);
    }
    return answers;
  }

  /** Invokes the Lambda entry logic with any event (rotation step, key source change), as the service would. */
  async invoke(event: unknown): Promise<void> {
    const handler = createHandler((signal, undoSignal) => this.port(signal, undoSignal));
    await this.observe(() => handler(event, lambdaContext()));
  }

  /** The AwsPort the handler gets, as index.js builds it, but with the test's clients. */
  private port(signal: AbortSignal, undoSignal: AbortSignal): AwsPort {
    return new AwsPort(this.handlerIam, this.handlerSecrets, signal, {
      ...(this.retry ? { retry: this.retry } : NO_RETRY), undoSignal, ssm: () => ({ client: this.handlerSsm, GetParameterCommand }),
    } as ConstructorParameters<typeof AwsPort>[3]);
  }

  /** Records the AWS calls and log lines of what `work` makes the handler do. */
  private async observe<T>(work: () => Promise<T>): Promise<T> {
    this.recording = true;
    const console = captureConsole();
    try {
      return await work();
    } finally {
      this.recording = false;
      console.restore();
      this.logs.push(...console.lines);
    }
  }

  // ---- arranging and inspecting state directly (not counted as handler calls) ----

  async createUser(userName: string): Promise<void> {
    await this.iam.send(new CreateUserCommand({ UserName: userName }));
  }

  async createForeignKey(userName: string): Promise<string> {
    const out = await this.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    this.issued.pop(); // made by the test, not the handler
    return out.AccessKey!.AccessKeyId!;
  }

  async keysOf(userName: string): Promise<string[]> {
    const out = await this.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).sort();
  }

  /** The user's tags as a key → value map. */
  async userTags(userName: string): Promise<Record<string, string>> {
    const out = await this.iam.send(new ListUserTagsCommand({ UserName: userName }));
    return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key!, t.Value!]));
  }

  /** An empty secret, as CloudFormation creates it for SesSmtpUser. */
  async createEmptySecret(name: string): Promise<string> {
    const out = await this.secrets.send(new CreateSecretCommand({ Name: name }));
    return out.ARN!;
  }

  /**
   * The AWSCURRENT value. Asked for by stage on purpose: moto 5 keeps a
   * separate "default version" that UpdateSecretVersionStage does not move, so
   * a GetSecretValue without a stage can return a stale version there. On AWS
   * both mean the same version.
   */
  async currentValue(secretArn: string): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSCURRENT' }));
      return JSON.parse(out.SecretString!);
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  }

  async stages(secretArn: string): Promise<Record<string, string[]>> {
    return (await this.secrets.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages ?? {};
  }

  secretOf(accessKeyId: string): IssuedKey {
    const key = this.issued.find((k) => k.accessKeyId === accessKeyId);
    if (!key) throw new Error(`the handler never issued ${accessKeyId}`);
    return key;
  }
}
