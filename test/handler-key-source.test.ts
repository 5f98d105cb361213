/**
 * Keys the organisation's IAM automation issued and stored in Secrets Manager,
 * against moto: the handler reads, validates and derives, and never creates
 * or deletes a key in this mode.
 */
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { deriveSmtpPassword } from '../lib/handler/smtp-password';
import { deployRotating } from './support/rotating';
import { World } from './support/world';

const USER = 'app-mailer';
const world = new World();
let target: string;
let source: string;
let automationKey: { AccessKeyId: string; SecretAccessKey: string };

/** The automation's own key for the user (made directly, not by the handler). */
async function automationIssuesKey() {
  const out = await world.iam.send(new CreateAccessKeyCommand({ UserName: USER }));
  world.issued.pop();
  return { AccessKeyId: out.AccessKey!.AccessKeyId!, SecretAccessKey: out.AccessKey!.SecretAccessKey! };
}

async function sourceSecret(value: string, name = 'iam-automation/app-mailer') {
  return (await world.secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }))).ARN!;
}

function props(sourceProps: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    UserName: USER,
    Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: target }],
    Source: { SecretArn: source, ...sourceProps },
    ...overrides,
  };
}
const JSON_FIELDS = { AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' };

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.iam.send(new CreateUserCommand({ UserName: USER }));
  automationKey = await automationIssuesKey();
  target = await world.createEmptySecret('smtp/eu-west-1');
});

describe('reading the key source', () => {
  test('derives from a JSON source without creating a key, and Delete leaves the key alone', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));

    const create = await world.send('Create', props(JSON_FIELDS));
    const remove = await world.send('Delete', props(JSON_FIELDS), { physicalResourceId: create.PhysicalResourceId });

    expect(create.Status).toBe('SUCCESS');
    expect(remove.Status).toBe('SUCCESS');
    expect(create.PhysicalResourceId).toMatch(new RegExp(`^source/${USER}/${automationKey.AccessKeyId}/`));
    expect(await world.currentValue(target)).toMatchObject({ username: automationKey.AccessKeyId, password: deriveSmtpPassword(automationKey.SecretAccessKey, 'eu-west-1') });
    expect(world.calls).not.toContain('CreateAccessKey');
    expect(world.calls).not.toContain('DeleteAccessKey');
    expect(await world.keysOf(USER)).toEqual([automationKey.AccessKeyId]);
  });

  test('honours custom field names', async () => {
    source = await sourceSecret(JSON.stringify({ aws_access_key_id: automationKey.AccessKeyId, aws_secret_access_key: automationKey.SecretAccessKey }));

    const create = await world.send('Create', props({ AccessKeyIdField: 'aws_access_key_id', SecretAccessKeyField: 'aws_secret_access_key' }));

    expect(create.Status).toBe('SUCCESS');
    expect(await world.currentValue(target)).toMatchObject({ username: automationKey.AccessKeyId });
  });

  test('reads a plain-string secret access key with the id given separately', async () => {
    source = await sourceSecret(automationKey.SecretAccessKey);

    const create = await world.send('Create', props({ AccessKeyId: automationKey.AccessKeyId }));

    expect(create.Status).toBe('SUCCESS');
    expect(await world.currentValue(target)).toMatchObject({ username: automationKey.AccessKeyId, password: deriveSmtpPassword(automationKey.SecretAccessKey, 'eu-west-1') });
  });
});

