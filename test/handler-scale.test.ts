/**
 * A stack's custom resources delivered at once while IAM throttles: the real
 * handler against moto behind the fault proxy, whose token bucket answers
 * IAM calls beyond the rate as IAM does (HTTP 400 Throttling, Rate exceeded).
 * Not timed: it counts answers, keys and tags. `npm run bench` measures time.
 */
import { CfnResponse } from './support/cloudformation';
import { Rotating, deployRotating } from './support/rotating';
import { World } from './support/world';

const N = 20;
/** IAM calls per second for the whole account: far below what 20 resources ask for at once. */
const IAM_RATE = 5;
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LegacyMailApp/guid';
const OWNER_TAG = { Key: 'SesSmtpCredentials:eu-west-1/LegacyMailApp', Value: STACK_ID };

const world = new World();
const users = Array.from({ length: N }, (_, i) => `relay-${String(i).padStart(2, '0')}`);
const secrets = new Map<string, string>();

function props(user: string, serial?: string) {
  return {
    UserName: user,
    Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: secrets.get(user) }],
    OwnerTag: OWNER_TAG,
    ...(serial ? { Serial: serial } : {}),
  };
}

/** The Reasons of the answers that failed (empty when none did). */
function failures(answers: CfnResponse[]): string[] {
  return answers.filter((a) => a.Status !== 'SUCCESS').map((a) => `${a.LogicalResourceId}: ${a.Reason}`);
}

/** Each user holds exactly the key its answer names, and its secret names that key. */
async function expectOneNamedKeyEach(answers: CfnResponse[]) {
  const problems: string[] = [];
  for (const [i, user] of users.entries()) {
    const keys = await world.keysOf(user);
    const named = answers[i].Data?.AccessKeyId;
    const current = (await world.currentValue(secrets.get(user)!))?.username;
    if (keys.length !== 1 || keys[0] !== named || current !== named) problems.push(`${user}: keys ${keys.join(',') || 'none'}, answer ${named}, secret ${String(current)}`);
  }
  expect(problems).toEqual([]);
}

beforeAll(async () => {
  await world.start({ viaProxy: true });
  // The handler's own policy (retry until the deadline), with a lower cap so
  // the test finishes sooner.
  world.retry = { capMs: 2_000 };
});
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  for (const user of users) await world.createUser(user);
});

describe('custom resources', () => {
  beforeEach(async () => {
    for (const user of users) secrets.set(user, await world.createEmptySecret(`smtp/${user}`));
  });

  test(`${N} Creates, then Updates with their cleanup Deletes, then Deletes, all at once at ${IAM_RATE} IAM calls/s: none fails, no key is orphaned or doubled, no owner tag stays`, async () => {
    world.proxy!.limitRate({ service: 'iam', perSecond: IAM_RATE, burst: IAM_RATE });
    const request = (user: string) => ({ logicalResourceId: `Smtp${user.replace(/\W/g, '')}`, stackId: STACK_ID });

    const created = await world.sendAll(users.map((user) => ({ type: 'Create' as const, properties: props(user), options: request(user) })));
    expect(failures(created)).toEqual([]);
    await expectOneNamedKeyEach(created);

    const updated = await world.sendAll(users.map((user, i) => ({
      type: 'Update' as const, properties: props(user, '2'),
      options: { ...request(user), physicalResourceId: created[i].PhysicalResourceId, oldResourceProperties: props(user) },
    })));
    expect(failures(updated)).toEqual([]);
    // CloudFormation's cleanup: the old physical ids are deleted.
    const cleaned = await world.sendAll(users.map((user, i) => ({
      type: 'Delete' as const, properties: props(user), options: { ...request(user), physicalResourceId: created[i].PhysicalResourceId },
    })));
    expect(failures(cleaned)).toEqual([]);
    await expectOneNamedKeyEach(updated);

    const deleted = await world.sendAll(users.map((user, i) => ({
      type: 'Delete' as const, properties: props(user, '2'), options: { ...request(user), physicalResourceId: updated[i].PhysicalResourceId },
    })));
    expect(failures(deleted)).toEqual([]);
    const left: string[] = [];
    for (const user of users) {
      for (const key of await world.keysOf(user)) left.push(`${user}: key ${key}`);
      if (OWNER_TAG.Key in await world.userTags(user)) left.push(`${user}: owner tag`);
    }
    expect(left).toEqual([]);
    // The limit was really met: IAM refused calls the handler then repeated.
    expect(world.proxy!.requests.filter((r) => r.fault === 'rate-limited').length).toBeGreaterThan(N);
  }, 120_000);
});

test(`${N} rotations at once, then ${N} Deletes, at ${IAM_RATE} IAM calls/s: every step succeeds, each secret names a key of its user, and no key is left`, async () => {
  const deployments: Rotating[] = [];
  for (const user of users) deployments.push(await deployRotating(world, { name: `rot-${user}`, userName: user }));
  world.proxy!.limitRate({ service: 'iam', perSecond: IAM_RATE, burst: IAM_RATE });

  const failed: string[] = [];
  await Promise.all(deployments.map(async (d) => {
    const token = await world.beginRotation(d.primary); // Secrets Manager's RotateSecret: rotation on, the token staged
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      try {
        await world.invoke({ Step: step, SecretId: d.primary, ClientRequestToken: token });
      } catch (e) {
        failed.push(`${d.userName} ${step}: ${(e as Error).message}`);
        return;
      }
    }
  }));

  expect(failed).toEqual([]);
  const problems: string[] = [];
  for (const d of deployments) {
    const keys = await world.keysOf(d.userName);
    const current = (await world.currentValue(d.primary))?.username as string | undefined;
    if (!current || current === d.create.Data!.AccessKeyId || !keys.includes(current) || keys.length > 2) problems.push(`${d.userName}: keys ${keys.join(',')}, current ${String(current)}`);
  }
  expect(problems).toEqual([]);

  const deleted = await world.sendAll(deployments.map((d) => ({
    type: 'Delete' as const, properties: d.properties, options: { physicalResourceId: d.create.PhysicalResourceId, logicalResourceId: d.logicalId },
  })));
  expect(failures(deleted)).toEqual([]);
  const left: string[] = [];
  for (const d of deployments) for (const key of await world.keysOf(d.userName)) left.push(`${d.userName}: ${key}`);
  expect(left).toEqual([]);
  expect(world.proxy!.requests.filter((r) => r.fault === 'rate-limited').length).toBeGreaterThan(0);
}, 120_000);
