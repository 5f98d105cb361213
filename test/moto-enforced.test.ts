/**
 * The enforcing moto launcher (test/support/moto_enforced.py) decides as AWS
 * does: identity policies evaluated against the ARN of the user, role or
 * secret a call names, with conditions, and denials shaped so AWS SDK v3
 * reports them by their AWS names. The harness key 'testing' plays the
 * administrator; everything else runs as an assumed role or an IAM user.
 */
import {
  AttachRolePolicyCommand, CreateAccessKeyCommand, CreatePolicyCommand, CreateRoleCommand, CreateUserCommand,
  DeleteAccessKeyCommand, DetachRolePolicyCommand, IAMClient, ListAccessKeysCommand, ListUserTagsCommand,
  PutRolePolicyCommand, PutUserPolicyCommand, TagUserCommand, UntagUserCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Moto, clearDecisions, decisions, motoClientConfig, startMoto } from './support/moto';
import { SessionCredentials, assumeRole } from './support/sts-assume-role';

const REGION = 'eu-west-1';
const ROLE = 'smtp-credentials-handler';

let moto: Moto;
let admin: { iam: IAMClient; secrets: SecretsManagerClient };

beforeAll(async () => {
  moto = await startMoto({ enforceIam: true });
  admin = { iam: new IAMClient(motoClientConfig(moto, REGION)), secrets: new SecretsManagerClient(motoClientConfig(moto, REGION)) };
});
afterAll(() => moto?.stop());
beforeEach(async () => {
  await moto.reset();
  await clearDecisions(moto);
});

type Statement = Record<string, unknown>;
const policy = (...Statement: Statement[]) => JSON.stringify({ Version: '2012-10-17', Statement });

function clientsFor(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  const config = { ...motoClientConfig(moto, REGION), credentials };
  return { iam: new IAMClient(config), secrets: new SecretsManagerClient(config) };
}

