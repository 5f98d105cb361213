/**
 * Secrets Manager native rotation against moto. moto cannot invoke a rotation
 * Lambda, so the test plays Secrets Manager: RotateSecret (which enables
 * rotation with this function and stages AWSPENDING on the token), then the
 * handler with the four steps, checking version stages and key counts after each one.
 */
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { createTransport } from 'nodemailer';
import { deriveSmtpPassword } from '../lib/handler/smtp-password';
import { FakeSes, startFakeSes } from './support/fake-ses-smtp';
import { Rotating, deployRotating } from './support/rotating';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
const world = new World();
let deployment: Rotating;
let primary: string;
let central: string;

/** The custom resource's properties (what the registration holds too). */
function props(overrides: Record<string, unknown> = {}) {
  return { ...deployment.properties, ...overrides };
}

/** Plays Secrets Manager calling the rotation function for one step; a rotation starts with RotateSecret (idempotent per token). */
async function step(name: string, token: string, secretId = primary): Promise<void> {
  if (name === 'createSecret') await world.beginRotation(secretId, token);
  return world.invoke({ Step: name, SecretId: secretId, ClientRequestToken: token });
}

/** A full rotation; the number of the user's keys after each step. */
async function rotateFully(token = randomUUID()) {
  const counts: number[] = [];
  for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    await step(name, token);
    counts.push((await world.keysOf(USER)).length);
  }
  return counts;
}

/** Deploys a rotating SesSmtpUser for two regions: secrets, registration, hint tag, credentials. */
async function deployed() {
  deployment = await deployRotating(world, { name: 'smtp', userName: USER, regions: ['eu-west-1', 'eu-central-1'] });
  [primary, central] = deployment.secrets;
  return deployment.create;
}

/** The AWSPREVIOUS value of a secret. */
async function previousValue(secretArn: string) {
  const out = await world.secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSPREVIOUS' }));
  return JSON.parse(out.SecretString!);
}

/** Everything a no-op step must leave alone. */
async function state() {
  return { keys: await world.keysOf(USER), primary: await world.stages(primary), central: await world.stages(central), current: await world.currentValue(primary) };
}

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(USER);
});

describe('scheduled rotation', () => {
  test('a full cycle moves every region to one new key and keeps the old key valid as AWSPREVIOUS; the user never holds more than 2', async () => {
    const create = await deployed();
    const oldKey = create.Data!.AccessKeyId;

    const counts = await rotateFully();

    expect(counts).toEqual([2, 2, 2, 2]);
    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect(newKey).not.toBe(oldKey);
    expect(await world.keysOf(USER)).toEqual([oldKey, newKey].sort());
    expect(await previousValue(primary)).toMatchObject({ username: oldKey });
    const [graceVersion] = Object.entries(await world.stages(primary)).find(([, labels]) => labels.includes('ses-smtp-grace'))!;
    expect((await world.stages(primary))[graceVersion]).toContain('AWSPREVIOUS');
    const { secretAccessKey } = world.secretOf(newKey);
    expect(await world.currentValue(primary)).toEqual({ username: newKey, password: deriveSmtpPassword(secretAccessKey, 'eu-west-1'), host: 'email-smtp.eu-west-1.amazonaws.com', port: 587, region: 'eu-west-1', issuedBy: 'ses-smtp-credentials', iamUserName: USER });
    expect(await world.currentValue(central)).toEqual({ username: newKey, password: deriveSmtpPassword(secretAccessKey, 'eu-central-1'), host: 'email-smtp.eu-central-1.amazonaws.com', port: 587, region: 'eu-central-1', issuedBy: 'ses-smtp-credentials', iamUserName: USER });
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
    expect(counts).toEqual([2, 2, 2]);
  });

  test('the key of an abandoned rotation is deleted by the next rotation instead of blocking it', async () => {
    await deployed();
    await step('createSecret', randomUUID()); // abandoned: never finished
    const abandoned = world.issued[world.issued.length - 1].accessKeyId;

    const counts = await rotateFully();

    expect(counts).toEqual([2, 2, 2, 2]);
    expect(await world.keysOf(USER)).not.toContain(abandoned);
    expect(world.logs.join('\n')).toContain(`deleting access key ${abandoned} of IAM user '${USER}', left by an earlier rotation that did not finish`);
  });

  test('fails clearly and changes nothing when the user has a key that is not ours', async () => {
    const create = await deployed();
    const foreign = await world.createForeignKey(USER);

    await expect(step('createSecret', randomUUID())).rejects.toThrow(
      `Cannot rotate: IAM user '${USER}' has another access key (${foreign}) besides the one in this secret (${create.Data!.AccessKeyId})`);
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId, foreign].sort());
    expect(await world.currentValue(primary)).toMatchObject({ username: create.Data!.AccessKeyId });
  });

  test('a finishSecret that failed half-way finishes every region when retried, and keeps the old key', async () => {
    const create = await deployed();
    const token = randomUUID();
    for (const name of ['createSecret', 'setSecret', 'testSecret']) await step(name, token);
    // The primary is switched last: a failure there leaves the other regions switched.
    world.fault = (name, input) => (name === 'UpdateSecretVersionStage' && input.SecretId === primary ? Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }) : undefined);
    await expect(step('finishSecret', token)).rejects.toThrow('Throttling');
    world.fault = undefined;

    await step('finishSecret', token); // Secrets Manager retries the step

    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect((await world.stages(primary))[token]).toContain('AWSCURRENT');
    expect(await world.currentValue(primary)).toMatchObject({ username: newKey });
    expect(await world.currentValue(central)).toMatchObject({ username: newKey });
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId, newKey].sort());
  });

  test('a createSecret retried after its own undo creates the key again instead of resuming a deleted one', async () => {
    await deployed();
    const token = randomUUID();
    world.fault = (name, input) => (name === 'PutSecretValue' && input.SecretId === primary ? Object.assign(new Error('KMS key is disabled'), { name: 'KMSInvalidStateException', $metadata: { httpStatusCode: 400 } }) : undefined);
    await expect(step('createSecret', token)).rejects.toThrow('KMS refused');
    expect(await world.keysOf(USER)).toHaveLength(1);
    world.fault = undefined;

    const counts = await rotateFully(token);

    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect(counts).toEqual([2, 2, 2, 2]);
    expect(await world.currentValue(primary)).toMatchObject({ username: newKey });
    expect(await world.currentValue(central)).toMatchObject({ username: newKey });
  });

  test('testSecret rejects a pending value with missing fields', async () => {
    await deployed();
    const token = await world.beginRotation(primary);
    await world.secrets.send(new PutSecretValueCommand({ SecretId: primary, ClientRequestToken: token, SecretString: '{"username":"AKIAIOSFODNN7EXAMPLE"}', VersionStages: ['AWSPENDING'] }));

    await expect(step('testSecret', token)).rejects.toThrow('lacks password, host, port, region');
  });

  test('a secret of the stack without a registration in its template Metadata is refused', async () => {
    const other = await world.createEmptySecret('not-ours');

    await expect(step('createSecret', randomUUID(), other)).rejects.toThrow(`Refused: secret ${other} is not registered for rotation in its template Metadata. Nothing was changed.`);
  });
});

