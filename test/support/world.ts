/**
 * A moto-backed world for handler tests: real AWS SDK v3 clients pointed at
 * moto, a CloudFormation response server, and a record of every AWS call and
 * every key IAM handed out (so tests can verify passwords and look for leaks).
 */
import {
  CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand, ListUserTagsCommand,
} from '@aws-sdk/client-iam';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { createHash, randomUUID } from 'node:crypto';
import { AwsPort } from '../../lib/handler/aws';
import type { RetryOptions } from '../../lib/handler/retry';
import { handleCloudFormationEvent } from '../../lib/handler/cloudformation';
import { createHandler } from '../../lib/handler/dispatch';
import { REAL_CLOCK } from '../../lib/handler/clock';
import { StackEventCache } from '../../lib/handler/event-cache';
import { smtpHostForRegion } from '../../lib/smtp-endpoints';
import { CloudFormationRecords } from './cfn-records';
import { CloudTrailRecords } from './cloudtrail-records';
import { CfnResponse, EventOptions, RequestType, ResponseServer, SAMPLE_SELF, captureConsole, cfnEvent, lambdaContext } from './cloudformation';
import { FaultProxy, startFaultProxy } from './fault-proxy';
import { Moto, motoClientConfig, setMotoClock, startMoto } from './moto';
import { ConfigurationTestResult, testRotationConfiguration } from './rotation-configuration';

/** A Custom::SesSmtpCredentials resource's properties (lib/contract.ts), with room for what a test adds or changes. */
export interface CredentialsProperties {
  readonly UserName: string;
  readonly Targets: Array<{ Region: string; Host: string; Port: string; SecretArn: string }>;
  readonly OwnerTag: { Key: string; Value: string };
  readonly [field: string]: unknown;
}

/** The tags CloudFormation puts on the secrets it creates (reserved: only CloudFormation can set them). */
export function stackTags(logicalId: string, stackId: string = SAMPLE_SELF.stackId) {
  return [
    { Key: 'aws:cloudformation:stack-id', Value: stackId },
    { Key: 'aws:cloudformation:logical-id', Value: logicalId },
    { Key: 'aws:cloudformation:stack-name', Value: stackId.split('/')[1] },
  ];
}

/**
 * Injected access-denied faults fail at once (the retry itself is tested in
 * handler-faults), and a transient fault repeated 4 times fails the call, so
 * failure paths stay short; the handler itself retries until its deadline.
 */
const NO_RETRY = { accessDeniedRetryMs: [], retry: { baseMs: 50, capMs: 200, maxAttempts: 4 } };

/** The handler function's role (its SES_SMTP_ROLE_ARN): CloudTrail names it as the caller of the handler's IAM calls. */
export const HANDLER_ROLE_ARN = 'arn:aws:iam::123456789012:role/LegacyMailApp-SesSmtpCredentialsHandlerRole-TEST';
/** The access key id of the handler's role session: what its requests to moto are signed with (CloudTrail knows it by that). */
const HANDLER_SESSION_KEY = 'ASIAHANDLERSESSION01';

export interface IssuedKey { accessKeyId: string; secretAccessKey: string }

/** Makes a failing command for fault injection on top of real moto behaviour. */
export type Fault = (commandName: string, input: Record<string, unknown>) => Error | undefined;

/** The handler function's own configuration, as SAMPLE_SELF (its environment in Lambda). */
export type Self = { readonly stackId: string; readonly ownerTagKey: string; readonly functionName: string; readonly region: string; readonly functionLogicalId: string; readonly roleArn?: string; readonly verification?: 'ENFORCE' | 'AUDIT' };

export class World {
  public moto!: Moto;
  public readonly server: ResponseServer;
  public iam!: IAMClient;
  public secrets!: SecretsManagerClient;
  /** CloudFormation's records of the sample stack, which the handler checks every request against. */
  public readonly records = new CloudFormationRecords(() => this.now());
  /** CloudTrail's event history: every access key moto's IAM created, by the handler's role or by someone else. */
  public readonly trail = new CloudTrailRecords(() => this.now());
  /** How far every clock of this world (the handler's, moto's, CloudFormation's and CloudTrail's) is ahead of the real one. */
  private offsetMs = 0;
  /** The handler's clock: real time, plus what advanceClock added. */
  private readonly clock = Object.freeze({ ...REAL_CLOCK, now: () => this.now() });
  /** Its ARN, as a rotation schedule names it. */
  public readonly functionArn: string;
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
  /**
   * The stack events a warm Lambda container keeps between requests
   * (lib/handler/event-cache.js): set it to play one container serving every
   * request; unset, each request reads the log afresh, as a cold one does.
   */
  public eventCache?: StackEventCache;

