#!/usr/bin/env node
/**
 * Sample organisation rollout. Synthesizes with no AWS account or credentials:
 *
 *   npx cdk synth --app "npx ts-node --transpile-only --prefer-ts-exts bin/org-rollout.ts"
 *   npx cdk synth --app "…" -c region=eu-central-1
 *
 * OrgMail.template.json is the self-contained mail stack (upload it to S3);
 * OrgMailRollout.template.json is the StackSet that deploys it to an OU.
 */
import { App } from 'aws-cdk-lib';
import { OrgMailStack } from './org-mail-stack';
import { OrgMailRolloutStack } from './org-rollout-stack';

const app = new App();
const region: string = app.node.tryGetContext('region') ?? 'eu-west-1';
new OrgMailStack(app, 'OrgMail', { smtpRegion: region });
new OrgMailRolloutStack(app, 'OrgMailRollout', { regions: [region] });
