/**
 * Custom::SesSmtpCredentials lifecycle against moto, through the real AWS SDK
 * and the real CloudFormation plumbing (responses PUT to 127.0.0.1).
 */
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, DeleteUserCommand } from '@aws-sdk/client-iam';
import { DeleteSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { deriveSmtpPassword } from '../lib/handler/smtp-password';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
const world = new World();
let secretArn: string;

function props(overrides: Record<string, unknown> = {}, arn = secretArn) {
  return {
    UserName: USER,
    Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: arn }],
    ...overrides,
  };
}

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(USER);
  secretArn = await world.createEmptySecret('smtp/eu-west-1');
});

describe('Create', () => {
  test('creates exactly one access key and writes username, password, host, port and region', async () => {
    const response = await world.send('Create', props());

    expect(response.Status).toBe('SUCCESS');
    const keys = await world.keysOf(USER);
    expect(keys).toHaveLength(1);
    const [accessKeyId] = keys;
    expect(accessKeyId).toMatch(/^AKIA/);
    expect(await world.currentValue(secretArn)).toEqual({
      username: accessKeyId,
      password: deriveSmtpPassword(world.secretOf(accessKeyId).secretAccessKey, 'eu-west-1'),
      host: 'email-smtp.eu-west-1.amazonaws.com',
      port: 587,
      region: 'eu-west-1',
      issuedBy: 'ses-smtp-credentials',
      iamUserName: USER,
    });
    expect(response.PhysicalResourceId).toMatch(new RegExp(`^key/${USER}/${accessKeyId}/[0-9a-f]{16}$`));
    expect(response.Data).toEqual({ AccessKeyId: accessKeyId });
  });

  test('takes four AWS calls besides reading CloudFormation\'s log: look at the secret, claim it, create the key, write the value', async () => {
    await world.send('Create', props());

    expect(world.calls).toEqual(['DescribeStackEvents', 'DescribeSecret', 'PutSecretValue', 'CreateAccessKey', 'PutSecretValue']);
  });

  test('serves two SMTP regions from one key with a password for each region', async () => {
    const second = await world.createEmptySecret('smtp/eu-central-1');
    const targets = [
      ...props().Targets,
      { Region: 'eu-central-1', Host: 'email-smtp.eu-central-1.amazonaws.com', Port: '587', SecretArn: second },
    ];

    const response = await world.send('Create', props({ Targets: targets }));

    expect(response.Status).toBe('SUCCESS');
    const [accessKeyId] = await world.keysOf(USER);
    expect(await world.keysOf(USER)).toHaveLength(1);
    const west = await world.currentValue(secretArn);
    const central = await world.currentValue(second);
    const { secretAccessKey } = world.secretOf(accessKeyId);
    expect(west).toMatchObject({ username: accessKeyId, region: 'eu-west-1', password: deriveSmtpPassword(secretAccessKey, 'eu-west-1') });
    expect(central).toMatchObject({ username: accessKeyId, region: 'eu-central-1', host: 'email-smtp.eu-central-1.amazonaws.com', password: deriveSmtpPassword(secretAccessKey, 'eu-central-1') });
    expect(west!.password).not.toEqual(central!.password);
  });

  test('fails naming the user and the 2-key quota, and changes nothing, when the user already has two keys', async () => {
    const existing = [await world.createForeignKey(USER), await world.createForeignKey(USER)].sort();

    const response = await world.send('Create', props());

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain(`IAM user '${USER}' already has 2 access keys`);
    expect(response.Reason).toContain('Nothing was changed');
    expect(await world.keysOf(USER)).toEqual(existing);
    expect(await world.currentCredentials(secretArn)).toBeUndefined();
    expect(response.PhysicalResourceId).toMatch(/^create-failed\//);
  });

  test('the rollback Delete after a failed Create succeeds and touches no key', async () => {
    const existing = [await world.createForeignKey(USER), await world.createForeignKey(USER)].sort();
    const failed = await world.send('Create', props());

    const rollback = await world.send('Delete', props(), { physicalResourceId: failed.PhysicalResourceId });

    expect(rollback.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual(existing);
    expect(world.calls).not.toContain('DeleteAccessKey');
  });

  test('fails in plain words when the user does not exist', async () => {
    const response = await world.send('Create', props({ UserName: 'ghost' }));

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/Not found while creating an access key for IAM user 'ghost'/);
    expect(response.Reason).toContain('Check that the IAM user exists');
  });

  test('fails before creating a key when the secret no longer exists', async () => {
    await world.secrets.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true }));

    const response = await world.send('Create', props());

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain(`Secret ${secretArn}`);
    expect(response.Reason).toContain('does not exist or is scheduled for deletion');
    expect(world.calls).not.toContain('CreateAccessKey');
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('deletes the key it created when writing a secret fails', async () => {
    world.fault = (name, input) => (name === 'PutSecretValue' && String(input.SecretString).includes('"password"') ? Object.assign(new Error('User is not authorized to perform secretsmanager:PutSecretValue'), { name: 'AccessDeniedException' }) : undefined);

    const response = await world.send('Create', props());

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/^Access denied while writing secret/);
    expect(world.issued).toHaveLength(1);
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('a duplicate delivery of the same Create issues no second key', async () => {
    const requestId = '3f0f5f0e-4b7e-4d8a-9a64-0c8f6f1e2d3c';
    const first = await world.send('Create', props(), { requestId });

    const again = await world.send('Create', props(), { requestId });

    expect(again).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: first.PhysicalResourceId, Data: first.Data });
    expect(world.issued).toHaveLength(1);
    expect(await world.keysOf(USER)).toEqual([first.Data!.AccessKeyId]);
  });

  test('rejects malformed properties after reading only CloudFormation\'s record of the request', async () => {
    const response = await world.send('Create', props({ Targets: [{ Region: 'eu-west-1', Host: 'h', Port: 'abc', SecretArn: secretArn }] }));

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain("Port for eu-west-1 must be a TCP port number, got 'abc'");
    expect(world.calls).toEqual(['DescribeStackEvents']); // CloudFormation's record of the request, nothing else
  });
});

