/**
 * The app of the real-account check: `npm run integ:real-account`
 * (scripts/real-account/run.ts; what it checks, what it costs and how to run
 * it: docs/real-account-check.md). CI never deploys it: it only compares a
 * fresh synth with the checked-in snapshot (test/integ-snapshot.test.ts).
 *
 * Every stack below is one stage of ONE CloudFormation stack (they share its
 * name), deployed in this order as updates of each other:
 *
 * 1. `Create`: SesSmtpUser `Smtp` for user A, and `Rotating` (rotateEvery, two
 *    regions) for user R.
 * 2. `Update`: `Smtp` gets a `serial`, which re-issues A's key; the handler
 *    function's description changes, so CloudFormation updates its record
 *    (the check reads its LastUpdatedTimestamp).
 * 3. `Replace`: `Smtp` moves to user B: B gets a key, A's key goes in the
 *    cleanup Delete.
 *    (The check then rotates `Rotating` twice with RotateSecret.)
 * 4. `CancelInFlight`: SesSmtpUsers for the users X1..X3 (each writing 15
 *    regions, so each delivery runs for seconds after it makes its key), a new
 *    `serial` for `Smtp`, and `FailOnPurpose`, a custom resource of this app
 *    that fails as soon as it sees the handler working on an X user (the
 *    owner tag or a key on it). CloudFormation cancels what is still in
 *    progress and rolls the stack back to stage 3.
 *
 * The IAM users exist outside the stack, as the IAM automation's users do:
 * the check creates them before stage 1 and deletes them at the end, so it
 * can see what every stage, the rollback and the stack's deletion leave on
 * them. No assertion ever reads a secret value.
 */
import { App, CfnParameter, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { SMTP_REGIONS, SesSmtpUser } from '../lib';
import { SmtpCredentialsHandler } from '../lib/smtp-credentials-handler';

/** The one CloudFormation stack every stage deploys to. */
const STACK_NAME = 'ses-smtp-credentials-integ';
/** The SES SMTP region of every primary secret. */
const SMTP_REGION = 'eu-west-1';

const USER_A = `${STACK_NAME}-a`;
const USER_B = `${STACK_NAME}-b`;
const USER_R = `${STACK_NAME}-r`;
const CANCELLED_USERS = [1, 2, 3].map((n) => `${STACK_NAME}-x${n}`);
/**
 * Every other SMTP region of the commercial partition: a delivery for an X
 * user writes 15 secrets (a version and a label move each) after it made its
 * key, which keeps it running for seconds after the sibling fails.
 */
const SLOW_REGIONS = SMTP_REGIONS.filter((r) => r !== SMTP_REGION && !r.startsWith('us-gov-'));

interface StageOptions {
  /** `Smtp`'s user. */
  readonly smtpUser: string;
  /** `Smtp`'s serial. */
  readonly serial?: string;
  /** Marks the handler function as redeployed (its description). */
  readonly handlerRedeployed?: boolean;
  /** Adds the X users' SesSmtpUsers and the sibling that fails on purpose. */
  readonly failInFlight?: boolean;
}

function defineStage(app: App, id: string, options: StageOptions): Stack {
  const stack = new Stack(app, id, { stackName: STACK_NAME });
  const user = (name: string) => iam.User.fromUserName(stack, `User-${name}`, name);
  // Who runs the check (scripts/real-account/run.ts --operator): it starts rotations (RotateSecret) and removes what a
  // killed run left, which the credentials secrets' resource policy leaves to deployments and break-glass principals.
  const operator = new CfnParameter(stack, 'Operator', {
    type: 'String',
    default: 'arn:aws:iam::000000000000:role/ses-smtp-credentials-integ-operator-not-set',
    description: 'aws:PrincipalArn (a * is allowed) of the role or user that runs the real-account check',
  });
  const breakGlassPrincipals = [new iam.ArnPrincipal(operator.valueAsString)];

  new SesSmtpUser(stack, 'Smtp', { user: user(options.smtpUser), region: SMTP_REGION, serial: options.serial, breakGlassPrincipals });
  new SesSmtpUser(stack, 'Rotating', {
    user: user(USER_R), region: SMTP_REGION, additionalRegions: ['eu-central-1'], rotateEvery: Duration.days(30), breakGlassPrincipals,
  });

  const handler = SmtpCredentialsHandler.of(stack);
  if (options.handlerRedeployed) {
    // Stands in for a new handler version: CloudFormation updates the function's record.
    (handler.function.node.defaultChild as lambda.CfnFunction).description = 'Custom::SesSmtpCredentials - derives SES SMTP passwords into Secrets Manager (integ: redeployed)';
  }
  if (options.failInFlight) {
    for (const [index, name] of CANCELLED_USERS.entries()) {
      new SesSmtpUser(stack, `Cancelled${index + 1}`, { user: user(name), region: SMTP_REGION, additionalRegions: SLOW_REGIONS, breakGlassPrincipals });
    }
    failOnPurpose(stack, CANCELLED_USERS, handler.ownerTag.key);
  }
  return stack;
}

/**
 * A custom resource that fails on purpose while the handler is working on
 * one of `users`: it polls IAM (one ListUserTags or ListAccessKeys call every
 * 250 ms) and answers FAILED at the first owner tag or key it sees, or after
 * 5 minutes. It depends on nothing of the stage, so it is already polling
 * when the SesSmtpUsers start. It may read tags and list keys of those users,
 * nothing else: no secret, no value.
 */
function failOnPurpose(stack: Stack, users: string[], ownerTagKey: string): void {
  const fn = new lambda.Function(stack, 'FailOnPurposeFunction', {
    description: 'integ: fails on purpose while the SesSmtpUser handler works, to force a rollback that cancels it in flight',
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(FAIL_ON_PURPOSE_CODE),
    timeout: Duration.minutes(6),
    environment: { WATCH_USERS: users.join(','), OWNER_TAG_KEY: ownerTagKey, GIVE_UP_AFTER_MS: String(5 * 60_000), POLL_MS: '250' },
    logGroup: new logs.LogGroup(stack, 'FailOnPurposeLogs', { retention: logs.RetentionDays.ONE_DAY, removalPolicy: RemovalPolicy.DESTROY }),
  });
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['iam:ListUserTags', 'iam:ListAccessKeys'],
    resources: users.map((name) => stack.formatArn({ service: 'iam', region: '', resource: 'user', resourceName: name })),
  }));
  new CustomResource(stack, 'FailOnPurpose', { serviceToken: fn.functionArn, resourceType: 'Custom::FailOnPurpose' });
}

