import { Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { SesSmtpUser } from '../lib';

/** Properties of the sample {@link MailAppStack}. */
export interface MailAppStackProps extends StackProps {
  /** Name of the existing IAM user handed over by the IAM automation. */
  readonly smtpUserName: string;
}

/**
 * A legacy application's stack in a Landing Zone account: SCPs forbid
 * iam:CreateUser, so it issues SMTP credentials for a user the IAM automation
 * made, and lets the relay host's role read them.
 */
export class MailAppStack extends Stack {
  public readonly smtp: SesSmtpUser;

  constructor(scope: Construct, id: string, props: MailAppStackProps) {
    super(scope, id, props);
    const user = iam.User.fromUserName(this, 'SmtpUser', props.smtpUserName);
    this.smtp = new SesSmtpUser(this, 'Smtp', {
      user,
      allowedFromAddresses: ['*@example.com'],
    });
    const relayRole = new iam.Role(this, 'RelayHostRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Postfix relay host: reads its SES SMTP credentials',
    });
    this.smtp.grantRead(relayRole);
  }
}
