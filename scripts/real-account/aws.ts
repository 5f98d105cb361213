/**
 * Every AWS call of the real-account check, in one place. What it reads is
 * metadata: stack records, key ids and their status, tags, staging labels,
 * log lines. The Secrets Manager client refuses, before anything is sent,
 * any command that returns a secret value (withoutSecretValues), so no
 * change to this file can make the check read one by mistake.
 */
import {
  CloudFormationClient, DeleteStackCommand, DescribeStackEventsCommand, DescribeStackResourceCommand,
  DescribeStacksCommand, ListStackResourcesCommand, Stack as CfnStack,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DeleteLogGroupCommand, DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateUserCommand, DeleteAccessKeyCommand, DeleteUserCommand, DeleteUserPolicyCommand, DetachUserPolicyCommand,
  GetUserCommand, IAMClient, ListAccessKeysCommand, ListAttachedUserPoliciesCommand, ListUserPoliciesCommand, ListUserTagsCommand,
} from '@aws-sdk/client-iam';
import { DeleteSecretCommand, DescribeSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ObservedSecret, ObservedUser } from './invariant';
import { LogEvent, StackEventRecord } from './records';

/** Commands that would return a secret's value. */
const SECRET_VALUE_COMMANDS = /^(Batch)?GetSecretValue(Command)?$/;

/** Makes `client` refuse every command that returns a secret value. */
export function withoutSecretValues<T extends SecretsManagerClient>(client: T): T {
  client.middlewareStack.add((next, context) => async (args) => {
    if (SECRET_VALUE_COMMANDS.test(String(context.commandName))) {
      throw new Error(`the real-account check never reads a secret value (refused ${String(context.commandName)})`);
    }
    return next(args);
  }, { step: 'initialize', name: 'refuseSecretValues' });
  return client;
}

/** The run's marker on the IAM users it creates: only users carrying it are ever deleted. */
export const RUN_TAG_KEY = 'ses-smtp-credentials-integ:run';

function errorName(e: unknown): string {
  return (e as { name?: string })?.name ?? '';
}

export interface AwsOptions {
  readonly region: string;
  /** Tests only: an emulator (moto) instead of AWS, with its credentials. */
  readonly endpoint?: string;
  /** Tests only: the CloudFormation records emulator (test/support/cfn-records.ts). */
  readonly cloudformationEndpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

export class Aws {
  readonly iam: IAMClient;
  readonly secrets: SecretsManagerClient;
  readonly cloudformation: CloudFormationClient;
  readonly logs: CloudWatchLogsClient;

  constructor(options: AwsOptions) {
    const config = { region: options.region, endpoint: options.endpoint, credentials: options.credentials, maxAttempts: 8 };
    this.iam = new IAMClient(config);
    this.secrets = withoutSecretValues(new SecretsManagerClient(config));
    this.cloudformation = new CloudFormationClient({ ...config, endpoint: options.cloudformationEndpoint ?? options.endpoint });
    this.logs = new CloudWatchLogsClient(config);
  }

  // ---- IAM users -------------------------------------------------------

  /** A user's keys and tags, or exists: false. */
  async user(userName: string): Promise<ObservedUser> {
    try {
      const keys = await this.iam.send(new ListAccessKeysCommand({ UserName: userName }));
      const tags = await this.iam.send(new ListUserTagsCommand({ UserName: userName }));
      return {
        exists: true,
        keys: (keys.AccessKeyMetadata ?? []).map((k) => ({ id: String(k.AccessKeyId), status: String(k.Status) })),
        tags: Object.fromEntries((tags.Tags ?? []).map((t) => [String(t.Key), String(t.Value)])),
      };
    } catch (e) {
      if (errorName(e) === 'NoSuchEntityException' || errorName(e) === 'NoSuchEntity') return { exists: false, keys: [], tags: {} };
      throw e;
    }
  }

  /** The run marker of an existing user (undefined: no such user; '' : a user that is not the check's). */
  async runMarker(userName: string): Promise<string | undefined> {
    try {
      const out = await this.iam.send(new GetUserCommand({ UserName: userName }));
      return out.User?.Tags?.find((t) => t.Key === RUN_TAG_KEY)?.Value ?? '';
    } catch (e) {
      if (errorName(e) === 'NoSuchEntityException' || errorName(e) === 'NoSuchEntity') return undefined;
      throw e;
    }
  }

  async createUser(userName: string, runId: string): Promise<void> {
    await this.iam.send(new CreateUserCommand({ UserName: userName, Tags: [{ Key: RUN_TAG_KEY, Value: runId }] }));
  }

