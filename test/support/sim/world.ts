/**
 * One run of the lifecycle simulation: moto (cleared), CloudFormation's
 * records on virtual time, the stack actor, Secrets Manager's rotation, an
 * IAM user or two, and the handler invoked for every delivery through the
 * scheduled runtime.
 *
 * The handler runs exactly as in Lambda (lib/handler/cloudformation.js and
 * dispatch.js) with its own configuration (SAMPLE_SELF), its real retry
 * policy (retrying until its deadline, on virtual time) and real SDK v3
 * clients to moto; only time and the order of its AWS calls are the
 * simulation's.
 */
import { createHash, randomUUID } from 'node:crypto';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand, DeleteSecretCommand, RotateSecretCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Scheduler } from 'fast-check';
import { AwsPort } from '../../../lib/handler/aws';
import { createHandler } from '../../../lib/handler/dispatch';
import { CloudFormationRecords, StackLog } from '../cfn-records';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudTrailRecords } from '../cloudtrail-records';
import { CfnResponse, ResponseServer, SAMPLE_SELF } from '../cloudformation';
import { Moto, motoClientConfig } from '../moto';
import { stackTags } from '../world';
import { Delivery, Runtime, SdkClient } from './runtime';
import { CfnRequestEvent, Desired, StackActor } from './stack-actor';
import { VirtualTime } from './virtual-time';

