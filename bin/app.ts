#!/usr/bin/env node
/**
 * Sample Landing Zone app. Synthesizes with no AWS account or credentials:
 *
 *   npx cdk synth                                            # user legacy-mail-relay in eu-west-1
 *   npx cdk synth -c smtpUserName=app-mailer -c region=eu-central-1
 */
import { App } from 'aws-cdk-lib';
import { MailAppStack } from './mail-app-stack';

const app = new App();
new MailAppStack(app, 'LegacyMailApp', {
  smtpUserName: app.node.tryGetContext('smtpUserName') ?? 'legacy-mail-relay',
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: app.node.tryGetContext('region') ?? 'eu-west-1',
  },
});
