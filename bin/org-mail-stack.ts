import { BootstraplessSynthesizer, CfnOutput, CfnParameter, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { HandlerCode, SesSmtpUser } from '../lib';

/**
 * The IAM user name every account of the OU uses: the organisation's IAM
 * automation creates this user in each account (the convention), so an
 * account that joins the OU later needs no per-account input.
 */
export const CONVENTIONAL_SMTP_USER = 'ses-smtp-relay';

/**
 * The `SmtpUserName` parameter, in the member stack and in the StackSet that
 * rolls it out: the conventional name by default, IAM's user name pattern.
 */
export function smtpUserNameParameter(scope: Construct, description: string): CfnParameter {
  return new CfnParameter(scope, 'SmtpUserName', {
    type: 'String',
    default: CONVENTIONAL_SMTP_USER,
    allowedPattern: '[\\w+=,.@-]{1,64}',
    description,
  });
}

/** Properties of the sample {@link OrgMailStack}. */
export interface OrgMailStackProps extends Omit<StackProps, 'synthesizer'> {
  /**
   * The SES region. The StackSet deploys this template to this region only:
   * the secrets and the send policy name it.
   * @default 'eu-west-1'
   */
  readonly smtpRegion?: string;
}

/**
 * The mail baseline of one member account, deployed by a StackSet to every
 * account of an OU: SMTP credentials for the account's relay user, rotated
 * every 30 days. A self-contained template: the handler is inline, no CDK
 * bootstrap, no asset, no lookup; the only inputs are two parameters with
 * defaults (the user name by convention, and the sending domain).
 */
export class OrgMailStack extends Stack {
  public readonly smtp: SesSmtpUser;

  constructor(scope: Construct, id: string, props: OrgMailStackProps = {}) {
    super(scope, id, {
      ...props,
      env: { region: props.smtpRegion ?? 'eu-west-1' },
      synthesizer: new BootstraplessSynthesizer(),
      description: 'SES SMTP credentials for the account\'s mail relay user (ses-smtp-credentials, rolled out by a StackSet)',
    });
    const userName = smtpUserNameParameter(this, 'Existing IAM user (made by the IAM automation) whose access key becomes the SMTP user name. Override per account only for exceptions.');
    const domain = new CfnParameter(this, 'MailDomain', {
      type: 'String',
      default: 'example.com',
      allowedPattern: '[a-z0-9.-]{1,253}',
      description: 'Verified SES domain identity the user may send from.',
    });
    this.smtp = new SesSmtpUser(this, 'Smtp', {
      user: iam.User.fromUserName(this, 'SmtpUser', userName.valueAsString),
      handlerCode: HandlerCode.INLINE,
      identityArns: [this.formatArn({ service: 'ses', resource: 'identity', resourceName: domain.valueAsString })],
      allowedFromAddresses: [`*@${domain.valueAsString}`],
      secretName: 'ses-smtp-credentials/relay',
      rotateEvery: Duration.days(30),
    });
    new CfnOutput(this, 'SmtpSecretArn', { value: this.smtp.secret.secretArn, description: 'The secret with username, password, host, port and region' });
  }
}