describe('the Secrets Manager rotation contract', () => {
  test('a late finishSecret of an older rotation fails and changes nothing: AWSCURRENT stays, no key is deleted', async () => {
    await deployed();
    const first = randomUUID();
    await rotateFully(first);
    await rotateFully();
    const before = await state();

    await expect(step('finishSecret', first)).rejects.toThrow(`version ${first} of secret ${primary} is neither AWSPENDING nor AWSCURRENT`);

    expect(await state()).toEqual(before);
  });

  test('any step for a rotation that already finished succeeds without a change', async () => {
    await deployed();
    const token = randomUUID();
    await rotateFully(token);
    const before = await state();
    world.calls.length = 0;

    for (const name of ['finishSecret', 'createSecret', 'testSecret']) await step(name, token);

    expect(await state()).toEqual(before);
    expect(world.calls.filter((c) => !['DescribeSecret', 'DescribeStackResource', 'GetSecretValue', 'ListAccessKeys'].includes(c))).toEqual([]);
    expect(world.logs.join('\n')).toContain('"outcome":"already current"');
  });

  test('a step for a token Secrets Manager did not stage fails and changes nothing', async () => {
    await deployed();
    await world.beginRotation(primary); // rotation enabled, one rotation staged; the steps below name another token
    const before = await state();

    for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await expect(world.invoke({ Step: name, SecretId: primary, ClientRequestToken: randomUUID() })).rejects.toThrow(
        /^Refused: secret .* has no version [0-9a-f-]{36}; Secrets Manager stages AWSPENDING on a rotation's token before it invokes any step. Nothing was changed.$/);
    }

    expect(await state()).toEqual(before);
  });

  test('every step retried ends in the same state as one delivery of each', async () => {
    const create = await deployed();
    const token = randomUUID();

    for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await step(name, token);
      await step(name, token); // delivered again
    }

    const newKey = world.issued[world.issued.length - 1].accessKeyId;
    expect(world.issued).toHaveLength(2);
    expect(await world.keysOf(USER)).toEqual([create.Data!.AccessKeyId, newKey].sort());
    expect(await world.currentValue(primary)).toMatchObject({ username: newKey });
    expect(await world.currentValue(central)).toMatchObject({ username: newKey });
    expect((await world.stages(primary))[token]).toEqual(expect.arrayContaining(['AWSCURRENT']));
    expect((await world.stages(primary))[token]).not.toContain('AWSPENDING');
  });
});

