/**
 * Secrets Manager native rotation against moto. moto cannot invoke a rotation
 * Lambda, so the test plays Secrets Manager: it calls the handler with the
 * four steps and checks version stages and key counts after each one.
 */
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { ROTATION_TAGS } from '../lib/contract';
import { deriveSmtpPassword } from '../lib/handler/smtp-password';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
const world = new World();
let primary: string;
let central: string;

function props(overrides: Record<string, unknown> = {}) {
  return {
    UserName: USER,
    Targets: [
      { Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: primary },
      { Region: 'eu-central-1', Host: 'email-smtp.eu-central-1.amazonaws.com', Port: '587', SecretArn: central },
    ],
    ...overrides,
  };
}

/** Plays Secrets Manager calling the rotation function for one step. */
function step(name: string, token: string, secretId = primary): Promise<void> {
  return world.invoke({ Step: name, SecretId: secretId, ClientRequestToken: token });
}

async function rotateFully(token = randomUUID()) {
  const counts: number[] = [];
  for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    await step(name, token);
    counts.push((await world.keysOf(USER)).length);
  }
  return counts;
}

/** Creates the secrets as SesSmtpUser does with rotateEvery (tags on the primary), then the credentials. */
async function deployed() {
  central = await world.createEmptySecret('smtp/eu-central-1');
  const out = await world.secrets.send(new CreateSecretCommand({
    Name: 'smtp/eu-west-1',
    Tags: [
      { Key: ROTATION_TAGS.USER_NAME, Value: USER },
      { Key: `${ROTATION_TAGS.SECRET_PREFIX}eu-west-1`, Value: 'self' },
      { Key: `${ROTATION_TAGS.SECRET_PREFIX}eu-central-1`, Value: central },
    ],
  }));
  primary = out.ARN!;
  const create = await world.send('Create', props());
  expect(create.Status).toBe('SUCCESS');
  return create;
}

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(USER);
});

