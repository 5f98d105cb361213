import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Annotations, ArnFormat, Aws, CfnResource, Duration, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { STACK_ID_TAG } from './contract';
import { HandlerAssetCode } from './handler-asset-code';
import { HandlerCode } from './handler-code';
import { RequestVerification } from './request-verification';
import { bundleHandler } from './inline-handler';

/** Construct id of the per-stack handler. Public API: never rename. */
const HANDLER_ID = 'SesSmtpCredentialsHandler';

/**
 * ARNs per policy statement. aws-cdk-lib moves whole statements of a role
 * policy that outgrows IAM's 10,240 characters into managed policies of at
 * most 6,144 characters, and never splits a statement; small statements let
 * it pack them.
 */
const ARNS_PER_STATEMENT = 30;

/** Statements made by one factory, each naming at most ARNS_PER_STATEMENT resources. */
class StatementChunks {
  private current?: iam.PolicyStatement;
  private readonly seen = new Set<string>();

  constructor(private readonly role: iam.Role, private readonly newStatement: () => iam.PolicyStatement) {}

  public add(arn: string): void {
    if (this.seen.has(arn)) return;
    this.seen.add(arn);
    if (!this.current || this.current.resources.length >= ARNS_PER_STATEMENT) {
      this.current = this.newStatement();
      this.role.addToPrincipalPolicy(this.current);
    }
    this.current.addResources(arn);
  }
}

/**
 * The one Lambda function per stack that serves every `SesSmtpUser` in it.
 *
 * Its role may touch only what this stack registered, and keeps every
 * permission a Delete will need until CloudFormation sends that Delete:
 * - `iam:CreateAccessKey` (and `iam:TagUser`, for the owner tag only) on the
 *   users named in the template;
 * - `iam:ListAccessKeys`, `iam:DeleteAccessKey` and `iam:UntagUser` on users
 *   that carry this stack's owner tag, which the handler sets before it
 *   creates a key and removes after the user's last key is gone. A user
 *   removed from the template keeps the tag until CloudFormation's cleanup
 *   Delete has removed its key, however the shared policy changed meanwhile;
 * - read, write and relabel secrets that CloudFormation created in this
 *   stack: their reserved `aws:cloudformation:stack-id` tag, which nobody
 *   else can write, names this stack;
 * - read this stack's own CloudFormation records (DescribeStackEvents,
 *   DescribeStackResource), which is where every request's authority is
 *   checked (handler/authority.js).
 *
 * @internal
 */
export class SmtpCredentialsHandler extends Construct {
  /**
   * Returns the stack's handler, creating it on first use. Every SesSmtpUser
   * of a stack shares it, so all must ask for the same handler code; without
   * `code`, the existing handler is returned whatever its code.
   */
  public static of(scope: Construct, code?: HandlerCode): SmtpCredentialsHandler {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(HANDLER_ID) as SmtpCredentialsHandler | undefined;
    if (!existing) return new SmtpCredentialsHandler(stack, HANDLER_ID, code ?? HandlerCode.ASSET, scope.node.path);
    if (code !== undefined && existing.code !== code) {
      throw new Error(`[${scope.node.path}] handlerCode ${code} conflicts with HandlerCode.${existing.code}, which ${existing.codeChosenBy} chose: `
        + `the stack has one handler function for all its SesSmtpUsers. Give every SesSmtpUser of stack '${stack.stackName}' the same handlerCode `
        + '(or leave it unset on all: INLINE with a BootstraplessSynthesizer, ASSET otherwise).');
    }
    return existing;
  }

  /** Where the function's code lives (asset or inline), as the first SesSmtpUser of the stack chose. */
  public readonly code: HandlerCode;
  private readonly codeChosenBy: string;

  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  /** The tag that marks the users and secrets this stack's handler may manage. */
  public readonly ownerTag: OwnerTag;
  private readonly issueStatements: StatementChunks;
  private readonly sourceStatements: StatementChunks;
  private readonly sourceUserStatements: StatementChunks;

