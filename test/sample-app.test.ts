/**
 * The sample Landing Zone app (bin/) synthesizes a template that AWS's
 * cfn-lint accepts with no error, warning or informational finding.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MailAppStack } from '../bin/mail-app-stack';
import { cfnLint } from './support/cfn-lint';

describe('the sample MailAppStack', () => {
  test('synthesizes a template that cfn-lint accepts without any finding', () => {
    const app = new App();
    const stack = new MailAppStack(app, 'LegacyMailApp', {
      smtpUserName: 'legacy-mail-relay',
      env: { region: 'eu-west-1' },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::SesSmtpCredentials', { UserName: 'legacy-mail-relay' });

    expect(cfnLint(template, 'LegacyMailApp')).toEqual({ status: 0, output: '' });
  });
});
