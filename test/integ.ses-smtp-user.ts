/**
 * Integration test for a real AWS account, run by integ-runner:
 *
 *   npx --yes @aws-cdk/integ-runner --update-on-failed --force   # integ.config.json: test/, eu-west-1
 *
 * (once an integ-runner reads the cloud assembly schema of aws-cdk-lib 2.276;
 * see the README, "Integration test in a real account").
 *
 * Two test cases, run in this order against ONE CloudFormation stack (both
 * test stacks carry the same stackName, so the second deploy is an update):
 *
 * 1. `SesSmtpUser/DefaultTest` (stack `Issue`): the stack creates IAM users A and B and a SesSmtpUser for A.
 *    A has exactly one active access key and the stack's owner tag, B has no
 *    key, and the credentials secret names A and has an AWSCURRENT version.
 *    Its destroy step is off: case 2 takes over the live stack.
 * 2. `ChangeUser/ChangeUserTestCase` (stack `ChangeUser`): the same stack with the SesSmtpUser moved to B. After the
 *    update (and CloudFormation's cleanup Delete of A's key) A has no key and
 *    no owner tag, B has exactly one key, and the secret names B.
 *
 * integ-runner then destroys every stack of this app. Assertions read only
 * metadata (ListAccessKeys, ListUserTags, DescribeSecret,
 * ListSecretVersionIds): no secret value is ever read
 * (test/integ-snapshot.test.ts checks that no assertion may).
 *
 * Why not `stackUpdateWorkflow`: integ-runner's update workflow deploys the
 * committed snapshot of the *same* test case and then the current app; it
 * cannot script a second stage. It is off in both cases because integ-runner
 * deletes the assets of update-disabled stacks from the snapshot, and the two
 * stacks share the handler asset, so case 1 could not redeploy its snapshot
 * anyway; and with it on, case 2's user change would be made by the committed
 * code rather than the code under test.
 */
import { ExpectedResult, IDeployAssert, IntegTest, IntegTestCaseStack, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SesSmtpUser } from '../lib';
import { SmtpCredentialsHandler } from '../lib/smtp-credentials-handler';

/** One SES SMTP region, pinned: the password is derived for it. */
const SMTP_REGION = 'eu-west-1';
const STACK_NAME = 'ses-smtp-credentials-integ';
// Fixed names, so the assertion stacks need no cross-stack references: an
// export from the shared stack would block its update and its destroy.
const USER_A = `${STACK_NAME}-a`;
const USER_B = `${STACK_NAME}-b`;
const SECRET_NAME = `${STACK_NAME}/smtp`;

/** The stack under test: two users of its own, SMTP credentials for one of them. */
function defineStackUnderTest(stack: Stack, holder: string): void {
  const users: Record<string, iam.User> = {
    [USER_A]: new iam.User(stack, 'UserA', { userName: USER_A }),
    [USER_B]: new iam.User(stack, 'UserB', { userName: USER_B }),
  };
  new SesSmtpUser(stack, 'Smtp', { user: users[holder], region: SMTP_REGION, secretName: SECRET_NAME });
}

/** `userName` holds exactly `keys` access keys (IAM's ListAccessKeys lists active and inactive ones). */
function expectAccessKeys(assertions: IDeployAssert, userName: string, keys: 0 | 1): void {
  assertions.awsApiCall('IAM', 'listAccessKeys', { UserName: userName }).expect(ExpectedResult.objectLike({
    // A literal array matches only an array of the same length.
    AccessKeyMetadata: keys === 0 ? [] : [{ UserName: userName, Status: 'Active' }],
  }));
}

/** `userName` carries exactly the stack's owner tag, or no tag at all. */
function expectOwnerTag(assertions: IDeployAssert, userName: string, ownerTagKey: string, tagged: boolean): void {
  assertions.awsApiCall('IAM', 'listUserTags', { UserName: userName }).expect(ExpectedResult.objectLike({
    Tags: tagged ? [{ Key: ownerTagKey }] : [],
  }));
}

/**
 * The credentials secret is written for `userName`: DescribeSecret shows it
 * names the holder and carries the owner tag; ListSecretVersionIds shows a
 * version labelled AWSCURRENT. (DescribeSecret reports stages in a map keyed
 * by version id, which integ-tests' matchers cannot address; both calls are
 * metadata only.)
 */
function expectCredentialsFor(assertions: IDeployAssert, userName: string, ownerTagKey: string): void {
  assertions.awsApiCall('SecretsManager', 'describeSecret', { SecretId: SECRET_NAME }).expect(ExpectedResult.objectLike({
    Name: SECRET_NAME,
    Description: Match.stringLikeRegexp(`\\(${SMTP_REGION}\\) for IAM user ${userName}$`),
    Tags: Match.arrayWith([Match.objectLike({ Key: ownerTagKey })]),
  }));
  assertions.awsApiCall('SecretsManager', 'listSecretVersionIds', { SecretId: SECRET_NAME }).expect(ExpectedResult.objectLike({
    Versions: Match.arrayWith([Match.objectLike({ VersionStages: Match.arrayWith(['AWSCURRENT']) })]),
  }));
}

const app = new App();

const issue = new Stack(app, 'Issue', { stackName: STACK_NAME });
defineStackUnderTest(issue, USER_A);
const ownerTagKey = SmtpCredentialsHandler.of(issue).ownerTag.key;

const changeUser = new IntegTestCaseStack(app, 'ChangeUser', { stackName: STACK_NAME, diffAssets: true, stackUpdateWorkflow: false });
defineStackUnderTest(changeUser, USER_B);

const integ = new IntegTest(app, 'SesSmtpUser', {
  testCases: [issue, changeUser],
  diffAssets: true,
  stackUpdateWorkflow: false,
  // Case 2 updates this stack; its destroy (every stack of the app) removes it.
  cdkCommandOptions: { destroy: { enabled: false } },
});

expectAccessKeys(integ.assertions, USER_A, 1);
expectAccessKeys(integ.assertions, USER_B, 0);
expectOwnerTag(integ.assertions, USER_A, ownerTagKey, true);
expectCredentialsFor(integ.assertions, USER_A, ownerTagKey);

// IntegTestCaseStack.assertions (integ-tests-alpha 2.245.0-alpha.0) builds a
// stack that integ.json never names, so integ-runner would not deploy it; the
// test case's own DeployAssert is the one integ.json lists. The unnamed stack
// stays empty, which CloudFormation Validate reports.
const afterChange = changeUser._testCase.assertions;
Validations.of(changeUser.node.findChild('DeployAssert')).acknowledge({
  id: 'CloudFormation-Validate::F0001',
  reason: 'IntegTestCaseStack always creates this assertion stack; integ.json never names it, so it stays empty and is never deployed.',
});
expectAccessKeys(afterChange, USER_A, 0);
expectAccessKeys(afterChange, USER_B, 1);
expectOwnerTag(afterChange, USER_A, ownerTagKey, false);
expectOwnerTag(afterChange, USER_B, ownerTagKey, true);
expectCredentialsFor(afterChange, USER_B, ownerTagKey);

app.synth();