/**
 * The sibling's handler (Node.js, AWS SDK v3 from the Lambda runtime). Its
 * Create always answers FAILED; its Delete (the rollback's) SUCCESS. It
 * answers with https, or http for a loopback URL in the offline test of this
 * code (test/integ-real-account.test.ts runs it against moto).
 */
const FAIL_ON_PURPOSE_CODE = `'use strict';
const { IAMClient, ListUserTagsCommand, ListAccessKeysCommand } = require('@aws-sdk/client-iam');
const iam = new IAMClient({});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function evidence(user, kind) {
  try {
    if (kind === 'tag') {
      const out = await iam.send(new ListUserTagsCommand({ UserName: user }));
      return (out.Tags || []).some((t) => t.Key === process.env.OWNER_TAG_KEY) ? 'owner tag on ' + user : undefined;
    }
    const out = await iam.send(new ListAccessKeysCommand({ UserName: user }));
    return (out.AccessKeyMetadata || []).length > 0 ? 'access key on ' + user : undefined;
  } catch (e) {
    return undefined; // throttled or not there yet: look again
  }
}

function answer(event, status, reason) {
  const body = JSON.stringify({
    Status: status, Reason: reason, StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId,
    PhysicalResourceId: event.PhysicalResourceId || 'fail-on-purpose-' + event.RequestId,
  });
  const url = new URL(event.ResponseURL);
  const client = url.protocol === 'http:' && url.hostname === '127.0.0.1' ? require('node:http') : require('node:https');
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: 'PUT', headers: { 'Content-Type': '', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

exports.handler = async (event) => {
  if (event.RequestType !== 'Create') return answer(event, 'SUCCESS', 'nothing to undo');
  const users = String(process.env.WATCH_USERS).split(',');
  const probes = users.flatMap((user) => [[user, 'tag'], [user, 'key']]);
  const deadline = Date.now() + Number(process.env.GIVE_UP_AFTER_MS);
  let seen;
  for (let i = 0; seen === undefined && Date.now() < deadline; i++) {
    const [user, kind] = probes[i % probes.length];
    seen = await evidence(user, kind);
    if (seen === undefined) await sleep(Number(process.env.POLL_MS));
  }
  const reason = seen === undefined
    ? 'Failing on purpose: the handler did not start on ' + users.join(', ') + ' in time'
    : 'Failing on purpose: ' + seen + ' at ' + new Date().toISOString();
  console.log(JSON.stringify({ failOnPurpose: reason }));
  return answer(event, 'FAILED', reason);
};
`;

const app = new App();
defineStage(app, 'Create', { smtpUser: USER_A });
defineStage(app, 'Update', { smtpUser: USER_A, serial: '2', handlerRedeployed: true });
defineStage(app, 'Replace', { smtpUser: USER_B, serial: '2', handlerRedeployed: true });
defineStage(app, 'CancelInFlight', { smtpUser: USER_B, serial: '3', handlerRedeployed: true, failInFlight: true });
app.synth();
