/**
 * Secrets Manager's test of the rotation configuration. The construct's
 * RotationSchedule sets RotateImmediatelyOnUpdate: false, so when the schedule
 * is created or changed Secrets Manager runs the handler's testSecret alone,
 * on an AWSPENDING copy of the current value that it creates on the primary
 * secret and removes afterwards (support/rotation-configuration.ts plays it;
 * moto_fidelity.py stages the copy).
 *
 * First against the handler directly (World), then as a deployment plays it:
 * the CloudFormation emulator sets the schedule after the credentials and
 * runs the test through the template's own function, under its role, with
 * moto enforcing that role's policy.
 */
import { randomUUID } from 'node:crypto';
import { App, BootstraplessSynthesizer, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { HandlerCode } from '../lib/handler-code';
import { SesSmtpUser, SesSmtpUserProps } from '../lib/ses-smtp-user';
import { CloudFormationEmulator, DeployResult } from './support/cfn-emulator';
import { freshEmulator, startEnforcedMoto, stopEnforcedMoto } from './support/enforced-moto';
import { accessKeysOf, leftovers } from './support/key-audit';
import { Moto } from './support/moto';
import { Rotating, deployRotating, rotate } from './support/rotating';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
/** Whatever changes a secret or a key: a configuration test must send none of them. */
const WRITES = /^(Create|Delete|Put|Update|Tag|Untag|Rotate|Cancel)/;

/** Every version of a secret, labelled or not, as version id → labels. */
async function allVersions(secrets: SecretsManagerClient, secretArn: string): Promise<Record<string, string[]>> {
  const out = await secrets.send(new ListSecretVersionIdsCommand({ SecretId: secretArn, IncludeDeprecated: true }));
  return Object.fromEntries((out.Versions ?? []).map((v) => [v.VersionId!, v.VersionStages ?? []]));
}

async function valueOf(secrets: SecretsManagerClient, secretArn: string, which: { VersionId?: string; VersionStage?: string }): Promise<string> {
  return (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn, ...which }))).SecretString!;
}

