/**
 * How much of CloudFormation's log the gate reads (issue 23, items 3 and 7).
 * DescribeStackEvents pages a stack's whole history, newest first, 100 events
 * a page: in a busy stack, a request must not page the whole recent log, a
 * made-up one least of all, and the reads a deployment's requests make must
 * not crowd out everyone else's (CloudFormation throttles reads per account).
 * A Hook registered in the account adds events of its own around the
 * resource's, which the gate must read past.
 *
 * The real handler against moto; the stack's log is served by
 * test/support/cfn-records.ts, which counts every read.
 */
import { StackEventCache } from '../lib/handler/event-cache';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
const world = new World();
let secretArn: string;

function props(extra: Record<string, unknown> = {}) {
  return world.credentialsProperties(USER, secretArn, extra);
}

/** `count` events of other resources, as a busy stack logs them (3 a resource; each ended: nothing of them is in flight). */
function otherEvents(count: number, prefix = 'Other') {
  const log = world.records.stack(world.self.stackId);
  const before = log.events.length;
  for (let i = 0; log.events.length - before < count; i++) {
    log.begin(`${prefix}${i}`, 'AWS::SNS::Topic', 'CREATE');
    log.finish(`${prefix}${i}`, 'AWS::SNS::Topic', 'CREATE', true, `arn:aws:sns:eu-west-1:123456789012:${prefix}${i}`);
  }
}

/** The reads of CloudFormation's records since `from`, by action. */
function reads(from: number) {
  const calls = world.records.calls.slice(from);
  return { events: calls.filter((c) => c.action === 'DescribeStackEvents').length, resource: calls.filter((c) => c.action === 'DescribeStackResource').length };
}

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(USER);
  secretArn = await world.createEmptySecret('smtp/eu-west-1');
});