  /**
   * Deletes a user the check created, and first what would block that: its
   * access keys and its policies. Returns the key ids it had to delete.
   */
  async deleteUser(userName: string): Promise<string[]> {
    const keys = (await this.iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    for (const key of keys) await this.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId }));
    for (const name of (await this.iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames ?? []) {
      await this.iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: name }));
    }
    for (const policy of (await this.iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName }))).AttachedPolicies ?? []) {
      await this.iam.send(new DetachUserPolicyCommand({ UserName: userName, PolicyArn: policy.PolicyArn }));
    }
    await this.iam.send(new DeleteUserCommand({ UserName: userName }));
    return keys.map((k) => String(k.AccessKeyId));
  }

  // ---- Secrets Manager (metadata only) -----------------------------------

  /** DescribeSecret: labels by version, tags, deletion. */
  async secret(arn: string): Promise<ObservedSecret> {
    try {
      const out = await this.secrets.send(new DescribeSecretCommand({ SecretId: arn }));
      return {
        exists: true,
        deleted: out.DeletedDate !== undefined,
        stages: Object.fromEntries(Object.entries(out.VersionIdsToStages ?? {}).map(([id, labels]) => [id, [...labels]])),
        tags: Object.fromEntries((out.Tags ?? []).map((t) => [String(t.Key), String(t.Value)])),
      };
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') return { exists: false, deleted: true, stages: {}, tags: {} };
      throw e;
    }
  }

  /** Starts a rotation now; returns its token (the new version's id). */
  async rotateSecret(arn: string): Promise<string> {
    const out = await this.secrets.send(new RotateSecretCommand({ SecretId: arn }));
    return String(out.VersionId);
  }

  async forceDeleteSecret(arn: string): Promise<void> {
    await this.secrets.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
  }

  // ---- CloudFormation ----------------------------------------------------

  async stack(stackName: string): Promise<CfnStack | undefined> {
    try {
      return (await this.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    } catch (e) {
      if (errorName(e) === 'ValidationError' && /does not exist/.test(String((e as Error).message))) return undefined;
      throw e;
    }
  }

  /** Logical id → physical id of every resource the stack has now. */
  async physicalIds(stackId: string): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    let token: string | undefined;
    do {
      const out = await this.cloudformation.send(new ListStackResourcesCommand({ StackName: stackId, NextToken: token }));
      for (const r of out.StackResourceSummaries ?? []) {
        if (r.LogicalResourceId && r.PhysicalResourceId && r.ResourceStatus !== 'DELETE_COMPLETE') ids[r.LogicalResourceId] = r.PhysicalResourceId;
      }
      token = out.NextToken;
    } while (token);
    return ids;
  }

  /** CloudFormation's record of one resource: when it last created or updated it. */
  async lastUpdated(stackId: string, logicalId: string): Promise<number | undefined> {
    const out = await this.cloudformation.send(new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }));
    const at = out.StackResourceDetail?.LastUpdatedTimestamp;
    return at ? new Date(at).getTime() : undefined;
  }

  /** The stack's events newer than `after` (epoch ms), oldest first. */
  async stackEvents(stackId: string, after: number): Promise<StackEventRecord[]> {
    const events: StackEventRecord[] = [];
    let token: string | undefined;
    page: do {
      const out = await this.cloudformation.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: token }));
      for (const e of out.StackEvents ?? []) {
        const at = new Date(e.Timestamp ?? 0).getTime();
        if (at <= after) break page;
        events.push({
          logicalId: String(e.LogicalResourceId), physicalId: e.PhysicalResourceId, type: String(e.ResourceType),
          status: String(e.ResourceStatus), reason: e.ResourceStatusReason, at, properties: e.ResourceProperties,
        });
      }
      token = out.NextToken;
    } while (token);
    // CloudFormation lists newest first; events of one millisecond keep that order reversed.
    return events.reverse().sort((a, b) => a.at - b.at);
  }

  async deleteStack(stackId: string, retain: string[] = []): Promise<void> {
    await this.cloudformation.send(new DeleteStackCommand({ StackName: stackId, RetainResources: retain.length ? retain : undefined }));
  }

  // ---- CloudWatch Logs ---------------------------------------------------

  /** Every event of a log group from `from` (epoch ms) on; none if the group does not exist. */
  async logEvents(logGroupName: string, from: number): Promise<LogEvent[]> {
    const events: LogEvent[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.logs.send(new FilterLogEventsCommand({ logGroupName, startTime: from, nextToken: token }));
        for (const e of out.events ?? []) events.push({ at: Number(e.timestamp), message: String(e.message) });
        token = out.nextToken;
      } while (token);
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') return [];
      throw e;
    }
    return events;
  }

  /** Names of the log groups that start with `prefix`. */
  async logGroupsNamed(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, nextToken: token }));
      names.push(...(out.logGroups ?? []).map((g) => String(g.logGroupName)));
      token = out.nextToken;
    } while (token);
    return names;
  }

  async deleteLogGroup(logGroupName: string): Promise<void> {
    try {
      await this.logs.send(new DeleteLogGroupCommand({ logGroupName }));
    } catch (e) {
      if (errorName(e) !== 'ResourceNotFoundException') throw e;
    }
  }
}
