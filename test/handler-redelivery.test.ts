/**
 * A request whose first delivery was killed half-way (issue 16, 5.1): what
 * the later deliveries of the same request, and the rollback Update that
 * follows, do with what it left. Timing here is the Lambda's own (the
 * shortest lifetime with a work budget: 31 s), not an assertion.
 */
import { randomUUID } from 'node:crypto';
import { RESPONSE_MARGIN_MS } from '../lib/handler/deadline';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
const world = new World();
let primary: string;
let second: string;

function props(overrides: Record<string, unknown> = {}) {
  return {
    UserName: USER,
    Targets: [
      { Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: primary },
      { Region: 'eu-central-1', Host: 'email-smtp.eu-central-1.amazonaws.com', Port: '587', SecretArn: second },
    ],
    ...overrides,
  };
}

/** The primary's credentials: the holder writes them last (lib/handler/issuing.js). */
const primaryCredentials = (params: Record<string, unknown>) => params.SecretId === primary && String(params.SecretString).includes('"password"');

/**
 * The other region is written, the primary's write fails and so does every
 * undo: what a delivery killed between its writes leaves.
 */
function killBeforeLastWrite(describesBeforeWork: number) {
  world.proxy!.inject({ action: 'PutSecretValue', match: primaryCredentials, kind: 'reset-before', times: 10 });
  world.proxy!.inject({ action: 'DescribeSecret', kind: 'delay', ms: 0, times: describesBeforeWork });
  for (const action of ['DeleteAccessKey', 'DescribeSecret', 'UpdateSecretVersionStage', 'ListAccessKeys', 'GetSecretValue']) {
    world.proxy!.inject({ action, kind: 'reset-before', times: 20 });
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

describe('deliveries that arrive soon after a killed delivery wrote', () => {
  test('one that arrives while the dead delivery could still run leaves it be; one that outlasts it settles what it left', async () => {
    const requestId = randomUUID();
    killBeforeLastWrite(2);
    const first = await world.send('Create', props(), { requestId });
    expect(first.Status).toBe('FAILED');
    const [left] = await world.keysOf(USER);
    expect(left).toBeDefined();
    expect(await world.currentValue(second)).toMatchObject({ username: left });
    world.proxy!.clear();
    // Both arrive while the dead delivery could still be running (its
    // lifetime, 31 s, has not passed since its claim): one at once, one 14 s
    // later, whose undo deadline (23 s into its 31 s) lies past that point.
    const lifetimeMs = RESPONSE_MARGIN_MS + 1_000;

    const [soon, later] = await world.sendConcurrently('Create', props(), [1_000, 14_000], { requestId }, lifetimeMs);

    expect(soon.Status).toBe('FAILED');
    expect(soon.Reason).toMatch(/Another delivery of this request .* holds it and may still be running .*; this delivery issued nothing/);
    expect(later.Status).toBe('FAILED');
    expect(later.Reason).toMatch(/An earlier delivery of this request .* stopped before it finished; what it left was settled/);
    expect(await world.keysOf(USER)).toEqual([]);
    for (const arn of [primary, second]) expect(await world.currentCredentials(arn)).toBeUndefined();
  }, 60_000);
});

describe('the rollback Update after a killed Update delivery', () => {
  test('puts every region back on the generation\'s key and deletes the key the dead delivery left current', async () => {
    const created = await world.send('Create', props());
    const original = created.Data!.AccessKeyId;
    killBeforeLastWrite(2);
    const failed = await world.send('Update', props({ Serial: '2' }), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() });
    expect(failed.Status).toBe('FAILED');
    world.proxy!.clear();
    expect(await world.keysOf(USER)).toHaveLength(2);
    expect((await world.currentValue(second))?.username).not.toBe(original);

    const rolledBack = await world.send('Update', props(), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props({ Serial: '2' }) });

    expect(rolledBack.Status).toBe('SUCCESS');
    expect((await world.currentValue(primary))?.username).toBe(original);
    expect((await world.currentValue(second))?.username).toBe(original);
    expect(await world.keysOf(USER)).toEqual([original]);
  });
});