describe('Update', () => {
  async function created() {
    const response = await world.send('Create', props());
    expect(response.Status).toBe('SUCCESS');
    world.calls.length = 0;
    return response;
  }

  test('an Update that changes nothing material creates nothing, and only checks that the secret still holds its generation', async () => {
    const create = await created();

    const update = await world.send('Update', props(), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });

    expect(update).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: create.PhysicalResourceId, Data: create.Data });
    expect(world.calls).toEqual(['DescribeStackEvents', 'DescribeSecret']);
    expect(await world.keysOf(USER)).toHaveLength(1);
  });

  test('changing the serial issues a new key and fresh secret; the cleanup Delete removes only the old key', async () => {
    const create = await created();
    const oldKey = create.Data!.AccessKeyId;

    const update = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });

    expect(update.Status).toBe('SUCCESS');
    const newKey = update.Data!.AccessKeyId;
    expect(newKey).not.toEqual(oldKey);
    expect(update.PhysicalResourceId).not.toEqual(create.PhysicalResourceId);
    expect(await world.keysOf(USER)).toEqual([oldKey, newKey].sort());
    expect(await world.currentValue(secretArn)).toMatchObject({ username: newKey, password: deriveSmtpPassword(world.secretOf(newKey).secretAccessKey, 'eu-west-1') });

    const cleanup = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(cleanup.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([newKey]);
    expect(await world.currentValue(secretArn)).toMatchObject({ username: newKey });
  });

  test('changing the user issues a key for the new user; the cleanup Delete removes the old user\'s key', async () => {
    const create = await created();
    await world.createUser('other-mailer');

    const update = await world.send('Update', props({ UserName: 'other-mailer' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });
    const cleanup = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(update.Status).toBe('SUCCESS');
    expect(cleanup.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
    expect(await world.keysOf('other-mailer')).toEqual([update.Data!.AccessKeyId]);
    expect(await world.currentValue(secretArn)).toMatchObject({ username: update.Data!.AccessKeyId });
  });

  test('changing the region re-derives the password for the new region', async () => {
    const create = await created();
    const moved = props({ Targets: [{ Region: 'eu-central-1', Host: 'email-smtp.eu-central-1.amazonaws.com', Port: '587', SecretArn: secretArn }] });

    const update = await world.send('Update', moved, { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });

    const key = update.Data!.AccessKeyId;
    expect(await world.currentValue(secretArn)).toMatchObject({
      username: key, region: 'eu-central-1', password: deriveSmtpPassword(world.secretOf(key).secretAccessKey, 'eu-central-1'),
    });
  });

  test('a secret deleted out of band fails the Update with a clear reason and leaves no new key', async () => {
    const create = await created();
    await world.secrets.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true }));

    const update = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });

    expect(update.Status).toBe('FAILED');
    expect(update.Reason).toContain('does not exist or is scheduled for deletion, so nothing was changed');
    expect(update.PhysicalResourceId).toBe(create.PhysicalResourceId);
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId]);
  });

  test('a failed write to the second region puts the first region\'s previous credentials back', async () => {
    const second = await world.createEmptySecret('smtp/eu-central-1');
    const twoRegions = props({ Targets: [...props().Targets, { Region: 'eu-central-1', Host: 'email-smtp.eu-central-1.amazonaws.com', Port: '587', SecretArn: second }] });
    const create = await world.send('Create', twoRegions);
    const before = [await world.currentValue(secretArn), await world.currentValue(second)];
    world.fault = (name, input) => (name === 'PutSecretValue' && input.SecretId === second ? Object.assign(new Error('KMS key is disabled'), { name: 'KMSInvalidStateException' }) : undefined);

    const update = await world.send('Update', { ...twoRegions, Serial: '2' }, { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: twoRegions });

    expect(update.Status).toBe('FAILED');
    expect(update.Reason).toMatch(/^KMS refused writing secret .*eu-central-1/);
    expect([await world.currentValue(secretArn), await world.currentValue(second)]).toEqual(before);
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId]);
  });

  test('a credentials write that took effect but whose answer was lost is sent again under its version id: one new key, current', async () => {
    const create = await created();
    let once = true;
    world.faultAfter = (name, input) => (name === 'PutSecretValue' && String(input.SecretString).includes('"password"') && once
      ? (once = false, Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' })) : undefined);

    const update = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });

    expect(once).toBe(false);
    expect(update.Status).toBe('SUCCESS');
    const issued = update.Data!.AccessKeyId;
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId, issued].sort());
    expect(await world.currentValue(secretArn)).toMatchObject({ username: issued, password: deriveSmtpPassword(world.secretOf(issued).secretAccessKey, 'eu-west-1') });
  });

  test('when the user has another key besides ours, re-issuing fails with the quota explained and nothing changed', async () => {
    const create = await created();
    const foreign = await world.createForeignKey(USER);

    const update = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });

    expect(update.Status).toBe('FAILED');
    expect(update.Reason).toContain('Re-issuing needs room for one new key');
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId, foreign].sort());
    expect(await world.currentValue(secretArn)).toMatchObject({ username: create.Data!.AccessKeyId });
  });

  test('rolling back a successful Update restores the previous key instead of creating a third', async () => {
    const create = await created();
    const forward = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });
    world.calls.length = 0;

    // Another resource failed: CloudFormation sends the old properties with the new physical id.
    const rollback = await world.send('Update', props(), { physicalResourceId: forward.PhysicalResourceId, oldResourceProperties: props({ Serial: '2' }) });

    expect(rollback.Status).toBe('SUCCESS');
    expect(rollback.PhysicalResourceId).toBe(create.PhysicalResourceId);
    expect(world.calls).not.toContain('CreateAccessKey');
    const original = create.Data!.AccessKeyId;
    expect(await world.currentValue(secretArn)).toMatchObject({ username: original, password: deriveSmtpPassword(world.secretOf(original).secretAccessKey, 'eu-west-1') });

    // UPDATE_ROLLBACK_COMPLETE_CLEANUP deletes the resource the failed update made.
    const cleanup = await world.send('Delete', props({ Serial: '2' }), { physicalResourceId: forward.PhysicalResourceId });

    expect(cleanup.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([original]);
    expect(await world.currentValue(secretArn)).toMatchObject({ username: original });
  });

  test('rolling back a failed Update changes nothing: it looks at the secret and fences the failed Update\'s claim', async () => {
    const create = await created();
    const failed = await world.send('Update', props({ UserName: 'ghost' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });
    expect(failed.Status).toBe('FAILED');
    world.calls.length = 0;

    const rollback = await world.send('Update', props(), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props({ UserName: 'ghost' }) });

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: create.PhysicalResourceId });
    // The failed Update claimed and released its claim: writing the claim's id again is refused,
    // so no delivery of the failed Update still running can claim after this; the claim is read to be sure.
    expect(world.calls).toEqual(['DescribeStackEvents', 'DescribeSecret', 'PutSecretValue', 'GetSecretValue', 'DescribeSecret']);
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId]);
  });

  test('returning to earlier properties after their key was deleted issues a new key', async () => {
    const create = await created();
    const forward = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });
    await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    const back = await world.send('Update', props(), { physicalResourceId: forward.PhysicalResourceId, oldResourceProperties: props({ Serial: '2' }) });

    expect(back.Status).toBe('SUCCESS');
    expect(back.Data!.AccessKeyId).not.toBe(create.Data!.AccessKeyId);
    expect(back.Data!.AccessKeyId).not.toBe(forward.Data!.AccessKeyId);
    expect(await world.currentValue(secretArn)).toMatchObject({ username: back.Data!.AccessKeyId });
  });
});

