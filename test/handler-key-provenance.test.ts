/**
 * A secret's writer cannot make the handler delete another key of the user.
 *
 * The attacker holds secretsmanager:PutSecretValue and
 * UpdateSecretVersionStage on alice's credentials secret, and nothing else:
 * no iam:DeleteAccessKey, no cloudformation:UpdateStack. Alice's IAM user also
 * has a key someone else made two hours ago (a person's, or other
 * automation's). The attacker writes a version naming that key, under each of
 * the labels the handler retires keys by, and waits for what CloudFormation
 * and Secrets Manager do anyway: a stack delete, an update, a rotation. The
 * version was written long after IAM created the key, so it does not vouch
 * for it (lib/handler/provenance.js) and the key stays.
 *
 * The real handler against moto; moto_fixtures.py backdates the other key.
 */
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { fingerprint, generationLabel, parseRequest } from '../lib/handler/model';
import { claimIdOf, credentialIdsOf, uuidOf } from '../lib/handler/journal';
import { randomUUID } from 'node:crypto';
import { awsError } from './support/aws-errors';
import { ageAccessKey, ageSecretVersion } from './support/moto';
import { Rotating, deployRotating, rotate } from './support/rotating';
import { World } from './support/world';

const ALICE = 'alice';
const TWO_HOURS = 2 * 3600;
const world = new World();

function props(secretArn: string, extra: Record<string, unknown> = {}) {
  return world.credentialsProperties(ALICE, secretArn, extra);
}

/** A key of alice that someone else made two hours ago. */
async function othersKey(): Promise<string> {
  const key = await world.createForeignKey(ALICE);
  await ageAccessKey(world.moto, key, TWO_HOURS);
  return key;
}

/**
 * What the attacker can do: a new version of the secret naming `accessKeyId`,
 * with these labels. It has everything a value of the handler's has, its
 * issuedBy mark included (the attacker can read one); without `issuedBy`, it
 * is a value as version 0.1.0 of the handler wrote it.
 */
async function plant(secretArn: string, accessKeyId: string, labels: string[], { issuedBy = true } = {}): Promise<string> {
  const versionId = randomUUID();
  await world.secrets.send(new PutSecretValueCommand({
    SecretId: secretArn,
    ClientRequestToken: versionId,
    SecretString: JSON.stringify({
      username: accessKeyId, password: 'BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', host: 'email-smtp.eu-west-1.amazonaws.com', port: '587', region: 'eu-west-1',
      ...(issuedBy ? { issuedBy: 'ses-smtp-credentials' } : {}),
    }),
    VersionStages: labels,
  }));
  return versionId;
}

/** The generation label of the secret's current version (what a stack delete follows). */
async function generationLabelOf(secretArn: string): Promise<string> {
  const out = await world.secrets.send(new DescribeSecretCommand({ SecretId: secretArn }));
  const labels = Object.values(out.VersionIdsToStages ?? {}).flat();
  const label = labels.find((l) => /^ses-smtp-[0-9a-f]{16}$/.test(l));
  if (!label) throw new Error(`no generation label on ${secretArn}: ${labels.join(', ')}`);
  return label;
}


const warnings = () => world.logs.filter((line) => line.includes('"level":"WARN"'));

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(ALICE);
  await world.createUser('alice2');
});