  /** With `viaProxy`: the fault-injecting proxy between the handler and moto. */
  public proxy?: FaultProxy;
  /** The clients the handler uses: through the proxy when there is one, else the same as iam/secrets. */
  private handlerIam!: IAMClient;
  private handlerSecrets!: SecretsManagerClient;
  private handlerCloudFormation!: CloudFormationClient;
  private handlerCloudTrail!: CloudTrailClient;

  /**
   * @param self the handler function's own configuration (its environment in
   *   Lambda): by default a stack in eu-west-1. Its region is where the
   *   secrets live and whose response bucket answers.
   * @param responseHost the response bucket's host for that region
   */
  constructor(self: Self = SAMPLE_SELF, responseHost?: string) {
    this.server = new ResponseServer(responseHost);
    const partition = self.stackId.split(':')[1];
    this.self = Object.freeze({ ...self, roleArn: self.roleArn ?? HANDLER_ROLE_ARN.replace(':aws:', `:${partition}:`) });
    this.functionArn = `arn:${partition}:lambda:${self.region}:123456789012:function:${self.functionName}`;
  }

  /** The handler function's own configuration (its environment in Lambda), with its role (CloudTrail names it as the caller). */
  public readonly self: Self;

  /**
   * @param options.viaProxy the handler reaches moto through a fault-injecting
   *   proxy (`world.proxy`); the test's own calls go to moto directly.
   */
  async start(options: { viaProxy?: boolean } = {}): Promise<void> {
    this.moto = await startMoto();
    await this.server.start();
    await this.records.start();
    await this.trail.start();
    this.trail.followMoto(this.moto.endpoint, {
      [HANDLER_SESSION_KEY]: { principalArn: `${this.self.roleArn!.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/handler`, roleArn: this.self.roleArn! },
    });
    const asHandler = { accessKeyId: HANDLER_SESSION_KEY, secretAccessKey: 'testing' };
    this.iam = new IAMClient(motoClientConfig(this.moto, 'us-east-1'));
    this.secrets = new SecretsManagerClient(motoClientConfig(this.moto, this.self.region));
    this.handlerIam = new IAMClient({ ...motoClientConfig(this.moto, 'us-east-1'), credentials: asHandler });
    this.handlerSecrets = this.secrets;
    this.handlerCloudFormation = new CloudFormationClient(motoClientConfig({ ...this.moto, endpoint: this.records.endpoint }));
    this.handlerCloudTrail = new CloudTrailClient(motoClientConfig({ ...this.moto, endpoint: this.trail.endpoint }, 'us-east-1'));
    if (options.viaProxy) {
      this.proxy = await startFaultProxy(this.moto.endpoint, { cloudformation: this.records.endpoint });
      const viaProxy = { ...this.moto, endpoint: this.proxy.endpoint };
      this.handlerIam = new IAMClient({ ...motoClientConfig(viaProxy, 'us-east-1'), credentials: asHandler });
      this.handlerSecrets = new SecretsManagerClient(motoClientConfig(viaProxy, this.self.region));
      this.handlerCloudFormation = new CloudFormationClient(motoClientConfig(viaProxy));
    }
    const clients = new Set([this.iam, this.secrets, this.handlerIam, this.handlerSecrets, this.handlerCloudFormation]);
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

  /** The time every clock of this world reads, epoch ms. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /**
   * Moves every clock of this world `ms` ahead at once, as if that much time
   * had passed (moto's through /_fixtures/clock, test/support/moto_fixtures.py).
   * Time only moves forward, across resets too.
   */
  async advanceClock(ms: number): Promise<void> {
    this.offsetMs += ms;
    await setMotoClock(this.moto, this.offsetMs);
  }

  private recording = false;
  /** RequestIds already delivered (a repeat is a redelivery of the same request). */
  private readonly delivered = new Set<string>();

  async stop(): Promise<void> {
    await this.proxy?.stop();
    await this.server.stop();
    await this.records.stop();
    await this.trail.stop();
    await this.moto?.stop();
  }

  async reset(): Promise<void> {
    await this.moto.reset();
    this.records.reset();
    this.trail.reset();
    this.deployHandler();
    this.delivered.clear();
    this.issued.length = 0;
    this.calls.length = 0;
    this.logs.length = 0;
    this.fault = undefined;
    this.faultAfter = undefined;
    this.eventCache = undefined;
    this.proxy?.clear();
  }

  /**
   * Sends one CloudFormation request through the real handler plumbing and
   * returns the response. Played as CloudFormation plays it: the resource's
   * `<ACTION>_IN_PROGRESS` event (with the properties sent) is logged in the
   * stack's records first, and the outcome after the answer.
   */
  async send(type: RequestType, properties: unknown, options: EventOptions = {}, remainingMs = 120_000, afterLogged?: () => void): Promise<CfnResponse> {
    const before = this.server.raw.length;
    const event = cfnEvent(this.server, type, properties, this.ofThisStack(options));
    const log = this.logBegin(event, options.metadata);
    // What CloudFormation logs between beginning the operation and the handler's first read (other resources' events).
    afterLogged?.();
    await this.observe(() => handleCloudFormationEvent(event as never, lambdaContext(remainingMs),
      (signal, undoSignal) => this.port(signal, undoSignal), this.self, { clock: this.clock }));
    expect(this.server.raw.length).toBe(before + 1); // exactly one answer per request
    const answer = this.server.last();
    log(answer);
    return answer;
  }

  /**
   * Hands the handler an event that CloudFormation never sent (nothing is
   * logged in the stack's records), as anyone with lambda:InvokeFunction can.
   * Returns the answer if one reached the response bucket stand-in.
   */
  async forge(type: RequestType, properties: unknown, options: EventOptions = {}): Promise<CfnResponse | undefined> {
    const before = this.server.raw.length;
    await this.observe(() => handleCloudFormationEvent(cfnEvent(this.server, type, properties, this.ofThisStack(options)) as never, lambdaContext(),
      (signal, undoSignal) => this.port(signal, undoSignal), this.self, { clock: this.clock }));
    return this.server.raw.length > before ? this.server.last() : undefined;
  }

  /** Hands the handler `count` made-up events at once, each with its own RequestId; returns the answers that reached the bucket. */
  async forgeMany(type: RequestType, properties: unknown, count: number, options: EventOptions = {}): Promise<Array<CfnResponse | undefined>> {
    const events = Array.from({ length: count }, () => cfnEvent(this.server, type, properties, this.ofThisStack(options)));
    await this.observe(() => Promise.all(events.map((event) => handleCloudFormationEvent(event as never, lambdaContext(),
      (signal, undoSignal) => this.port(signal, undoSignal), this.self, { clock: this.clock }))));
    return events.map((event) => this.server.raw.map((body) => JSON.parse(body) as CfnResponse).find((a) => a.RequestId === event.RequestId));
  }

  /**
   * Delivers the same request several times at once, as an at-least-once
   * invocation may; returns every answer, in the order of `delays` (each
   * delivery starts after its delay).
   */
  async sendConcurrently(type: RequestType, properties: unknown, delays: number[], options: EventOptions = {}, remainingMs = 120_000): Promise<CfnResponse[]> {
    const event = cfnEvent(this.server, type, properties, this.ofThisStack(options));
    const log = this.logBegin(event);
    const answers = await this.observe(() => Promise.all(delays.map(async (delay) => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      return handleCloudFormationEvent(event as never, lambdaContext(remainingMs),
        (signal, undoSignal) => this.port(signal, undoSignal), this.self, { clock: this.clock });
    }))) as CfnResponse[];
    const first = answers.find((a) => a !== undefined);
    if (first) log(first);
    return answers;
  }

