import { Annotations, Aws, CfnResource, CustomResource, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct, IConstruct } from 'constructs';
import { AccessKeySource } from './access-key-source';
import { CUSTOM_RESOURCE_TYPE, SmtpCredentialsProperties, SmtpTargetProperties } from './contract';
import { CredentialsSecret, CredentialsSecretAccess } from './credentials-secret';
import { DEPLOYMENT_ROLE_NAMES, defaultDeployers, principalArns, rootUserArn } from './credentials-secret-policy';
import { HandlerCode, requestedHandlerCode } from './handler-code';
import { RequestVerification } from './request-verification';
import { userNameKey, userProblem } from './iam-user-name';
import { followKeySource } from './key-source-follower';
import { noEchoParametersIn } from './no-echo';
import { scheduleRotation } from './rotation-schedule';
import { safeQuote } from './safe-quote';
import { onRotationFailed, onRotationSucceeded } from './ses-smtp-user-events';
import { handlerErrorsMetric, handlerProblemsMetric } from './ses-smtp-user-metrics';
import { SmtpCredentialsHandler } from './smtp-credentials-handler';
import { partitionOf } from './contract';
import { RegionName, didYouMean, regionName } from './region-names';
import { stackCapacityErrors } from './stack-capacity';
import {
  DEFAULT_SMTP_PORT, NO_SMTP_REGIONS, SMTP_PORTS, SmtpRegionSupport, smtpHostForRegion, smtpRegionSupport, smtpRegionsInPartition,
} from './smtp-endpoints';

/**
 * Properties of a {@link SesSmtpUser}.
 */
export interface SesSmtpUserProps {
  /**
   * The existing IAM user whose access key becomes the SMTP user name, for
   * example `iam.User.fromUserName(this, 'User', 'legacy-mail')` or
   * `iam.User.fromUserArn(...)`. A user with an IAM path (`/team/`) must be
   * given by ARN: `fromUserName` assumes the root path, and the handler's
   * role is allowed only that ARN, so IAM denies it the user's keys at
   * deploy time. The name may be a token, such as an SSM parameter the IAM
   * automation writes, but not a NoEcho CloudFormation parameter (synth
   * fails: CloudFormation masks it in the event log the handler checks
   * requests against, and the name appears in the secret's description).
   *
   * A concrete name is checked at synth time against IAM's rules (1 to 64
   * characters of letters, digits and `_+=,.@-`), and two SesSmtpUsers of a
   * stack may not name the same user, in any letter case (IAM user names are
   * not case sensitive).
   *
   * The construct attaches an inline `ses:SendRawEmail` policy to this user.
   * It never creates or deletes the user.
   */
  readonly user: iam.IUser;

  /**
   * The SES region whose SMTP endpoint the credentials are for. SMTP passwords
   * are region specific.
   *
   * Validated at synth time when it is a concrete value: a name that is no
   * AWS region, or a region in another partition than the stack's, is an
   * error; so is a region documented to have no SMTP endpoint. A real region
   * the endpoint table does not know is a warning. Give `smtpHosts` to use a
   * region the table does not list, or one newer than this library.
   *
   * @default - the stack's region
   */
  readonly region?: string;

  /**
   * More SES regions served by the same access key. Each region gets its own
   * secret with its own password (see `secretForRegion`), so an application in
   * any of them reads flat fields. IAM allows two keys per user, so one key
   * for every region is the economical choice.
   *
   * @default - only `region`
   */
  readonly additionalRegions?: string[];

  /**
   * SMTP host names by region, overriding the endpoint table (for example a
   * FIPS endpoint, or a region newer than this library). A region named here
   * is not validated against the table.
   *
   * @default - `email-smtp.<region>.<DNS suffix of the region's partition>` for every region, e.g. `email-smtp.eu-west-1.amazonaws.com`
   */
  readonly smtpHosts?: { [region: string]: string };

  /**
   * The SMTP port written into the secret. SES listens for STARTTLS on 25,
   * 587 and 2587, and for TLS wrapper connections on 465 and 2465.
   *
   * @default 587
   */
  readonly port?: number;

  /**
   * SES identities the user may send from. With neither `identities` nor
   * `identityArns`, the policy allows every identity of this account in the
   * SMTP regions (`arn:<partition>:ses:<region>:<account>:identity/*`).
   *
   * @default - every identity of the account in the SMTP regions
   */
  readonly identities?: ses.IEmailIdentity[];

  /**
   * SES identity ARNs the user may send from, for identities not defined in
   * this app (for example `arn:aws:ses:eu-west-1:111122223333:identity/example.com`).
   * Combined with `identities`.
   *
   * @default - every identity of the account in the SMTP regions
   */
  readonly identityArns?: string[];

  /**
   * `From` addresses the user may use, enforced with the `ses:FromAddress`
   * condition key. Wildcards are allowed (`*@example.com`).
   *
   * @default - any From address of the allowed identities
   */
  readonly allowedFromAddresses?: string[];

