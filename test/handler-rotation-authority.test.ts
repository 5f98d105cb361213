/**
 * Who a rotation takes orders from. Three SesSmtpUsers of one stack share the
 * handler: alice and bob issue keys, carol reads her key from the IAM
 * automation. An attacker holds secretsmanager:TagResource (and in one case
 * PutSecretValue) on alice's secret only, and waits for alice's next rotation.
 * The real handler against moto; the test plays Secrets Manager.
 */
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { Rotating, deployRotating, tagSecret, REGISTRATION_TAG } from './support/rotating';
import { World } from './support/world';

const world = new World();
let alice: Rotating;
let bob: Rotating;
let carol: Rotating;
let carolKey: { AccessKeyId: string; SecretAccessKey: string };

/** Runs the four steps until one fails; returns that failure (or undefined). */
async function rotate(secretId: string, token = randomUUID()): Promise<Error | undefined> {
  for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    try {
      await world.invoke({ Step: step, SecretId: secretId, ClientRequestToken: token });
    } catch (e) {
      return e as Error;
    }
  }
  return undefined;
}

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
  test('TagResource alone cannot make alice\'s secret hold carol\'s key source credentials', async () => {
    const [aliceBefore, carolBefore] = [await snapshot(alice), await snapshot(carol)];
    await tagSecret(world, alice.primary, {
      'SesSmtpCredentials:Source': String((carol.properties.Source as { SecretArn: string }).SecretArn),
      'SesSmtpCredentials:SourceIdField': 'AccessKeyId',
      'SesSmtpCredentials:SourceKeyField': 'SecretAccessKey',
      [REGISTRATION_TAG]: carol.parameterName,
    });

    const failure = await rotate(alice.primary);

    expect(JSON.stringify(await world.currentValue(alice.primary))).not.toContain(carolKey.AccessKeyId);
    expect(failure?.message).toContain(`secret ${alice.primary} is not registered for rotation by this stack's deployment`);
    expect(await snapshot(alice)).toEqual(aliceBefore);
    expect(await snapshot(carol)).toEqual(carolBefore);
  });

  test('TagResource alone cannot make alice\'s rotation write bob\'s secret', async () => {
    const [aliceBefore, bobBefore] = [await snapshot(alice), await snapshot(bob)];
    await tagSecret(world, alice.primary, { 'SesSmtpCredentials:Secret:eu-central-1': bob.primary, [REGISTRATION_TAG]: bob.parameterName });

    const failure = await rotate(alice.primary);

    expect(await snapshot(bob)).toEqual(bobBefore);
    expect(failure?.message).toContain(`secret ${alice.primary} is not registered for rotation by this stack's deployment`);
    expect(failure?.message).toContain(bob.primary);
    expect(await snapshot(alice)).toEqual(aliceBefore);
  });

  test('TagResource and PutSecretValue cannot make alice\'s rotation delete bob\'s key or issue one for bob', async () => {
    const bobBefore = await snapshot(bob);
    const [bobKey] = bobBefore.keys;
    await tagSecret(world, alice.primary, { 'SesSmtpCredentials:UserName': 'bob' });
    await world.secrets.send(new PutSecretValueCommand({
      SecretId: alice.primary, ClientRequestToken: randomUUID(), SecretString: JSON.stringify({ username: bobKey }), VersionStages: ['AWSPENDING'],
    }));

    const failure = await rotate(alice.primary);

    // The registration names alice: the rotation is alice's, and bob is untouched.
    expect(failure).toBeUndefined();
    expect(await snapshot(bob)).toEqual(bobBefore);
    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect(await world.keysOf('alice')).toContain(newKey);
    expect(await world.currentValue(alice.primary)).toMatchObject({ username: newKey });
    expect(await world.currentValue(alice.secrets[1])).toMatchObject({ username: newKey });
  });

  test('the same attack with the hint pointed at bob\'s registration is refused and changes nothing', async () => {
    const [aliceBefore, bobBefore] = [await snapshot(alice), await snapshot(bob)];
    await tagSecret(world, alice.primary, { 'SesSmtpCredentials:UserName': 'bob', [REGISTRATION_TAG]: bob.parameterName });
    await world.secrets.send(new PutSecretValueCommand({
      SecretId: alice.primary, ClientRequestToken: randomUUID(), SecretString: JSON.stringify({ username: bobBefore.keys[0] }), VersionStages: ['AWSPENDING'],
    }));
    const aliceForged = await snapshot(alice);

    const failure = await rotate(alice.primary);

    expect(failure?.message).toContain('is not registered for rotation by this stack\'s deployment');
    expect(await snapshot(bob)).toEqual(bobBefore);
    expect(await snapshot(alice)).toEqual(aliceForged);
    expect(aliceForged.keys).toEqual(aliceBefore.keys);
  });

  test('a secret without the registration hint is refused', async () => {
    const stranger = (await world.secrets.send(new CreateSecretCommand({ Name: 'not-ours', SecretString: '{}' }))).ARN!;
    world.calls.length = 0;

    const failure = await rotate(stranger);

    expect(failure?.message).toContain(`secret ${stranger} is not registered for rotation by this stack's deployment`);
    expect(world.calls).not.toContain('CreateAccessKey');
  });

  test('a hint naming a parameter that does not exist is refused', async () => {
    await tagSecret(world, alice.primary, { [REGISTRATION_TAG]: '/ses-smtp-credentials/5eed5eed5eed5eed/ffffffffffffffff' });
    world.calls.length = 0;

    const failure = await rotate(alice.primary);

    expect(failure?.message).toContain('is not registered for rotation by this stack\'s deployment');
    expect(world.calls).not.toContain('CreateAccessKey');
  });
});