  /** Event options for this world's stack unless they name another. */
  private ofThisStack(options: EventOptions = {}): EventOptions {
    return { stackId: this.self.stackId, ...options };
  }

  /**
   * Logs a request's IN_PROGRESS event; returns what logs its outcome. A
   * request sent again with the same RequestId is a redelivery: CloudFormation
   * never got the earlier answer, so its operation is still in progress.
   */
  private logBegin(event: ReturnType<typeof cfnEvent>, metadata?: unknown): (answer: CfnResponse) => void {
    const log = this.records.stack(event.StackId);
    if (this.delivered.has(event.RequestId)) {
      log.reopen(event.LogicalResourceId);
      return log.outcomeOf(event);
    }
    this.delivered.add(event.RequestId);
    return log.request(event, metadata);
  }

  /**
   * Sends many different requests at once, as CloudFormation does with the
   * custom resources of one stack; returns every answer, in order. Each
   * request gets exactly one answer.
   */
  async sendAll(requests: Array<{ type: RequestType; properties: unknown; options?: EventOptions }>, remainingMs = 120_000): Promise<CfnResponse[]> {
    const events = requests.map((r) => cfnEvent(this.server, r.type, r.properties, this.ofThisStack(r.options)));
    const logs = events.map((event, i) => this.logBegin(event, requests[i].options?.metadata));
    const answers = await this.observe(() => Promise.all(events.map((event) => handleCloudFormationEvent(event as never, lambdaContext(remainingMs),
      (signal, undoSignal) => this.port(signal, undoSignal), this.self, { clock: this.clock })))) as CfnResponse[];
    for (const [i, event] of events.entries()) {
      expect(this.server.raw.filter((body) => (JSON.parse(body) as CfnResponse).RequestId === event.RequestId)).toHaveLength(1);
      logs[i](answers[i]);
    }
    return answers;
  }