export const USERS = ['alice', 'bob'] as const;
export const REGIONS = ['eu-west-1', 'eu-central-1'] as const;
const REGISTRATION_KEY = 'SesSmtpCredentials:Registration';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:123456789012:function:${SAMPLE_SELF.functionName}`;
/** The handler function's role: CloudTrail names it as the caller of the handler's IAM calls. */
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/LegacyMailApp-SesSmtpCredentialsHandlerRole-SIM';
/** The handler's own configuration, as its environment gives it in Lambda. */
export const SIM_SELF = Object.freeze({ ...SAMPLE_SELF, roleArn: ROLE_ARN });
/** Lambda retries a failed asynchronous invocation twice, after about 1 and 2 minutes (Lambda Developer Guide). */
const LAMBDA_RETRIES = [60_000, 120_000];
/**
 * The handler's own backoff, with a longer cap: on virtual time a throttled
 * call costs nothing to wait for, but each retry is a scheduling point, and
 * a cap of minutes keeps a run at hundreds of them, not thousands.
 */
const SIM_RETRY = { capMs: 10_000 };

/** What lives across the runs of one test file: moto and the administrator's clients. */
export interface SimServices {
  readonly moto: Moto;
  readonly iam: IAMClient;
  readonly secrets: SecretsManagerClient;
  readonly server: ResponseServer;
  readonly records: CloudFormationRecords;
  readonly handlerIam: IAMClient;
  readonly handlerSecrets: SecretsManagerClient;
  readonly handlerCloudFormation: CloudFormationClient;
  /** CloudTrail's event history, which the handler asks who created a key. */
  readonly trail: CloudTrailRecords;
  readonly handlerCloudTrail: CloudTrailClient;
  /** How far ahead of the real clock moto's is (it never goes back, so each run starts from there). */
  clockOffsetMs: number;
}

export function simServices(moto: Moto, server: ResponseServer, records: CloudFormationRecords, trail: CloudTrailRecords): SimServices {
  const iam = new IAMClient(motoClientConfig(moto, 'us-east-1'));
  const secrets = new SecretsManagerClient(motoClientConfig(moto));
  return {
    moto, iam, secrets, server, records,
    handlerIam: iam,
    handlerSecrets: secrets,
    handlerCloudFormation: new CloudFormationClient(motoClientConfig({ ...moto, endpoint: records.endpoint })),
    trail,
    handlerCloudTrail: new CloudTrailClient(motoClientConfig({ ...moto, endpoint: trail.endpoint }, 'us-east-1')),
    clockOffsetMs: 0,
  };
}

/** Secrets Manager's rotation of the primary secret, step by step. */
export class Rotation {
  public readonly token = randomUUID();
  /** The step Secrets Manager invokes next, or undefined when finished. */
  public step: typeof STEPS[number] | undefined = 'createSecret';
  public failed = false;
  public running?: Delivery;
  /** Times Secrets Manager started the whole rotation again after a failed step. */
  public retries = 0;
  constructor(public readonly secretArn: string) {}
}

/**
 * "If any rotation step fails, Secrets Manager retries the entire rotation
 * process multiple times" (Secrets Manager User Guide, "Rotation by Lambda
 * function"); it invokes each step synchronously, so a step killed by its
 * timeout fails. How often and how soon is not documented: three times, a
 * minute after the failure, here.
 */
const ROTATION_RETRIES = 3;
const ROTATION_RETRY_AFTER_MS = 60_000;

export class SimWorld {
  public readonly runtime: Runtime;
  public readonly time: VirtualTime;
  public stack!: StackActor;
  public log!: StackLog;
  /** Every key the handler created (from CreateAccessKey answers it got, or that IAM made for a lost answer). */
  public readonly handlerKeys = new Map<string, { userName: string; secretAccessKey?: string }>();
  /** Keys someone else made (a person, the IAM automation): never to be deleted. */
  public readonly foreignKeys = new Map<string, string>();
  public readonly secretArns: string[] = [];
  public secretsDeleted = false;
  public rotation?: Rotation;
  /** What happened, in order, for the report. */
  public readonly journal: string[] = [];
  /** Kinds of things that happened, for the census of defects ('cancel-create', 'rotation', …). */
  public readonly marks = new Set<string>();
  private readonly answersSeen = new Set<string>();

  /** CloudTrail's event history, whose lag a command sets. */
  get trail(): CloudTrailRecords {
    return this.services.trail;
  }

  constructor(private readonly services: SimServices, scheduler: Scheduler, public readonly regions: number) {
    this.time = new VirtualTime(services.moto.endpoint, services.clockOffsetMs);
    this.runtime = new Runtime(scheduler, this.time);
  }

  /** Clears moto and the records, makes the users and the (empty) secrets as a stack's first moments do. */
  async setUp(): Promise<void> {
    await this.services.moto.reset();
    this.services.records.reset();
    this.services.trail.reset();
    // The records this stack's handler reads are stamped with virtual time.
    (this.services.records as unknown as { now: () => number }).now = () => this.time.now();
    this.services.trail.useClock(() => this.time.now());
    this.services.server.onBody = (body) => this.onAnswer(body);
    for (const user of USERS) await this.services.iam.send(new CreateUserCommand({ UserName: user }));
    const log = this.services.records.stack(SAMPLE_SELF.stackId);
    this.log = log;
    this.stack = new StackActor({
      stackId: SAMPLE_SELF.stackId,
      stackName: 'LegacyMailApp',
      logicalId: 'SmtpCredentials',
      resourceType: 'Custom::SesSmtpCredentials',
      log,
      properties: (desired) => this.properties(desired),
      responseUrl: (requestId) => this.services.server.url(requestId),
      invoke: (event, label) => this.invokeAsync(event, label),
      timer: (fire, ms) => this.time.timer(fire, ms),
      deleteSecrets: () => this.deleteSecrets(),
      secretsDescribe: (desired) => this.describeSecrets(desired),
      mark: (what) => this.marks.add(what),
    });
    log.put(SAMPLE_SELF.functionLogicalId, 'AWS::Lambda::Function', SAMPLE_SELF.functionName);
    for (const region of REGIONS.slice(0, this.regions)) {
      const logicalId = `Secret${region.replace(/-/g, '')}`;
      const out = await this.services.secrets.send(new CreateSecretCommand({ Name: `smtp/${region}/${randomUUID().slice(0, 8)}`, Tags: stackTags(logicalId) }));
      this.secretArns.push(out.ARN!);
      log.put(logicalId, 'AWS::SecretsManager::Secret', out.ARN!);
    }
    this.runtime.faults.clear();
  }

  // ---- the parties ----

  /** The properties CloudFormation sends for a desired state (every scalar a string). */
  properties(desired: Desired): Record<string, unknown> {
    return {
      ServiceToken: FUNCTION_ARN,
      UserName: desired.user,
      Targets: this.secretArns.map((arn, i) => ({ Region: REGIONS[i], Host: `email-smtp.${REGIONS[i]}.amazonaws.com`, Port: '587', SecretArn: arn })),
      Serial: desired.serial,
      OwnerTag: { Key: SAMPLE_SELF.ownerTagKey, Value: SAMPLE_SELF.stackId },
    };
  }

  /**
   * Invokes the handler asynchronously, as CloudFormation (and EventBridge)
   * do: a failed or killed invocation is delivered again by Lambda, after
   * about 1 and 2 minutes, twice at most.
   */
  invokeAsync(event: CfnRequestEvent, label: string, attempt = 0): Delivery {
    this.journal.push(`invoke ${label} ${event.PhysicalResourceId ?? ''}`.trim());
    return this.runtime.start(label, async (d) => {
      const handler = createHandler((signal, undoSignal) => this.port(d, signal, undoSignal), SIM_SELF, { clock: this.runtime.clock(d) });
      await handler(event, this.runtime.context(d));
    }, (d, how) => {
      if (how === 'ok' || attempt >= LAMBDA_RETRIES.length) return;
      // A killed invocation is a timeout to Lambda: it knows at the deadline.
      const after = (how === 'killed' ? d.deadline - this.time.now() : 0) + LAMBDA_RETRIES[attempt];
      this.time.timer(() => this.invokeAsync(event, `${label.replace(/ \(Lambda retry \d\)$/, '')} (Lambda retry ${attempt + 1})`, attempt + 1), after);
    });
  }

  /** Invokes the handler with a non-CloudFormation event (a rotation step), as Lambda does. */
  invokeEvent(event: unknown, label: string, then?: (ok: boolean) => void, killed?: (d: Delivery) => void): Delivery {
    this.journal.push(`invoke ${label}`);
    return this.runtime.start(label, async (d) => {
      const handler = createHandler((signal, undoSignal) => this.port(d, signal, undoSignal), SIM_SELF, { clock: this.runtime.clock(d) });
      let ok = true;
      try {
        await handler(event, this.runtime.context(d));
      } catch {
        ok = false;
      }
      then?.(ok);
    }, (d, how) => {
      if (how === 'killed') killed?.(d);
    });
  }

  /** The AwsPort a delivery gets: real clients to moto, each call a scheduling point, the handler's retry policy. */
  private port(d: Delivery, signal: AbortSignal, undoSignal: AbortSignal): AwsPort {
    const iam = this.runtime.client(d, this.recordingCreates(this.services.handlerIam as unknown as SdkClient), 'iam');
    return new AwsPort(iam, this.runtime.client(d, this.services.handlerSecrets as unknown as SdkClient, 'secretsmanager'), signal, {
      undoSignal, retry: SIM_RETRY, self: SIM_SELF, clock: this.runtime.clock(d),
      cloudformation: this.runtime.client(d, this.services.handlerCloudFormation as unknown as SdkClient, 'cloudformation'),
      cloudtrail: this.runtime.client(d, this.services.handlerCloudTrail as unknown as SdkClient, 'cloudtrail'),
    } as ConstructorParameters<typeof AwsPort>[3]);
  }

  /** Notes every key IAM made for the handler, also when the answer was lost on the way back. */
  private recordingCreates(client: SdkClient): SdkClient {
    return {
      send: async (command, options) => {
        const isCreate = command.constructor.name === 'CreateAccessKeyCommand';
        const userName = String((command.input as { UserName?: string }).UserName);
        const before = isCreate ? await this.keysOf(userName) : [];
        try {
          const out = await client.send(command, options) as { AccessKey?: { AccessKeyId: string; SecretAccessKey: string } };
          if (out.AccessKey) {
            this.handlerKeys.set(out.AccessKey.AccessKeyId, { userName, secretAccessKey: out.AccessKey.SecretAccessKey });
            this.trailCreate(userName, out.AccessKey.AccessKeyId, ROLE_ARN);
          }
          return out;
        } catch (e) {
          if (isCreate) {
            for (const key of await this.keysOf(userName)) {
              if (!before.includes(key) && !this.foreignKeys.has(key)) {
                this.handlerKeys.set(key, { userName });
                this.trailCreate(userName, key, ROLE_ARN);
              }
            }
          }
          throw e;
        }
      },
    };
  }

  private onAnswer(body: string): void {
    const answer = JSON.parse(body) as CfnResponse;
    if (this.answersSeen.has(body)) return;
    this.answersSeen.add(body);
    this.journal.push(`answer ${answer.Status} ${answer.PhysicalResourceId}${answer.Reason ? ` (${answer.Reason.slice(0, 160)})` : ''}`);
    this.stack.onAnswer(answer);
  }

  // ---- Secrets Manager ----

  /** Starts a rotation of the primary secret as Secrets Manager does (RotateSecret with this function). */
  async startRotation(): Promise<string> {
    if (this.secretsDeleted || this.secretArns.length === 0) return 'no secret to rotate';
    if (this.rotation && this.rotation.step !== undefined) return 'a rotation is in progress';
    const rotation = new Rotation(this.secretArns[0]);
    try {
      await this.services.secrets.send(new RotateSecretCommand({
        SecretId: rotation.secretArn, ClientRequestToken: rotation.token, RotationLambdaARN: FUNCTION_ARN, RotationRules: { AutomaticallyAfterDays: 30 },
      }));
    } catch (e) {
      return `RotateSecret refused: ${(e as Error).name}`;
    }
    this.rotation = rotation;
    this.marks.add('rotation');
    this.invokeStep(rotation);
    return 'rotation started';
  }

  /** Secrets Manager invokes the rotation's current step (again, after a failure or a lost invocation). */
  retryRotation(): string {
    const rotation = this.rotation;
    if (!rotation || rotation.step === undefined) return 'no rotation to retry';
    if (rotation.running?.live) return 'its step is still running';
    rotation.failed = false;
    this.invokeStep(rotation);
    return `retry ${rotation.step}`;
  }

  private invokeStep(rotation: Rotation): void {
    const step = rotation.step;
    if (step === undefined) return;
    const failed = (after: number) => {
      rotation.failed = true;
      if (rotation.retries >= ROTATION_RETRIES || this.secretsDeleted) return;
      rotation.retries++;
      this.time.timer(() => {
        if (this.rotation !== rotation || rotation.running?.live) return;
        rotation.failed = false;
        rotation.step = 'createSecret';
        this.journal.push(`Secrets Manager retries the rotation (${rotation.retries})`);
        this.invokeStep(rotation);
      }, after);
    };
    rotation.running = this.invokeEvent({ Step: step, SecretId: rotation.secretArn, ClientRequestToken: rotation.token }, step, (ok) => {
      if (!ok) return failed(ROTATION_RETRY_AFTER_MS);
      const next = STEPS[STEPS.indexOf(step) + 1];
      rotation.step = next;
      if (next) this.invokeStep(rotation);
    }, (d) => failed(d.deadline - this.time.now() + ROTATION_RETRY_AFTER_MS));
  }

  // ---- CloudFormation's other resources ----

  private describeSecrets(desired: Desired): void {
    if (this.secretsDeleted || this.secretArns.length === 0) return;
    const registration = {
      Resource: 'SmtpCredentials',
      UserName: desired.user,
      Targets: this.secretArns.map((arn, i) => ({
        Region: REGIONS[i], Host: `email-smtp.${REGIONS[i]}.amazonaws.com`, Port: 587, ...(i === 0 ? {} : { SecretArn: arn }),
      })),
    };
    const logicalId = `Secret${REGIONS[0].replace(/-/g, '')}`;
    this.log.begin(logicalId, 'AWS::SecretsManager::Secret', 'UPDATE', { physicalId: this.secretArns[0], metadata: { [REGISTRATION_KEY]: registration } });
    this.log.finish(logicalId, 'AWS::SecretsManager::Secret', 'UPDATE', true, this.secretArns[0]);
  }

  private deleteSecrets(): void {
    if (this.secretsDeleted) return;
    this.secretsDeleted = true;
    this.journal.push('delete the secrets');
    for (const [i, arn] of this.secretArns.entries()) {
      const logicalId = `Secret${REGIONS[i].replace(/-/g, '')}`;
      this.log.begin(logicalId, 'AWS::SecretsManager::Secret', 'DELETE', { physicalId: arn });
      this.log.finish(logicalId, 'AWS::SecretsManager::Secret', 'DELETE', true, arn);
    }
    // CloudFormation's own calls, not a delivery's: done before the next scheduling point.
    this.runtime.background(Promise.all(this.secretArns.map((arn) => this.services.secrets.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true })))));
  }

  // ---- a person ----

  /** CloudTrail's record of a CreateAccessKey: by the handler's role, or by a person. */
  private trailCreate(userName: string, accessKeyId: string, roleArn?: string): void {
    this.services.trail.record({
      eventName: 'CreateAccessKey',
      eventSource: 'iam.amazonaws.com',
      principalArn: roleArn ? `arn:aws:sts::123456789012:assumed-role/${roleArn.split('/').pop()}/${SAMPLE_SELF.functionName}` : 'arn:aws:iam::123456789012:user/ops-admin',
      roleArn,
      requestParameters: { userName },
      responseElements: { accessKey: { accessKeyId, userName, status: 'Active' } },
      at: this.time.now(),
    });
  }

  /** A person (or the IAM automation) creates a key for a user, if IAM allows one more. */
  async personCreatesKey(userName: string): Promise<string> {
    if ((await this.keysOf(userName)).length >= 2) return `${userName} has 2 keys already`;
    const out = await this.services.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    this.foreignKeys.set(out.AccessKey!.AccessKeyId!, userName);
    this.trailCreate(userName, out.AccessKey!.AccessKeyId!);
    this.marks.add('person-key');
    return `foreign key ${out.AccessKey!.AccessKeyId} for ${userName}`;
  }

  async keysOf(userName: string): Promise<string[]> {
    const out = await this.services.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!);
  }
}

/** A stable short name for a key id in reports. */
export function shortKey(accessKeyId: string): string {
  return `${accessKeyId.slice(0, 4)}…${createHash('sha256').update(accessKeyId).digest('hex').slice(0, 4)}`;
}
