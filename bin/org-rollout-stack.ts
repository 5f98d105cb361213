import { BootstraplessSynthesizer, CfnParameter, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { smtpUserNameParameter } from './org-mail-stack';

/** Properties of the sample {@link OrgMailRolloutStack}. */
export interface OrgMailRolloutStackProps extends Omit<StackProps, 'synthesizer'> {
  /** Regions to deploy the mail stack to: the SMTP region its template was synthesized for. */
  readonly regions: string[];
}

/**
 * Deploys the self-contained mail template (uploaded to S3 beforehand) to
 * every account of the given OUs with a service-managed StackSet, including
 * accounts that join the OUs later. Runs in the management account or a
 * delegated administrator for CloudFormation StackSets.
 */
export class OrgMailRolloutStack extends Stack {
  public readonly stackSet: cloudformation.CfnStackSet;

  constructor(scope: Construct, id: string, props: OrgMailRolloutStackProps) {
    super(scope, id, {
      ...props,
      synthesizer: new BootstraplessSynthesizer(),
      description: 'StackSet that rolls the SES SMTP credentials baseline out to every account of the target OUs',
    });
    const templateUrl = new CfnParameter(this, 'MailTemplateUrl', {
      type: 'String',
      description: 'HTTPS URL of the synthesized OrgMail template in S3 (too large for TemplateBody: see the README\'s size budget).',
    });
    const ous = new CfnParameter(this, 'TargetOrganizationalUnitIds', {
      type: 'CommaDelimitedList',
      description: 'OUs whose accounts get the mail baseline, now and when they join later (ou-xxxx-yyyyyyyy).',
    });
    const userName = smtpUserNameParameter(this, 'IAM user name the accounts use by convention; exceptions are per-account parameter overrides of the stack instances.');
    const callAs = new CfnParameter(this, 'CallAs', {
      type: 'String',
      default: 'SELF',
      allowedValues: ['SELF', 'DELEGATED_ADMIN'],
      description: 'SELF in the management account, DELEGATED_ADMIN in a delegated StackSets administrator account.',
    });

    this.stackSet = new cloudformation.CfnStackSet(this, 'MailBaseline', {
      stackSetName: 'ses-smtp-credentials',
      description: 'SES SMTP credentials for each account\'s mail relay user',
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: callAs.valueAsString,
      managedExecution: { Active: true },
      capabilities: ['CAPABILITY_IAM'],
      templateUrl: templateUrl.valueAsString,
      parameters: [{ parameterKey: 'SmtpUserName', parameterValue: userName.valueAsString }],
      operationPreferences: { failureTolerancePercentage: 10, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' },
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: ous.valueAsList }, regions: props.regions }],
    });
  }
}