  /**
   * Name of the secret that holds the credentials. Secrets of additional
   * regions are named `<secretName>/<region>`.
   *
   * @default - a name generated by CloudFormation
   */
  readonly secretName?: string;

  /**
   * Description of the secret.
   *
   * @default - names the user and the SMTP region
   */
  readonly secretDescription?: string;

  /**
   * KMS key that encrypts the secrets. The handler may use only this key.
   *
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the secrets when they leave the stack. The access key is
   * always deleted with the construct, so a retained secret holds a password
   * that no longer works.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Any value; changing it re-issues the credentials on the next deployment
   * (a new key and fresh secret values; the old key is deleted in
   * CloudFormation's cleanup phase, with no grace for consumers still holding
   * its password). Use it for deploy-time rotation.
   *
   * @default - credentials change only when the user, regions, hosts, port or secrets change
   */
  readonly serial?: string;

  /**
   * Use the access key the organisation's IAM automation stored in Secrets
   * Manager instead of creating one. The handler may then only read that
   * secret (and decrypt it with its KMS key); it never creates or deletes keys,
   * and deleting the construct leaves the source alone. Cannot be combined
   * with `rotateEvery`: the IAM automation rotates its key, and
   * `followKeySource` re-derives the passwords when it does.
   *
   * @default - the handler creates a key with iam:CreateAccessKey and deletes it with the construct
   */
  readonly keySource?: AccessKeySource;

  /**
   * With `keySource`: re-derive the SMTP passwords as soon as the automation
   * changes the source secret, with an EventBridge rule on Secrets Manager's
   * CloudTrail events (PutSecretValue, UpdateSecret, UpdateSecretVersionStage,
   * RotationSucceeded). Needs CloudTrail management events, which a Landing
   * Zone's organisation trail provides. Without it, changing `serial`
   * re-reads the source at deploy time.
   *
   * @default true when `keySource` is given
   */
  readonly followKeySource?: boolean;

  /**
   * Rotate the credentials on a schedule with Secrets Manager's native
   * rotation, served by the same handler function: a new key and new
   * passwords for every region. The previous key stays valid (the secret's
   * AWSPREVIOUS version) until the next rotation begins, so consumers that
   * read the secret within one interval keep working; see `onRotated`. The
   * user never holds more than two keys; if it has a key that is not ours,
   * rotation fails rather than exceed the quota. Between 4 hours and 1000 days.
   *
   * Not with `keySource` (synth fails): the handler may not create keys the
   * IAM automation owns, so a scheduled rotation would write the same key
   * and password again, and Secrets Manager (and cdk-nag) would count the
   * secret as rotated while its key never changed. Rotate the key in the
   * automation; `followKeySource` re-derives the passwords when it does.
   *
   * @default - no scheduled rotation (use `serial` to re-issue at deploy time)
   */
  readonly rotateEvery?: Duration;

  /**
   * Regions to replicate every credentials secret to (Secrets Manager
   * replicas), for applications that run elsewhere. A replica holds the same
   * values: the password stays valid only for the SMTP region it was derived for.
   *
   * @default - no replicas
   */
  readonly replicaRegions?: secretsmanager.ReplicaRegion[];

  /**
   * Whether each credentials secret gets a resource policy that leaves
   * writing values and moving labels to the stack's handler role, managing
   * the secret to CloudFormation's deployments and reading it to grantees
   * (`breakGlassPrincipals`, `deploymentPrincipals` and
   * `restrictReadsToGrantees` shape it). Without it, any principal whose
   * identity policy allows `secretsmanager:*` on the secret (a PowerUser in
   * a typical Landing Zone) reads the SMTP password and writes versions that
   * the handler then has to judge (docs/security.md, "Who can write the
   * secrets").
   *
   * The policy is one `AWS::SecretsManager::ResourcePolicy` per secret
   * (`AWS::SecretsManager::Secret` has no policy property): 123 users fit in
   * a stack with it, 164 without.
   *
   * @default true
   */
  readonly secretResourcePolicy?: boolean;

  /**
   * Principals that may do anything to the credentials secrets: read them,
   * write values, move labels, change or remove their resource policy. For
   * break-glass roles or users of the account, given as roles, users or
   * `new iam.ArnPrincipal('arn:aws:iam::111122223333:role/BreakGlass')`
   * (a `*` in the ARN is allowed, for example for the role of an IAM
   * Identity Center permission set:
   * `…:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_BreakGlass_*`).
   *
   * Each secret's resource policy lets only the stack's handler role write
   * values and move labels, only CloudFormation's deployments (see
   * `deploymentPrincipals`) and the account's root user manage the secret,
   * and only grantees read it (see `restrictReadsToGrantees`). These
   * principals are exempt from all three.
   *
   * @default - none: a misconfigured secret can still be repaired by the account's root user, which may remove the resource policy
   */
  readonly breakGlassPrincipals?: iam.IPrincipal[];