describe('the configuration test against the handler', () => {
  const world = new World();
  let deployment: Rotating;

  beforeAll(() => world.start());
  afterAll(() => world.stop());
  beforeEach(async () => {
    await world.reset();
    await world.createUser(USER);
  });

  async function deployed(regions: string[], source?: Record<string, unknown>): Promise<Rotating> {
    deployment = await deployRotating(world, { name: 'smtp', userName: USER, regions, ...(source ? { source } : {}) });
    return deployment;
  }

  /** Everything the configuration test must leave as it was: keys, labels, current values, the user's tags. */
  async function observable() {
    const secrets = [];
    for (const arn of deployment.secrets) secrets.push({ labelled: await world.stages(arn), current: await world.currentValue(arn) });
    return { keys: await world.keysOf(USER), tags: await world.userTags(USER), secrets };
  }

  test('passes for one region, changes nothing, and leaves only a label-less copy of the current value', async () => {
    await deployed(['eu-west-1']);
    const before = await observable();
    world.calls.length = 0;

    const { token, failure } = await world.configureRotation(deployment.primary);

    expect(failure).toBeUndefined();
    expect(world.logs.join('\n')).toContain('"rotationStep":"testSecret"');
    expect(world.logs.join('\n')).toContain('"status":"SUCCESS","outcome":"configuration test"');
    expect(world.calls.filter((name) => WRITES.test(name))).toEqual([]);
    expect(await observable()).toEqual(before);
    // Secrets Manager's version stays, without labels (deprecated); it holds the current value, no new key.
    expect((await allVersions(world.secrets, deployment.primary))[token]).toEqual([]);
    expect(await valueOf(world.secrets, deployment.primary, { VersionId: token }))
      .toBe(await valueOf(world.secrets, deployment.primary, { VersionStage: 'AWSCURRENT' }));
  });

  test('passes for two regions, although only the primary has a pending value (the handler used to fail it: "no pending value")', async () => {
    await deployed(['eu-west-1', 'eu-central-1']);
    const before = await observable();
    world.calls.length = 0;

    const { failure } = await world.configureRotation(deployment.primary);

    expect(failure).toBeUndefined();
    expect(world.calls.filter((name) => WRITES.test(name))).toEqual([]);
    expect(await observable()).toEqual(before);
  });

  test('what it leaves misleads no later step: two rotations retire only the keys they made, and the stack delete removes every key', async () => {
    const { create, secrets } = await deployed(['eu-west-1', 'eu-central-1']);
    const issued = create.Data!.AccessKeyId;
    expect((await world.configureRotation(deployment.primary)).failure).toBeUndefined();

    expect(await rotate(world, deployment.primary)).toBeUndefined();
    const first = world.issued[world.issued.length - 1].accessKeyId;
    expect(await world.keysOf(USER)).toEqual([issued, first].sort());
    expect((await world.configureRotation(deployment.primary)).failure).toBeUndefined(); // a schedule change between rotations
    expect(await rotate(world, deployment.primary)).toBeUndefined();
    const second = world.issued[world.issued.length - 1].accessKeyId;

    expect(await world.keysOf(USER)).toEqual([first, second].sort());
    for (const arn of secrets) expect(await world.currentValue(arn)).toMatchObject({ username: second });
    const remove = await world.send('Delete', deployment.properties, { logicalResourceId: deployment.logicalId, physicalResourceId: create.PhysicalResourceId });
    expect(remove.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('passes beside another region\'s AWSPENDING left by a rotation that did not finish, and leaves it alone', async () => {
    const { secrets } = await deployed(['eu-west-1', 'eu-central-1']);
    const central = secrets[1];
    const stale = await world.secrets.send(new PutSecretValueCommand({
      SecretId: central, SecretString: JSON.stringify({ username: 'AKIAEXAMPLESTALE0001' }), VersionStages: ['AWSPENDING'],
    }));

    const { failure } = await world.configureRotation(deployment.primary);

    expect(failure).toBeUndefined();
    expect((await world.stages(central))[stale.VersionId!]).toEqual(['AWSPENDING']);
  });

  test('fails, naming the secret and the fix, when another region\'s current value is incomplete; the pending label still comes off', async () => {
    const { secrets } = await deployed(['eu-west-1', 'eu-central-1']);
    const central = secrets[1];
    const broken = JSON.stringify({ username: (await world.currentValue(central))!.username, region: 'eu-central-1' });
    await world.secrets.send(new PutSecretValueCommand({ SecretId: central, SecretString: broken }));

    const { token, failure } = await world.configureRotation(deployment.primary);

    expect(failure?.message).toBe(`testSecret (the configuration test): ${central} lacks password, host, port. `
      + 'A rotation would start from these credentials. Change the SesSmtpUser\'s serial, which writes fresh credentials into every region, and deploy again.');
    expect((await allVersions(world.secrets, deployment.primary))[token]).toEqual([]);
  });

  test('fails, naming the key and the fix, when the current key is no longer an active key of the user', async () => {
    const { create } = await deployed(['eu-west-1']);
    const key = create.Data!.AccessKeyId;
    await world.iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: key }));

    const { failure } = await world.configureRotation(deployment.primary);

    expect(failure?.message).toContain(`${deployment.primary} names key ${key}, which is not an active key of IAM user '${USER}'`);
    expect(failure?.message).toMatch(/Change the SesSmtpUser's serial, which writes fresh credentials into every region, and deploy again\.$/);
  });
});

describe('a real rotation\'s testSecret is not weakened', () => {
  const world = new World();

  beforeAll(() => world.start());
  afterAll(() => world.stop());
  beforeEach(async () => {
    await world.reset();
    await world.createUser(USER);
  });

  /** Starts a rotation and runs createSecret; returns the token. */
  async function created(primary: string): Promise<string> {
    const token = await world.beginRotation(primary);
    await world.invoke({ Step: 'createSecret', SecretId: primary, ClientRequestToken: token, RotationToken: randomUUID() });
    return token;
  }

  function testSecret(primary: string, token: string): Promise<void> {
    return world.invoke({ Step: 'testSecret', SecretId: primary, ClientRequestToken: token, RotationToken: randomUUID() });
  }

  test('a region whose pending value was taken away still fails it', async () => {
    const { primary, secrets } = await deployRotating(world, { name: 'smtp', userName: USER, regions: ['eu-west-1', 'eu-central-1'] });
    const token = await created(primary);
    const [pending] = Object.entries(await world.stages(secrets[1])).find(([, labels]) => labels.includes('AWSPENDING'))!;
    await world.secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secrets[1], VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }));

    await expect(testSecret(primary, token)).rejects.toThrow(`testSecret: ${secrets[1]} has no pending value for this rotation`);
  });

  test('a key source whose key did not change: the pending values are the current ones, and an incomplete one still fails it', async () => {
    const automation = (await world.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!;
    world.issued.pop(); // the IAM automation's key, not the handler's
    const source = await world.secrets.send(new CreateSecretCommand({
      Name: 'iam-automation/legacy-mail-relay',
      SecretString: JSON.stringify({ AccessKeyId: automation.AccessKeyId, SecretAccessKey: automation.SecretAccessKey }),
    }));
    const { primary, secrets } = await deployRotating(world, {
      name: 'smtp', userName: USER, regions: ['eu-west-1', 'eu-central-1'],
      source: { SecretArn: source.ARN, AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' },
    });
    const token = await created(primary);
    // The degenerate case: createSecret wrote the very value that is current.
    expect(await valueOf(world.secrets, primary, { VersionId: token })).toBe(await valueOf(world.secrets, primary, { VersionStage: 'AWSCURRENT' }));
    const key = (await world.currentValue(secrets[1]))!.username;
    await world.secrets.send(new PutSecretValueCommand({
      SecretId: secrets[1], SecretString: JSON.stringify({ username: key, region: 'eu-central-1' }), VersionStages: ['AWSPENDING'],
    }));

    await expect(testSecret(primary, token)).rejects.toThrow(`testSecret: ${secrets[1]} lacks password, host, port`);
  });
});

