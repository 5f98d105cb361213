/**
 * Custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`) whose
 * ServiceToken is a Lambda function of the same template: the request is
 * handed to the REAL handler (the template's own Code.ZipFile when it ships
 * the handler inline, else lib/handler/cloudformation.js), which runs with
 * the credentials of the function's role (STS AssumeRole in moto) and answers
 * on a pre-signed-URL stand-in, as in Lambda. The same runner invokes a
 * function with Secrets Manager's rotation steps (HandlerRunner.invoke).
 * CloudTrail's event history is served too (test/support/cloudtrail-records.ts):
 * every key moto's IAM created, by the role session that created it.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsPort } from '../../../lib/handler/aws';
import { handleCloudFormationEvent } from '../../../lib/handler/cloudformation';
import { createHandler } from '../../../lib/handler/dispatch';
import { CfnResponse, ResponseServer, captureConsole, cfnEvent, lambdaContext } from '../cloudformation';
import { CloudTrailRecords } from '../cloudtrail-records';
import { invokeInline } from '../inline-handler';
import { assumeRole } from '../sts-assume-role';
import {
  CustomResourceRequest, CustomResourceRunner, FunctionRecord, Properties, ProviderContext, Provisioned, ProvisionError, ResourceProvider,
} from './provider';

/** One run of a function: its Lambda context and configuration, and how its code is called. */
interface FunctionRun {
  readonly context: ReturnType<typeof lambdaContext>;
  readonly self: { stackId: string; ownerTagKey?: string; functionName: string; region: string; functionLogicalId?: string; roleArn?: string };
  /** The AwsPort lib/handler builds in Lambda, with this run's clients. */
  readonly portFor: (signal: AbortSignal, undoSignal: AbortSignal) => AwsPort;
  /** Set when the template ships the handler inline: runs that code with an event. */
  readonly inline?: (event: unknown) => Promise<void>;
}

/**
 * CloudFormation passes every scalar of a custom resource's properties as a
 * string (`"Port": 587` arrives as `"587"`).
 */
export function asCloudFormationStrings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asCloudFormationStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, asCloudFormationStrings(item)]));
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

export class HandlerRunner implements CustomResourceRunner {
  /** Every line the handler logged, across all requests. */
  public readonly logs: string[] = [];
  /** Which code served each request: the template's inline Code.ZipFile, or lib/handler (a file asset's source). */
  public readonly codeRuns: Array<'inline' | 'lib/handler'> = [];
  /** Every response body the handler PUT, exactly as sent. */
  public readonly responses: string[];
  private readonly server = new ResponseServer();
  /** CloudTrail's event history; who each role session is, by the access key id it signs with. */
  private readonly trail = new CloudTrailRecords();
  private readonly sessions: Record<string, { principalArn: string; roleArn: string }> = {};
  private started?: Promise<void>;

  /**
   * @param endpoint moto
   * @param recordsEndpoint where CloudFormation's records of the stack are served (started on first use)
   */
  constructor(private readonly endpoint: string, private readonly recordsEndpoint: () => Promise<string>) {
    this.responses = this.server.raw;
  }

  async run(context: ProviderContext, request: CustomResourceRequest): Promise<Provisioned> {
    const serviceToken = String(request.properties.ServiceToken ?? '');
    const fn = context.functionByArn(serviceToken);
    if (!fn) {
      throw new Error(`${context.logicalId}: ServiceToken '${serviceToken}' is not a Lambda function of this stack; the emulator runs only the template's own handlers`);
    }
    await this.start();
    const event = cfnEvent(this.server, request.requestType, asCloudFormationStrings(request.properties), {
      stackId: context.stackId,
      logicalResourceId: context.logicalId,
      resourceType: context.type,
      physicalResourceId: request.physicalId,
      oldResourceProperties: request.oldProperties && asCloudFormationStrings(request.oldProperties),
    });
    const before = this.server.raw.length;
    await this.asFunction(context, fn, async (lambda) => {
      if (lambda.inline) await lambda.inline(event);
      else await handleCloudFormationEvent(event, lambda.context, lambda.portFor, lambda.self);
    });
    const answers = this.server.raw.slice(before).map((body) => JSON.parse(body) as CfnResponse)
      .filter((answer) => answer.RequestId === event.RequestId);
    if (answers.length !== 1) {
      throw new Error(`${context.logicalId}: the handler answered ${request.requestType} ${answers.length} times; CloudFormation takes exactly one answer`);
    }
    const [answer] = answers;
    if (answer.Status !== 'SUCCESS') {
      throw new ProvisionError(answer.Reason ?? 'the custom resource failed without a reason', answer.PhysicalResourceId);
    }
    return { physicalId: answer.PhysicalResourceId, attributes: answer.Data ?? {} };
  }