  /**
   * The principals CloudFormation deploys this stack with: the stack role
   * it is given, or whoever calls it when there is none. CloudFormation
   * updates and deletes the secrets, their resource policy and rotation
   * schedule with these credentials, and nobody else may: the secrets'
   * resource policy denies every action but reading metadata and tagging to
   * all other principals (writing values and moving labels is the
   * handler's alone, even for these). Give roles, users or
   * `iam.ArnPrincipal`s (a `*` is allowed).
   *
   * Name every principal that deploys the stack: one that is not named can
   * create the stack but not update or delete the secrets. Then the
   * account's root user or a `breakGlassPrincipals` principal must remove
   * the resource policy (`aws secretsmanager delete-resource-policy`)
   * before a deployment with the principal named.
   *
   * @default - the roles CDK, StackSets and Customizations for Control Tower deploy with, in the stack's account:
   * `cdk-*-cfn-exec-role-*`, `AWSCloudFormationStackSetExecutionRole`, `stacksets-exec-*` and `AWSControlTowerExecution`
   * (the list of docs/scp.md), and a `DefaultStackSynthesizer`'s own `cloudFormationExecutionRole` if it is another;
   * synth warns with a synthesizer that deploys with the caller's credentials (`CliCredentialsStackSynthesizer`)
   */
  readonly deploymentPrincipals?: iam.IPrincipal[];

  /**
   * Deny reading the credentials to every principal but those `grantRead`
   * was called for (on this construct or on one of its secrets, for example
   * by `ecs.Secret.fromSecretsManager`), the handler, `breakGlassPrincipals`
   * and `deploymentPrincipals` (CloudFormation resolves a dynamic reference
   * to a secret with the deployment's credentials). Without it, any
   * principal whose identity policy allows `secretsmanager:GetSecretValue`
   * (a PowerUser) reads the SMTP password.
   *
   * A grantee must be a role or user (or an `iam.ArnPrincipal` of one) of
   * this stack, of a stack nested in it, or one whose ARN is known at synth
   * time: a role of another stack is refused at `grantRead`, because naming
   * it in this stack's resource policy would make the two stacks depend on
   * each other.
   *
   * @default true
   */
  readonly restrictReadsToGrantees?: boolean;

  /**
   * Where the stack's handler function gets its code. `HandlerCode.INLINE`
   * puts the handler into the template (`Code.ZipFile`, readable, not
   * minified), so the template deploys without CDK bootstrap: through
   * CloudFormation StackSets, Customizations for Control Tower or Service
   * Catalog. Synthesize such a stack with `BootstraplessSynthesizer`: with
   * the default `DefaultStackSynthesizer` the template still checks the
   * bootstrap version, and synth warns.
   *
   * The handler is one function per stack: every SesSmtpUser of a stack must
   * agree, otherwise synth fails and names both.
   *
   * @default - `HandlerCode.INLINE` when the stack's synthesizer is a
   * `BootstraplessSynthesizer` (it cannot hold assets), otherwise `HandlerCode.ASSET`
   */
  readonly handlerCode?: HandlerCode;

  /**
   * Whether the stack's handler refuses a request its checks of
   * CloudFormation's records do not confirm (ENFORCE), or logs it as a WARN
   * line and serves it (AUDIT). AUDIT is for an account where CloudFormation
   * logs differently from what the handler expects, so that every request
   * is refused: deploy with AUDIT, read the handler's WARN lines, report
   * them, and return to ENFORCE.
   *
   * The handler is one function per stack: every SesSmtpUser of a stack that
   * sets it must agree, otherwise synth fails and names both.
   *
   * @default RequestVerification.ENFORCE
   */
  readonly requestVerification?: RequestVerification;
}

/**
 * SES SMTP credentials of an IAM user, kept in Secrets Manager: what a
 * platform team wires to consumers and alarms. Implemented by {@link SesSmtpUser}.
 */
export interface ISesSmtpUser extends IConstruct {
  /** The IAM user whose key the credentials use. */
  readonly user: iam.IUser;

  /** The secret with the credentials for `region`. */
  readonly secret: secretsmanager.ISecret;

  /** The primary SMTP region (may be a token for region-agnostic stacks). */
  readonly region: string;

  /** Every SMTP region served, primary first. */
  readonly regions: string[];

  /**
   * The access key id, which is the SMTP user name. Resolves at deploy time.
   *
   * @attribute
   */
  readonly accessKeyId: string;

  /** The secret holding the credentials of one of `regions`. */
  secretForRegion(region: string): secretsmanager.ISecret;

  /** Grants reading the credentials of every region. */
  grantRead(grantee: iam.IGrantable): iam.Grant;

  /** An EventBridge rule for every successful scheduled rotation. */
  onRotated(id: string, options?: events.OnEventOptions): events.Rule;

