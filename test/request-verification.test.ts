/**
 * requestVerification (issue 23, item 8): the way forward for an account
 * whose CloudFormation logs differently from every source the handler was
 * built on. ENFORCE (the default) refuses what its checks of CloudFormation's
 * records do not confirm, and says how to find out; AUDIT logs it as a WARN
 * line and acts. Only a stack update sets it: the handler reads it from its
 * own configuration, never from a request.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RequestVerification, SesSmtpUser } from '../lib';
import { SAMPLE_SELF } from './support/cloudformation';
import { REGISTRATION_KEY } from './support/rotating';
import { World } from './support/world';

const USER = 'legacy-mail-relay';

function newStack() {
  return new Stack(new App(), 'MailApp', { env: { account: '123456789012', region: 'eu-west-1' } });
}

function handlerEnvironment(stack: Stack): Record<string, unknown> {
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const [handler] = Object.values(functions);
  return (handler.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
}

describe('the prop', () => {
  test('ENFORCE by default: the handler gets no setting of it, and synth says nothing', () => {
    const stack = newStack();
    new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', USER) });

    expect(handlerEnvironment(stack)).not.toHaveProperty('SES_SMTP_REQUEST_VERIFICATION');
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('requestVerification'));
  });

  test('AUDIT reaches the handler through its configuration, and synth warns what it gives up', () => {
    const stack = newStack();
    new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', USER), requestVerification: RequestVerification.AUDIT });

    expect(handlerEnvironment(stack)).toMatchObject({ SES_SMTP_REQUEST_VERIFICATION: 'AUDIT' });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('requestVerification is RequestVerification.AUDIT .*Anyone who may invoke the handler function can then make it act'));
  });

  test('two SesSmtpUsers of a stack that disagree fail synth, naming both', () => {
    const stack = newStack();
    new SesSmtpUser(stack, 'A', { user: iam.User.fromUserName(stack, 'UserA', 'a'), requestVerification: RequestVerification.AUDIT });

    expect(() => new SesSmtpUser(stack, 'B', { user: iam.User.fromUserName(stack, 'UserB', 'b'), requestVerification: RequestVerification.ENFORCE }))
      .toThrow(/\[MailApp\/B\] requestVerification ENFORCE conflicts with RequestVerification.AUDIT, which MailApp\/A chose/);
  });

  test('one SesSmtpUser that sets it decides for the stack; the others may leave it unset', () => {
    const stack = newStack();
    new SesSmtpUser(stack, 'A', { user: iam.User.fromUserName(stack, 'UserA', 'a') });
    new SesSmtpUser(stack, 'B', { user: iam.User.fromUserName(stack, 'UserB', 'b'), requestVerification: RequestVerification.AUDIT });

    expect(handlerEnvironment(stack)).toMatchObject({ SES_SMTP_REQUEST_VERIFICATION: 'AUDIT' });
  });
});

describe.each([
  ['ENFORCE', new World()],
  ['AUDIT', new World({ ...SAMPLE_SELF, verification: 'AUDIT' })],
] as const)('the handler under %s', (mode, world) => {
  let secretArn: string;
  const props = () => world.credentialsProperties(USER, secretArn);

  beforeAll(() => world.start());
  afterAll(() => world.stop());
  beforeEach(async () => {
    await world.reset();
    await world.createUser(USER);
    secretArn = await world.createEmptySecret('smtp/eu-west-1');
  });

  test('a Create CloudFormation\'s log does not show', async () => {
    const answer = await world.forge('Create', props(), { logicalResourceId: 'Credentials' });

    if (mode === 'ENFORCE') {
      expect(answer?.Status).toBe('FAILED');
      expect(answer?.Reason).toMatch(/^Refused: CloudFormation's log shows no operation on resource Credentials .* set requestVerification: RequestVerification.AUDIT on the SesSmtpUsers of this stack, deploy, and report the WARN lines/);
      expect(await world.keysOf(USER)).toEqual([]);
    } else {
      expect(answer?.Status).toBe('SUCCESS');
      expect(await world.keysOf(USER)).toEqual([answer!.Data!.AccessKeyId]);
      expect(world.logs.join('\n')).toMatch(/"level":"WARN".*requestVerification AUDIT: acting on a request the check of CloudFormation's records would refuse: CloudFormation's log shows no operation on resource Credentials/);
    }
  });

  test('a request that names another stack is refused either way: that is the function\'s own configuration, not CloudFormation\'s log', async () => {
    const answer = await world.forge('Create', props(), { logicalResourceId: 'Credentials', stackId: SAMPLE_SELF.stackId.replace('LegacyMailApp', 'OtherApp') });

    expect(answer?.Status).toBe('FAILED');
    expect(answer?.Reason).toMatch(/^Refused: the request names stack .*OtherApp/);
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('a rotation of a secret whose registered resource CloudFormation has deleted is refused either way, and makes no key', async () => {
    // A rotating user whose stack rolled back (or was deleted): the secret outlived its custom resource, and
    // the registration still names it. Whoever starts a rotation then (a deployment role, the root user),
    // no key may be made that no Delete will come for.
    const registration = { Resource: 'Credentials', UserName: USER, Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587' }] };
    const primary = await world.createEmptySecret('smtp/rotating', { [REGISTRATION_KEY]: registration });
    const created = await world.send('Create', { ...props(), Targets: [{ ...props().Targets[0], SecretArn: primary }] }, { logicalResourceId: 'Credentials' });
    expect(created.Status).toBe('SUCCESS');
    const stack = world.records.stack(world.self.stackId);
    stack.begin('Credentials', 'Custom::SesSmtpCredentials', 'DELETE', { physicalId: created.PhysicalResourceId });
    stack.finish('Credentials', 'Custom::SesSmtpCredentials', 'DELETE', true, created.PhysicalResourceId);
    const keys = await world.keysOf(USER);

    const token = await world.beginRotation(primary);
    const failure = await world.invoke({ Step: 'createSecret', SecretId: primary, ClientRequestToken: token }).then(() => undefined, (e: Error) => e);

    expect(failure?.message).toMatch(/^Refused: Credentials is not a resource of this stack; a rotation of a resource CloudFormation deleted never runs/);
    expect(await world.keysOf(USER)).toEqual(keys);
  });

  test('a ResponseURL that is not https is refused either way, and gets no request', async () => {
    const answer = await world.forge('Create', props(), { logicalResourceId: 'Credentials', responseUrl: 'http://127.0.0.1:9/x' });

    expect(answer).toBeUndefined();
    expect(await world.keysOf(USER)).toEqual([]);
  });
});