describe('CloudFormation requests', () => {
  let secret: string;
  let issued: { physicalId: string; key: string };

  beforeEach(async () => {
    secret = await world.createEmptySecret('smtp/alice');
    const created = await world.send('Create', props(secret), { logicalResourceId: 'AliceCredentials' });
    expect(created.Status).toBe('SUCCESS');
    issued = { physicalId: created.PhysicalResourceId, key: created.Data!.AccessKeyId };
  });

  test('a stack delete does not follow the generation label to a version the attacker wrote', async () => {
    const other = await othersKey();
    await plant(secret, other, [await generationLabelOf(secret)]);

    const deleted = await world.send('Delete', props(secret), { physicalResourceId: issued.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(ALICE)).toEqual([other]);
    expect(warnings().join('\n')).toMatch(new RegExp(`access key ${other}, named in a secret of this resource, is not deleted: version .* was written 2 hours after IAM created the key`));
  });

  test('a stack delete does not take a version labelled as the last rotation\'s grace key for one', async () => {
    const other = await othersKey();
    await plant(secret, other, ['ses-smtp-grace']);

    const deleted = await world.send('Delete', props(secret), { physicalResourceId: issued.physicalId, logicalResourceId: 'AliceCredentials' });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(ALICE)).toEqual([other]);
  });

  test('an update that finds both key slots full does not retire a key the attacker labelled as the grace key', async () => {
    const other = await othersKey();
    await plant(secret, other, ['ses-smtp-grace']);

    const updated = await world.send('Update', props(secret, { Serial: '2' }), {
      physicalResourceId: issued.physicalId, logicalResourceId: 'AliceCredentials', oldResourceProperties: props(secret),
    });

    expect(updated.Status).toBe('FAILED');
    expect(updated.Reason).toMatch(/LimitExceeded|2 access keys|two access keys|quota/i);
    expect(await world.keysOf(ALICE)).toEqual([issued.key, other].sort());
    expect(warnings().join('\n')).toMatch(new RegExp(`access key ${other} is not retired to make room for a new one: version .* was written 2 hours after`));
  });

  test('an update does not restore, as the resource\'s key, a key the attacker labelled with the new properties\' generation', async () => {
    const other = await othersKey();
    // The fingerprint is a public function of the properties: the attacker can label for the next deployment.
    const next = props(secret, { Serial: '2' });
    await plant(secret, other, [generationLabel(fingerprint(parseRequest(next)))]);

    const updated = await world.send('Update', next, {
      physicalResourceId: issued.physicalId, logicalResourceId: 'AliceCredentials', oldResourceProperties: props(secret),
    });

    expect(updated.PhysicalResourceId).not.toContain(other);
    expect(await world.keysOf(ALICE)).toContain(other);
    expect(warnings().join('\n')).toMatch(new RegExp(`access key ${other} is not restored as this resource's key: version .* was written 2 hours after`));
  });

  test('an update with unchanged properties does not delete a key the attacker made current under another generation\'s label', async () => {
    const other = await othersKey();
    await plant(secret, other, ['AWSCURRENT', 'ses-smtp-0123456789abcdef']);

    const updated = await world.send('Update', props(secret), {
      physicalResourceId: issued.physicalId, logicalResourceId: 'AliceCredentials', oldResourceProperties: props(secret),
    });

    expect(updated.Status).toBe('SUCCESS');
    expect(await world.keysOf(ALICE)).toEqual([issued.key, other].sort());
    expect(await world.currentValue(secret)).toMatchObject({ username: issued.key }); // the generation is current again
    expect(warnings().join('\n')).toMatch(new RegExp(`access key ${other}, named in a secret of this resource, is not deleted: version .* was written 2 hours after`));
  });
});

describe('a switch from a key source to issued keys', () => {
  test('a label moved onto a version written for the key source\'s key does not make the handler delete the automation\'s key', async () => {
    // Carol's key comes from the IAM automation; the handler wrote it into her secret seconds after the automation made it.
    await world.createUser('carol');
    const automation = await world.iam.send(new CreateAccessKeyCommand({ UserName: 'carol' }));
    world.issued.pop(); // the automation's, not the handler's
    const automationKey = automation.AccessKey!.AccessKeyId!;
    const source = (await world.secrets.send(new CreateSecretCommand({
      Name: 'iam-automation/carol', SecretString: JSON.stringify({ AccessKeyId: automationKey, SecretAccessKey: automation.AccessKey!.SecretAccessKey }),
    }))).ARN!;
    const secret = await world.createEmptySecret('smtp/carol');
    const sourceProps = { ...props(secret), UserName: 'carol', Source: { SecretArn: source, AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' } };
    const created = await world.send('Create', sourceProps, { logicalResourceId: 'CarolCredentials' });
    expect(created.Status).toBe('SUCCESS');
    const sourceVersion = Object.entries(await world.stages(secret)).find(([, stages]) => stages.includes('AWSCURRENT'))![0];
    // The stack switches carol to keys the handler issues.
    const issuedProps = { ...props(secret), UserName: 'carol' };
    const switched = await world.send('Update', issuedProps, { physicalResourceId: created.PhysicalResourceId, logicalResourceId: 'CarolCredentials', oldResourceProperties: sourceProps });
    expect(switched.Status).toBe('SUCCESS');
    // The attacker moves the grace label onto the version written for the automation's key: its date is right.
    await world.secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secret, VersionStage: 'ses-smtp-grace', MoveToVersionId: sourceVersion }));

    const deleted = await world.send('Delete', issuedProps, { physicalResourceId: switched.PhysicalResourceId, logicalResourceId: 'CarolCredentials' });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf('carol')).toEqual([automationKey]);
    expect(warnings().join('\n')).toMatch(new RegExp(`access key ${automationKey}, named in a secret of this resource, is not deleted: version ${sourceVersion} .* names it without saying this handler created the key`));
  });
});

