/**
 * Only CloudFormation and Secrets Manager can make the handler act. The
 * attacker may invoke the function (lambda:InvokeFunction) with any event and
 * any ResponseURL, but holds no cloudformation:UpdateStack: nothing they send
 * may change a key, a tag or a secret value, and no answer may go anywhere but
 * CloudFormation's response bucket. The real handler against moto, with
 * CloudFormation's records of the stack served by test/support/cfn-records.ts.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { RESPONSE_HOST, foreignHosts } from './support/cloudformation';
import { World } from './support/world';

const ALICE = 'alice';
const BOB = 'bob';
const world = new World();
let aliceSecret: string;
let bobSecret: string;

function props(userName: string, secretArn: string, extra: Record<string, unknown> = {}) {
  return world.credentialsProperties(userName, secretArn, extra);
}

/** Everything an attack must not change: keys, owner tags, secret versions and values. */
async function snapshot() {
  const out: Record<string, unknown> = {};
  for (const user of [ALICE, BOB]) out[user] = { keys: await world.keysOf(user), tags: await world.userTags(user) };
  for (const arn of [aliceSecret, bobSecret]) out[arn] = { stages: await world.stages(arn), current: await world.currentValue(arn) };
  return out;
}

/** An http server on loopback playing the attacker's ResponseURL; counts what reaches it. */
async function attackerServer(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => { hits++; req.resume(); res.end(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/steal`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let alice: { physicalId: string; key: string };
let foreignBefore = 0;

beforeAll(() => world.start({ viaProxy: true }));
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(ALICE);
  await world.createUser(BOB);
  aliceSecret = await world.createEmptySecret('smtp/alice');
  bobSecret = await world.createEmptySecret('smtp/bob');
  const created = await world.send('Create', props(ALICE, aliceSecret), { logicalResourceId: 'AliceCredentials' });
  expect(created.Status).toBe('SUCCESS');
  alice = { physicalId: created.PhysicalResourceId, key: created.Data!.AccessKeyId };
  expect((await world.send('Create', props(BOB, bobSecret), { logicalResourceId: 'BobCredentials' })).Status).toBe('SUCCESS');
  world.calls.length = 0;
  foreignBefore = foreignHosts().length;
});
// No request of any test here went anywhere but CloudFormation's response bucket (stand-in on 127.0.0.1).
afterEach(() => expect(foreignHosts().slice(foreignBefore)).toEqual([]));

describe('CloudFormation requests that CloudFormation did not send', () => {
  test('a Delete carrying only alice\'s live physical id deletes nothing', async () => {
    const before = await snapshot();

    const answer = await world.forge('Delete', {}, { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(answer?.Status).toBe('FAILED');
    expect(answer?.Reason).toMatch(/^Refused: CloudFormation's log shows resource AliceCredentials of stack .* as CREATE_COMPLETE, while a Delete needs DELETE_IN_PROGRESS\. If CloudFormation did send this request .*RequestVerification\.AUDIT.* Nothing was changed\.$/);
    expect(await snapshot()).toEqual(before);
    expect(new Set(world.calls)).toEqual(new Set(['DescribeStackEvents'])); // read again twice, in case the log lagged
  });

  test('a Delete with alice\'s real properties and a foreign StackId is refused before any AWS call', async () => {
    const before = await snapshot();

    const answer = await world.forge('Delete', props(ALICE, aliceSecret), {
      physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials', stackId: 'arn:aws:cloudformation:eu-west-1:999999999999:stack/Attacker/guid',
    });

    expect(answer?.Reason).toBe(`Refused: the request names stack arn:aws:cloudformation:eu-west-1:999999999999:stack/Attacker/guid, not this function's stack ${world.self.stackId}. Nothing was changed.`);
    expect(world.calls).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  test('an Update that would write alice\'s new credentials into bob\'s secret is refused', async () => {
    const before = await snapshot();

    const answer = await world.forge('Update', props(ALICE, bobSecret, { Serial: 'stolen' }), {
      physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials', oldResourceProperties: props(ALICE, aliceSecret),
    });

    expect(answer?.Status).toBe('FAILED');
    expect(answer?.Reason).toMatch(/^Refused: CloudFormation's log shows resource AliceCredentials .* as CREATE_COMPLETE, while a Update needs UPDATE_IN_PROGRESS/);
    expect(await snapshot()).toEqual(before);
  });

  test('during a real Update of alice, a delivery with altered properties is refused', async () => {
    // CloudFormation is updating alice (its log shows UPDATE_IN_PROGRESS with the template's properties).
    const real = props(ALICE, aliceSecret, { Serial: '2' });
    world.records.stack(world.self.stackId).begin('AliceCredentials', 'Custom::SesSmtpCredentials', 'UPDATE', { physicalId: alice.physicalId, properties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler', ...real } });
    const before = await snapshot();

    const answer = await world.forge('Update', { ...real, Targets: props(ALICE, bobSecret).Targets }, { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(answer?.Reason).toMatch(/^Refused: the request's properties are not the ones CloudFormation logged for resource AliceCredentials/);
    expect(await snapshot()).toEqual(before);
  });

  test('CloudFormation\'s own properties and the types in its log do not count, only the properties the handler acts on', async () => {
    const sent = props(ALICE, aliceSecret, { Serial: '2' });
    // Logged as the template has them: no ServiceToken or ServiceTimeout here, the port a number.
    const logged = { ...sent, Targets: sent.Targets.map((t) => ({ ...t, Port: 587 })) };
    world.records.stack(world.self.stackId).begin('AliceCredentials', 'Custom::SesSmtpCredentials', 'UPDATE', { physicalId: alice.physicalId, properties: logged });

    const answer = await world.forge('Update', sent, { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(answer?.Status).toBe('SUCCESS');
  });

  test('a Create that claims bob issues no key and writes no secret', async () => {
    const before = await snapshot();

    const answer = await world.forge('Create', props(BOB, bobSecret), { logicalResourceId: 'Claim' });

    expect(answer?.Reason).toMatch(/^Refused: CloudFormation's log shows no operation on resource Claim/);
    expect(await snapshot()).toEqual(before);
  });

  test('a request for a logical id that is not a Custom::SesSmtpCredentials is refused', async () => {
    world.records.stack(world.self.stackId).begin('Bucket', 'AWS::S3::Bucket', 'CREATE', { properties: props(BOB, bobSecret) });
    const before = await snapshot();

    const answer = await world.forge('Create', props(BOB, bobSecret), { logicalResourceId: 'Bucket' });

    expect(answer?.Reason).toContain("as a AWS::S3::Bucket, not a Custom::SesSmtpCredentials");
    expect(await snapshot()).toEqual(before);
  });

  test('a request whose OwnerTag is another stack\'s is refused before any AWS call', async () => {
    const answer = await world.forge('Create', { ...props(BOB, bobSecret), OwnerTag: { Key: 'SesSmtpCredentials:eu-west-1/Other', Value: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Other/guid' } });

    expect(answer?.Reason).toMatch(/^Refused: the request's OwnerTag is not this stack's/);
    expect(world.calls).toEqual([]);
  });
});

describe('cleanup Deletes', () => {
  test('a cleanup Delete of a replaced physical id that CloudFormation logged is carried out', async () => {
    const update = await world.send('Update', props(ALICE, aliceSecret, { Serial: '2' }), { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });
    expect(update.PhysicalResourceId).not.toBe(alice.physicalId);

    const cleanup = await world.send('Delete', props(ALICE, aliceSecret), { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(cleanup.Status).toBe('SUCCESS');
    expect(await world.keysOf(ALICE)).toEqual([update.Data!.AccessKeyId]);
  });

  test('a cleanup Delete whose properties are not the ones its physical id was issued for acts on the physical id alone', async () => {
    const update = await world.send('Update', props(ALICE, aliceSecret, { Serial: '2' }), { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });
    const before = await snapshot();

    // CloudFormation logs the cleanup of the old id; the delivery names bob's secret instead of alice's.
    const answer = await world.send('Delete', props(ALICE, bobSecret), { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(answer.Status).toBe('SUCCESS');
    // Only the key the physical id names (which CloudFormation is deleting) is gone; no secret, tag or other key changed.
    expect(await world.keysOf(ALICE)).toEqual([update.Data!.AccessKeyId]);
    expect(await snapshot()).toEqual({ ...before, [ALICE]: { ...(before[ALICE] as object), keys: [update.Data!.AccessKeyId] } });
    expect(world.logs.join('\n')).toContain(`its properties are not the ones physical id ${alice.physicalId} was issued for, so they are ignored`);
  });

  test('deliveries made up while CloudFormation creates a resource count as that one request: one key, one answer', async () => {
    await world.createUser('carol');
    const carolSecret = await world.createEmptySecret('smtp/carol');
    const real = { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler', ...props('carol', carolSecret) };
    world.records.stack(world.self.stackId).begin('CarolCredentials', 'Custom::SesSmtpCredentials', 'CREATE', { properties: real });

    // Three deliveries with RequestIds of the attacker's choosing (and CloudFormation's own among them).
    const answers = await world.forgeMany('Create', props('carol', carolSecret), 3, { logicalResourceId: 'CarolCredentials' });

    expect(await world.keysOf('carol')).toHaveLength(1);
    const [key] = await world.keysOf('carol');
    expect(await world.currentValue(carolSecret)).toMatchObject({ username: key });
    expect(answers.filter((a) => a?.Status === 'SUCCESS').map((a) => a!.Data!.AccessKeyId)).toEqual(expect.arrayContaining([key]));
    for (const a of answers) if (a?.Status === 'SUCCESS') expect(a.Data!.AccessKeyId).toBe(key);
  });

  test('a made-up RequestId naming a live secret version is not taken for an earlier delivery: the logged Update runs', async () => {
    await world.createUser('dave');
    const targets: Array<{ Region: string; Host: string; Port: string; SecretArn: string }> = [];
    for (const region of ['eu-west-1', 'eu-central-1']) {
      targets.push({ Region: region, Host: `email-smtp.${region}.amazonaws.com`, Port: '587', SecretArn: await world.createEmptySecret(`smtp/dave/${region}`) });
    }
    const daveProps = (extra: Record<string, unknown> = {}) => ({ ...props('dave', targets[0].SecretArn), Targets: targets, ...extra });
    const created = await world.send('Create', daveProps(), { logicalResourceId: 'DaveCredentials' });
    const daveKey = created.Data!.AccessKeyId;
    // CloudFormation is updating dave (a serial change); the attacker knows the primary's current version id (DescribeSecret).
    world.records.stack(world.self.stackId).begin('DaveCredentials', 'Custom::SesSmtpCredentials', 'UPDATE', {
      physicalId: created.PhysicalResourceId, properties: daveProps({ Serial: '2' }),
    });
    const [current] = Object.entries(await world.stages(targets[0].SecretArn)).find(([, stages]) => stages.includes('AWSCURRENT'))!;

    const answer = await world.forge('Update', daveProps({ Serial: '2' }), { physicalResourceId: created.PhysicalResourceId, logicalResourceId: 'DaveCredentials', requestId: current });

    // The RequestId counts for nothing: the delivery is the Update CloudFormation logged, which issues a new key
    // (the Create's write is not mistaken for an earlier delivery of it), and the old key stays for the cleanup.
    expect(answer?.Status).toBe('SUCCESS');
    expect(answer?.Data?.AccessKeyId).not.toBe(daveKey);
    expect((await world.keysOf('dave')).sort()).toEqual([daveKey, answer!.Data!.AccessKeyId].sort());
    for (const target of targets) expect((await world.currentValue(target.SecretArn))?.username).toBe(answer!.Data!.AccessKeyId);
  });
});

describe('ResponseURL', () => {
  test.each([
    ['plain http on loopback', (url: string) => url],
    ['https to a host that is not CloudFormation\'s bucket', () => 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com.attacker.example/x'],
    ['https to the bucket of another region', () => 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x'],
    ['https to the bucket\'s name under another partition\'s DNS suffix', () => 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.eu/x'],
    ['the bucket on another port', () => `https://${RESPONSE_HOST}:8443/x`],
  ])('%s gets no request, and the request is not acted on', async (_what, target) => {
    const attacker = await attackerServer();
    try {
      const before = await snapshot();

      const answer = await world.forge('Delete', props(ALICE, aliceSecret), { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials', responseUrl: target(attacker.url) });

      expect(answer).toBeUndefined();
      expect(attacker.hits()).toBe(0);
      expect(world.calls).toEqual([]);
      expect(await snapshot()).toEqual(before);
      expect(world.logs.join('\n')).toContain('is not an https URL of CloudFormation\'s response bucket in eu-west-1; nothing was changed and no answer was sent');
    } finally {
      await attacker.close();
    }
  });
});

describe('key-source syncs', () => {
  test('a sync event in the old format, carrying properties, is refused', async () => {
    const before = await snapshot();

    await expect(world.invoke({ SesSmtpSync: props(BOB, aliceSecret, { Source: { SecretArn: bobSecret, AccessKeyIdField: 'username', SecretAccessKeyField: 'password' } }) }))
      .rejects.toThrow('Refused: the sync event names no LogicalResourceId. Nothing was changed.');

    expect(await snapshot()).toEqual(before);
  });

  test('a sync naming a resource without a key-source registration is refused', async () => {
    const before = await snapshot();

    await expect(world.invoke({ SesSmtpSync: { LogicalResourceId: 'AliceCredentials' }, detail: { eventName: 'PutSecretValue' } }))
      .rejects.toThrow('Refused: AliceCredentials has no valid key-source registration in its template Metadata. Nothing was changed.');

    expect(await snapshot()).toEqual(before);
  });

  test('a sync naming a resource CloudFormation is working on waits for it to finish', async () => {
    world.records.stack(world.self.stackId).begin('AliceCredentials', 'Custom::SesSmtpCredentials', 'UPDATE', { physicalId: alice.physicalId, properties: {} });

    await expect(world.invoke({ SesSmtpSync: { LogicalResourceId: 'AliceCredentials' } })).rejects.toThrow('is UPDATE_IN_PROGRESS; a sync waits');
  });
});

describe('rotation steps invoked directly', () => {
  test('createSecret, one after another, with tokens Secrets Manager never staged, retire no key and write nothing', async () => {
    await world.createUser('carol');
    const rotatingSecret = await world.createEmptySecret('smtp/carol', {
      'SesSmtpCredentials:Registration': { UserName: 'carol', Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587' }] },
    });
    const token = await world.beginRotation(rotatingSecret);
    await world.invoke({ Step: 'createSecret', SecretId: rotatingSecret, ClientRequestToken: token });
    const before = { keys: await world.keysOf('carol'), stages: await world.stages(rotatingSecret) };
    expect(before.keys).toHaveLength(1);

    for (const forged of ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222']) {
      for (const step of ['createSecret', 'finishSecret']) {
        await expect(world.invoke({ Step: step, SecretId: rotatingSecret, ClientRequestToken: forged })).rejects.toThrow(/^Refused: .* has no version/);
      }
    }

    expect({ keys: await world.keysOf('carol'), stages: await world.stages(rotatingSecret) }).toEqual(before);
  });
});

describe('CloudFormation\'s API under load', () => {
  test('a throttled DescribeStackEvents is retried and the request goes through', async () => {
    world.proxy!.clear();
    world.proxy!.inject({ action: 'DescribeStackEvents', kind: 'throttle-before', times: 2 });

    const answer = await world.send('Update', props(ALICE, aliceSecret, { Serial: '2' }), { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(answer.Status).toBe('SUCCESS');
    expect(world.proxy!.requests.filter((r) => r.action === 'DescribeStackEvents').map((r) => r.status)).toEqual([400, 400, 200]);
  });

  test('when CloudFormation keeps answering 5xx, the request fails with nothing changed', async () => {
    world.proxy!.inject({ action: 'DescribeStackEvents', kind: '5xx-after', status: 503, times: 20 });
    const before = await snapshot();

    const answer = await world.send('Update', props(ALICE, aliceSecret, { Serial: '2' }), { physicalResourceId: alice.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toContain('while reading the events of stack');
    expect(await snapshot()).toEqual(before);
  });
});
