/**
 * Failure paths moto cannot produce (hung calls, an unreachable ResponseURL,
 * unexpected exceptions), with aws-sdk-client-mock. Every client rejects by
 * default, so an unexpected AWS call fails the test.
 */
import { CloudFormationClient, DescribeStackEventsCommand, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand, PutSecretValueCommand, PutSecretValueCommandInput, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsPort } from '../lib/handler/aws';
import { RESPONSE_MARGIN_MS, handleCloudFormationEvent } from '../lib/handler/cloudformation';
import { awsError, networkError } from './support/aws-errors';
import { fingerprint, parseRequest } from '../lib/handler/model';
import { RESPONSE_HOST, ResponseServer, SAMPLE_SELF, captureConsole, cfnEvent, lambdaContext } from './support/cloudformation';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf';
const PROPS = {
  UserName: 'legacy-mail-relay',
  Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: SECRET_ARN }],
};
/** The physical id a Create of PROPS reports for KEY (its fingerprint binds a Delete's properties). */
const ISSUED_ID = `key/legacy-mail-relay/AKIAIOSFODNN7EXAMPLE/${fingerprint(parseRequest(PROPS))}`;
const KEY = { AccessKeyId: 'AKIAIOSFODNN7EXAMPLE', SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', UserName: 'legacy-mail-relay', Status: 'Active' as const };

/** The handler's own configuration, with the role CloudTrail names as the caller of its IAM calls. */
const SELF = { ...SAMPLE_SELF, roleArn: 'arn:aws:iam::123456789012:role/LegacyMailApp-SesSmtpCredentialsHandlerRole-TEST' };

const iamMock = mockClient(IAMClient);
const cloudTrailMock = mockClient(CloudTrailClient);
const secretsMock = mockClient(SecretsManagerClient);
const cloudFormationMock = mockClient(CloudFormationClient);
const server = new ResponseServer();
let logs: ReturnType<typeof captureConsole>;

beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  iamMock.reset();
  secretsMock.reset();
  iamMock.onAnyCommand().rejects(new Error('unexpected IAM call'));
  secretsMock.onAnyCommand().rejects(new Error('unexpected Secrets Manager call'));
  cloudFormationMock.reset();
  cloudFormationMock.onAnyCommand().rejects(new Error('unexpected CloudFormation call'));
  cloudTrailMock.reset();
  cloudTrailMock.onAnyCommand().rejects(new Error('unexpected CloudTrail call'));
  logs = captureConsole();
});
afterEach(() => logs.restore());

/** Runs a request that CloudFormation's log shows in progress (the log is the mock's answer). */
async function run(event: ReturnType<typeof cfnEvent>, remainingMs = 120_000, accessDeniedRetryMs: number[] = []) {
  const action = { Create: 'CREATE', Update: 'UPDATE', Delete: 'DELETE' }[event.RequestType as string] ?? 'CREATE';
  cloudFormationMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [{
    StackId: event.StackId, StackName: 'LegacyMailApp', EventId: 'e1', Timestamp: new Date(), LogicalResourceId: event.LogicalResourceId,
    PhysicalResourceId: event.PhysicalResourceId, ResourceType: event.ResourceType, ResourceStatus: `${action}_IN_PROGRESS` as never,
    ResourceProperties: JSON.stringify(event.ResourceProperties),
  }] });
  cloudFormationMock.on(DescribeStackResourceCommand).resolves({ StackResourceDetail: {
    StackId: event.StackId, StackName: 'LegacyMailApp', LogicalResourceId: event.LogicalResourceId, PhysicalResourceId: event.PhysicalResourceId,
    ResourceType: event.ResourceType, ResourceStatus: `${action}_IN_PROGRESS` as never, LastUpdatedTimestamp: new Date(),
  } });
  const sent = await handleCloudFormationEvent(event as never, lambdaContext(remainingMs),
    (signal) => new AwsPort(new IAMClient({ region: 'eu-west-1' }), new SecretsManagerClient({ region: 'eu-west-1' }), signal, {
      accessDeniedRetryMs, retry: { baseMs: 10, capMs: 50, maxAttempts: 3 }, cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
      cloudtrail: new CloudTrailClient({ region: 'us-east-1' }), self: SELF,
    }), SELF);
  if (!sent) throw new Error('the handler sent no answer');
  return sent;
}

/** The handler's journal (lib/handler/journal.js): its claim before any key, a fence. Not credentials. */
function isJournal(input: PutSecretValueCommandInput): boolean {
  return /"sesSmtp(Claim|Fence)"/.test(String(input.SecretString));
}