describe('a made-up request in a busy stack', () => {
  test('naming no resource of the stack is refused after the newest page and one look at the resource: 2 reads, not the whole hour', async () => {
    otherEvents(2_000);
    const from = world.records.calls.length;

    const answer = await world.forge('Create', props(), { logicalResourceId: 'NoSuchResource' });

    expect(answer?.Status).toBe('FAILED');
    expect(answer?.Reason).toMatch(/^Refused: CloudFormation is not working on NoSuchResource .*: the stack has no such resource/);
    expect(reads(from)).toEqual({ events: 1, resource: 1 });
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('naming a resource CloudFormation finished with long ago is refused as cheaply', async () => {
    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' });
    expect(created.Status).toBe('SUCCESS');
    await world.advanceClock(30 * 60_000);
    otherEvents(2_000);
    const from = world.records.calls.length;

    const answer = await world.forge('Update', props({ Serial: '2' }), { logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() });

    expect(answer?.Status).toBe('FAILED');
    expect(answer?.Reason).toMatch(/none of its operations ran in the last 20 minutes/);
    expect(reads(from)).toEqual({ events: 1, resource: 1 });
    expect(await world.keysOf(USER)).toEqual([created.Data!.AccessKeyId]);
  });
});

describe('a Delete', () => {
  const stackLog = () => world.records.stack(world.self.stackId);

  test('of a stack delete is one read: the stack\'s own DELETE_IN_PROGRESS "User Initiated" says the resource goes', async () => {
    stackLog().beginStackOperation('CREATE');
    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' });
    otherEvents(400);
    stackLog().beginStackOperation('DELETE');
    const from = world.records.calls.length;

    const deleted = await world.send('Delete', props(), { logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    expect(reads(from)).toEqual({ events: 1, resource: 0 });
    expect(await world.keysOf(USER)).toEqual([]);
    expect(await world.userTags(USER)).toEqual({});
  });

  test('of a cleanup after a replacement is one read: the update just before it completed with the new id', async () => {
    stackLog().beginStackOperation('CREATE');
    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' });
    stackLog().beginStackOperation('UPDATE');
    const updated = await world.send('Update', props({ Serial: '2' }), {
      logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props(),
    });
    expect(updated.PhysicalResourceId).not.toBe(created.PhysicalResourceId);
    const from = world.records.calls.length;

    const cleanup = await world.send('Delete', props(), { logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId });

    expect(cleanup.Status).toBe('SUCCESS');
    expect(reads(from)).toEqual({ events: 1, resource: 0 });
    // The replacement's key stays, and with it the owner tag.
    expect(await world.keysOf(USER)).toEqual([updated.Data!.AccessKeyId]);
    expect(Object.keys(await world.userTags(USER))).toEqual([world.self.ownerTagKey]);
  });

  test('the log does not say (a resource removed from the template in an update): CloudFormation\'s record of it decides', async () => {
    stackLog().beginStackOperation('CREATE');
    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' });
    stackLog().beginStackOperation('UPDATE');
    const from = world.records.calls.length;

    const removed = await world.send('Delete', props(), { logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId });

    expect(removed.Status).toBe('SUCCESS');
    expect(reads(from)).toEqual({ events: 1, resource: 1 });
    expect(await world.keysOf(USER)).toEqual([]);
  });
});

describe('a genuine request', () => {
  test('reads down to its operation\'s first event and no further, however long the history below it', async () => {
    otherEvents(1_800, 'Before');
    const from = world.records.calls.length;

    // 350 events logged between the Create's first event and the handler's first read.
    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' }, undefined, () => otherEvents(350));

    expect(created.Status).toBe('SUCCESS');
    expect(reads(from).events).toBe(4);
  });

  test('in a container that served the stack before, reads only what CloudFormation logged since', async () => {
    world.eventCache = new StackEventCache();
    otherEvents(600, 'Before');
    const first = await world.send('Create', props(), { logicalResourceId: 'Credentials' }, undefined, () => otherEvents(350));
    expect(first.Status).toBe('SUCCESS');
    const other = await world.createEmptySecret('smtp/other');
    const from = world.records.calls.length;

    // The next resource of the deployment, 150 events later: two pages are new, the rest is known.
    const second = await world.send('Create', { ...props(), Targets: [{ ...props().Targets[0], SecretArn: other }], UserName: 'second-user' },
      { logicalResourceId: 'SecondCredentials' }, undefined, () => otherEvents(150));

    expect(second.Status).toBe('FAILED'); // no such IAM user: what matters here is how it was checked
    expect(second.Reason).toMatch(/second-user/);
    expect(reads(from).events).toBe(2);
  });

  test('when CloudFormation\'s log lags behind the request, each look again reads only the newest page', async () => {
    otherEvents(600);
    await world.advanceClock(5_000);
    world.records.lagMs = 1_500;
    const pages = Math.ceil(world.records.stack(world.self.stackId).events.length / 100);
    const from = world.records.calls.length;

    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' });

    expect(created.Status).toBe('SUCCESS');
    // The first look pages all the visible events (after the newest page, it asks whether the resource is being
    // worked on: it is); the looks 1 s and 2 s later read one page each.
    expect(pages).toBe(7);
    expect(reads(from)).toEqual({ events: pages + 1 + 1, resource: 1 });
  });
});

describe('a pre-provision Hook registered in the account', () => {
  beforeEach(() => {
    world.records.stack(world.self.stackId).hooks = ['Private::Guard::S3SecurityGuardHook', 'AWS::ControlTower::Hook'];
  });

  test('runs on the Create, the Update and the Delete: the gate reads past its events and each request is served', async () => {
    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' });
    expect(created.Status).toBe('SUCCESS');
    const events = world.records.stack(world.self.stackId).events.filter((e) => e.logicalId === 'Credentials');
    expect(events.filter((e) => e.hook).length).toBe(4);
    expect(events.map((e) => e.reason)).toContain('Hook invocations complete.  Resource creation initiated');

    const updated = await world.send('Update', props({ Serial: '2' }), { logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() });
    expect(updated.Status).toBe('SUCCESS');
    const cleanup = await world.send('Delete', props(), { logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId });
    expect(cleanup.Status).toBe('SUCCESS');
    const deleted = await world.send('Delete', props({ Serial: '2' }), { logicalResourceId: 'Credentials', physicalResourceId: updated.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('does not make a made-up request pass: properties the log does not show are still refused', async () => {
    const created = await world.send('Create', props(), { logicalResourceId: 'Credentials' });
    // CloudFormation begins an Update (a Hook runs on it); someone sends the handler other properties for it.
    world.records.stack(world.self.stackId).begin('Credentials', 'Custom::SesSmtpCredentials', 'UPDATE', { physicalId: created.PhysicalResourceId, properties: props({ Serial: '2' }) });

    const forged = await world.forge('Update', props({ UserName: 'someone-else' }), { logicalResourceId: 'Credentials', physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() });

    expect(forged?.Status).toBe('FAILED');
    expect(forged?.Reason).toMatch(/^Refused: /);
    expect(await world.keysOf(USER)).toEqual([created.Data!.AccessKeyId]);
  });
});
