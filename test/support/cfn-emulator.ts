/**
 * A CloudFormation stand-in for one stack: deploys synthesized CDK templates
 * into moto in CloudFormation's order (create, update, cleanup, rollback,
 * delete) and runs custom resources through the real handler, under the
 * credentials of the role the template gives the handler function.
 *
 * CloudFormation itself acts as the administrator (`testing`), as it acts
 * with the deployer's rights; only custom resource handlers run as their role.
 *
 * Pieces: cfn/intrinsics.ts (Ref, Fn::*, ordering), cfn/engine.ts (stack
 * operations), cfn/providers.ts (one provider per resource type),
 * cfn/custom-resource.ts (the handler invocation).
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CloudFormationRecords } from './cfn-records';
import { HandlerRunner } from './cfn/custom-resource';
import { DeployOptions, DeployResult, LiveResource, StackEngine, StackEvent, StackStatus } from './cfn/engine';
import { CfnTemplate } from './cfn/intrinsics';

export type { CfnTemplate, DeployOptions, DeployResult, LiveResource, StackEvent, StackStatus };

export interface CloudFormationEmulatorProps {
  /** moto's endpoint, http://127.0.0.1:PORT. */
  readonly endpoint: string;
  /** @default 'MailApp' */
  readonly stackName?: string;
  /** @default 'eu-west-1' */
  readonly region?: string;
  /** @default '123456789012' (moto's default account) */
  readonly accountId?: string;
}

export class CloudFormationEmulator {
  private readonly engine: StackEngine;
  private readonly runner: HandlerRunner;
  private readonly iam: IAMClient;
  private readonly secrets: SecretsManagerClient;
  /** CloudFormation's records of the stack, served for the handler's authority checks. */
  public readonly records = new CloudFormationRecords();
  private recordsStarted?: Promise<void>;

  constructor(props: CloudFormationEmulatorProps) {
    const region = props.region ?? 'eu-west-1';
    const admin = { endpoint: props.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 };
    this.iam = new IAMClient({ ...admin, region: 'us-east-1' });
    this.secrets = new SecretsManagerClient({ ...admin, region });
    this.runner = new HandlerRunner(props.endpoint, () => this.startRecords());
    this.engine = new StackEngine({
      stackName: props.stackName ?? 'MailApp',
      region,
      accountId: props.accountId ?? '123456789012',
      iam: this.iam,
      secrets: this.secrets,
      customResources: this.runner,
      records: (stackId) => this.records.stack(stackId),
    });
  }

  /** Starts the records endpoint on first use; resolves to it. */
  private async startRecords(): Promise<string> {
    this.recordsStarted ??= this.records.start();
    await this.recordsStarted;
    return this.records.endpoint;
  }

  /** Creates the stack on the first call, updates it on later ones. */
  deploy(template: CfnTemplate | object, options?: DeployOptions): Promise<DeployResult> {
    return this.engine.deploy(template as CfnTemplate, options);
  }

  /** Deletes the stack. */
  destroy(): Promise<DeployResult> {
    return this.engine.destroy();
  }

  get stackId(): string {
    return this.engine.stackId;
  }

  get status(): StackStatus | undefined {
    return this.engine.status;
  }

  /** Every event since the emulator was made. */
  get events(): readonly StackEvent[] {
    return this.engine.events;
  }

  /** The stack's resources now (names, ARNs and physical ids; no secrets). */
  resources(type?: string): LiveResource[] {
    return this.engine.resources().filter((r) => type === undefined || r.type === type);
  }

  /** Every line the handler logged during custom resource requests. */
  get handlerLogs(): readonly string[] {
    return this.runner.logs;
  }

  /** Which code served each custom resource request: the template's inline code or lib/handler. */
  get handlerCodeRuns(): readonly string[] {
    return this.runner.codeRuns;
  }

    /** Every response body the handler sent to CloudFormation, verbatim. */
  get handlerResponses(): readonly string[] {
    return this.runner.responses;
  }

  async close(): Promise<void> {
    await this.runner.close();
    if (this.recordsStarted) await this.records.stop();
    this.iam.destroy();
    this.secrets.destroy();
  }
}