describe('a version written under the id of a request in progress', () => {
  /**
   * The version id every delivery of a request writes the primary's credentials under: public, derived from
   * CloudFormation's event log (the operation's first IN_PROGRESS event, lib/handler/stack-log.js) through its
   * claim (lib/handler/journal.js).
   */
  function versionIdOf(logicalId: string, secretArn: string, userName: string): string {
    // The operation's first event: its IN_PROGRESS with no reason.
    const started = [...world.records.stack(world.self.stackId).events].reverse()
      .find((e) => e.logicalId === logicalId && e.status.endsWith('_IN_PROGRESS') && !e.reason && !e.hook)!;
    const claimId = claimIdOf(uuidOf(`${world.self.stackId}|${logicalId}|${started.eventId}`));
    return credentialIdsOf(claimId, parseRequest({ ...props(secretArn), UserName: userName }))[0];
  }

  test('is neither answered as the resource\'s key nor deleted: the delivery fails and changes nothing', async () => {
    // CloudFormation begins creating carol's credentials; the first delivery fails before writing (no user yet).
    const secret = await world.createEmptySecret('smtp/carol');
    const requestId = randomUUID();
    const first = await world.send('Create', { ...props(secret), UserName: 'carol' }, { requestId, logicalResourceId: 'CarolCredentials' });
    expect(first.Status).toBe('FAILED');
    await world.createUser('carol');
    const other = await world.createForeignKey('carol');
    await ageAccessKey(world.moto, other, TWO_HOURS);
    // The attacker reads the stack's events and writes, under that request's version id, a version naming carol's other key.
    await world.secrets.send(new PutSecretValueCommand({
      SecretId: secret, ClientRequestToken: versionIdOf('CarolCredentials', secret, 'carol'), SecretString: JSON.stringify({ username: other, issuedBy: 'ses-smtp-credentials' }), VersionStages: ['AWSCURRENT'],
    }));

    const again = await world.send('Create', { ...props(secret), UserName: 'carol' }, { requestId, logicalResourceId: 'CarolCredentials' });

    expect(again.Status).toBe('FAILED');
    expect(again.Reason).toMatch(new RegExp(`names access key ${other} \\(IAM created it before this operation claimed the secret .*\\); this handler did not write it`));
    expect(again.PhysicalResourceId).not.toContain(other);
    expect(await world.keysOf('carol')).toEqual([other]);
    expect(world.issued).toEqual([]);
  });
});

