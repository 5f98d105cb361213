/**
 * "No access key is ever orphaned", on every CloudFormation path: real
 * synthesized stacks deployed in CloudFormation's order by the emulator, the
 * real handler running under the handler role the template defines, moto
 * enforcing that role's IAM policy.
 *
 * After every step: each access key of each user is held by a live custom
 * resource; after destroy nothing of the stack is left.
 */
import { App, BootstraplessSynthesizer, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Construct } from 'constructs';
import { AccessKeySource } from '../lib/access-key-source';
import { HandlerCode } from '../lib/handler-code';
import { SesSmtpUser, SesSmtpUserProps } from '../lib/ses-smtp-user';
import { CloudFormationEmulator, DeployResult, StackEvent } from './support/cfn-emulator';
import { accessKeysOf, leftovers, orphanedKeys } from './support/key-audit';
import { freshEmulator, startEnforcedMoto, stopEnforcedMoto } from './support/enforced-moto';
import { Moto } from './support/moto';

const ENV = { account: '123456789012', region: 'eu-west-1' };

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
});
afterEach(() => emulator.close());

// ---- arranging ----

/**
 * How the stacks of a scenario ship the handler: as a file asset (`cdk
 * deploy`; the emulator runs lib/handler), or inline with a bootstrapless
 * synthesizer (StackSets; the emulator runs the template's Code.ZipFile).
 */
let handlerCode = HandlerCode.ASSET;

/** A MailApp stack as the app would synthesize it. */
function synth(build: (stack: Stack) => void): object {
  const app = new App();
  const stack = new Stack(app, 'MailApp', {
    env: ENV,
    ...(handlerCode === HandlerCode.INLINE ? { synthesizer: new BootstraplessSynthesizer() } : {}),
  });
  build(stack);
  return Template.fromStack(stack).toJSON();
}

function smtpUser(scope: Construct, id: string, userName: string, props: Partial<SesSmtpUserProps> = {}): SesSmtpUser {
  return new SesSmtpUser(scope, id, { user: iam.User.fromUserName(scope, `${id}User`, userName), ...props });
}

/** A resource CloudFormation handles after the credentials (it depends on them), so it can be made to fail. */
function afterCredentials(scope: Construct, smtp: SesSmtpUser): string {
  const marker = new logs.CfnLogGroup(scope, 'AfterCredentials', {});
  marker.node.addDependency(smtp);
  return Stack.of(scope).getLogicalId(marker);
}

async function createUsers(...names: string[]): Promise<void> {
  for (const name of names) await adminIam.send(new CreateUserCommand({ UserName: name }));
}

async function foreignKey(userName: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const out = await adminIam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: out.AccessKey!.AccessKeyId!, secretAccessKey: out.AccessKey!.SecretAccessKey! };
}

// ---- asserting ----

/** The failed events, for readable failure messages. */
function failures(result: DeployResult): StackEvent[] {
  return result.events.filter((e) => e.status === 'FAILED');
}

function expectStatus(result: DeployResult, status: DeployResult['status']): void {
  expect({ status: result.status, failures: failures(result) }).toEqual({ status, failures: expect.anything() });
}

async function expectNoOrphans(users: string[], foreign: string[] = []): Promise<void> {
  expect(await orphanedKeys(adminIam, adminSecrets, emulator.resources(), users, foreign)).toEqual([]);
}

async function expectNothingLeft(users: string[], foreign: { keys?: string[]; secretNames?: string[] } = {}): Promise<void> {
  expect(await leftovers(adminIam, adminSecrets, users, foreign)).toEqual({ keys: [], userPolicies: [], ownerTags: [], secretNames: [], roles: [] });
}

async function destroyAndCheck(users: string[], foreign: { keys?: string[]; secretNames?: string[] } = {}): Promise<void> {
  const result = await emulator.destroy();
  expectStatus(result, 'DELETE_COMPLETE');
  await expectNothingLeft(users, foreign);
}

/** Password and key id values the stack's secrets hold now (to prove none of them was logged). */
async function secretValues(): Promise<string[]> {
  const values: string[] = [];
  for (const secret of emulator.resources('AWS::SecretsManager::Secret')) {
    const out = await adminSecrets.send(new GetSecretValueCommand({ SecretId: secret.physicalId, VersionStage: 'AWSCURRENT' }));
    values.push((JSON.parse(out.SecretString!) as { password: string }).password);
  }
  return values;
}