  /**
   * Invokes a function of the stack with an event that is not CloudFormation's
   * (a Secrets Manager rotation step), as Lambda does for the service: the
   * function's code under its role's credentials. Rejects when the function fails.
   */
  async invoke(context: ProviderContext, functionArn: string, event: unknown): Promise<void> {
    const fn = context.functionByArn(functionArn);
    if (!fn) throw new Error(`${context.logicalId}: '${functionArn}' is not a Lambda function of this stack; the emulator runs only the template's own handlers`);
    await this.asFunction(context, fn, async (lambda) => {
      if (lambda.inline) await lambda.inline(event);
      else await createHandler(lambda.portFor, lambda.self)(event, lambda.context);
    });
  }

  /**
   * Runs `work` as the function runs in Lambda: the template's inline
   * Code.ZipFile when it ships one (its environment, its name, CloudFormation's
   * API at the records endpoint), else lib/handler with the same
   * configuration; either way under the credentials of the function's role.
   * Logs are kept, and which code ran.
   */
  private async asFunction(context: ProviderContext, fn: FunctionRecord, work: (lambda: FunctionRun) => Promise<void>): Promise<void> {
    await this.start();
    const sessionName = context.logicalId.slice(0, 64);
    const credentials = await assumeRole(this.endpoint, fn.roleArn, sessionName);
    this.sessions[credentials.accessKeyId] = {
      principalArn: `${fn.roleArn.replace(':iam::', ':sts::').replace(/:role\/(.*\/)?/, ':assumed-role/')}/${sessionName}`, roleArn: fn.roleArn,
    };
    const config = { endpoint: this.endpoint, credentials, maxAttempts: 1 };
    const cloudtrail = new CloudTrailClient({ ...config, region: 'us-east-1', endpoint: this.trail.endpoint });
    const iam = new IAMClient({ ...config, region: 'us-east-1' });
    const secrets = new SecretsManagerClient({ ...config, region: context.region });
    const recordsEndpoint = await this.recordsEndpoint();
    const cloudformation = new CloudFormationClient({ ...config, region: context.region, endpoint: recordsEndpoint });
    // The function's own configuration, as Lambda gives it: its environment, name and region.
    const self = {
      stackId: fn.environment.SES_SMTP_STACK_ID ?? '', ownerTagKey: fn.environment.SES_SMTP_OWNER_TAG_KEY,
      functionName: fn.name, region: context.region, functionLogicalId: fn.environment.SES_SMTP_FUNCTION_LOGICAL_ID,
      roleArn: fn.environment.SES_SMTP_ROLE_ARN,
    };
    const lambdaRun: FunctionRun = {
      context: lambdaContext(fn.timeoutSeconds * 1000),
      self,
      portFor: (signal, undoSignal) => new AwsPort(iam, secrets, signal, { accessDeniedRetryMs: [], undoSignal, cloudformation, cloudtrail, self }),
      inline: fn.inlineCode === undefined ? undefined : async (event) => {
        await invokeInline(fn.inlineCode!, event, lambdaContext(fn.timeoutSeconds * 1000), {
          endpoint: this.endpoint, region: context.region, credentials,
          environment: {
            ...fn.environment, AWS_LAMBDA_FUNCTION_NAME: fn.name, AWS_ENDPOINT_URL_CLOUDFORMATION: recordsEndpoint, AWS_ENDPOINT_URL_CLOUDTRAIL: this.trail.endpoint,
          },
        });
      },
    };
    this.codeRuns.push(lambdaRun.inline ? 'inline' : 'lib/handler');
    const console = captureConsole();
    try {
      await work(lambdaRun);
    } finally {
      console.restore();
      this.logs.push(...console.lines);
      iam.destroy();
      secrets.destroy();
      cloudformation.destroy();
      cloudtrail.destroy();
    }
  }

  private start(): Promise<void> {
    this.started ??= (async () => {
      await this.server.start();
      await this.trail.start();
      this.trail.followMoto(this.endpoint, this.sessions);
    })();
    return this.started;
  }

  async close(): Promise<void> {
    if (this.started) {
      await this.server.stop();
      await this.trail.stop();
    }
  }
}

/** Create, Update and Delete requests; a rollback is an Update back to the old properties. */
export const customResourceProvider: ResourceProvider = {
  rollsBackByUpdate: true,
  create: (props: Properties, context) => context.customResources.run(context, { requestType: 'Create', properties: props }),
  update: (oldProps, newProps, current, context) => context.customResources.run(context, {
    requestType: 'Update', properties: newProps, oldProperties: oldProps, physicalId: current.physicalId,
  }),
  delete: async (props, physicalId, context) => {
    await context.customResources.run(context, { requestType: 'Delete', properties: props, physicalId });
  },
};