describe('Delete', () => {
  test('of the current generation asks IAM only to delete the key and to untag the user (its secret says no other key is ours)', async () => {
    const ownerTag = { Key: 'SesSmtpCredentials:eu-west-1/LegacyMailApp', Value: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LegacyMailApp/guid' };
    const created = await world.send('Create', props({ OwnerTag: ownerTag }));
    world.calls.length = 0;

    const deleted = await world.send('Delete', props({ OwnerTag: ownerTag }), { physicalResourceId: created.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    const iamActions = ['CreateAccessKey', 'DeleteAccessKey', 'ListAccessKeys', 'TagUser', 'UntagUser'];
    expect(world.calls.filter((c) => iamActions.includes(c))).toEqual(['DeleteAccessKey', 'UntagUser']);
    expect(await world.keysOf(USER)).toEqual([]);
    expect(await world.userTags(USER)).toEqual({});
  });

  test('deletes the key it created and only that one', async () => {
    const foreign = await world.createForeignKey(USER);
    const create = await world.send('Create', props());

    const response = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(response.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([foreign]);
  });

  test('a second Delete succeeds', async () => {
    const create = await world.send('Create', props());
    await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    const again = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(again.Status).toBe('SUCCESS');
  });

  test('succeeds when the key was already deleted by hand', async () => {
    const create = await world.send('Create', props());
    await world.iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: create.Data!.AccessKeyId }));

    const response = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(response.Status).toBe('SUCCESS');
  });

  test('succeeds when the user and the secret are already gone', async () => {
    const create = await world.send('Create', props());
    await world.iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: create.Data!.AccessKeyId }));
    await world.iam.send(new DeleteUserCommand({ UserName: USER }));
    await world.secrets.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true }));

    const response = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(response.Status).toBe('SUCCESS');
  });

  test('a physical id it did not issue touches no key', async () => {
    const foreign = await world.createForeignKey(USER);

    const response = await world.send('Delete', props(), { physicalResourceId: `key/${USER}` });

    expect(response.Status).toBe('SUCCESS');
    expect(world.calls).toEqual(['DescribeStackEvents']);
    expect(await world.keysOf(USER)).toEqual([foreign]);
  });
});