describe('rotation', () => {
  let alice: Rotating;

  beforeEach(async () => {
    alice = await deployRotating(world, { name: 'smtp/alice', userName: ALICE });
  });

  test('createSecret does not retire a key the attacker labelled as the grace key: the rotation stops, nothing changed', async () => {
    const other = await othersKey();
    await plant(alice.primary, other, ['ses-smtp-grace']);
    const before = { keys: await world.keysOf(ALICE), current: await world.currentValue(alice.primary) };

    const failure = await rotate(world, alice.primary);

    expect(failure?.message).toMatch(new RegExp(`Cannot rotate: IAM user 'alice' has another access key \\(${other}\\).*Key ${other}: version .* was written 2 hours after IAM created the key`));
    expect(await world.keysOf(ALICE)).toEqual(before.keys);
    expect(await world.currentValue(alice.primary)).toEqual(before.current);
  });

  test('createSecret does not retire a key the attacker wrote into another region\'s secret as a failed rotation\'s pending key', async () => {
    // The primary's AWSPENDING is Secrets Manager's to place (RotateSecret moves it); the other regions' are the handler's.
    const both = await deployRotating(world, { name: 'smtp/alice-both', userName: 'alice2', regions: ['eu-west-1', 'eu-central-1'] });
    const key = await world.createForeignKey('alice2');
    await ageAccessKey(world.moto, key, TWO_HOURS);
    await plant(both.secrets[1], key, ['AWSPENDING']);

    const failure = await rotate(world, both.primary);

    expect(failure?.message).toMatch(new RegExp(`Cannot rotate: IAM user 'alice2' has another access key \\(${key}\\)`));
    expect(await world.keysOf('alice2')).toContain(key);
  });

  test('a stack delete still deletes a rotated key whose version lost every other label before the delete', async () => {
    expect(await rotate(world, alice.primary)).toBeUndefined();
    const rotated = (await world.currentValue(alice.primary) as { username: string }).username;
    // Two writes of the secret by someone else: the rotated version keeps only its generation label.
    for (const n of [1, 2]) {
      await world.secrets.send(new PutSecretValueCommand({ SecretId: alice.primary, ClientRequestToken: randomUUID(), SecretString: JSON.stringify({ note: n }), VersionStages: ['AWSCURRENT'] }));
    }

    const deleted = await world.send('Delete', alice.properties, { physicalResourceId: alice.create.PhysicalResourceId, logicalResourceId: alice.logicalId });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(ALICE)).not.toContain(rotated);
    expect(await world.keysOf(ALICE)).not.toContain(alice.create.Data!.AccessKeyId);
  });

  test('a stack delete that fails half-way leaves the rotated key findable: the stack delete tried again removes it', async () => {
    expect(await rotate(world, alice.primary)).toBeUndefined();
    const rotated = (await world.currentValue(alice.primary) as { username: string }).username;
    world.fault = (name) => (name === 'ListAccessKeys' ? awsError('AccessDenied', 'User is not authorized to perform iam:ListAccessKeys', 403) : undefined);

    const first = await world.send('Delete', alice.properties, { physicalResourceId: alice.create.PhysicalResourceId, logicalResourceId: alice.logicalId });
    world.fault = undefined;
    const second = await world.send('Delete', alice.properties, { physicalResourceId: alice.create.PhysicalResourceId, logicalResourceId: alice.logicalId });

    expect(first.Status).toBe('FAILED');
    expect(second.Status).toBe('SUCCESS');
    expect(await world.keysOf(ALICE)).not.toContain(rotated);
    expect(await world.keysOf(ALICE)).toEqual([]);
  });

  /** A value as version 0.1.0 of the handler wrote it, without issuedBy, labelled as the grace version. */
  const legacyGrace = (accessKeyId: string) => plant(alice.primary, accessKeyId, ['ses-smtp-grace'], { issuedBy: false });

  test('after an upgrade, the grace key the previous version of the handler left is still retired', async () => {
    // An hour ago 0.1.0 created a key (CloudTrail names the handler's role) and wrote the value naming it, without
    // issuedBy; now the stack is updated to this code.
    const legacyKey = await world.createKeyAsHandlerRole(ALICE);
    const legacyVersion = await legacyGrace(legacyKey);
    await ageAccessKey(world.moto, legacyKey, 3600);
    await ageSecretVersion(world.moto, alice.primary, legacyVersion, 3600);
    world.deployHandler();

    expect(await rotate(world, alice.primary)).toBeUndefined();

    expect(await world.keysOf(ALICE)).not.toContain(legacyKey);
    expect(await world.keysOf(ALICE)).toHaveLength(2);
  });

  test('an unmarked value an earlier build wrote for the IAM automation\'s key, labelled grace by someone, does not retire that key after an upgrade', async () => {
    // An hour ago the IAM automation created alice's key, and an earlier build of the handler (one that marked only the
    // keys it issued) wrote a key source's value naming it, within minutes; the stack is then updated to this code.
    const automationKey = await world.createForeignKey(ALICE);
    const oldVersion = await legacyGrace(automationKey);
    await ageAccessKey(world.moto, automationKey, 3600);
    await ageSecretVersion(world.moto, alice.primary, oldVersion, 3600);
    world.deployHandler();

    const failure = await rotate(world, alice.primary);

    expect(failure?.message).toMatch(new RegExp(`Cannot rotate: IAM user 'alice' has another access key \\(${automationKey}\\).*CloudTrail shows someone other than this handler's role created the key`));
    expect(await world.keysOf(ALICE)).toContain(automationKey);
  });

  test('a value without issuedBy written after the handler was deployed does not vouch, however close to the key\'s creation', async () => {
    world.deployHandler();
    const other = await world.createForeignKey(ALICE);
    await legacyGrace(other);

    const failure = await rotate(world, alice.primary);

    expect(failure?.message).toMatch(new RegExp(`Cannot rotate: IAM user 'alice' has another access key \\(${other}\\).*names it without saying this handler created the key`));
    expect(await world.keysOf(ALICE)).toContain(other);
  });

  test('the grace key of a real rotation is still retired by the next one (its version vouches for it)', async () => {
    expect(await rotate(world, alice.primary)).toBeUndefined();
    const grace = alice.create.Data!.AccessKeyId;
    expect(await world.keysOf(ALICE)).toContain(grace);

    expect(await rotate(world, alice.primary)).toBeUndefined();

    expect(await world.keysOf(ALICE)).not.toContain(grace);
    expect(await world.keysOf(ALICE)).toHaveLength(2);
  });
});