describe('no outage for running consumers', () => {
  let ses: FakeSes;
  beforeAll(async () => { ses = await startFakeSes('eu-west-1', world.moto.endpoint, world.iam); });
  afterAll(() => ses.stop());

  /** Sends one mail through the fake SES SMTP endpoint with these credentials. */
  function sendWith(credentials: Record<string, unknown>) {
    const transport = createTransport({
      host: '127.0.0.1', port: ses.port, secure: false, requireTLS: true,
      auth: { user: String(credentials.username), pass: String(credentials.password) },
      tls: { rejectUnauthorized: false }, // the fake server's self-signed certificate; loopback only
    });
    return transport.sendMail({ from: 'noreply@example.com', to: 'ops@example.com', subject: 'report', text: 'done' }).finally(() => transport.close());
  }

  test('the password a consumer read before a rotation still authenticates after finishSecret, until the next rotation', async () => {
    await deployed();
    const before = (await world.currentValue(primary))!;

    await rotateFully();
    await expect(sendWith(before)).resolves.toBeDefined();
    await expect(sendWith((await world.currentValue(primary))!)).resolves.toBeDefined();
    expect(await previousValue(primary)).toEqual(before);

    const next = randomUUID();
    await step('createSecret', next);
    await expect(sendWith(before)).rejects.toThrow(/535/);
    expect(await world.keysOf(USER)).not.toContain(before.username);
    expect((await world.keysOf(USER)).length).toBeLessThanOrEqual(2);
  });
});

describe('rotation failures are never silent', () => {
  test('a createSecret whose undo fails says so in its error and a log line; the next rotation deletes the key it left, and only that', async () => {
    await deployed();
    const token = randomUUID();
    const failure = (name: string) => Object.assign(new Error(name), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
    world.fault = (name, input) => {
      if (name === 'PutSecretValue' && input.SecretId === primary) return failure('KMSInvalidStateException');
      if (name === 'DeleteAccessKey') return failure('AccessDeniedException');
      return undefined;
    };

    const error = await step('createSecret', token).catch((e: Error) => e);
    world.fault = undefined;
    const left = world.issued[world.issued.length - 1].accessKeyId;

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('KMS refused');
    expect((error as Error).message).toContain(`Undoing createSecret also failed: The new access key ${left} of IAM user '${USER}' could not be deleted`);
    expect((error as Error).message).toContain('the next rotation deletes it');
    expect(world.logs.join('\n')).toContain(`"level":"WARN","message":"rotation of ${primary}: The new access key ${left}`);
    expect(await world.keysOf(USER)).toContain(left);

    const counts = await rotateFully();

    expect(counts).toEqual([2, 2, 2, 2]);
    expect(await world.keysOf(USER)).not.toContain(left);
    expect(await world.keysOf(USER)).toContain(deployment.create.Data!.AccessKeyId);
  });
});

describe('a createSecret whose writes and undo are throttled', () => {
  test('says no secret names the key it could not delete when no version was written, and how to delete it', async () => {
    deployment = await deployRotating(world, { name: 'single', userName: USER });
    primary = deployment.primary;
    const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    world.fault = (name) => (name === 'PutSecretValue' || name === 'DeleteAccessKey' ? throttled() : undefined);

    const token = await world.beginRotation(primary);
    const error = await step('createSecret', token).catch((e: Error) => e);
    world.fault = undefined;
    const left = world.issued[world.issued.length - 1].accessKeyId;

    // Only the empty version Secrets Manager staged for the token is AWSPENDING: createSecret wrote no value.
    const pending = Object.entries(await world.stages(primary)).filter(([, stages]) => stages.includes('AWSPENDING')).map(([id]) => id);
    expect(pending).toEqual([token]);
    const written = await world.secrets.send(new GetSecretValueCommand({ SecretId: primary, VersionId: token })).catch(() => undefined);
    expect(written?.SecretString).toBeUndefined();
    expect((error as Error).message).toContain(`The new access key ${left} of IAM user '${USER}' could not be deleted`);
    expect((error as Error).message).not.toContain('stays named in an AWSPENDING version');
    expect((error as Error).message).toContain(`No secret names it, so the next rotation cannot prove it is ours and refuses until it is gone: aws iam delete-access-key --user-name ${USER} --access-key-id ${left}`);
  });
});

describe('rotation and the custom resource', () => {
  test('deleting the resource after a rotation deletes the rotated key and the grace key', async () => {
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

  test('re-issuing at deploy time right after a rotation retires the grace key first, and leaves only the new key after cleanup', async () => {
    const create = await deployed();
    await rotateFully();
    const rotated = world.issued[world.issued.length - 1].accessKeyId;
    expect(await world.keysOf(USER)).toHaveLength(2); // the rotated key and the grace key

    const update = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props() });
    expect(update.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([rotated, update.Data!.AccessKeyId].sort());
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