  private constructor(scope: Construct, id: string, code: HandlerCode, chosenBy: string) {
    super(scope, id);
    this.code = code;
    this.codeChosenBy = chosenBy;
    const stack = Stack.of(this);
    this.ownerTag = { key: ownerTagKey(stack), value: Aws.STACK_ID };
    const { key, value } = this.ownerTag;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Issues SES SMTP credentials for the SesSmtpUser constructs of this stack',
    });
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: logs.RetentionDays.ONE_YEAR });
    logGroup.grantWrite(this.role);

    const onlyOwnerTag = { 'ForAllValues:StringEquals': { 'aws:TagKeys': [key] } };
    const taggedByThisStack = { StringEquals: { [`aws:ResourceTag/${key}`]: value } };
    this.issueStatements = new StatementChunks(this.role, () => new iam.PolicyStatement({
      actions: ['iam:CreateAccessKey', 'iam:TagUser'],
      conditions: { ...onlyOwnerTag, StringEqualsIfExists: { [`aws:RequestTag/${key}`]: value } },
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:ListAccessKeys', 'iam:DeleteAccessKey', 'iam:UntagUser'],
      resources: [stack.formatArn({ service: 'iam', region: '', resource: 'user', resourceName: '*' })],
      conditions: { ...taggedByThisStack, ...onlyOwnerTag },
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResource'],
      resources: [Aws.STACK_ID],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      conditions: { StringEquals: { [`aws:ResourceTag/${STACK_ID_TAG}`]: Aws.STACK_ID } },
    }));
    // Who created a key whose CreateAccessKey answer never arrived (handler/key-origin.js): CloudTrail's
    // event history, read only. LookupEvents has no resource-level permissions.
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudtrail:LookupEvents'], resources: ['*'] }));
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudtrail:LookupEvents only, which supports no resource-level permissions: it reads the account\'s management event '
        + 'history, to tell a key this handler\'s role created (and never got the answer for) from a key someone else created. '
        + 'docs/security.md: "CloudTrail".',
    });
    this.sourceStatements = new StatementChunks(this.role, () => new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'] }));
    this.sourceUserStatements = new StatementChunks(this.role, () => new iam.PolicyStatement({ actions: ['iam:ListAccessKeys'] }));
    acknowledgeTagBoundResources(this.role, stack);

    this.function = new lambda.Function(this, 'Function', {
      description: 'Custom::SesSmtpCredentials - derives SES SMTP passwords into Secrets Manager',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: code === HandlerCode.INLINE
        ? lambda.Code.fromInline(bundleHandler(path.join(__dirname, 'handler')))
        : new HandlerAssetCode(path.join(__dirname, 'handler'), ['*.ts', '*.map']),
      role: this.role,
      logGroup,
      // Its own stack and owner tag, from its configuration: never from an event.
      // Its role too: CloudTrail names it as the caller of the handler's own IAM calls.
      environment: { SES_SMTP_STACK_ID: Aws.STACK_ID, SES_SMTP_OWNER_TAG_KEY: key, SES_SMTP_ROLE_ARN: this.role.roleArn },
      // Lambda's longest run: with a stack's custom resources started at
      // once, IAM throttles, and every call is retried until the deadline
      // (lib/handler/retry.js, deadline.js). 164 users at 2 IAM calls/s need
      // minutes, not seconds. A request that ends early costs nothing extra.
      timeout: Duration.minutes(15),
      memorySize: 256,
    });
    // Its own logical id, so the handler can ask CloudFormation when it was
    // last deployed (values written before may come from an earlier version).
    this.function.addEnvironment('SES_SMTP_FUNCTION_LOGICAL_ID', (this.function.node.defaultChild as lambda.CfnFunction).logicalId);
    // lambda.Function depends on the whole role subtree; the role itself is
    // already implied by Fn::GetAtt (cfn-lint W3005). Keep only the role's
    // policies, including the managed OverflowPolicies aws-cdk-lib splits off
    // a large policy at synth time: all must exist before the first
    // invocation, and on stack delete outlive every custom resource.
    (this.function.node.defaultChild as lambda.CfnFunction).addOverride('DependsOn', Lazy.list({
      produce: () => this.role.node.children
        .filter((child) => child instanceof iam.Policy || child instanceof iam.ManagedPolicy)
        .map((policy) => (policy.node.defaultChild as CfnResource).logicalId)
        .sort(),
    }));
  }

  /**
   * Sets how the handler treats a request its checks of CloudFormation's
   * records do not confirm. Every SesSmtpUser of the stack that sets it must agree.
   */
  public verifyRequests(mode: RequestVerification, chosenBy: string): void {
    if (this.verification && this.verification.mode !== mode) {
      throw new Error(`[${chosenBy}] requestVerification ${mode} conflicts with RequestVerification.${this.verification.mode}, which ${this.verification.chosenBy} chose: `
        + 'the stack has one handler function for all its SesSmtpUsers. Give every SesSmtpUser of the stack the same requestVerification (or leave it unset on all but one).');
    }
    if (this.verification) return;
    this.verification = { mode, chosenBy };
    if (mode === RequestVerification.AUDIT) {
      this.function.addEnvironment('SES_SMTP_REQUEST_VERIFICATION', mode);
      Annotations.of(this).addWarningV2('ses-smtp-credentials:auditRequests',
        `requestVerification is RequestVerification.AUDIT (set by ${chosenBy}): the handler serves requests its checks of CloudFormation's records `
        + 'do not confirm, and logs each as a WARN line. Anyone who may invoke the handler function can then make it act. Keep the SCP of '
        + 'docs/scp.md in place, report the WARN lines, and return to RequestVerification.ENFORCE.');
    }
  }

  private verification?: { mode: RequestVerification; chosenBy: string };

  /** Lets the handler create access keys of this user (and mark it with the owner tag first). */
  public manageKeysOf(user: iam.IUser): void {
    this.issueStatements.add(user.userArn);
  }

  /**
   * Lets the handler read (only read) a key source secret, decrypt it with
   * its key, and list the keys of the construct's user, to check that the
   * source holds one of them.
   */
  public readKeySource(secret: secretsmanager.ISecret, user: iam.IUser): void {
    this.sourceStatements.add(secret.secretFullArn ?? `${secret.secretArn}-??????`);
    secret.encryptionKey?.grantDecrypt(this.role);
    this.sourceUserStatements.add(user.userArn);
  }

  /**
   * Lets the handler read, write and relabel versions of this secret, and use
   * its KMS key as Secrets Manager needs for that: Decrypt to read,
   * GenerateDataKey (and Decrypt) to write.
   */
  public manageSecret(secret: secretsmanager.Secret): void {
    secret.encryptionKey?.grant(this.role, 'kms:Decrypt', 'kms:GenerateDataKey');
  }
}