  /** An EventBridge rule for every scheduled rotation that did not complete. */
  onRotationFailed(id: string, options?: events.OnEventOptions): events.Rule;

  /** Failed invocations of the stack's credentials handler (Lambda `Errors`). */
  metricHandlerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /** Failures and warnings the stack's credentials handler logs. */
  metricHandlerFailuresAndWarnings(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/**
 * Issues Amazon SES SMTP credentials for an existing IAM user.
 *
 * Attaches a least-privilege `ses:SendRawEmail` policy to the user, creates an
 * access key for it with a custom resource, derives the SMTP password for each
 * SMTP region and stores `username`, `password`, `host`, `port` and `region`
 * as a JSON secret in Secrets Manager. The secret access key never appears in
 * the template, CloudFormation events, outputs or logs.
 *
 * Deleting the construct deletes the key it created; changing the user,
 * regions, secrets or `serial` re-issues the credentials and deletes the old key.
 *
 * @example
 * const user = iam.User.fromUserName(this, 'MailUser', 'legacy-mail-relay');
 * const smtp = new SesSmtpUser(this, 'Smtp', { user });
 * smtp.grantRead(myTaskRole);
 */
export class SesSmtpUser extends Construct implements ISesSmtpUser {
  /** The IAM user whose key the credentials use. */
  public readonly user: iam.IUser;

  /** The secret with the credentials for `region`. */
  public readonly secret: secretsmanager.ISecret;

  /** The primary SMTP region (may be a token for region-agnostic stacks). */
  public readonly region: string;

  /** Every SMTP region served, primary first. */
  public readonly regions: string[];

  /**
   * The access key id, which is the SMTP user name. Not secret, but treat it
   * with care. Resolves at deploy time (the custom resource's `AccessKeyId`).
   *
   * @attribute
   */
  public readonly accessKeyId: string;

  /** The inline policy attached to the user that allows sending. */
  public readonly sendPolicy: iam.Policy;

  private readonly secretsByRegion = new Map<string, secretsmanager.ISecret>();
  private readonly rotating: boolean;
  private readonly handler: SmtpCredentialsHandler;

  constructor(scope: Construct, id: string, props: SesSmtpUserProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.user = props.user;
    this.region = props.region ?? stack.region;
    this.regions = [this.region, ...(props.additionalRegions ?? [])];
    const port = props.port ?? DEFAULT_SMTP_PORT;
    const smtpHosts = props.smtpHosts ?? {};

    this.validateRegions(smtpHosts);
    this.validatePort(port);
    this.validateUserName();
    this.claimUser();
    if (props.keySource && props.rotateEvery) {
      throw new Error(`[${this.node.path}] rotateEvery cannot be combined with keySource. With a key source the IAM automation owns the access key `
        + 'and the handler may not create one, so a scheduled rotation would write the same key and password again while Secrets Manager '
        + '(and cdk-nag) counted the secret as rotated. Rotate the key in the IAM automation: followKeySource (on by default) re-derives the '
        + 'passwords when it changes the source secret. Remove rotateEvery, or remove keySource to let the handler issue and rotate its own keys.');
    }
    this.node.addValidation({ validate: () => this.noEchoErrors(props) });

    this.sendPolicy = new iam.Policy(this, 'SendPolicy', {
      users: [this.user],
      statements: [this.sendStatement(props)],
    });

    const handler = SmtpCredentialsHandler.of(this, requestedHandlerCode(this, props.handlerCode));
    if (props.requestVerification !== undefined) handler.verifyRequests(props.requestVerification, this.node.path);
    this.handler = handler;
    this.registerForCapacityCheck(handler);
    if (props.keySource) {
      handler.readKeySource(props.keySource.secret, this.user);
    } else {
      handler.manageKeysOf(this.user);
    }

    const access = this.secretAccess(props, handler);
    const secrets: CredentialsSecret[] = [];
    const targets: SmtpTargetProperties[] = this.regions.map((region, index) => {
      const secret = this.createSecret(region, index === 0, props, access);
      secrets.push(secret);
      handler.manageSecret(secret);
      this.secretsByRegion.set(region, secret);
      return {
        Region: region,
        Host: smtpHosts[region] ?? smtpHostForRegion(region),
        Port: String(port),
        SecretArn: secret.secretArn,
      };
    });
    this.secret = this.secretsByRegion.get(this.region)!;

    const properties: SmtpCredentialsProperties = {
      UserName: this.user.userName,
      Targets: targets,
      OwnerTag: { Key: handler.ownerTag.key, Value: handler.ownerTag.value },
      ...(props.serial !== undefined ? { Serial: props.serial } : {}),
      ...(props.keySource ? { Source: props.keySource._properties() } : {}),
    };
    const credentials = new CustomResource(this, 'Credentials', {
      serviceToken: handler.function.functionArn,
      resourceType: CUSTOM_RESOURCE_TYPE,
      properties: { ...properties },
      // CloudFormation invokes the handler asynchronously. Lambda queues an
      // invocation it throttles (an account with little concurrency) and
      // tries again for hours, and runs a killed invocation up to twice more
      // (after 1 and 2 minutes). One hour (the maximum) covers three full
      // 15-minute runs and their pauses; the handler itself always answers
      // before its own timeout.
      serviceTimeout: Duration.hours(1),
    });
    // Credentials are handed out only once the user may send with them, and
    // written only once nobody but the handler may write them.
    credentials.node.addDependency(this.sendPolicy, ...secrets.flatMap((secret) => secret.resourcePolicy ?? []));
    this.accessKeyId = credentials.getAttString('AccessKeyId');

    if (props.followKeySource === true && !props.keySource) {
      throw new Error(`[${this.node.path}] followKeySource needs keySource: there is no source secret to follow.`);
    }
    if (props.keySource && props.followKeySource !== false) {
      followKeySource(this, handler, credentials, properties, props.keySource.secret, [...this.secretsByRegion.values()]);
    }
    this.rotating = props.rotateEvery !== undefined;
    if (props.rotateEvery) {
      scheduleRotation(this, handler, {
        every: props.rotateEvery,
        primary: this.secret as secretsmanager.Secret,
        others: [...this.secretsByRegion.values()].filter((secret) => secret !== this.secret),
        registration: {
          UserName: properties.UserName,
          Targets: properties.Targets.map(({ SecretArn, ...target }, index) => (index === 0 ? target : { ...target, SecretArn })),
          // The custom resource it rotates for: a rotation waits while CloudFormation works on it (handler/authority.js).
          Resource: Stack.of(this).getLogicalId(credentials.node.defaultChild as CfnResource),
        },
        credentials,
      });
    }
  }

  /**
   * An EventBridge rule for every successful scheduled rotation of these
   * credentials.
   *
   * It matches Secrets Manager's `RotationSucceeded` event for the primary
   * secret, which is rotated together with every region's secret.
   * Use it to refresh consumers that read the secret only at start, such as
   * an ECS service. The previous password stays valid until the next
   * rotation begins. Needs CloudTrail management events.
   *
   * Only with `rotateEvery`.
   */
  public onRotated(id: string, options: events.OnEventOptions = {}): events.Rule {
    if (!this.rotating) {
      throw new Error(`[${this.node.path}] onRotated needs rotateEvery: without a rotation schedule Secrets Manager never reports a rotation of these credentials. Set rotateEvery, or react to deploy-time re-issues (serial) in your deployment pipeline.`);
    }
    return onRotationSucceeded(this, id, this.secret, options);
  }

  /**
   * An EventBridge rule for every scheduled rotation of these credentials
   * that did not complete.
   *
   * It matches Secrets Manager's `RotationFailed` (a step failed, and the
   * handler's log says why), `RotationAbandoned` (a new version was written
   * during the rotation) and `TestRotationFailed` (the test Secrets Manager
   * runs when the schedule is created or changed) for the primary secret,
   * which is rotated together with every region's secret. The previous
   * password stays valid after a failed rotation, and the next one starts on
   * schedule. Target an SNS topic to alert the team. Needs CloudTrail
   * management events. Adds one resource (the rule).
   *
   * Only with `rotateEvery`.
   */
  public onRotationFailed(id: string, options: events.OnEventOptions = {}): events.Rule {
    if (!this.rotating) {
      throw new Error(`[${this.node.path}] onRotationFailed needs rotateEvery: without a rotation schedule Secrets Manager never rotates these credentials. Set rotateEvery, or alarm on metricHandlerErrors() for failed key-source syncs.`);
    }
    return onRotationFailed(this, id, this.secret, options);
  }

  /**
   * Failed invocations of the stack's credentials handler (its Lambda `Errors`).
   *
   * Every SesSmtpUser of the stack shares the handler, so this counts for all
   * of them: failed rotation steps and failed key-source syncs (each retry
   * counts), and invocations the handler refused because CloudFormation or
   * Secrets Manager did not send them. CloudFormation requests never count:
   * the handler answers them, FAILED if need be, and the deployment shows it.
   * Alarm on it with `metric.createAlarm(...)`. Adds no resource.
   *
   * @param props metric options; the default is the sum over 5 minutes
   */
  public metricHandlerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerErrorsMetric(this.handler, props);
  }

  /**
   * Failures and warnings the stack's credentials handler logs.
   *
   * Counts, for every SesSmtpUser of the stack: CloudFormation requests
   * answered FAILED, rotation steps and key-source syncs that FAILED, and
   * WARN and ERROR lines (an access key the handler could not delete and
   * names for a person, a refused request, a response CloudFormation could
   * not be sent). The handler's log group holds the lines themselves.
   *
   * The first call in a stack adds a CloudWatch Logs metric filter to the
   * handler's log group: one resource per stack, which counts against the
   * stack's 500 (about one SesSmtpUser less). The metric is
   * `FailuresAndWarnings` in the namespace `SesSmtpCredentials/<stack name>`.
   *
   * @param props metric options; the default is the sum over 5 minutes
   */
  public metricHandlerFailuresAndWarnings(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerProblemsMetric(this.handler, props);
  }

  /**
   * The secret holding the credentials of one of `regions`.
   */
  public secretForRegion(region: string): secretsmanager.ISecret {
    const secret = this.secretsByRegion.get(region);
    if (!secret) {
      throw new Error(`[${this.node.path}] no SMTP credentials for region ${safeQuote(region)}; this SesSmtpUser serves: ${this.regions.join(', ')}. Add it to additionalRegions.`);
    }
    return secret;
  }

  /**
   * Grants reading the credentials of every region (and decrypting them with
   * `encryptionKey`, if given).
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const grants = [...this.secretsByRegion.values()].map((secret) => secret.grantRead(grantee));
    return grants.reduce((all, grant) => all.combine(grant));
  }

  private createSecret(region: string, primary: boolean, props: SesSmtpUserProps, access: CredentialsSecretAccess | undefined): CredentialsSecret {
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const secret = new CredentialsSecret(this, primary ? 'Secret' : `Secret-${region}`, {
      secretName: props.secretName !== undefined ? (primary ? props.secretName : `${props.secretName}/${region}`) : undefined,
      description: props.secretDescription ?? `SES SMTP credentials (${region}) for IAM user ${this.user.userName}`,
      encryptionKey: props.encryptionKey,
      removalPolicy,
      replicaRegions: props.replicaRegions,
    }, access);
    // Created empty: the handler writes the first version, so nobody ever
    // reads a placeholder as if it were credentials.
    (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
    // A retained secret keeps its policy: its last value stays readable only as before.
    secret.resourcePolicy?.applyRemovalPolicy(removalPolicy);
    return secret;
  }

  /**
   * Who may write, manage and read the credentials secrets (see
   * lib/credentials-secret-policy.ts). Principals are checked here, at synth
   * time, with the prop's name in the error.
   */
  private secretAccess(props: SesSmtpUserProps, handler: SmtpCredentialsHandler): CredentialsSecretAccess | undefined {
    const stack = Stack.of(this);
    if (props.secretResourcePolicy === false) {
      const shaping = (['breakGlassPrincipals', 'deploymentPrincipals', 'restrictReadsToGrantees'] as const)
        .filter((prop) => props[prop] !== undefined);
      if (shaping.length > 0) {
        throw new Error(`[${this.node.path}] ${shaping.join(' and ')} shape${shaping.length === 1 ? 's' : ''} the secrets' resource policy, `
          + 'which secretResourcePolicy: false leaves out. Remove secretResourcePolicy: false to keep the policy, or remove '
          + `${shaping.join(' and ')}.`);
      }
      return undefined;
    }
    const arnsOf = (principals: iam.IPrincipal[] | undefined, prop: string) => (principals ?? []).flatMap((principal) => {
      const { arns, services } = principalArns(principal, this, prop);
      if (services.length > 0) {
        throw new Error(`[${this.node.path}] ${prop} names the service ${services.join(', ')}; only roles and users of the account can be named here.`);
      }
      return arns;
    });
    const defaults = defaultDeployers(stack);
    const deployers = props.deploymentPrincipals ? arnsOf(props.deploymentPrincipals, 'deploymentPrincipals') : defaults.deployers;
    if (defaults.callerDeploys && !props.deploymentPrincipals) {
      Annotations.of(this).addWarningV2('ses-smtp-credentials:deployersUnknown',
        `The stack's ${stack.synthesizer.constructor.name} deploys with the caller's own credentials, which the credentials secrets' resource `
        + `policy cannot name at synth time: unless the caller is one of the deployment roles it names (${DEPLOYMENT_ROLE_NAMES.join(', ')}), `
        + 'only the account\'s root user and breakGlassPrincipals may update or delete the secrets. Set deploymentPrincipals to the roles or '
        + 'users that deploy this stack.');
    }
    return {
      handlerRoleArn: handler.role.roleArn,
      breakGlass: arnsOf(props.breakGlassPrincipals, 'breakGlassPrincipals'),
      deployers,
      rootUser: rootUserArn(stack),
      restrictReads: props.restrictReadsToGrantees ?? true,
    };
  }

  private sendStatement(props: SesSmtpUserProps): iam.PolicyStatement {
    const named = [
      ...(props.identities ?? []).map((identity) => identity.emailIdentityArn),
      ...(props.identityArns ?? []),
    ];
    const resources = named.length > 0
      ? named
      : this.regions.map((region) => Stack.of(this).formatArn({
        service: 'ses', region, resource: 'identity', resourceName: '*',
      }));
    const from = props.allowedFromAddresses ?? [];
    if (props.allowedFromAddresses !== undefined && from.length === 0) {
      throw new Error(`[${this.node.path}] allowedFromAddresses is empty, which would allow no From address at all. Leave it undefined to allow any address of the identities, or list addresses such as 'noreply@example.com'.`);
    }
    return new iam.PolicyStatement({
      actions: ['ses:SendRawEmail'],
      resources,
      conditions: from.length > 0 ? { StringLike: { 'ses:FromAddress': from } } : undefined,
    });
  }

  /**
   * Region names come from the partition table (lib/handler/partitions.js, the
   * AWS SDK's partition data) and aws-cdk-lib's region list (region-names.ts):
   * a name with no partition's syntax, or one neither source knows, is an
   * error naming the closest known regions; a region of another partition
   * than the stack's is an error (an access key works only in its own
   * partition). Then the SMTP table: no endpoint is an error, a real region
   * it does not know is a warning. `smtpHosts` overrides the unknown name and
   * the SMTP table, not the syntax or the partition.
   */
  private validateRegions(smtpHosts: { [region: string]: string }): void {
    const seen = new Set<string>();
    const stackRegion = Stack.of(this).region;
    const stackPartition = Token.isUnresolved(stackRegion) ? undefined : partitionOf(stackRegion);
    for (const region of this.regions) {
      if (Token.isUnresolved(region)) {
        if (region === Aws.REGION || region === Stack.of(this).region) {
          Annotations.of(this).addWarningV2('ses-smtp-credentials:regionAgnostic',
            'The SMTP region is the stack\'s deploy-time region, so it cannot be checked for an SMTP endpoint at synth time. Set env.region on the stack or the region prop.');
        }
        continue;
      }
      if (seen.has(region)) {
        throw new Error(`[${this.node.path}] region '${region}' is listed twice (region: '${this.region}', additionalRegions: [${this.regions.slice(1).join(', ')}]); list each SMTP region once.`);
      }
      seen.add(region);
      const name = regionName(region);
      if (name === RegionName.NOT_A_REGION) {
        throw new Error(`[${this.node.path}] ${safeQuote(region)} is not an AWS region name: it has the form of no partition's regions (they look like 'eu-west-1', 'us-gov-west-1', 'eusc-de-east-1'). ${didYouMean(region)}Give region and additionalRegions as region names, for example one with SES SMTP: ${this.smtpRegionsNear(stackPartition?.id).join(', ')}.`);
      }
      const partition = partitionOf(region)!;
      if (stackPartition && partition.id !== stackPartition.id) {
        throw new Error(`[${this.node.path}] region '${region}' is in partition ${partition.id}, but this stack deploys to ${stackRegion} in ${stackPartition.id}, and an IAM access key works only in its own partition. Serve '${region}' from a stack in ${partition.id}, or choose one of: ${this.smtpRegionsNear(stackPartition.id).join(', ')}.`);
      }
      if (smtpHosts[region] !== undefined) continue;
      if (name === RegionName.UNKNOWN) {
        throw new Error(`[${this.node.path}] region ${safeQuote(region)} is unknown: neither this library's partition table (the AWS SDK's region list) nor aws-cdk-lib's region list has it. ${didYouMean(region)}If '${region}' is a region newer than both, say so with smtpHosts: { '${region}': '${smtpHostForRegion(region)}' }.`);
      }
      switch (smtpRegionSupport(region)) {
        case SmtpRegionSupport.UNSUPPORTED:
          throw new Error(`[${this.node.path}] SES does not offer SMTP in region '${region}' (documented: no SMTP endpoint in ${NO_SMTP_REGIONS.join(', ')}). Choose one of: ${this.smtpRegionsNear(partition.id).join(', ')}; or, if AWS has since added one, set smtpHosts: { '${region}': '${smtpHostForRegion(region)}' }.`);
        case SmtpRegionSupport.UNKNOWN:
          Annotations.of(this).addWarningV2('ses-smtp-credentials:unknownRegion',
            `The SES SMTP endpoint table does not know region '${region}'; assuming ${smtpHostForRegion(region)}. Check the SES endpoints page and set smtpHosts to silence this warning. Known SMTP regions in ${partition.id}: ${this.smtpRegionsNear(partition.id).join(', ') || 'none'}.`);
          break;
        default:
          break;
      }
    }
    for (const region of Object.keys(smtpHosts)) {
      if (!this.regions.includes(region)) {
        throw new Error(`[${this.node.path}] smtpHosts names region '${region}', which this SesSmtpUser does not serve (${this.regions.join(', ')}). Add it to additionalRegions or remove it from smtpHosts.`);
      }
    }
  }

  /** The SMTP regions of a partition (of `aws` when it is not known). */
  private smtpRegionsNear(partition: string | undefined): readonly string[] {
    return smtpRegionsInPartition(partition ?? 'aws');
  }

  private validatePort(port: number): void {
    if (Token.isUnresolved(port)) return;
    if (!SMTP_PORTS.includes(port)) {
      throw new Error(`[${this.node.path}] port ${port} is not an SES SMTP port; use one of ${SMTP_PORTS.join(', ')} (587 is the usual STARTTLS port).`);
    }
  }

  /**
   * A concrete user must be one IAM accepts; a token is left to the handler.
   * Checked on what follows `:user/` in its ARN, where aws-cdk-lib keeps what
   * was given (`fromUserName('a b/c')` has the name `c` and the ARN
   * `…:user/a b/c`), else on its name.
   */
  private validateUserName(): void {
    const arn = this.user.userArn;
    const at = arn.indexOf(':user/');
    const inArn = at >= 0 ? arn.slice(at + ':user/'.length) : undefined;
    const given = inArn !== undefined && !Token.isUnresolved(inArn) ? inArn : this.user.userName;
    if (Token.isUnresolved(given)) return;
    const problem = userProblem(given);
    if (problem) throw new Error(`[${this.node.path}] ${problem}`);
  }

  /**
   * Each SesSmtpUser holds one of the user's two access keys, and re-issuing
   * needs a spare one, so two of them for the same user in a stack cannot be
   * updated. Caught at synth time where the user name is known, in any
   * letter case: IAM user names are not case sensitive.
   */
  private claimUser(): void {
    const name = this.user.userName;
    if (Token.isUnresolved(name)) return;
    const stack = Stack.of(this);
    const claims = SesSmtpUser.claims.get(stack) ?? new Map<string, { path: string; name: string }>();
    SesSmtpUser.claims.set(stack, claims);
    const existing = claims.get(userNameKey(name));
    if (existing) {
      const spelled = existing.name === name ? '' : ` (as ${safeQuote(existing.name)}: IAM user names are not case sensitive, so both name one user)`;
      throw new Error(`[${this.node.path}] IAM user ${safeQuote(name)} already has a SesSmtpUser in this stack${spelled}: ${existing.path}. Each one holds an access key and re-issuing needs a spare one of IAM's two per user; serve more regions from one construct with additionalRegions instead.`);
    }
    claims.set(userNameKey(name), { path: this.node.path, name });
  }

  /**
   * The stack's SesSmtpUsers are counted against CloudFormation's resource
   * limit once, by a validation on the stack, so that a stack with too many
   * fails with the number that fits and the fix, before aws-cdk-lib's own
   * error (which names resource types only).
   */
  private registerForCapacityCheck(handler: SmtpCredentialsHandler): void {
    const stack = Stack.of(this);
    let users = SesSmtpUser.usersByStack.get(stack);
    if (!users) {
      const registered: SesSmtpUser[] = [];
      users = registered;
      SesSmtpUser.usersByStack.set(stack, registered);
      stack.node.addValidation({ validate: () => stackCapacityErrors(stack, registered, handler) });
    }
    users.push(this);
  }

  /**
   * Props that reach the custom resource's properties, its registration
   * Metadata or the secrets' names and descriptions may not come from a
   * NoEcho CloudFormation parameter. Refused rather than handled:
   * - CloudFormation shows a NoEcho value as `*****` in the stack events,
   *   and the handler acts only on a request whose properties match what
   *   CloudFormation logged (lib/handler/authority.js); comparing against a
   *   mask cannot be made sound (a forged request would match it too), so
   *   every request would be refused and the stack would never deploy;
   * - the value would be written, readable, into the secret's description
   *   and name, and into the Metadata the handler reads back through
   *   DescribeStackResource ("CloudFormation doesn't redact or obfuscate any
   *   information you include in the metadata attribute": CloudFormation
   *   User Guide, Metadata attribute).
   * None of these values is a secret (IAM, CloudTrail and Secrets Manager
   * show them all), so the fix is a plain parameter.
   */
  private noEchoErrors(props: SesSmtpUserProps): string[] {
    const fed: Array<[string, unknown]> = [
      ['user', this.user.userName],
      ['region', props.region],
      ['additionalRegions', props.additionalRegions],
      ['smtpHosts', props.smtpHosts],
      ['port', props.port],
      ['serial', props.serial],
      ['keySource', props.keySource?._properties()],
      ['secretName', props.secretName],
      ['secretDescription', props.secretDescription],
    ];
    return fed.flatMap(([prop, value]) => noEchoParametersIn(this, value).map((parameter) =>
      `${prop} refers to the NoEcho CloudFormation parameter '${parameter}'. CloudFormation shows its value as ***** in the stack events, `
      + 'which the handler checks every request against, so every request would be refused; and where the construct writes it (the '
      + 'resource Metadata the handler reads back, the secret\'s name or description) CloudFormation stores it readable. It is not a secret '
      + `(IAM, CloudTrail and Secrets Manager show it): declare parameter '${parameter}' without noEcho.`));
  }

  private static readonly claims = new WeakMap<Stack, Map<string, { path: string; name: string }>>();
  private static readonly usersByStack = new WeakMap<Stack, SesSmtpUser[]>();
}