describe('bad key sources fail clearly and write nothing', () => {
  const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

  test.each([
    ['temporary STS credentials', JSON.stringify({ AccessKeyId: 'ASIAIOSFODNN7EXAMPLE', SecretAccessKey: secretKey }), JSON_FIELDS, 'holds a temporary (STS) access key id \'ASIAIOSFODNN7EXAMPLE\'. SES SMTP credentials can only be derived from a long-term IAM user key'],
    ['a missing secret field', JSON.stringify({ AccessKeyId: 'AKIAIOSFODNN7EXAMPLE' }), JSON_FIELDS, "has no string field 'SecretAccessKey' (expected the secret access key); fields present: AccessKeyId"],
    ['a missing id field', JSON.stringify({ SecretAccessKey: secretKey }), JSON_FIELDS, "has no string field 'AccessKeyId'"],
    ['a value that is not JSON', 'not json', JSON_FIELDS, 'is not a JSON object, but field names were given'],
    ['an id that is not an access key id', JSON.stringify({ AccessKeyId: 'my-user', SecretAccessKey: secretKey }), JSON_FIELDS, 'does not look like an IAM access key id'],
    ['a malformed secret access key', JSON.stringify({ AccessKeyId: 'AKIAIOSFODNN7EXAMPLE', SecretAccessKey: 'has spaces in it !!' }), JSON_FIELDS, 'the secret access key is malformed'],
  ])('%s', async (_what, value, fields, reason) => {
    source = await sourceSecret(value);

    const create = await world.send('Create', props(fields));

    expect(create.Status).toBe('FAILED');
    expect(create.Reason).toContain(`Source secret ${source}`);
    expect(create.Reason).toContain(reason);
    expect(await world.currentValue(target)).toBeUndefined();
    expect(world.calls).not.toContain('PutSecretValue');
  });

  test('a source secret that cannot be read', async () => {
    source = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iam-automation/missing-AbCdEf';

    const create = await world.send('Create', props(JSON_FIELDS));

    expect(create.Status).toBe('FAILED');
    expect(create.Reason).toContain('does not exist, has no current value or is a binary secret');
  });

  test('a secret access key put into the id field is not echoed in the reason', async () => {
    source = await sourceSecret(JSON.stringify({ AccessKeyId: automationKey.SecretAccessKey, SecretAccessKey: automationKey.SecretAccessKey }));

    const create = await world.send('Create', props(JSON_FIELDS));

    expect(create.Status).toBe('FAILED');
    expect([...world.server.raw, ...world.logs].join('\n')).not.toContain(automationKey.SecretAccessKey);
  });
});

/** A Create as the construct makes it when it follows the source: its properties registered in its template Metadata. */
function createFollowing(properties = props(JSON_FIELDS)) {
  return world.send('Create', properties, { metadata: { 'SesSmtpCredentials:Registration': properties } });
}

/** The EventBridge rule's event: it names only the custom resource. */
function keySourceChanged(detail?: Record<string, unknown>) {
  return world.invoke({ SesSmtpSync: { LogicalResourceId: 'SmtpCredentials' }, ...(detail ? { detail } : {}) });
}

describe('following the key source', () => {

  test('when the automation rotates the source, the SMTP secret follows on its EventBridge event', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));
    await createFollowing();
    const rotated = await automationIssuesKey();
    await world.secrets.send(new PutSecretValueCommand({ SecretId: source, SecretString: JSON.stringify(rotated) }));

    await keySourceChanged({ eventName: 'PutSecretValue', requestParameters: { secretId: 'iam-automation/app-mailer' } });

    expect(await world.currentValue(target)).toMatchObject({ username: rotated.AccessKeyId, password: deriveSmtpPassword(rotated.SecretAccessKey, 'eu-west-1') });
    expect(world.logs.join('\n')).toContain('"outcome":"updated"');
  });

  test('events about other secrets are ignored', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));
    await createFollowing();
    await world.secrets.send(new PutSecretValueCommand({ SecretId: source, SecretString: JSON.stringify(await automationIssuesKey()) }));
    world.calls.length = 0;

    await keySourceChanged({ eventName: 'PutSecretValue', requestParameters: { secretId: 'some/other-secret' } });

    expect(world.calls).toEqual(['DescribeStackResource']); // the registration, which names the source
    expect(await world.currentValue(target)).toMatchObject({ username: automationKey.AccessKeyId });
  });

  test('a RotationSucceeded event names the secret in additionalEventData: other secrets are ignored', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));
    await createFollowing();
    world.calls.length = 0;

    await keySourceChanged({ eventName: 'RotationSucceeded', additionalEventData: { SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf' } });

    expect(world.calls).toEqual(['DescribeStackResource']);
  });

  test('an event that changes nothing writes nothing', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));
    await createFollowing();
    world.calls.length = 0;

    await keySourceChanged({ eventName: 'UpdateSecret', requestParameters: { secretId: source } });

    expect(world.calls).toContain('GetSecretValue'); // it did look
    expect(world.calls).not.toContain('PutSecretValue');
    expect(world.logs.join('\n')).toContain('"outcome":"unchanged"');
  });

  test('a changed serial re-reads the source at deploy time', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));
    const create = await createFollowing();
    const rotated = await automationIssuesKey();
    await world.secrets.send(new PutSecretValueCommand({ SecretId: source, SecretString: JSON.stringify(rotated) }));

    const update = await world.send('Update', props(JSON_FIELDS, { Serial: '2' }), { physicalResourceId: create.PhysicalResourceId, oldResourceProperties: props(JSON_FIELDS) });
    const cleanup = await world.send('Delete', props(JSON_FIELDS), { physicalResourceId: create.PhysicalResourceId });

    expect(update.Status).toBe('SUCCESS');
    expect(cleanup.Status).toBe('SUCCESS');
    expect(await world.currentValue(target)).toMatchObject({ username: rotated.AccessKeyId });
    expect(await world.keysOf(USER)).toEqual([automationKey.AccessKeyId, rotated.AccessKeyId].sort()); // the automation's keys are its own
  });
});