/**
 * cdk-nag's AwsSolutions-IAM5 flags the two tag-bound wildcard resources;
 * acknowledged with the reason a security reviewer needs.
 */
function acknowledgeTagBoundResources(role: iam.Role, stack: Stack): void {
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const reason = 'Bounded by tags that name this stack (aws:ResourceTag conditions with the stack id), not by names: CloudFormation '
    + 'updates the shared policy before its cleanup phase sends the Delete of a removed or replaced user\'s key, so a named ARN '
    + 'would be gone when that Delete runs. Users: the handler tags a user only where CreateAccessKey and TagUser name it, and '
    + 'untags it after its last key is gone. Secrets: CloudFormation\'s reserved aws:cloudformation:stack-id tag, which only '
    + 'CloudFormation can set. README: "What the handler role may do".';
  for (const resource of [`arn:<AWS::Partition>:iam::${account}:user/*`, `arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:*`]) {
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
  }
}

/** Tag key and value that mark what one stack's handler may manage. */
export interface OwnerTag {
  readonly key: string;
  /** The stack id: a stack deleted and created again under the same name does not inherit old tags. */
  readonly value: string;
}

/**
 * One tag key per stack, so two stacks can serve the same user (one key
 * each): `SesSmtpCredentials:<region>/<stack name>`, readable in the console.
 * IAM users are global, so the region is part of it when known.
 */
function ownerTagKey(stack: Stack): string {
  const region = Token.isUnresolved(stack.region) ? '' : `${stack.region}/`;
  const readable = `SesSmtpCredentials:${region}${stack.stackName}`;
  if (!Token.isUnresolved(stack.stackName) && readable.length <= 128) return readable;
  return `SesSmtpCredentials:${createHash('sha256').update(`${region}${stack.node.path}`).digest('hex').slice(0, 32)}`;
}