describe('the owner tag', () => {
  const OWNER_KEY = 'SesSmtpCredentials:eu-west-1/LegacyMailApp';
  const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LegacyMailApp/guid';
  const owned = (overrides: Record<string, unknown> = {}) => props({ OwnerTag: { Key: OWNER_KEY, Value: STACK_ID }, ...overrides });

  test('is set on the user before its key is created, so the key can always be deleted later', async () => {
    await world.send('Create', owned());

    expect(world.calls.indexOf('TagUser')).toBeGreaterThanOrEqual(0);
    expect(world.calls.indexOf('TagUser')).toBeLessThan(world.calls.indexOf('CreateAccessKey'));
    expect(await world.userTags(USER)).toEqual({ [OWNER_KEY]: STACK_ID });
  });

  test('is set by an Update that changes nothing else, for resources deployed before it existed', async () => {
    const created = await world.send('Create', props());
    expect(await world.userTags(USER)).toEqual({});
    world.calls.length = 0;

    const updated = await world.send('Update', owned(), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() });

    expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(await world.userTags(USER)).toEqual({ [OWNER_KEY]: STACK_ID });
    expect(world.calls).toEqual(['DescribeStackEvents', 'DescribeSecret', 'TagUser']);
  });

  test('is removed by the Delete that removes the user\'s last key', async () => {
    const created = await world.send('Create', owned());

    const deleted = await world.send('Delete', owned(), { physicalResourceId: created.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
    expect(await world.userTags(USER)).toEqual({});
  });

  test('stays while the user still holds a key: the cleanup Delete after a serial change', async () => {
    const created = await world.send('Create', owned());
    const updated = await world.send('Update', owned({ Serial: '2' }), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: owned() });

    await world.send('Delete', owned(), { physicalResourceId: created.PhysicalResourceId });

    expect(await world.keysOf(USER)).toEqual([updated.Data!.AccessKeyId]);
    expect(await world.userTags(USER)).toEqual({ [OWNER_KEY]: STACK_ID });
  });

  test('is never set for a key source: the handler creates and deletes no key then', async () => {
    const sourceArn = await world.createEmptySecret('iam-automation/key');
    // The automation's key of the user (a key source must hold a key of the construct's user).
    const automation = (await world.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!;
    world.issued.pop();
    await world.secrets.send(new PutSecretValueCommand({
      SecretId: sourceArn, SecretString: JSON.stringify({ AccessKeyId: automation.AccessKeyId, SecretAccessKey: automation.SecretAccessKey }),
    }));

    const created = await world.send('Create', owned({ Source: { SecretArn: sourceArn, AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' } }));

    expect(created.Status).toBe('SUCCESS');
    expect(world.calls).not.toContain('TagUser');
    expect(await world.userTags(USER)).toEqual({});
  });

  test('a malformed owner tag is refused before any AWS call', async () => {
    const response = await world.send('Create', owned({ OwnerTag: { Key: 'bad key!', Value: STACK_ID } }));

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/^Refused: the request's OwnerTag is not this stack's/);
    expect(world.calls).toEqual([]);
  });
});

describe('secrecy', () => {
  test('no secret access key or SMTP password appears in any response or log line', async () => {
    const create = await world.send('Create', props());
    const update = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });
    await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });
    world.fault = (name, input) => (name === 'PutSecretValue' && String(input.SecretString).includes('"password"') ? Object.assign(new Error('denied'), { name: 'AccessDeniedException' }) : undefined);
    await world.send('Update', props({ Serial: '3' }), { physicalResourceId: update.PhysicalResourceId, oldResourceProperties: props({ Serial: '2' }) });

    expect(world.issued.length).toBe(3);
    expect(world.logs.length).toBeGreaterThanOrEqual(4);
    const visible = [...world.server.raw, ...world.logs].join('\n');
    for (const key of world.issued) {
      expect(visible).not.toContain(key.secretAccessKey);
      expect(visible).not.toContain(deriveSmtpPassword(key.secretAccessKey, 'eu-west-1'));
    }
  });
});