describe('scheduled rotation', () => {
  test('a full cycle moves every region to one new key and deletes the old key; the user never holds more than 2', async () => {
    const create = await deployed();
    const oldKey = create.Data!.AccessKeyId;

    const counts = await rotateFully();

    expect(counts).toEqual([2, 2, 2, 1]);
    const [newKey] = await world.keysOf(USER);
    expect(newKey).not.toBe(oldKey);
    const { secretAccessKey } = world.secretOf(newKey);
    expect(await world.currentValue(primary)).toEqual({ username: newKey, password: deriveSmtpPassword(secretAccessKey, 'eu-west-1'), host: 'email-smtp.eu-west-1.amazonaws.com', port: 587, region: 'eu-west-1' });
    expect(await world.currentValue(central)).toEqual({ username: newKey, password: deriveSmtpPassword(secretAccessKey, 'eu-central-1'), host: 'email-smtp.eu-central-1.amazonaws.com', port: 587, region: 'eu-central-1' });
  });

  test('finishSecret moves AWSCURRENT and the generation label, and clears AWSPENDING', async () => {
    await deployed();
    const token = randomUUID();
    await step('createSecret', token);
    expect((await world.stages(primary))[token]).toEqual(['AWSPENDING']);

    await step('setSecret', token);
    await step('testSecret', token);
    await step('finishSecret', token);

    const stages = (await world.stages(primary))[token];
    expect(stages).toContain('AWSCURRENT');
    expect(stages.some((s) => /^ses-smtp-[0-9a-f]{16}$/.test(s))).toBe(true);
    expect(stages).not.toContain('AWSPENDING');
  });

  test('a rotation interrupted after createSecret resumes without creating another key', async () => {
    await deployed();
    const token = randomUUID();
    await step('createSecret', token);
    const issuedBefore = world.issued.length;

    world.calls.length = 0;
    await step('createSecret', token); // Secrets Manager retries the step
    expect(world.calls).not.toContain('CreateAccessKey');
    expect(world.calls).not.toContain('PutSecretValue');
    const counts = [];
    for (const name of ['setSecret', 'testSecret', 'finishSecret']) {
      await step(name, token);
      counts.push((await world.keysOf(USER)).length);
    }

    expect(world.issued.length).toBe(issuedBefore);
    expect(counts).toEqual([2, 2, 1]);
  });

  test('the key of an abandoned rotation is deleted by the next rotation instead of blocking it', async () => {
    await deployed();
    await step('createSecret', randomUUID()); // abandoned: never finished
    const abandoned = world.issued[world.issued.length - 1].accessKeyId;

    const counts = await rotateFully();

    expect(counts).toEqual([2, 2, 2, 1]);
    expect(await world.keysOf(USER)).not.toContain(abandoned);
  });

  test('fails clearly and changes nothing when the user has a key that is not ours', async () => {
    const create = await deployed();
    const foreign = await world.createForeignKey(USER);

    await expect(step('createSecret', randomUUID())).rejects.toThrow(
      `Cannot rotate: IAM user '${USER}' has another access key (${foreign}) besides the one in this secret (${create.Data!.AccessKeyId})`);
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId, foreign].sort());
    expect(await world.currentValue(primary)).toMatchObject({ username: create.Data!.AccessKeyId });
  });

  test('a finishSecret retried after a failure still deletes the old key', async () => {
    const create = await deployed();
    const token = randomUUID();
    for (const name of ['createSecret', 'setSecret', 'testSecret']) await step(name, token);
    world.fault = (name) => (name === 'DeleteAccessKey' ? Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }) : undefined);
    await expect(step('finishSecret', token)).rejects.toThrow('Throttling');
    world.fault = undefined;

    await step('finishSecret', token); // Secrets Manager retries the step

    expect(await world.keysOf(USER)).toHaveLength(1);
    expect(await world.keysOf(USER)).not.toContain(create.Data!.AccessKeyId);
  });

  test('a createSecret retried after its own undo creates the key again instead of resuming a deleted one', async () => {
    await deployed();
    const token = randomUUID();
    world.fault = (name, input) => (name === 'PutSecretValue' && input.SecretId === primary ? Object.assign(new Error('KMS key is disabled'), { name: 'KMSInvalidStateException', $metadata: { httpStatusCode: 400 } }) : undefined);
    await expect(step('createSecret', token)).rejects.toThrow('KMS refused');
    expect(await world.keysOf(USER)).toHaveLength(1);
    world.fault = undefined;

    const counts = [];
    for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await step(name, token);
      counts.push((await world.keysOf(USER)).length);
    }

    expect(counts).toEqual([2, 2, 2, 1]);
    expect(await world.currentValue(primary)).toMatchObject({ username: (await world.keysOf(USER))[0] });
    expect(await world.currentValue(central)).toMatchObject({ username: (await world.keysOf(USER))[0] });
  });

  test('testSecret rejects a pending value with missing fields', async () => {
    await deployed();
    const token = randomUUID();
    await world.secrets.send(new PutSecretValueCommand({ SecretId: primary, ClientRequestToken: token, SecretString: '{"username":"AKIAIOSFODNN7EXAMPLE"}', VersionStages: ['AWSPENDING'] }));

    await expect(step('testSecret', token)).rejects.toThrow('lacks password, host, port, region');
  });

  test('an unknown secret (no SesSmtpUser tags) is refused', async () => {
    const other = await world.createEmptySecret('not-ours');

    await expect(step('createSecret', randomUUID(), other)).rejects.toThrow(`lacks the ${ROTATION_TAGS.USER_NAME}`);
  });
});

describe('rotation and the custom resource', () => {
  test('deleting the resource after a rotation deletes the rotated key', async () => {
    const create = await deployed();
    await rotateFully();

    const response = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(response.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('deleting during an interrupted rotation deletes the pending key too', async () => {
    const create = await deployed();
    await step('createSecret', randomUUID());
    expect(await world.keysOf(USER)).toHaveLength(2);

    await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('re-issuing at deploy time after a rotation leaves only the new key after cleanup', async () => {
    const create = await deployed();
    await rotateFully();

    const update = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });
    await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(await world.keysOf(USER)).toEqual([update.Data!.AccessKeyId]);
    expect(await world.currentValue(central)).toMatchObject({ username: update.Data!.AccessKeyId });
  });

  test('a Delete that cannot read one region\'s secret still deletes the rotated key found in the primary', async () => {
    const create = await deployed();
    await rotateFully();
    world.fault = (name, input) => (name === 'DescribeSecret' && input.SecretId === central ? Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }) : undefined);

    const response = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(response.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('no secret access key or password appears in rotation logs', async () => {
    await deployed();
    await rotateFully();
    await expect(step('createSecret', 'not-a-real-token', primary).then(() => step('testSecret', 'missing-token'))).rejects.toThrow();

    const visible = [...world.logs, ...world.server.raw].join('\n');
    for (const key of world.issued) {
      expect(visible).not.toContain(key.secretAccessKey);
      expect(visible).not.toContain(deriveSmtpPassword(key.secretAccessKey, 'eu-central-1'));
    }
  });
});