/** Secrets Manager takes the journal's writes and its label moves; credential writes go to `credentials` (by default refused). */
function acceptJournal(credentials: (input: PutSecretValueCommandInput) => unknown = () => Promise.reject(new Error('unexpected credentials write'))) {
  secretsMock.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => (isJournal(input) ? { VersionId: input.ClientRequestToken } : credentials(input)));
  secretsMock.on(UpdateSecretVersionStageCommand).resolves({});
}

describe('deadline', () => {
  test('answers FAILED before the Lambda timeout when IAM hangs, and deletes a key created late', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    // CreateAccessKey hangs past the deadline, then succeeds: the key must not survive.
    iamMock.on(CreateAccessKeyCommand).callsFake(() => new Promise((resolve) => setTimeout(() => resolve({ AccessKey: KEY }), 1_500)));
    iamMock.on(DeleteAccessKeyCommand).resolves({});
    acceptJournal();

    const started = Date.now();
    const sent = await run(cfnEvent(server, 'Create', PROPS), RESPONSE_MARGIN_MS + 1_000);

    expect(sent.Status).toBe('FAILED');
    expect(sent.Reason).toMatch(/^Timed out after 1 s/);
    expect(Date.now() - started).toBeLessThan(RESPONSE_MARGIN_MS);
    expect(server.last().Status).toBe('FAILED');
    expect(secretsMock.commandCalls(PutSecretValueCommand).filter((c) => !isJournal(c.args[0].input))).toHaveLength(0);
    expect(iamMock.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input)).toEqual([{ UserName: 'legacy-mail-relay', AccessKeyId: KEY.AccessKeyId }]);
  });

  test('a write that hangs past the deadline fails the request and deletes the new key', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    iamMock.on(CreateAccessKeyCommand).resolves({ AccessKey: KEY });
    iamMock.on(DeleteAccessKeyCommand).resolves({});
    acceptJournal(() => new Promise((_resolve, reject) => {
      setTimeout(() => reject(awsError('AbortError', 'aborted')), 1_500);
    }));

    const sent = await run(cfnEvent(server, 'Create', PROPS), RESPONSE_MARGIN_MS + 1_000);

    expect(sent.Status).toBe('FAILED');
    expect(iamMock.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input)).toEqual([{ UserName: 'legacy-mail-relay', AccessKeyId: KEY.AccessKeyId }]);
  });
});

describe('always answers', () => {
  test('an unexpected exception becomes FAILED with its name, not a stack trace', async () => {
    secretsMock.on(DescribeSecretCommand).rejects(networkError('ECONNRESET', 'socket hang up'));

    const sent = await run(cfnEvent(server, 'Create', PROPS));

    expect(sent.Status).toBe('FAILED');
    expect(sent.Reason).toBe(`Error while describing secret ${SECRET_ARN}: socket hang up`);
    expect(sent.Reason).not.toMatch(/\n\s+at /);
  });

  test('an unknown request type is answered FAILED', async () => {
    const sent = await run({ ...cfnEvent(server, 'Create', PROPS), RequestType: 'Replace' as never });

    expect(sent).toMatchObject({ Status: 'FAILED', Reason: "Refused: unknown RequestType 'Replace'. Nothing was changed." });
  });

  test('a ResponseURL that does not answer is logged, and the handler still returns normally (no Lambda retry)', async () => {
    // CloudFormation's bucket refusing the PUT (an expired URL, say): the stand-in answers 403 to unknown paths.
    const event = cfnEvent(server, 'Delete', PROPS, { physicalResourceId: 'create-failed/x', responseUrl: `https://${RESPONSE_HOST}/expired/x` });

    await expect(run(event)).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(logs.lines.join('\n')).toContain('could not answer CloudFormation');
  });

  test('a very long AWS message is cut so the response stays under CloudFormation\'s 4 KiB limit', async () => {
    secretsMock.on(DescribeSecretCommand).rejects(awsError('ServiceUnavailable', 'x'.repeat(10_000)));

    await run(cfnEvent(server, 'Create', PROPS));

    expect(server.raw[server.raw.length - 1].length).toBeLessThan(4096);
  });
});

