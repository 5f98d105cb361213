import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Construct id of the per-stack handler. Public API: never rename. */
const HANDLER_ID = 'SesSmtpCredentialsHandler';

/**
 * ARNs per policy statement. aws-cdk-lib moves whole statements of a role
 * policy that outgrows IAM's 10,240 characters into managed policies of at
 * most 6,144 characters, and never splits a statement; small statements let
 * it pack them, so the number of users is bound by CloudFormation's 500
 * resources rather than by one statement outgrowing a managed policy.
 */
const ARNS_PER_STATEMENT = 30;

/** Statements with the same actions, each naming at most ARNS_PER_STATEMENT resources. */
class StatementChunks {
  private current?: iam.PolicyStatement;
  private readonly seen = new Set<string>();

  constructor(private readonly role: iam.Role, private readonly actions: string[]) {}

  public add(arn: string): void {
    if (this.seen.has(arn)) return;
    this.seen.add(arn);
    if (!this.current || this.current.resources.length >= ARNS_PER_STATEMENT) {
      this.current = new iam.PolicyStatement({ actions: this.actions });
      this.role.addToPrincipalPolicy(this.current);
    }
    this.current.addResources(arn);
  }
}

/**
 * The one Lambda function per stack that serves every `SesSmtpUser` in it,
 * with a role that may touch only the users and secrets registered here.
 *
 * Permissions are collected into a few statements per kind, so each
 * additional user adds ARNs to the role's policy, not another resource.
 *
 * @internal
 */
export class SmtpCredentialsHandler extends Construct {
  /** Returns the stack's handler, creating it on first use. */
  public static of(scope: Construct): SmtpCredentialsHandler {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(HANDLER_ID) as SmtpCredentialsHandler | undefined)
      ?? new SmtpCredentialsHandler(stack, HANDLER_ID);
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  private readonly keyStatements: StatementChunks;
  private readonly secretStatements: StatementChunks;
  private readonly sourceStatements: StatementChunks;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Issues SES SMTP credentials for the SesSmtpUser constructs of this stack',
    });
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: logs.RetentionDays.ONE_YEAR });
    logGroup.grantWrite(this.role);

    this.keyStatements = new StatementChunks(this.role, ['iam:CreateAccessKey', 'iam:DeleteAccessKey', 'iam:ListAccessKeys']);
    this.secretStatements = new StatementChunks(this.role, [
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    this.sourceStatements = new StatementChunks(this.role, ['secretsmanager:GetSecretValue']);

    this.function = new lambda.Function(this, 'Function', {
      description: 'Custom::SesSmtpCredentials - derives SES SMTP passwords into Secrets Manager',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(path.join(__dirname, 'handler'), { exclude: ['*.ts', '*.map'] }),
      role: this.role,
      logGroup,
      timeout: Duration.minutes(2),
      memorySize: 256,
    });
    // lambda.Function depends on the whole role subtree; the role itself is
    // already implied by Fn::GetAtt (cfn-lint W3005). Keep only the policy,
    // which must exist before the first invocation.
    const defaultPolicy = this.role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy;
    (this.function.node.defaultChild as lambda.CfnFunction).addOverride('DependsOn', [defaultPolicy.logicalId]);
  }

  /** Lets the handler create, list and delete access keys of this user. */
  public manageKeysOf(user: iam.IUser): void {
    this.keyStatements.add(user.userArn);
  }

  /** Lets the handler read (only read) a key source secret, and decrypt it with its key. */
  public readKeySource(secret: secretsmanager.ISecret): void {
    this.sourceStatements.add(secret.secretFullArn ?? `${secret.secretArn}-??????`);
    secret.encryptionKey?.grantDecrypt(this.role);
  }

  /** Lets the handler read, write and relabel versions of this secret (and use its KMS key). */
  public manageSecret(secret: secretsmanager.ISecret): void {
    this.secretStatements.add(secret.secretArn);
    if (secret.encryptionKey) {
      secret.encryptionKey.grantEncryptDecrypt(this.role);
    }
  }
}