describe('Lambda entry point', () => {
  test('index.handler reaches AWS through AWS_ENDPOINT_URL and answers CloudFormation', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: world.moto.endpoint, AWS_ENDPOINT_URL_CLOUDFORMATION: world.records.endpoint, AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true',
      // What the construct and Lambda put in the function's environment.
      SES_SMTP_STACK_ID: world.self.stackId, SES_SMTP_OWNER_TAG_KEY: world.self.ownerTagKey, AWS_LAMBDA_FUNCTION_NAME: world.self.functionName,
    });
    try {
      let entry: { handler: (event: unknown, context: unknown) => Promise<void> } | undefined;
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module instance, so it reads AWS_ENDPOINT_URL at load
      jest.isolateModules(() => { entry = require('../lib/handler/index'); });
      const { captureConsole, cfnEvent, lambdaContext } = await import('./support/cloudformation');

      const logs = captureConsole();
      const event = cfnEvent(world.server, 'Create', props());
      world.records.stack(event.StackId).begin(event.LogicalResourceId, event.ResourceType, 'CREATE', { properties: event.ResourceProperties });
      try {
        await entry!.handler(event, lambdaContext());
      } finally {
        logs.restore();
      }

      expect(world.server.last().Status).toBe('SUCCESS');
      expect(await world.keysOf(USER)).toHaveLength(1);
    } finally {
      process.env = saved;
    }
  });
});
