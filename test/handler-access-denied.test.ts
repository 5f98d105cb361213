/**
 * What a deployment reports when IAM denies the handler a user's keys or
 * tags: the likeliest cause in a Landing Zone is a user with an IAM path that
 * was given by name (`iam.User.fromUserName` assumes the root path, and the
 * handler's role is allowed only that ARN), so the reason CloudFormation
 * shows leads with that fix, then the SCP hint. IAM denials are mocked
 * (aws-sdk-client-mock): moto does not check resources. Every client
 * rejects by default, so an unexpected call fails the test.
 */
import { CloudFormationClient, DescribeStackEventsCommand } from '@aws-sdk/client-cloudformation';
import { CreateAccessKeyCommand, IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsPort } from '../lib/handler/aws';
import { handleCloudFormationEvent } from '../lib/handler/cloudformation';
import { awsError } from './support/aws-errors';
import { ResponseServer, SAMPLE_SELF, captureConsole, cfnEvent, lambdaContext } from './support/cloudformation';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf';
const PROPS = {
  UserName: 'legacy-mail-relay',
  Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: SECRET_ARN }],
  OwnerTag: { Key: SAMPLE_SELF.ownerTagKey, Value: SAMPLE_SELF.stackId },
};
/** IAM's denial as AWS words it for a role (public CLI transcripts name the user as 'user <name>'). */
const DENIED = 'User: arn:aws:sts::123456789012:assumed-role/LegacyMailApp-SesSmtpCredentialsHandlerRole-1A2B3C/LegacyMailApp-SesSmtpCredentialsHandlerFunction-4D5E6F '
  + 'is not authorized to perform: iam:TagUser on resource: user legacy-mail-relay because no identity-based policy allows the iam:TagUser action';

const iamMock = mockClient(IAMClient);
const secretsMock = mockClient(SecretsManagerClient);
const cloudFormationMock = mockClient(CloudFormationClient);
const server = new ResponseServer();
let logs: ReturnType<typeof captureConsole>;

beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  iamMock.reset();
  secretsMock.reset();
  cloudFormationMock.reset();
  iamMock.onAnyCommand().rejects(new Error('unexpected IAM call'));
  secretsMock.onAnyCommand().rejects(new Error('unexpected Secrets Manager call'));
  cloudFormationMock.onAnyCommand().rejects(new Error('unexpected CloudFormation call'));
  logs = captureConsole();
});
afterEach(() => logs.restore());

/** A Create that CloudFormation's log shows in progress. */
async function create() {
  const event = cfnEvent(server, 'Create', PROPS);
  cloudFormationMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [{
    StackId: event.StackId, StackName: 'LegacyMailApp', EventId: 'e1', Timestamp: new Date(), LogicalResourceId: event.LogicalResourceId,
    ResourceType: event.ResourceType, ResourceStatus: 'CREATE_IN_PROGRESS', ResourceProperties: JSON.stringify(event.ResourceProperties),
  }] });
  const sent = await handleCloudFormationEvent(event as never, lambdaContext(120_000),
    (signal) => new AwsPort(new IAMClient({ region: 'eu-west-1' }), new SecretsManagerClient({ region: 'eu-west-1' }), signal, {
      accessDeniedRetryMs: [], retry: { baseMs: 10, capMs: 50, maxAttempts: 3 }, cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
    }), SAMPLE_SELF);
  if (!sent) throw new Error('the handler sent no answer');
  return sent;
}

describe('an AccessDenied on the IAM user at deploy time', () => {
  test('the FAILED reason leads with giving a user with a path by ARN, and keeps the SCP hint after it', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    // The claim written before IAM is touched, and its release after the failure (lib/handler/journal.js).
    secretsMock.on(PutSecretValueCommand).resolves({});
    secretsMock.on(UpdateSecretVersionStageCommand).resolves({});
    iamMock.on(TagUserCommand).rejects(awsError('AccessDenied', DENIED));

    const sent = await create();

    expect(sent.Status).toBe('FAILED');
    const reason = String(sent.Reason);
    const pathHint = reason.indexOf("If IAM user 'legacy-mail-relay' has a path");
    expect(pathHint).toBeGreaterThan(0);
    expect(reason).toContain("iam.User.fromUserArn(this, 'User', 'arn:<partition>:iam::<account>:user/<path>/legacy-mail-relay')");
    expect(reason.indexOf('Otherwise a Service Control Policy')).toBeGreaterThan(pathHint);
    expect(iamMock.commandCalls(CreateAccessKeyCommand)).toHaveLength(0);
  });
});