describe('a deployment with rotateEvery', () => {
  let moto: Moto;
  let adminIam: IAMClient;
  let adminSecrets: SecretsManagerClient;
  let emulator: CloudFormationEmulator;

  beforeAll(async () => {
    ({ moto, adminIam, adminSecrets } = await startEnforcedMoto());
  });
  afterAll(() => stopEnforcedMoto({ moto, adminIam, adminSecrets }));
  beforeEach(async () => {
    emulator = await freshEmulator(moto);
    await adminIam.send(new CreateUserCommand({ UserName: USER }));
  });
  afterEach(() => emulator.close());

  /** A MailApp stack with one rotating SesSmtpUser; handler code as a file asset (lib/handler runs) unless INLINE. */
  function synth(props: Partial<SesSmtpUserProps>, handlerCode = HandlerCode.ASSET): object {
    const app = new App();
    const stack = new Stack(app, 'MailApp', {
      env: { account: '123456789012', region: 'eu-west-1' },
      ...(handlerCode === HandlerCode.INLINE ? { synthesizer: new BootstraplessSynthesizer() } : {}),
    });
    new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', USER), rotateEvery: Duration.days(30), ...props });
    return Template.fromStack(stack).toJSON();
  }

  function expectStatus(result: DeployResult, status: DeployResult['status']): void {
    expect({ status: result.status, failures: result.events.filter((e) => e.status === 'FAILED') }).toEqual({ status, failures: [] });
  }

  /** The rotation schedule's secret (the primary), and every secret of the stack. */
  function secretsOfStack(): { primary: string; all: string[] } {
    const primary = emulator.resources('AWS::SecretsManager::RotationSchedule')[0].physicalId;
    return { primary, all: emulator.resources('AWS::SecretsManager::Secret').map((r) => r.physicalId) };
  }

  /** What the configuration test must not leave: an AWSPENDING label anywhere, or a key besides the one Create issued. */
  async function expectNothingLeftOfTheTest(): Promise<void> {
    const { primary, all } = secretsOfStack();
    const keys = await accessKeysOf(adminIam, USER);
    expect(keys).toHaveLength(1);
    for (const arn of all) {
      const labelled = Object.entries(await allVersions(adminSecrets, arn)).filter(([, labels]) => labels.length > 0);
      expect(labelled.flatMap(([, labels]) => labels).filter((l) => l === 'AWSPENDING')).toEqual([]);
      expect(JSON.parse(await valueOf(adminSecrets, arn, { VersionStage: 'AWSCURRENT' }))).toMatchObject({ username: keys[0] });
    }
    // The test's own version on the primary: no labels, and the current value, not a key of its own.
    const unlabelled = Object.entries(await allVersions(adminSecrets, primary)).filter(([, labels]) => labels.length === 0);
    expect(unlabelled).toHaveLength(1);
    expect(await valueOf(adminSecrets, primary, { VersionId: unlabelled[0][0] })).toBe(await valueOf(adminSecrets, primary, { VersionStage: 'AWSCURRENT' }));
  }

  function configurationTests(): string[] {
    return emulator.handlerLogs.filter((line) => line.includes('"rotationStep":"testSecret"'));
  }

  test('in one region: the schedule\'s creation runs testSecret once, which passes and leaves nothing; the stack delete leaves nothing either', async () => {
    expectStatus(await emulator.deploy(synth({})), 'CREATE_COMPLETE');

    expect(configurationTests()).toEqual([expect.stringContaining('"status":"SUCCESS","outcome":"configuration test"')]);
    await expectNothingLeftOfTheTest();
    const { password } = JSON.parse(await valueOf(adminSecrets, secretsOfStack().primary, { VersionStage: 'AWSCURRENT' })) as { password: string };
    expect(emulator.handlerLogs.join('\n')).not.toContain(password);
    expectStatus(await emulator.destroy(), 'DELETE_COMPLETE');
    expect(await leftovers(adminIam, adminSecrets, [USER])).toEqual({ keys: [], userPolicies: [], ownerTags: [], secretNames: [], roles: [] });
  });

  test('with additionalRegions, shipped inline: the test passes on the primary\'s pending value alone (the stack used to roll back)', async () => {
    const result = await emulator.deploy(synth({ additionalRegions: ['eu-central-1', 'us-east-1'] }, HandlerCode.INLINE));

    expectStatus(result, 'CREATE_COMPLETE');
    expect(new Set(emulator.handlerCodeRuns)).toEqual(new Set(['inline']));
    expect(configurationTests()).toEqual([expect.stringContaining('"status":"SUCCESS","outcome":"configuration test"')]);
    await expectNothingLeftOfTheTest();
  });

  test('changing rotateEvery tests the configuration again and changes no key', async () => {
    expectStatus(await emulator.deploy(synth({ additionalRegions: ['eu-central-1'] })), 'CREATE_COMPLETE');
    const keys = await accessKeysOf(adminIam, USER);

    expectStatus(await emulator.deploy(synth({ additionalRegions: ['eu-central-1'], rotateEvery: Duration.days(7) })), 'UPDATE_COMPLETE');

    expect(configurationTests()).toHaveLength(2);
    expect(configurationTests()[1]).toContain('"status":"SUCCESS","outcome":"configuration test"');
    expect(await accessKeysOf(adminIam, USER)).toEqual(keys);
  });
});
