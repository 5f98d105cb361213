/**
 * The handler under AWS faults moto cannot produce by itself, injected by a
 * proxy between the handler's SDK clients and moto: answers lost after IAM
 * acted, throttling, unparsable answers, deliveries repeated or concurrent,
 * undo that hangs. The promises: no key is left that nothing references, no
 * byte of a secret reaches a Reason or a log line, the answer always arrives
 * before the Lambda deadline, and the Reason tells the truth.
 */
import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { MAX_BODY_BYTES, RESPONSE_MARGIN_MS } from '../lib/handler/cloudformation';
import { CfnResponse } from './support/cloudformation';
import { truncateBody } from './support/fault-proxy';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
const world = new World();
let primary: string;
let second: string;

function props(overrides: Record<string, unknown> = {}) {
  return {
    UserName: USER,
    Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: primary }],
    ...overrides,
  };
}

/** Two SMTP regions, so a request can fail half-way. */
function twoRegions() {
  return props({
    Targets: [
      ...props().Targets,
      { Region: 'eu-central-1', Host: 'email-smtp.eu-central-1.amazonaws.com', Port: '587', SecretArn: second },
    ],
  });
}

/** The primary's credentials: the handler writes them last (lib/handler/issuing.js). */
const primaryCredentials = (params: Record<string, unknown>) => params.SecretId === primary && String(params.SecretString).includes('"password"');

/** Every 6-character piece of `secret`: none may appear where secrets must not. */
function pieces(secret: string): string[] {
  return Array.from({ length: Math.max(0, secret.length - 5) }, (_, i) => secret.slice(i, i + 6));
}

function expectNoPieceOf(secret: string, ...texts: string[]) {
  expect(secret.length).toBeGreaterThan(10);
  const all = texts.join('\n');
  for (const piece of pieces(secret)) expect(all).not.toContain(piece);
}

/**
 * The promise itself: after this answer, every access key of the user is the
 * one a SUCCESS names and every target's AWSCURRENT names it; after a FAILED
 * Create, the user has no key and no target holds credentials.
 */
async function expectConsistent(response: CfnResponse, targets: string[]) {
  const keys = await world.keysOf(USER);
  if (response.Status === 'SUCCESS') {
    expect(keys).toEqual([response.Data!.AccessKeyId]);
    for (const arn of targets) expect((await world.currentValue(arn))?.username).toBe(response.Data!.AccessKeyId);
  } else {
    expect(keys).toEqual([]);
    for (const arn of targets) expect((await world.currentValue(arn))?.password).toBeUndefined();
  }
}

beforeAll(() => world.start({ viaProxy: true }));
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(USER);
  primary = await world.createEmptySecret('smtp/eu-west-1');
  second = await world.createEmptySecret('smtp/eu-central-1');
});

describe('a CreateAccessKey whose outcome is unknown', () => {
  test('a 5xx after IAM made the key: the key is found and deleted, IAM is asked again, and the Create succeeds with one key', async () => {
    world.proxy!.inject({ action: 'CreateAccessKey', kind: '5xx-after' });

    const response = await world.send('Create', props());

    expect(response.Status).toBe('SUCCESS');
    await expectConsistent(response, [primary]);
    expect(world.proxy!.requests.filter((r) => r.action === 'CreateAccessKey').map((r) => r.status)).toEqual([500, 200]);
    expect(world.calls.filter((c) => c === 'DeleteAccessKey')).toHaveLength(1);
  });

  test('an unparsable answer after IAM made the key: deleted, asked again, and no piece of the answer reaches the Reason or a log line', async () => {
    let secretAccessKey = '';
    world.proxy!.inject({
      action: 'CreateAccessKey',
      kind: 'garbage-after',
      garble: (real) => {
        secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(real)?.[1] ?? '';
        return truncateBody(real, false);
      },
    });

    const response = await world.send('Create', props());

    expect(response.Status).toBe('SUCCESS');
    await expectConsistent(response, [primary]);
    expect(world.calls.filter((c) => c === 'DeleteAccessKey')).toHaveLength(1);
    expectNoPieceOf(secretAccessKey, ...world.server.raw, ...world.logs);
  });

  test('a connection reset after IAM made the key: deleted, asked again, and the Create succeeds with one key', async () => {
    world.proxy!.inject({ action: 'CreateAccessKey', kind: 'reset-after' });

    const response = await world.send('Create', props());

    expect(response.Status).toBe('SUCCESS');
    await expectConsistent(response, [primary]);
    expect(world.calls.filter((c) => c === 'DeleteAccessKey')).toHaveLength(1);
  });

  test('when every answer is lost, each key IAM made is deleted and the Create fails with none', async () => {
    world.proxy!.inject({ action: 'CreateAccessKey', kind: 'reset-after', times: 10 });

    const response = await world.send('Create', props());

    expect(response.Status).toBe('FAILED');
    expect(await world.keysOf(USER)).toEqual([]);
  });
});