describe('scheduled rotation with a key source', () => {
  test('only re-derives from the source: no key is created or deleted', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));
    const rotating = await deployRotating(world, { name: 'smtp/rotating', userName: USER, source: { SecretArn: source, ...JSON_FIELDS } });
    target = rotating.primary;
    const rotated = await automationIssuesKey();
    await world.secrets.send(new PutSecretValueCommand({ SecretId: source, SecretString: JSON.stringify(rotated) }));
    const token = await world.beginRotation(target);
    world.calls.length = 0;

    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await world.invoke({ Step: step, SecretId: target, ClientRequestToken: token });
    }

    expect(await world.currentValue(target)).toMatchObject({ username: rotated.AccessKeyId, password: deriveSmtpPassword(rotated.SecretAccessKey, 'eu-west-1') });
    expect(world.calls).toContain('PutSecretValue');
    expect(world.calls).not.toContain('CreateAccessKey');
    expect(world.calls).not.toContain('DeleteAccessKey');
    expect(await world.keysOf(USER)).toEqual([automationKey.AccessKeyId, rotated.AccessKeyId].sort());
  });
});

describe('the source key must be a key of the construct\'s user', () => {
  test('a source holding another user\'s key fails clearly at deploy time and writes nothing', async () => {
    await world.iam.send(new CreateUserCommand({ UserName: 'someone-else' }));
    const foreign = await world.iam.send(new CreateAccessKeyCommand({ UserName: 'someone-else' }));
    world.issued.pop();
    source = await sourceSecret(JSON.stringify({ AccessKeyId: foreign.AccessKey!.AccessKeyId, SecretAccessKey: foreign.AccessKey!.SecretAccessKey }));

    const create = await createFollowing();

    expect(create.Status).toBe('FAILED');
    expect(create.Reason).toContain(`holds access key ${foreign.AccessKey!.AccessKeyId}, which is not a key of IAM user '${USER}'`);
    expect(await world.currentValue(target)).toBeUndefined();
    expect(world.calls).not.toContain('PutSecretValue');
  });

  test('a source that changes to another user\'s key is not followed', async () => {
    source = await sourceSecret(JSON.stringify(automationKey));
    await createFollowing();
    await world.iam.send(new CreateUserCommand({ UserName: 'someone-else' }));
    const foreign = await world.iam.send(new CreateAccessKeyCommand({ UserName: 'someone-else' }));
    world.issued.pop();
    await world.secrets.send(new PutSecretValueCommand({ SecretId: source, SecretString: JSON.stringify({ AccessKeyId: foreign.AccessKey!.AccessKeyId, SecretAccessKey: foreign.AccessKey!.SecretAccessKey }) }));

    await expect(keySourceChanged({ eventName: 'PutSecretValue', requestParameters: { secretId: source } }))
      .rejects.toThrow(`which is not a key of IAM user '${USER}'`);

    expect(await world.currentValue(target)).toMatchObject({ username: automationKey.AccessKeyId });
  });

  test('a key id IAM does not know is refused', async () => {
    source = await sourceSecret(JSON.stringify({ AccessKeyId: 'AKIAIOSFODNN7EXAMPLE', SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }));

    const create = await createFollowing();

    expect(create.Status).toBe('FAILED');
    expect(create.Reason).toContain(`AKIAIOSFODNN7EXAMPLE, which is not a key of IAM user '${USER}'`);
  });
});

describe('a corrected secret access key under the same key id', () => {
  test('is re-derived when the source changes, though the key id did not', async () => {
    source = await sourceSecret(JSON.stringify({ AccessKeyId: automationKey.AccessKeyId, SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }));
    await createFollowing();
    await world.secrets.send(new PutSecretValueCommand({ SecretId: source, SecretString: JSON.stringify(automationKey) }));

    await keySourceChanged({ eventName: 'PutSecretValue', requestParameters: { secretId: source } });

    expect(await world.currentValue(target)).toMatchObject({ username: automationKey.AccessKeyId, password: deriveSmtpPassword(automationKey.SecretAccessKey, 'eu-west-1') });
    expect(world.logs.join('\n')).toContain('"outcome":"updated"');
  });
});
