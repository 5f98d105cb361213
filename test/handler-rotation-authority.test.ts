/**
 * Who a rotation takes orders from. Three SesSmtpUsers of one stack share the
 * handler: alice and bob issue keys, carol reads her key from the IAM
 * automation. An attacker holds secretsmanager:TagResource (and in one case
 * PutSecretValue) on alice's secret only, and waits for alice's next rotation,
 * or makes secrets of their own that look like ours. What a rotation may touch
 * is the primary secret's template Metadata, which only a stack update writes.
 * The real handler against moto; the test plays Secrets Manager.
 */
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { REGISTRATION_KEY, Rotating, deployRotating, rotate, tagSecret } from './support/rotating';
import { World, stackTags } from './support/world';

const world = new World();
let alice: Rotating;
let bob: Rotating;
let carol: Rotating;
let carolKey: { AccessKeyId: string; SecretAccessKey: string };


/** Everything of a construct an attack must not change: its secrets' versions and values, its user's keys. */
async function snapshot(of: Rotating) {
  const secrets = [];
  for (const arn of of.secrets) secrets.push({ stages: await world.stages(arn), current: await world.currentValue(arn) });
  return { secrets, keys: await world.keysOf(of.userName) };
}

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  for (const user of ['alice', 'bob', 'carol']) await world.iam.send(new CreateUserCommand({ UserName: user }));
  const out = await world.iam.send(new CreateAccessKeyCommand({ UserName: 'carol' }));
  world.issued.pop(); // the automation's key, not the handler's
  carolKey = { AccessKeyId: out.AccessKey!.AccessKeyId!, SecretAccessKey: out.AccessKey!.SecretAccessKey! };
  const source = (await world.secrets.send(new CreateSecretCommand({ Name: 'iam-automation/carol', SecretString: JSON.stringify(carolKey) }))).ARN!;
  alice = await deployRotating(world, { name: 'smtp/alice', userName: 'alice', regions: ['eu-west-1', 'eu-central-1'] });
  bob = await deployRotating(world, { name: 'smtp/bob', userName: 'bob' });
  carol = await deployRotating(world, {
    name: 'smtp/carol', userName: 'carol', source: { SecretArn: source, AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' },
  });
});

describe('a rotation takes its orders from the deployment, not from tags', () => {
  test('tags naming carol\'s key source on alice\'s secret change nothing: alice\'s rotation stays alice\'s', async () => {
    const carolBefore = await snapshot(carol);
    await tagSecret(world, alice.primary, {
      'SesSmtpCredentials:Source': String((carol.properties.Source as { SecretArn: string }).SecretArn),
      'SesSmtpCredentials:SourceIdField': 'AccessKeyId',
      'SesSmtpCredentials:UserName': 'carol',
      [REGISTRATION_KEY]: carol.primary,
    });

    const failure = await rotate(world, alice.primary);

    expect(failure).toBeUndefined();
    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect(await world.keysOf('alice')).toContain(newKey);
    expect(await world.currentValue(alice.primary)).toMatchObject({ username: newKey });
    expect(JSON.stringify(await world.currentValue(alice.primary))).not.toContain(carolKey.AccessKeyId);
    expect(await snapshot(carol)).toEqual(carolBefore);
  });

  test('tags naming bob\'s secret cannot make alice\'s rotation write it', async () => {
    const bobBefore = await snapshot(bob);
    await tagSecret(world, alice.primary, { 'SesSmtpCredentials:Secret:eu-central-1': bob.primary, [REGISTRATION_KEY]: bob.primary });

    const failure = await rotate(world, alice.primary);

    expect(failure).toBeUndefined();
    expect(await snapshot(bob)).toEqual(bobBefore);
    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect(await world.currentValue(alice.secrets[1])).toMatchObject({ username: newKey });
  });

  test('TagResource and PutSecretValue cannot make alice\'s rotation delete bob\'s key or issue one for bob', async () => {
    const bobBefore = await snapshot(bob);
    const [bobKey] = bobBefore.keys;
    await tagSecret(world, alice.primary, { 'SesSmtpCredentials:UserName': 'bob' });
    await world.secrets.send(new PutSecretValueCommand({
      SecretId: alice.primary, ClientRequestToken: randomUUID(), SecretString: JSON.stringify({ username: bobKey }), VersionStages: ['AWSPENDING'],
    }));

    const failure = await rotate(world, alice.primary);

    // The registration names alice: the rotation is alice's, and bob is untouched.
    expect(failure).toBeUndefined();
    expect(await snapshot(bob)).toEqual(bobBefore);
    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect(await world.keysOf('alice')).toContain(newKey);
    expect(await world.currentValue(alice.primary)).toMatchObject({ username: newKey });
    expect(await world.currentValue(alice.secrets[1])).toMatchObject({ username: newKey });
  });
});

describe('a rotation acts only for a secret this stack\'s CloudFormation created', () => {
  test('a secret made outside the stack, tagged and registered like ours, is refused and changes nothing', async () => {
    const registration = { [REGISTRATION_KEY]: { UserName: 'bob', Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587' }] } };
    const lookalike = (await world.secrets.send(new CreateSecretCommand({
      Name: 'lookalike', SecretString: '{}',
      Tags: [{ Key: 'SesSmtpCredentials:eu-west-1/LegacyMailApp', Value: world.self.stackId }, { Key: REGISTRATION_KEY, Value: JSON.stringify(registration) }],
    }))).ARN!;
    const bobBefore = await snapshot(bob);
    world.calls.length = 0;

    const failure = await rotate(world, lookalike);

    expect(failure?.message).toBe(`Refused: secret ${lookalike} was not created by this function's stack ${world.self.stackId} (its aws:cloudformation:stack-id tag: none). Nothing was changed.`);
    expect(world.calls).not.toContain('CreateAccessKey');
    expect(world.calls).not.toContain('PutSecretValue');
    expect(await snapshot(bob)).toEqual(bobBefore);
  });

  test('a secret another stack created is refused', async () => {
    const otherStack = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/OtherApp/guid';
    const foreign = (await world.secrets.send(new CreateSecretCommand({ Name: 'other-stack', SecretString: '{}', Tags: stackTags('SmtpSecret', otherStack) }))).ARN!;
    world.calls.length = 0;

    const failure = await rotate(world, foreign);

    expect(failure?.message).toContain(`was not created by this function's stack ${world.self.stackId} (its aws:cloudformation:stack-id tag: ${otherStack})`);
    expect(world.calls).not.toContain('CreateAccessKey');
  });

  test('a secret whose rotation uses another function is refused', async () => {
    const before = await snapshot(alice);
    await world.secrets.send(new RotateSecretCommand({
      SecretId: alice.primary, ClientRequestToken: randomUUID(), RotationLambdaARN: 'arn:aws:lambda:eu-west-1:123456789012:function:someone-elses',
    }));
    const token = (await world.secrets.send(new DescribeSecretCommand({ SecretId: alice.primary }))).VersionIdsToStages!;
    const pending = Object.entries(token).find(([, stages]) => stages.includes('AWSPENDING'))![0];

    await expect(world.invoke({ Step: 'createSecret', SecretId: alice.primary, ClientRequestToken: pending })).rejects.toThrow(
      'does not rotate secret');

    expect((await snapshot(alice)).keys).toEqual(before.keys);
  });
});