describe('transient failures of calls that are safe to repeat', () => {
  test('one Throttling on DeleteAccessKey does not fail a Delete', async () => {
    const created = await world.send('Create', props());
    world.proxy!.inject({ action: 'DeleteAccessKey', kind: 'throttle-before' });

    const deleted = await world.send('Delete', props(), { physicalResourceId: created.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('a CreateAccessKey answered Throttling is repeated (IAM did nothing): the Create succeeds with one key', async () => {
    world.proxy!.inject({ action: 'CreateAccessKey', kind: 'throttle-before', times: 2 });

    const response = await world.send('Create', props());

    expect(response.Status).toBe('SUCCESS');
    await expectConsistent(response, [primary]);
    expect(world.proxy!.requests.filter((r) => r.action === 'CreateAccessKey').map((r) => r.status)).toEqual([400, 400, 200]);
  });

  test('a throttled PutSecretValue is repeated: the Create succeeds with one key', async () => {
    world.proxy!.inject({ action: 'PutSecretValue', kind: 'throttle-before', times: 2 });

    const response = await world.send('Create', props());

    expect(response.Status).toBe('SUCCESS');
    await expectConsistent(response, [primary]);
  });
});

describe('an unparsable Secrets Manager answer', () => {
  test('quotes no piece of the secret value in the Reason or a log line', async () => {
    const created = await world.send('Create', props());
    const firstPassword = String((await world.currentValue(primary))!.password);
    const updated = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() });
    // Rolling back to the first properties reads the first generation's value:
    // answer it with JSON that breaks where the password starts, where V8's
    // parser error message quotes the characters around it.
    world.proxy!.inject({
      action: 'GetSecretValue',
      kind: 'garbage-after',
      times: 10,
      garble: (real) => `{"SecretString":${String(JSON.parse(JSON.parse(real).SecretString).password)}}`,
    });

    const rolledBack = await world.send('Update', props(), { physicalResourceId: updated.PhysicalResourceId, oldResourceProperties: props({ Serial: '2' }) });

    expect(rolledBack.Status).toBe('FAILED');
    expectNoPieceOf(firstPassword, ...world.server.raw, ...world.logs);
    for (const key of world.issued) expectNoPieceOf(key.secretAccessKey, ...world.server.raw, ...world.logs);
  });
});

describe('a request delivered more than once', () => {
  test('a Create that failed and was undone, delivered again, does not answer SUCCESS without a key', async () => {
    const requestId = randomUUID();
    world.proxy!.inject({ action: 'PutSecretValue', match: primaryCredentials, kind: 'throttle-before', times: 10 });
    const first = await world.send('Create', twoRegions(), { requestId });
    expect(first.Status).toBe('FAILED');
    world.proxy!.clear();

    const again = await world.send('Create', twoRegions(), { requestId });

    await expectConsistent(again, [primary, second]);
  });

  test('a delivery that stopped half-way is cleaned up by the next delivery, which fails and says so', async () => {
    const requestId = randomUUID();
    // The first delivery writes the other region, then everything fails,
    // undoing too: what a Lambda killed mid-way leaves.
    world.proxy!.inject({ action: 'PutSecretValue', match: primaryCredentials, kind: 'reset-before', times: 10 });
    world.proxy!.inject({ action: 'DescribeSecret', kind: 'delay', ms: 0, times: 2 }); // the look before anything is made
    for (const action of ['DeleteAccessKey', 'DescribeSecret', 'UpdateSecretVersionStage', 'ListAccessKeys']) {
      world.proxy!.inject({ action, kind: 'reset-before', times: 10 });
    }
    const first = await world.send('Create', twoRegions(), { requestId });
    expect(first.Status).toBe('FAILED');
    expect(first.Reason).toMatch(/Not undone: .*access key AKIA\w+ of IAM user 'legacy-mail-relay' still exists \(aws iam delete-access-key --user-name legacy-mail-relay --access-key-id AKIA\w+\)/);
    expect(await world.keysOf(USER)).toHaveLength(1);
    world.proxy!.clear();
    // Retried once the first delivery's lifetime has passed. The lifetime is
    // the invocation's time left at its start, so 35 s here (5 s of work).
    const remainingMs = RESPONSE_MARGIN_MS + 5_000;
    await new Promise((resolve) => setTimeout(resolve, remainingMs + 500));

    const again = await world.send('Create', twoRegions(), { requestId }, remainingMs);

    expect(again.Status).toBe('FAILED');
    expect(again.Reason).toMatch(/earlier delivery of this request .* stopped before it finished; what it left was settled/);
    await expectConsistent(again, [primary, second]);
  }, 90_000);

  test('a delivery killed between CreateAccessKey and its first write: the rollback Delete finds its key in CloudTrail once no delivery can create one', async () => {
    // Every credentials write and every undo fails: the key is recorded nowhere but in CloudTrail.
    world.proxy!.inject({ action: 'PutSecretValue', match: (p) => String(p.SecretString).includes('"password"'), kind: 'reset-before', times: 10 });
    for (const action of ['DeleteAccessKey', 'UpdateSecretVersionStage']) world.proxy!.inject({ action, kind: 'reset-before', times: 10 });
    const create = await world.send('Create', props());
    expect(create.Status).toBe('FAILED');
    const [left] = await world.keysOf(USER);
    expect(left).toBeDefined();
    world.proxy!.clear();
    // Past the window in which a delivery of the Create could still create a key (lib/handler/settle.js, CREATE_WINDOW_MS).
    await world.advanceClock(12 * 60_000);

    const rollback = await world.send('Delete', props(), { physicalResourceId: create.PhysicalResourceId });

    expect(rollback.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
    expect(world.trail.lookups.length).toBeGreaterThan(0);
  });

  test('two deliveries at the same time: one key survives, and both answer the same', async () => {
    // The first delivery's key arrives late, so the second writes first.
    world.proxy!.inject({ action: 'CreateAccessKey', kind: 'delay', ms: 400 });

    const answers = await world.sendConcurrently('Create', twoRegions(), [0, 50], { requestId: randomUUID() });

    expect(answers.map((a) => a.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(answers[0].PhysicalResourceId).toBe(answers[1].PhysicalResourceId);
    await expectConsistent(answers[0], [primary, second]);
    const labels = Object.values(await world.stages(primary)).flat().filter((l) => l.startsWith('ses-smtp-'));
    expect(labels).toHaveLength(1);
  });
});

describe('undo under a deadline', () => {
  test('the answer arrives before the Lambda deadline even when undoing hangs, and names the key it could not delete', async () => {
    // The work budget (1 s) ends while CreateAccessKey is under way; undoing
    // then hangs on DeleteAccessKey.
    world.proxy!.inject({ action: 'CreateAccessKey', kind: 'delay', ms: 1_500 });
    world.proxy!.inject({ action: 'DeleteAccessKey', kind: 'delay', ms: 29_000, times: 5 });
    const remainingMs = RESPONSE_MARGIN_MS + 1_000;

    const started = Date.now();
    const response = await world.send('Create', props(), {}, remainingMs);
    const elapsed = Date.now() - started;

    expect(elapsed).toBeLessThan(remainingMs - 1_000);
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/^Timed out after 1 s/);
    expect(response.Reason).toMatch(/Not undone: access key AKIA\w+ of IAM user 'legacy-mail-relay' still exists \(aws iam delete-access-key/);
    expect(response.Reason).not.toContain('was undone');
  }, 60_000);
});

describe('the answer to CloudFormation', () => {
  test('stays within 4096 bytes of UTF-8, however long the Reason', async () => {
    const response = await world.send('Create', props({ Targets: [{ Region: 'eu-west-1', Host: `bad host ${'€'.repeat(1500)}`, Port: '587', SecretArn: primary }] }));

    expect(response.Status).toBe('FAILED');
    expect(Buffer.byteLength(world.server.raw[world.server.raw.length - 1])).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(response.Reason).toMatch(/^Target Host for eu-west-1 must be a host name/);
  });
});

describe('Delete after the secret is gone', () => {
  test('when a rotation replaced the key, warns which user may still hold the key only the secret named', async () => {
    const created = await world.send('Create', props());
    // A rotation replaced the key: the named one is gone, a new one is live.
    const rotated = await world.createForeignKey(USER);
    await world.iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: created.Data!.AccessKeyId }));
    await world.secrets.send(new DeleteSecretCommand({ SecretId: primary, ForceDeleteWithoutRecovery: true }));

    const deleted = await world.send('Delete', props(), { physicalResourceId: created.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    const warning = world.logs.find((line) => line.includes('WARN') && line.includes(rotated));
    expect(warning).toContain(`aws iam list-access-keys --user-name ${USER}`);
  });
});

describe('Delete after the secret is gone, one rotation in', () => {
  test('the issued key (still valid as the grace key) is deleted, and the rotated key and the owner tag it leaves are named in a warning', async () => {
    const ownerTag = { Key: 'SesSmtpCredentials:eu-west-1/LegacyMailApp', Value: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LegacyMailApp/guid' };
    const created = await world.send('Create', props({ OwnerTag: ownerTag }));
    // After exactly one rotation the issued key stays valid (the grace key)
    // and a new key is current: named only by the secret, which is then deleted.
    const rotated = await world.createForeignKey(USER);
    await world.secrets.send(new DeleteSecretCommand({ SecretId: primary, ForceDeleteWithoutRecovery: true }));

    const deleted = await world.send('Delete', props({ OwnerTag: ownerTag }), { physicalResourceId: created.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([rotated]);
    const warning = world.logs.find((line) => line.includes('WARN') && line.includes(rotated));
    expect(warning).toContain(`aws iam delete-access-key --user-name ${USER}`);
    expect(warning).toContain(`aws iam untag-user --user-name ${USER} --tag-keys ${ownerTag.Key}`);
  });
});

describe('a first Create that fails half-way', () => {
  test('leaves no credentials as AWSCURRENT in the region it had written', async () => {
    // The other region is written first; the primary's write, the last, fails.
    world.proxy!.inject({ action: 'PutSecretValue', match: primaryCredentials, kind: 'throttle-before', times: 10 });

    const response = await world.send('Create', twoRegions());

    expect(response.Status).toBe('FAILED');
    expect(world.issued).toHaveLength(1);
    await expectConsistent(response, [primary, second]);
    for (const arn of [primary, second]) expect(await world.currentCredentials(arn)).toBeUndefined();
  });

});