function expectNotLeaked(values: string[]): void {
  const seen = [...emulator.handlerLogs, ...emulator.handlerResponses, JSON.stringify(emulator.events)].join('\n');
  for (const value of values) expect(seen).not.toContain(value);
}

// ---- the checker itself ----

describe('the orphan check', () => {
  test('reports a key of a managed user that no custom resource holds', async () => {
    await createUsers('alice');
    expectStatus(await emulator.deploy(synth((stack) => smtpUser(stack, 'Smtp', 'alice'))), 'CREATE_COMPLETE');
    await expectNoOrphans(['alice']);

    const planted = await foreignKey('alice');

    expect(await orphanedKeys(adminIam, adminSecrets, emulator.resources(), ['alice'])).toEqual([{ userName: 'alice', accessKeyId: planted.accessKeyId }]);
    expect(await orphanedKeys(adminIam, adminSecrets, emulator.resources(), ['alice'], [planted.accessKeyId])).toEqual([]);
  });
});

// ---- scenarios ----

describe.each([HandlerCode.ASSET, HandlerCode.INLINE])('SesSmtpUser under CloudFormation, handler code %s', (code) => {
  beforeEach(() => { handlerCode = code; });
  afterEach(() => {
    // Every request of the scenario ran the code this variant ships.
    expect(emulator.handlerCodeRuns.length).toBeGreaterThan(0);
    expect(new Set(emulator.handlerCodeRuns)).toEqual(new Set([code === HandlerCode.INLINE ? 'inline' : 'lib/handler']));
    // and its log lines were captured, so expectNotLeaked looked at them.
    expect(emulator.handlerLogs.length).toBeGreaterThan(0);
  });

  test('changing serial re-issues the key and the cleanup deletes the old one', async () => {
    await createUsers('alice');
    const v1 = synth((stack) => smtpUser(stack, 'Smtp', 'alice', { serial: '1' }));
    const v2 = synth((stack) => smtpUser(stack, 'Smtp', 'alice', { serial: '2' }));

    expectStatus(await emulator.deploy(v1), 'CREATE_COMPLETE');
    const [first] = await accessKeysOf(adminIam, 'alice');
    await expectNoOrphans(['alice']);

    const update = await emulator.deploy(v2);
    expectStatus(update, 'UPDATE_COMPLETE');
    const keys = await accessKeysOf(adminIam, 'alice');
    expect(keys).toHaveLength(1);
    expect(keys).not.toContain(first);
    expect(update.events).toContainEqual(expect.objectContaining({ action: 'DELETE', phase: 'cleanup', status: 'COMPLETE', physicalId: expect.stringContaining(`key/alice/${first}/`) }));
    await expectNoOrphans(['alice']);
    expectNotLeaked(await secretValues());

    await destroyAndCheck(['alice']);
  });

  test('changing the user issues a key for the new user and deletes the old user\'s key', async () => {
    await createUsers('alice', 'bob');
    const v1 = synth((stack) => smtpUser(stack, 'Smtp', 'alice'));
    const v2 = synth((stack) => smtpUser(stack, 'Smtp', 'bob'));

    expectStatus(await emulator.deploy(v1), 'CREATE_COMPLETE');
    await expectNoOrphans(['alice', 'bob']);

    const update = await emulator.deploy(v2);
    expectStatus(update, 'UPDATE_COMPLETE');
    expect(failures(update)).toEqual([]);
    await expectNoOrphans(['alice', 'bob']);
    expect(await accessKeysOf(adminIam, 'alice')).toEqual([]);
    expect(await accessKeysOf(adminIam, 'bob')).toHaveLength(1);

    await destroyAndCheck(['alice', 'bob']);
  });

  test('removing one of two SesSmtpUsers deletes its key and keeps the other', async () => {
    await createUsers('alice', 'bob');
    const v1 = synth((stack) => { smtpUser(stack, 'Alice', 'alice'); smtpUser(stack, 'Bob', 'bob'); });
    const v2 = synth((stack) => { smtpUser(stack, 'Alice', 'alice'); });

    expectStatus(await emulator.deploy(v1), 'CREATE_COMPLETE');
    const aliceKeys = await accessKeysOf(adminIam, 'alice');
    await expectNoOrphans(['alice', 'bob']);

    const update = await emulator.deploy(v2);
    expectStatus(update, 'UPDATE_COMPLETE');
    expect(failures(update)).toEqual([]);
    await expectNoOrphans(['alice', 'bob']);
    expect(await accessKeysOf(adminIam, 'bob')).toEqual([]);
    expect(await accessKeysOf(adminIam, 'alice')).toEqual(aliceKeys);

    await destroyAndCheck(['alice', 'bob']);
  });

  test('an update that changes the user, then fails on a later resource, rolls back to the old user\'s key', async () => {
    await createUsers('alice', 'bob');
    const v1 = synth((stack) => smtpUser(stack, 'Smtp', 'alice'));
    let marker = '';
    const v2 = synth((stack) => { marker = afterCredentials(stack, smtpUser(stack, 'Smtp', 'bob')); });

    expectStatus(await emulator.deploy(v1), 'CREATE_COMPLETE');
    const aliceKeys = await accessKeysOf(adminIam, 'alice');

    const update = await emulator.deploy(v2, { failOn: [marker] });
    expectStatus(update, 'UPDATE_ROLLBACK_COMPLETE');
    // The credentials were updated to bob before the failure, so the rollback had work to do.
    expect(update.events).toContainEqual(expect.objectContaining({ phase: 'update', action: 'UPDATE', status: 'COMPLETE', physicalId: expect.stringMatching(/^key\/bob\//) }));
    expect(failures(update)).toEqual([expect.objectContaining({ logicalId: marker, phase: 'update' })]);
    await expectNoOrphans(['alice', 'bob']);
    expect(await accessKeysOf(adminIam, 'alice')).toEqual(aliceKeys);
    expect(await accessKeysOf(adminIam, 'bob')).toEqual([]);

    await destroyAndCheck(['alice', 'bob']);
  });

  test('an update that adds a user, then fails on a later resource, deletes the added user\'s key', async () => {
    await createUsers('alice', 'bob');
    const v1 = synth((stack) => { smtpUser(stack, 'Alice', 'alice'); });
    let marker = '';
    const v2 = synth((stack) => { smtpUser(stack, 'Alice', 'alice'); marker = afterCredentials(stack, smtpUser(stack, 'Bob', 'bob')); });

    expectStatus(await emulator.deploy(v1), 'CREATE_COMPLETE');

    const update = await emulator.deploy(v2, { failOn: [marker] });
    expectStatus(update, 'UPDATE_ROLLBACK_COMPLETE');
    expect(update.events).toContainEqual(expect.objectContaining({ phase: 'update', action: 'CREATE', status: 'COMPLETE', physicalId: expect.stringMatching(/^key\/bob\//) }));
    expect(failures(update)).toEqual([expect.objectContaining({ logicalId: marker, phase: 'update' })]);
    await expectNoOrphans(['alice', 'bob']);
    expect(await accessKeysOf(adminIam, 'bob')).toEqual([]);

    await destroyAndCheck(['alice', 'bob']);
  });

  test('a user already at the 2-key quota fails the create cleanly: rolled back, nothing left, foreign keys untouched', async () => {
    await createUsers('alice');
    const foreign = [(await foreignKey('alice')).accessKeyId, (await foreignKey('alice')).accessKeyId].sort();

    const create = await emulator.deploy(synth((stack) => smtpUser(stack, 'Smtp', 'alice')));

    expectStatus(create, 'ROLLBACK_COMPLETE');
    expect(failures(create)).toEqual([expect.objectContaining({
      action: 'CREATE', phase: 'create', reason: expect.stringContaining("IAM user 'alice' already has 2 access keys"),
    })]);
    expect(create.events.filter((e) => e.phase === 'rollback' && e.status === 'COMPLETE').length).toBeGreaterThan(0);
    expect(await accessKeysOf(adminIam, 'alice')).toEqual(foreign);
    await expectNothingLeft(['alice'], { keys: foreign });
  });

  test('switching to a key source and back never leaves a key of our own behind', async () => {
    await createUsers('alice');
    const source = await foreignKey('alice');
    const sourceName = 'iam-automation/alice';
    const sourceArn = (await adminSecrets.send(new CreateSecretCommand({
      Name: sourceName, SecretString: JSON.stringify({ AccessKeyId: source.accessKeyId, SecretAccessKey: source.secretAccessKey }),
    }))).ARN!;
    const own = synth((stack) => smtpUser(stack, 'Smtp', 'alice'));
    const fromSource = synth((stack) => smtpUser(stack, 'Smtp', 'alice', {
      keySource: AccessKeySource.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source', sourceArn)),
      followKeySource: false,
    }));
    const foreign = { keys: [source.accessKeyId], secretNames: [sourceName] };

    expectStatus(await emulator.deploy(own), 'CREATE_COMPLETE');
    await expectNoOrphans(['alice'], foreign.keys);

    const toSource = await emulator.deploy(fromSource);
    expectStatus(toSource, 'UPDATE_COMPLETE');
    expect(failures(toSource)).toEqual([]);
    await expectNoOrphans(['alice'], foreign.keys);
    expect(await accessKeysOf(adminIam, 'alice')).toEqual([source.accessKeyId]);

    const back = await emulator.deploy(own);
    expectStatus(back, 'UPDATE_COMPLETE');
    expect(failures(back)).toEqual([]);
    await expectNoOrphans(['alice'], foreign.keys);
    expect(await accessKeysOf(adminIam, 'alice')).toHaveLength(2);

    await destroyAndCheck(['alice'], foreign);
    expect(await accessKeysOf(adminIam, 'alice')).toEqual([source.accessKeyId]);
  });

  test('a SesSmtpUser with rotateEvery: changing its user and then removing it leave no key and no tag', async () => {
    await createUsers('alice', 'bob');
    const rotating = (user: string) => synth((stack) => smtpUser(stack, 'Smtp', user, { rotateEvery: Duration.days(30) }));

    expectStatus(await emulator.deploy(rotating('alice')), 'CREATE_COMPLETE');
    expectStatus(await emulator.deploy(rotating('bob')), 'UPDATE_COMPLETE');
    await expectNoOrphans(['alice', 'bob']);
    expect(await accessKeysOf(adminIam, 'alice')).toEqual([]);

    await destroyAndCheck(['alice', 'bob']);
  });

  test('deleting a stack with 70 SesSmtpUsers deletes every key', async () => {
    const users = Array.from({ length: 70 }, (_, i) => `relay-${String(i).padStart(2, '0')}`);
    await createUsers(...users);
    const template = synth((stack) => users.forEach((name, i) => smtpUser(stack, `Smtp${i}`, name)));

    expectStatus(await emulator.deploy(template), 'CREATE_COMPLETE');
    await expectNoOrphans(users);
    for (const name of users) expect(await accessKeysOf(adminIam, name)).toHaveLength(1);

    await destroyAndCheck(users);
  }, 300_000);

  test('in a stack large enough for aws-cdk-lib\'s OverflowPolicies, removing users and deleting the stack leave no key', async () => {
    // Long user names push the CreateAccessKey statements past IAM's inline
    // limit, so some of them move into managed OverflowPolicies.
    const users = Array.from({ length: 110 }, (_, i) => `legacy-application-mail-relay-of-a-long-named-team-${String(i).padStart(3, '0')}`);
    await createUsers(...users);
    const build = (count: number) => synth((stack) => users.slice(0, count).forEach((name, i) => smtpUser(stack, `Smtp${i}`, name)));
    const v1 = build(110);
    expect(Object.values((v1 as { Resources: Record<string, { Type: string }> }).Resources)
      .filter((r) => r.Type === 'AWS::IAM::ManagedPolicy').length).toBeGreaterThan(0);

    expectStatus(await emulator.deploy(v1), 'CREATE_COMPLETE');
    await expectNoOrphans(users);
    const update = await emulator.deploy(build(80));
    expectStatus(update, 'UPDATE_COMPLETE');
    expect(failures(update)).toEqual([]);
    await expectNoOrphans(users);
    for (const name of users.slice(80)) expect(await accessKeysOf(adminIam, name)).toEqual([]);

    await destroyAndCheck(users);
  }, 300_000);
});
