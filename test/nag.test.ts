import * as ses from 'aws-cdk-lib/aws-ses';
import { awsSolutionsFindings } from './support/cdk-nag';

/** The account and region awsSolutionsFindings synthesizes for. */
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';

describe('SesSmtpUser under cdk-nag AwsSolutions', () => {
  test('with only a user, reports just the unrotated secret and the send policy on identity/* of the account', () => {
    const findings = awsSolutionsFindings(() => ({}));

    expect(findings).toEqual([
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:${REGION}:${ACCOUNT}:identity/*] @ Nag/Smtp/SendPolicy/Resource`,
      'AwsSolutions-SMG4 @ Nag/Smtp/Secret/Resource',
    ]);
  });

  test('with identities and allowed From addresses, reports just the unrotated secret', () => {
    const findings = awsSolutionsFindings((stack) => ({
      identities: [new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') })],
      allowedFromAddresses: ['noreply@example.com'],
    }));

    expect(findings).toEqual(['AwsSolutions-SMG4 @ Nag/Smtp/Secret/Resource']);
  });
});