  /** Invokes the Lambda entry logic with any event (rotation step, key source change), as the service would. */
  async invoke(event: unknown): Promise<void> {
    const handler = createHandler((signal, undoSignal) => this.port(signal, undoSignal), this.self, { clock: this.clock });
    await this.observe(() => handler(event, lambdaContext()));
  }

  /**
   * Starts a rotation as Secrets Manager does (RotateSecret with this
   * function): rotation enabled, AWSPENDING staged on the token's empty
   * version. The test then invokes the steps. Returns the token.
   */
  async beginRotation(secretArn: string, token: string = randomUUID()): Promise<string> {
    await this.secrets.send(new RotateSecretCommand({
      SecretId: secretArn, ClientRequestToken: token, RotationLambdaARN: this.functionArn, RotationRules: { AutomaticallyAfterDays: 30 },
    }));
    return token;
  }

  /**
   * Sets the secret's rotation schedule as the construct's RotationSchedule
   * does (RotateImmediately false): Secrets Manager tests the configuration by
   * running the handler's testSecret on an AWSPENDING copy of the current
   * value, then takes the label off (support/rotation-configuration.ts).
   * Returns the token and, if testSecret failed, its error.
   */
  async configureRotation(secretArn: string, token?: string): Promise<ConfigurationTestResult> {
    return testRotationConfiguration({
      secrets: this.secrets,
      secretId: secretArn,
      rotationLambdaArn: this.functionArn,
      rotationRules: { ScheduleExpression: 'rate(30 days)' },
      invoke: (event) => this.invoke(event),
      token,
    });
  }

  /**
   * CloudFormation creates or updates the handler function, as a deployment
   * of this library does: its record's LastUpdatedTimestamp becomes now.
   */
  deployHandler(): void {
    this.records.stack(this.self.stackId).put(this.self.functionLogicalId, 'AWS::Lambda::Function', this.self.functionName);
  }

  /** The AwsPort the handler gets, as index.js builds it, but with the test's clients. */
  private port(signal: AbortSignal, undoSignal: AbortSignal): AwsPort {
    return new AwsPort(this.handlerIam, this.handlerSecrets, signal, {
      ...(this.retry ? { retry: this.retry } : NO_RETRY), undoSignal, cloudformation: this.handlerCloudFormation, cloudtrail: this.handlerCloudTrail, self: this.self, clock: this.clock, eventCache: this.eventCache,
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

  /**
   * The custom resource's properties for one user and one region's secret,
   * with this stack's owner tag, as the construct sends them.
   */
  credentialsProperties(userName: string, secretArn: string, extra: Record<string, unknown> = {}, region = 'eu-west-1'): CredentialsProperties {
    return {
      UserName: userName,
      Targets: [{ Region: region, Host: smtpHostForRegion(region), Port: '587', SecretArn: secretArn }],
      OwnerTag: { Key: this.self.ownerTagKey, Value: this.self.stackId },
      ...extra,
    };
  }

  async createUser(userName: string): Promise<void> {
    await this.iam.send(new CreateUserCommand({ UserName: userName }));
  }

  async createForeignKey(userName: string): Promise<string> {
    const out = await this.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    this.issued.pop(); // made by the test, not the handler
    return out.AccessKey!.AccessKeyId!;
  }

  /**
   * A key created by the handler function's role (CloudTrail records it so), outside any request: what an
   * earlier build of the handler created.
   */
  async createKeyAsHandlerRole(userName: string): Promise<string> {
    const out = await this.handlerIam.send(new CreateAccessKeyCommand({ UserName: userName }));
    this.issued.pop();
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

  /**
   * An empty secret, as CloudFormation creates it for SesSmtpUser in the
   * sample stack: with CloudFormation's reserved tags, and in the stack's
   * records (with `metadata` as its template Metadata, if given).
   */
  async createEmptySecret(name: string, metadata?: unknown): Promise<string> {
    const logicalId = `Secret${createHash('sha256').update(name).digest('hex').slice(0, 8).toUpperCase()}`;
    const out = await this.secrets.send(new CreateSecretCommand({ Name: name, Tags: stackTags(logicalId, this.self.stackId) }));
    this.records.stack(this.self.stackId).put(logicalId, 'AWS::SecretsManager::Secret', out.ARN!, metadata);
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

  /**
   * The credentials AWSCURRENT holds, or undefined when it holds none: no
   * value, or the claim a deployment writes before its credentials (a
   * secret's first version is AWSCURRENT whatever it is; lib/handler/journal.js).
   */
  async currentCredentials(secretArn: string): Promise<Record<string, unknown> | undefined> {
    const value = await this.currentValue(secretArn);
    return value && 'username' in value ? value : undefined;
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