/** Creates a user (with tags) as the administrator; returns its ARN. */
async function createUser(name: string, tags: Record<string, string> = {}): Promise<string> {
  const { User } = await admin.iam.send(new CreateUserCommand({ UserName: name, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
  return User!.Arn!;
}

async function createKey(user: string): Promise<string> {
  return (await admin.iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!.AccessKeyId!;
}

async function keysOf(user: string): Promise<string[]> {
  return ((await admin.iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!);
}

async function createSecret(name: string, tags: Record<string, string> = {}): Promise<string> {
  const { ARN } = await admin.secrets.send(new CreateSecretCommand({
    Name: name, SecretString: '{}', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  }));
  return ARN!;
}

/** Creates the handler role with an inline policy, assumes it, and returns its clients. */
async function assumeRoleWith(inlinePolicy?: string, configure?: (roleName: string) => Promise<void>) {
  const { Role } = await admin.iam.send(new CreateRoleCommand({
    RoleName: ROLE,
    AssumeRolePolicyDocument: policy({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }),
  }));
  if (inlinePolicy) await admin.iam.send(new PutRolePolicyCommand({ RoleName: ROLE, PolicyName: 'handler', PolicyDocument: inlinePolicy }));
  await configure?.(ROLE);
  const session: SessionCredentials = await assumeRole(moto.endpoint, Role!.Arn!, 'handler-session');
  return { ...clientsFor(session), sessionArn: Role!.Arn!.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + '/handler-session' };
}

/** The AWS SDK v3 error name a call fails with, or 'ok'. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    return (error as Error).name;
  }
}

async function failure(call: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('IAM calls are authorised against the ARN of the user they name', () => {
  test("a role allowed iam:DeleteAccessKey on alice's ARN deletes alice's key and is denied on bob's", async () => {
    const alice = await createUser('alice');
    const bob = await createUser('bob');
    const aliceKey = await createKey('alice');
    const bobKey = await createKey('bob');
    const role = await assumeRoleWith(policy({ Effect: 'Allow', Action: 'iam:DeleteAccessKey', Resource: alice }));

    const onAlice = await outcome(role.iam.send(new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: aliceKey })));
    const onBob = await failure(role.iam.send(new DeleteAccessKeyCommand({ UserName: 'bob', AccessKeyId: bobKey })));

    expect(onAlice).toBe('ok');
    expect(await keysOf('alice')).toEqual([]);
    expect(onBob.name).toBe('AccessDenied');
    expect(onBob.$metadata?.httpStatusCode).toBe(403);
    expect(onBob.message).toBe(`User: ${role.sessionArn} is not authorized to perform: iam:DeleteAccessKey on resource: ${bob} `
      + 'because no identity-based policy allows the iam:DeleteAccessKey action');
    expect(await keysOf('bob')).toEqual([bobKey]);
  });

  test("a user's path is part of the ARN the call is authorised against", async () => {
    await admin.iam.send(new CreateUserCommand({ UserName: 'relay', Path: '/mail/' }));
    const role = await assumeRoleWith(policy({ Effect: 'Allow', Action: 'iam:ListAccessKeys', Resource: 'arn:aws:iam::*:user/mail/*' }));

    const listed = await outcome(role.iam.send(new ListAccessKeysCommand({ UserName: 'relay' })));

    expect(listed).toBe('ok');
    expect((await decisions(moto)).map((d) => d.resource)).toEqual([expect.stringMatching(/:user\/mail\/relay$/)]);
  });

  test('an IAM user is authorised by its own policies, and a call without UserName names the caller', async () => {
    const carol = await createUser('carol');
    await createUser('bob');
    await admin.iam.send(new PutUserPolicyCommand({
      UserName: 'carol', PolicyName: 'self', PolicyDocument: policy({ Effect: 'Allow', Action: 'iam:ListAccessKeys', Resource: carol }),
    }));
    const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'carol' }));
    const asCarol = clientsFor({ accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! });

    const own = await outcome(asCarol.iam.send(new ListAccessKeysCommand({})));
    const bobs = await failure(asCarol.iam.send(new ListAccessKeysCommand({ UserName: 'bob' })));

    expect(own).toBe('ok');
    expect(bobs.name).toBe('AccessDenied');
    expect(bobs.message).toMatch(new RegExp(`^User: ${carol} is not authorized to perform: iam:ListAccessKeys on resource: arn:aws:iam::\\d+:user/bob `));
  });
});

describe('conditions on resource tags', () => {
  test('a statement on user/* with StringEquals aws:ResourceTag/owner allows only users with that tag, and stops after UntagUser', async () => {
    await createUser('alice', { owner: 'mail-team' });
    await createUser('bob', { owner: 'someone-else' });
    await createUser('dave');
    const role = await assumeRoleWith(policy({
      Effect: 'Allow', Action: 'iam:ListAccessKeys', Resource: 'arn:aws:iam::*:user/*',
      Condition: { StringEquals: { 'aws:ResourceTag/owner': 'mail-team' } },
    }));
    const list = (user: string) => outcome(role.iam.send(new ListAccessKeysCommand({ UserName: user })));

    const before = { alice: await list('alice'), bob: await list('bob'), dave: await list('dave') };
    await admin.iam.send(new UntagUserCommand({ UserName: 'alice', TagKeys: ['owner'] }));
    const afterUntag = await list('alice');

    expect(before).toEqual({ alice: 'ok', bob: 'AccessDenied', dave: 'AccessDenied' });
    expect(afterUntag).toBe('AccessDenied');
  });

  test('a tag condition on a secret allows only secrets carrying the tag', async () => {
    const tagged = await createSecret('smtp/tagged', { 'managed-by': 'ses-smtp-credentials' });
    const untagged = await createSecret('smtp/untagged');
    const role = await assumeRoleWith(policy({
      Effect: 'Allow', Action: 'secretsmanager:PutSecretValue', Resource: '*',
      Condition: { StringEquals: { 'secretsmanager:ResourceTag/managed-by': 'ses-smtp-credentials' } },
    }));
    const put = (id: string) => outcome(role.secrets.send(new PutSecretValueCommand({ SecretId: id, SecretString: '{"v":2}' })));

    expect(await put(tagged)).toBe('ok');
    expect(await put(untagged)).toBe('AccessDeniedException');
  });

  test('TagUser with ForAllValues:StringEquals aws:TagKeys sets only the listed tag keys', async () => {
    await createUser('alice');
    const role = await assumeRoleWith(policy({
      Effect: 'Allow', Action: 'iam:TagUser', Resource: 'arn:aws:iam::*:user/*',
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['owner', 'team'] } },
    }));
    const tag = (tags: Record<string, string>) => outcome(role.iam.send(new TagUserCommand({
      UserName: 'alice', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    })));

    const allowedKeys = await tag({ owner: 'mail-team', team: 'ops' });
    const oneOtherKey = await tag({ owner: 'mail-team', admin: 'true' });

    expect(allowedKeys).toBe('ok');
    expect(oneOtherKey).toBe('AccessDenied');
    const { Tags } = await admin.iam.send(new ListUserTagsCommand({ UserName: 'alice' }));
    expect(Object.fromEntries(Tags!.map((t) => [t.Key, t.Value]))).toEqual({ owner: 'mail-team', team: 'ops' });
  });
});

describe('Secrets Manager calls are authorised against the secret ARN', () => {
  test('a role allowed one secret (name-?????? pattern) reads it by name or ARN, and is denied another with AccessDeniedException', async () => {
    const mine = await createSecret('smtp/alice');
    const other = await createSecret('smtp/bob');
    const role = await assumeRoleWith(policy({
      Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: mine.replace(/-[A-Za-z0-9]{6}$/, '-??????'),
    }));

    const byName = await outcome(role.secrets.send(new GetSecretValueCommand({ SecretId: 'smtp/alice' })));
    const byArn = await outcome(role.secrets.send(new DescribeSecretCommand({ SecretId: mine })));
    const denied = await failure(role.secrets.send(new GetSecretValueCommand({ SecretId: 'smtp/bob' })));

    expect(byName).toBe('ok');
    expect(byArn).toBe('ok');
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.$metadata?.httpStatusCode).toBe(400);
    expect(denied.message).toBe(`User: ${role.sessionArn} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${other} `
      + 'because no identity-based policy allows the secretsmanager:GetSecretValue action');
  });
});

describe('policy evaluation', () => {
  test('an explicit Deny beats an Allow', async () => {
    const alice = await createUser('alice');
    const key = await createKey('alice');
    const role = await assumeRoleWith(policy(
      { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
      { Sid: 'KeepAlicesKey', Effect: 'Deny', Action: 'iam:DeleteAccessKey', Resource: alice },
    ));

    const listed = await outcome(role.iam.send(new ListAccessKeysCommand({ UserName: 'alice' })));
    const deleted = await failure(role.iam.send(new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: key })));

    expect(listed).toBe('ok');
    expect(deleted.name).toBe('AccessDenied');
    expect(deleted.message).toMatch(/with an explicit deny in an identity-based policy$/);
    expect(await keysOf('alice')).toEqual([key]);
  });

  test('managed policies attached to the role are evaluated, and stop counting once detached', async () => {
    await createUser('alice');
    const { Policy } = await admin.iam.send(new CreatePolicyCommand({
      PolicyName: 'list-keys', PolicyDocument: policy({ Effect: 'Allow', Action: 'iam:ListAccessKeys', Resource: '*' }),
    }));
    const role = await assumeRoleWith(undefined, (roleName) => admin.iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: Policy!.Arn! })).then(() => undefined));
    const list = () => outcome(role.iam.send(new ListAccessKeysCommand({ UserName: 'alice' })));

    const attached = await list();
    await admin.iam.send(new DetachRolePolicyCommand({ RoleName: ROLE, PolicyArn: Policy!.Arn! }));
    const detached = await list();

    expect(attached).toBe('ok');
    expect(detached).toBe('AccessDenied');
  });

  test('an unknown access key is InvalidClientTokenId to IAM and UnrecognizedClientException to Secrets Manager', async () => {
    const stranger = clientsFor({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'not-a-real-secret' });

    const iam = await failure(stranger.iam.send(new ListAccessKeysCommand({ UserName: 'alice' })));
    const secrets = await failure(stranger.secrets.send(new GetSecretValueCommand({ SecretId: 'smtp/alice' })));

    expect([iam.name, iam.$metadata?.httpStatusCode]).toEqual(['InvalidClientTokenId', 403]);
    expect([secrets.name, secrets.$metadata?.httpStatusCode]).toEqual(['UnrecognizedClientException', 400]);
  });
});

describe('the decisions endpoint', () => {
  test('records each decision with principal, action, resource, effect and deciding statement', async () => {
    const alice = await createUser('alice');
    const bob = await createUser('bob');
    const role = await assumeRoleWith(policy({ Sid: 'AliceOnly', Effect: 'Allow', Action: 'iam:ListAccessKeys', Resource: alice }));

    await role.iam.send(new ListAccessKeysCommand({ UserName: 'alice' }));
    await outcome(role.iam.send(new ListAccessKeysCommand({ UserName: 'bob' })));

    expect(await decisions(moto)).toEqual([
      { principal: role.sessionArn, action: 'iam:ListAccessKeys', resource: alice, effect: 'allow', reason: 'allow', statement: `role/${ROLE}:handler#AliceOnly` },
      { principal: role.sessionArn, action: 'iam:ListAccessKeys', resource: bob, effect: 'deny', reason: 'implicit-deny', statement: null },
    ]);
    await clearDecisions(moto);
    expect(await decisions(moto)).toEqual([]);
  });
});