describe('IAM eventual consistency', () => {
  test('access denied right after a policy change is retried, and the request succeeds', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    iamMock.on(CreateAccessKeyCommand)
      .rejectsOnce(awsError('AccessDenied', 'not authorized to perform iam:CreateAccessKey'))
      .resolves({ AccessKey: KEY });
    secretsMock.on(PutSecretValueCommand).resolves({ VersionId: 'v1' });

    const sent = await run(cfnEvent(server, 'Create', PROPS), 120_000, [10, 10]);

    expect(sent.Status).toBe('SUCCESS');
    expect(iamMock.commandCalls(CreateAccessKeyCommand)).toHaveLength(2);
  });

  test('access denied that persists is reported after the retries', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    iamMock.on(CreateAccessKeyCommand).rejects(awsError('AccessDenied', 'explicit deny in a service control policy'));
    acceptJournal();

    const sent = await run(cfnEvent(server, 'Create', PROPS), 120_000, [10, 10]);

    expect(sent.Status).toBe('FAILED');
    expect(sent.Reason).toContain("Access denied while creating an access key for IAM user 'legacy-mail-relay' (AccessDenied: explicit deny in a service control policy)");
    expect(iamMock.commandCalls(CreateAccessKeyCommand)).toHaveLength(3);
  });
});

describe('a CreateAccessKey whose answer is lost', () => {
  test('deletes the key CloudTrail shows the handler\'s role made since the call began, and only that one, before asking again; fails when every answer is lost', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    iamMock.on(CreateAccessKeyCommand).rejects(networkError('ECONNRESET', 'socket hang up'));
    iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [
      { AccessKeyId: 'AKIAOLDKEY0000000000', Status: 'Active', CreateDate: new Date(Date.now() - 86_400_000) },
      { AccessKeyId: 'AKIANEWKEY0000000000', Status: 'Active', CreateDate: new Date() },
    ] });
    iamMock.on(DeleteAccessKeyCommand).resolves({});
    // CloudTrail's record of each call: the handler's role created AKIANEWKEY (the old key, a day old, is someone's).
    cloudTrailMock.on(LookupEventsCommand).resolves({ Events: [{
      EventName: 'CreateAccessKey', EventTime: new Date(),
      CloudTrailEvent: JSON.stringify({
        eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey',
        userIdentity: { type: 'AssumedRole', sessionContext: { sessionIssuer: { type: 'Role', arn: SELF.roleArn } } },
        requestParameters: { userName: 'legacy-mail-relay' }, responseElements: { accessKey: { accessKeyId: 'AKIANEWKEY0000000000' } },
      }),
    }] });
    acceptJournal();

    const sent = await run(cfnEvent(server, 'Create', PROPS));

    expect(sent.Status).toBe('FAILED');
    // Three attempts (this test's policy allows 3), each followed by the check and the delete.
    expect(iamMock.commandCalls(CreateAccessKeyCommand)).toHaveLength(3);
    expect(iamMock.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId)).toEqual(Array(3).fill('AKIANEWKEY0000000000'));
  });

  test('a refusal from IAM (a parsed 4xx: nothing was created) needs no such check', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    iamMock.on(CreateAccessKeyCommand).rejects(awsError('NoSuchEntity', 'The user with name legacy-mail-relay cannot be found.', 404));

    const sent = await run(cfnEvent(server, 'Create', PROPS));

    expect(sent.Status).toBe('FAILED');
    expect(iamMock.commandCalls(ListAccessKeysCommand)).toHaveLength(0);
  });
});

describe('delete', () => {
  test('a Delete whose secrets cannot be inspected still deletes the key it names', async () => {
    secretsMock.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException', 'denied'));
    iamMock.on(DeleteAccessKeyCommand).resolves({});

    const sent = await run(cfnEvent(server, 'Delete', PROPS, { physicalResourceId: ISSUED_ID }));

    expect(sent.Status).toBe('SUCCESS');
    expect(iamMock.commandCalls(DeleteAccessKeyCommand)).toHaveLength(1);
  });

  test('a Delete that IAM refuses fails with the reason, so the key is not silently orphaned', async () => {
    secretsMock.on(DescribeSecretCommand).resolves({ VersionIdsToStages: {} });
    iamMock.on(DeleteAccessKeyCommand).rejects(awsError('AccessDenied', 'explicit deny in a service control policy'));

    const sent = await run(cfnEvent(server, 'Delete', PROPS, { physicalResourceId: ISSUED_ID }));

    expect(sent.Status).toBe('FAILED');
    expect(sent.Reason).toContain(`Access denied while deleting access key ${KEY.AccessKeyId} of IAM user 'legacy-mail-relay'`);
    expect(sent.Reason).toContain(`delete it by hand: aws iam delete-access-key --user-name legacy-mail-relay --access-key-id ${KEY.AccessKeyId}`);
  });
});
