/**
 * The real-account check (scripts/real-account/, docs/real-account-check.md)
 * as far as it can be checked without an account:
 * - it never reads a secret value: no source of it names GetSecretValue
 *   except the guard that refuses it, and the guard refuses before sending;
 * - its assertions fail where they must (invariant.ts: a leftover key, a
 *   stray owner tag, a wrong label), fed both made-up observations and
 *   observations of moto made with the check's own AWS calls;
 * - it reads the handler's log lines and CloudFormation's records as Lambda
 *   and CloudFormation write them (records.ts), and pages through them;
 * - the sibling that fails on purpose (its code as synthesized into the
 *   snapshot) answers FAILED at the first owner tag or key on a watched
 *   user, and SUCCESS to the rollback's Delete (run here against moto);
 * - its steps run end to end, against a pretend account
 *   (support/integ-fake-account.ts): passed for a handler that behaves as
 *   documented, failed for one that keeps a cancelled Create's key,
 *   inconclusive when nothing was in flight at the cancellation.
 * What needs a real account (CloudFormation's own behaviour) is in the docs.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetSecretValueCommand, CreateSecretCommand, DeleteSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Aws, RUN_TAG_KEY } from '../scripts/real-account/aws';
import { Declared, Observation, ObservedSecret, invariantFindings } from '../scripts/real-account/invariant';
import { PlannedCredentials, readPlan } from '../scripts/real-account/plan';
import {
  Invocation, LogEvent, StackEventRecord, cancelledOperations, invocationsOf, loggedPropertiesMismatch, operationsOf, resolveRefs,
} from '../scripts/real-account/records';
import { EXIT, foundBeforeTeardown, summaryOf, verdictOf } from '../scripts/real-account/report';
import { Scenario } from '../scripts/real-account/scenario';
import { teardown } from '../scripts/real-account/teardown';
import { CloudFormationRecords } from './support/cfn-records';
import { FakeAccount, FakeAccountOptions } from './support/integ-fake-account';
import { SNAPSHOT_DIR } from './support/integ-snapshot';
import { Moto, motoClientConfig, startMoto } from './support/moto';

const ROOT = path.join(__dirname, '..');
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/ses-smtp-credentials-integ/0f1e2d3c-0000-4000-8000-000000000001';
const TAG = 'SesSmtpCredentials:ses-smtp-credentials-integ';
const KEY_A = 'AKIAAAAAAAAAAAAAAAAA';
const KEY_R0 = 'AKIAR000000000000000';
const KEY_R1 = 'AKIAR111111111111111';
const KEY_X = 'AKIAXXXXXXXXXXXXXXXX';
const FP_A = '0123456789abcdef';
const FP_R = 'fedcba9876543210';

/** Every file of the check: the app, its runner, the snapshot support. */
function checkSources(): string[] {
  const runner = path.join(ROOT, 'scripts', 'real-account');
  return [
    path.join(ROOT, 'test', 'integ.ses-smtp-user.ts'),
    path.join(ROOT, 'test', 'support', 'integ-snapshot.ts'),
    path.join(ROOT, 'scripts', 'integ-snapshot.ts'),
    ...fs.readdirSync(runner).map((f) => path.join(runner, f)),
  ];
}

describe('the real-account check never reads a secret value', () => {
  test('no source of the check names GetSecretValue, except the guard that refuses it', () => {
    const mentions = checkSources().flatMap((file) => fs.readFileSync(file, 'utf8').split('\n')
      .filter((line) => /getsecretvalue/i.test(line))
      .map((line) => `${path.relative(ROOT, file)}: ${line.trim()}`));

    expect(checkSources().length).toBeGreaterThanOrEqual(9);
    expect(mentions).toEqual(['scripts/real-account/aws.ts: const SECRET_VALUE_COMMANDS = /^(Batch)?GetSecretValue(Command)?$/;']);
  });

  test('the synthesized app grants no principal of the test app a secret value: only the library\'s handler role', () => {
    const templates = fs.readdirSync(SNAPSHOT_DIR).filter((f) => f.endsWith('.template.json'))
      .map((f) => JSON.parse(fs.readFileSync(path.join(SNAPSHOT_DIR, f), 'utf8')) as { Resources: Record<string, { Type: string; Properties?: { Roles?: unknown } }> });
    const granting = templates.flatMap((t) => Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('secretsmanager:GetSecretValue'))
      .map(([, r]) => JSON.stringify(r.Properties?.Roles)));

    expect(granting.length).toBe(templates.length);
    expect(new Set(granting)).toEqual(new Set(['[{"Ref":"SesSmtpCredentialsHandlerRole6E5CB05B"}]']));
  });

  test('its Secrets Manager client refuses GetSecretValue and BatchGetSecretValue before sending anything', async () => {
    // Port 9 on loopback: nothing listens, so a request that were sent would fail with ECONNREFUSED instead.
    const aws = new Aws({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

    await expect(aws.secrets.send(new GetSecretValueCommand({ SecretId: 'any' }))).rejects.toThrow('never reads a secret value (refused GetSecretValueCommand)');
    await expect(aws.secrets.send(new BatchGetSecretValueCommand({ SecretIdList: ['any'] }))).rejects.toThrow('refused BatchGetSecretValueCommand');
    await expect(aws.secrets.send(new DeleteSecretCommand({ SecretId: 'any' }))).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

// ---- the invariant ---------------------------------------------------------

const smtpA: PlannedCredentials = {
  logicalId: 'SmtpCredentials', userName: 'user-a', rotating: false, properties: {},
  targets: [{ region: 'eu-west-1', secretLogicalId: 'SmtpSecret' }],
};
const rotatingR: PlannedCredentials = {
  logicalId: 'RotatingCredentials', userName: 'user-r', rotating: true, properties: {},
  targets: [{ region: 'eu-west-1', secretLogicalId: 'RotatingSecret' }, { region: 'eu-central-1', secretLogicalId: 'RotatingSecretEu' }],
};

function reservedTags(logicalId: string): Record<string, string> {
  return {
    'aws:cloudformation:stack-id': STACK_ID,
    'aws:cloudformation:stack-name': 'ses-smtp-credentials-integ',
    'aws:cloudformation:logical-id': logicalId,
  };
}

function secret(logicalId: string, stages: Record<string, string[]>): ObservedSecret {
  return { exists: true, deleted: false, stages, tags: reservedTags(logicalId) };
}

/** A healthy stack after one rotation of R: A holds its one key, R its current and grace key, X nothing. */
function healthy(): { declared: Declared; observed: Observation } {
  return {
    declared: {
      live: [smtpA, rotatingR], users: ['user-a', 'user-r', 'user-x'], ownerTagKey: TAG,
      rotations: { RotatingCredentials: { current: KEY_R1, grace: KEY_R0 } }, gone: ['arn:gone'],
    },
    observed: {
      stackId: STACK_ID,
      stackName: 'ses-smtp-credentials-integ',
      physicalIds: {
        SmtpCredentials: `key/user-a/${KEY_A}/${FP_A}`, RotatingCredentials: `key/user-r/${KEY_R0}/${FP_R}`,
        SmtpSecret: 'arn:a', RotatingSecret: 'arn:r', RotatingSecretEu: 'arn:r-eu',
      },
      users: {
        'user-a': { exists: true, keys: [{ id: KEY_A, status: 'Active' }], tags: { [TAG]: STACK_ID } },
        'user-r': { exists: true, keys: [{ id: KEY_R0, status: 'Active' }, { id: KEY_R1, status: 'Active' }], tags: { [TAG]: STACK_ID } },
        'user-x': { exists: true, keys: [], tags: {} },
      },
      secrets: {
        'arn:a': secret('SmtpSecret', { v1: ['AWSCURRENT', `ses-smtp-${FP_A}`] }),
        'arn:r': secret('RotatingSecret', { v1: ['AWSPREVIOUS', 'ses-smtp-grace'], v2: ['AWSCURRENT', `ses-smtp-${FP_R}`] }),
        'arn:r-eu': secret('RotatingSecretEu', { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT', `ses-smtp-${FP_R}`] }),
        'arn:gone': { exists: false, deleted: true, stages: {}, tags: {} },
      },
    },
  };
}

describe('the invariant the check asserts after every step', () => {
  test('holds for a healthy stack', () => {
    const { declared, observed } = healthy();

    expect(invariantFindings(declared, observed)).toEqual([]);
  });

  test('fails on a key no live SesSmtpUser names (a cancelled Create\'s key), and on its owner tag', () => {
    const { declared, observed } = healthy();
    const leaked = { ...observed, users: { ...observed.users, 'user-x': { exists: true, keys: [{ id: KEY_X, status: 'Active' }], tags: { [TAG]: STACK_ID } } } };

    expect(invariantFindings(declared, leaked)).toEqual([
      `IAM user user-x holds 1 key(s) [${KEY_X}], expected []; left over: ${KEY_X}`,
      `IAM user user-x holds no key of this stack but still carries the owner tag ${TAG}`,
    ]);
  });

  test('fails on a second key of a user that does not rotate, and on a key that is not Active', () => {
    const { declared, observed } = healthy();
    const twoKeys = { ...observed, users: { ...observed.users, 'user-a': { exists: true, keys: [{ id: KEY_A, status: 'Inactive' }, { id: KEY_X, status: 'Active' }], tags: { [TAG]: STACK_ID } } } };

    expect(invariantFindings(declared, twoKeys)).toEqual([
      `IAM user user-a holds 2 key(s) [${KEY_A}, ${KEY_X}], expected [${KEY_A}]; left over: ${KEY_X}`,
      `IAM user user-a: key ${KEY_A} is Inactive, not Active`,
    ]);
  });

  test('fails when the rotation\'s grace key is gone or a third key appears', () => {
    const { declared, observed } = healthy();
    const users = { ...observed.users, 'user-r': { exists: true, keys: [{ id: KEY_R1, status: 'Active' }, { id: KEY_X, status: 'Active' }], tags: { [TAG]: STACK_ID } } };

    expect(invariantFindings(declared, { ...observed, users })).toEqual([
      `IAM user user-r holds 2 key(s) [${KEY_R1}, ${KEY_X}], expected [${KEY_R0}, ${KEY_R1}]; left over: ${KEY_X}; missing: ${KEY_R0}`,
    ]);
  });

  test('fails on a user holding this stack\'s key without the owner tag', () => {
    const { declared, observed } = healthy();
    const users = { ...observed.users, 'user-a': { ...observed.users['user-a'], tags: {} } };

    expect(invariantFindings(declared, { ...observed, users })).toEqual([`IAM user user-a holds this stack's key but its owner tag ${TAG} is missing`]);
  });

  test('fails on a secret without CloudFormation\'s reserved tags, without its generation label, or still AWSPENDING', () => {
    const { declared, observed } = healthy();
    const secrets = {
      ...observed.secrets,
      'arn:a': { ...observed.secrets['arn:a'], tags: { 'aws:cloudformation:stack-id': 'arn:other', 'aws:cloudformation:stack-name': 'ses-smtp-credentials-integ', 'aws:cloudformation:logical-id': 'SmtpSecret' } },
      'arn:r-eu': secret('RotatingSecretEu', { v2: ['AWSCURRENT'], v3: ['AWSPENDING'] }),
    };

    expect(invariantFindings(declared, { ...observed, secrets })).toEqual([
      `SmtpCredentials secret SmtpSecret (eu-west-1): reserved tag aws:cloudformation:stack-id is "arn:other", expected "${STACK_ID}"`,
      `RotatingCredentials secret RotatingSecretEu (eu-central-1): its AWSCURRENT version is labelled [AWSCURRENT], not with the generation label ses-smtp-${FP_R} of its physical id`,
      'RotatingCredentials secret RotatingSecretEu (eu-central-1): a version is still AWSPENDING',
    ]);
  });

  test('fails when a rotated primary secret has no grace label, or a secret that left the stack still exists', () => {
    const { declared, observed } = healthy();
    const secrets = {
      ...observed.secrets,
      'arn:r': secret('RotatingSecret', { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT', `ses-smtp-${FP_R}`] }),
      'arn:gone': { exists: true, deleted: false, stages: { v1: ['AWSCURRENT'] }, tags: {} },
    };

    expect(invariantFindings(declared, { ...observed, secrets })).toEqual([
      expect.stringContaining('RotatingCredentials secret RotatingSecret (eu-west-1): after a rotation its AWSPREVIOUS version must carry ses-smtp-grace'),
      'secret arn:gone left the stack but still exists (not scheduled for deletion)',
    ]);
  });

  test('after the stack is deleted: every user holds no key and no tag, and every secret is gone', () => {
    const { declared, observed } = healthy();
    const deleted: Declared = { ...declared, live: [], rotations: {}, gone: ['arn:a', 'arn:r'] };
    const after: Observation = {
      ...observed, stackId: undefined, physicalIds: {},
      users: { ...observed.users, 'user-a': { exists: true, keys: [], tags: {} }, 'user-r': { exists: true, keys: [{ id: KEY_R1, status: 'Active' }], tags: { [TAG]: STACK_ID } } },
      secrets: { 'arn:a': { exists: false, deleted: true, stages: {}, tags: {} }, 'arn:r': { exists: true, deleted: true, stages: {}, tags: {} } },
    };

    expect(invariantFindings(deleted, after)).toEqual([
      `IAM user user-r holds 1 key(s) [${KEY_R1}], expected []; left over: ${KEY_R1}`,
      `IAM user user-r holds no key of this stack but still carries the owner tag ${TAG}`,
    ]);
  });

  test('says so when a physical id is not one the handler issues, instead of guessing its key', () => {
    const { declared, observed } = healthy();

    expect(invariantFindings(declared, { ...observed, physicalIds: { ...observed.physicalIds, SmtpCredentials: 'ses-smtp-credentials-integ-SmtpCredentials-1AB2C3' } }))
      .toContain('SmtpCredentials: physical id ses-smtp-credentials-integ-SmtpCredentials-1AB2C3 is not one the handler issues (key/<user>/<key id>/<fingerprint>)');
  });
});

// ---- the records ---------------------------------------------------------

const REQ_1 = '11111111-1111-4111-8111-111111111111';
const REQ_2 = '22222222-2222-4222-8222-222222222222';

/** Lines as Lambda's Text log format writes them for a Node.js function. */
function lambdaLines(requestId: string, start: number, lines: Array<[number, string, unknown]>, end?: number): LogEvent[] {
  return [
    { at: start, message: `START RequestId: ${requestId} Version: $LATEST\n` },
    ...lines.map(([at, level, body]) => ({ at, message: `${new Date(at).toISOString()}\t${requestId}\t${level}\t${typeof body === 'string' ? body : JSON.stringify(body)}\n` })),
    ...(end === undefined ? [] : [
      { at: end, message: `END RequestId: ${requestId}\n` },
      { at: end, message: `REPORT RequestId: ${requestId}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 90 MB\n` },
    ]),
  ];
}

describe('the handler\'s log lines', () => {
  test('are grouped by invocation with their outcome, WARN, Refused and ERROR lines', () => {
    const events = [
      ...lambdaLines(REQ_1, 1_000, [
        [1_500, 'WARN', { level: 'WARN', message: 'Delete of X: its properties are not the ones physical id y was issued for' }],
        [1_600, 'INFO', { requestType: 'Delete', logicalResourceId: 'X', physicalResourceId: 'y', status: 'SUCCESS' }],
      ], 1_700),
      ...lambdaLines(REQ_2, 2_000, [
        [2_100, 'WARN', { level: 'WARN', message: 'Create of Y: Refused: CloudFormation\'s log shows resource Y as CREATE_FAILED. Nothing was changed.' }],
        [2_200, 'INFO', { requestType: 'Create', logicalResourceId: 'Y', physicalResourceId: 'z', status: 'FAILED', reason: 'Refused: …' }],
        [2_300, 'ERROR', { level: 'ERROR', message: 'could not answer CloudFormation: socket hang up' }],
      ]),
    ];

    const [first, second] = invocationsOf(events);

    expect(first).toEqual({
      requestId: REQ_1, start: 1_000, end: 1_700, refusals: [], errors: [],
      warnings: ['Delete of X: its properties are not the ones physical id y was issued for'],
      outcomes: [{ at: 1_600, requestType: 'Delete', logicalId: 'X', status: 'SUCCESS', reason: undefined, rotationStep: undefined }],
    });
    expect(second.end).toBeUndefined();
    expect(second.warnings).toEqual(['Create of Y: Refused: CloudFormation\'s log shows resource Y as CREATE_FAILED. Nothing was changed.']);
    expect(second.refusals).toHaveLength(2);
    expect(second.errors).toEqual([JSON.stringify({ level: 'ERROR', message: 'could not answer CloudFormation: socket hang up' })]);
  });

  test('a rotation step\'s outcome and a Lambda timeout are read too', () => {
    const events = [
      ...lambdaLines(REQ_1, 1_000, [[1_100, 'ERROR', { rotationStep: 'createSecret', secretId: 'arn:s', status: 'FAILED', reason: 'IAM said no' }]], 1_200),
      ...lambdaLines(REQ_2, 2_000, [[902_000, 'INFO', 'Task timed out after 900.00 seconds']], 902_001),
    ];

    const [rotation, timeout] = invocationsOf(events);

    expect(rotation.outcomes).toEqual([expect.objectContaining({ rotationStep: 'createSecret', status: 'FAILED', reason: 'IAM said no' })]);
    expect(rotation.errors).toEqual([]);
    expect(timeout.errors).toEqual(['Task timed out after 900.00 seconds']);
  });
});

function event(logicalId: string, status: string, at: number, extra: Partial<StackEventRecord> = {}): StackEventRecord {
  return { logicalId, type: 'Custom::SesSmtpCredentials', status, at, ...extra };
}

describe('operations CloudFormation cancelled', () => {
  const cancelledCreate = [
    event('Cancelled1', 'CREATE_IN_PROGRESS', 10_000),
    event('Cancelled1', 'CREATE_FAILED', 13_000, { reason: 'Resource creation cancelled' }),
    event('Cancelled1', 'DELETE_IN_PROGRESS', 20_000, { physicalId: 'ses-smtp-credentials-integ-Cancelled1-ABC123' }),
    event('Cancelled1', 'DELETE_COMPLETE', 21_000, { physicalId: 'ses-smtp-credentials-integ-Cancelled1-ABC123' }),
  ];

  function delivery(start: number, answeredAt: number): Invocation[] {
    return invocationsOf(lambdaLines(REQ_1, start, [[answeredAt, 'INFO', { requestType: 'Create', logicalResourceId: 'Cancelled1', status: 'SUCCESS' }]], answeredAt + 10));
  }

  test('a delivery that began before the cancellation and answered after it was in flight', () => {
    const [c] = cancelledOperations(cancelledCreate, delivery(10_500, 15_000));

    expect(c).toEqual(expect.objectContaining({ logicalId: 'Cancelled1', requestType: 'Create', began: 10_000, cancelledAt: 13_000, inFlight: true }));
    expect(c.after.map((a) => [a.status, a.physicalId])).toEqual([
      ['DELETE_IN_PROGRESS', 'ses-smtp-credentials-integ-Cancelled1-ABC123'], ['DELETE_COMPLETE', 'ses-smtp-credentials-integ-Cancelled1-ABC123'],
    ]);
  });

  test('a delivery that answered before the cancellation, or started after it, was not', () => {
    expect(cancelledOperations(cancelledCreate, delivery(10_500, 12_000))[0].inFlight).toBe(false);
    expect(cancelledOperations(cancelledCreate, delivery(14_000, 15_000))[0].inFlight).toBe(false);
    expect(cancelledOperations(cancelledCreate, [])[0].inFlight).toBe(false);
  });

  test('only a *_FAILED that says "cancelled" counts, for Creates and Updates alike', () => {
    const events = [
      event('Smtp', 'UPDATE_IN_PROGRESS', 1_000),
      event('Smtp', 'UPDATE_FAILED', 2_000, { reason: 'Resource update cancelled' }),
      event('Other', 'CREATE_IN_PROGRESS', 1_000),
      event('Other', 'CREATE_FAILED', 2_000, { reason: 'Received response status [FAILED] from custom resource' }),
    ];

    expect(cancelledOperations(events, []).map((c) => [c.logicalId, c.requestType])).toEqual([['Smtp', 'Update']]);
  });
});

describe('ResourceProperties CloudFormation logs', () => {
  const template = {
    ServiceToken: { 'Fn::GetAtt': ['Fn', 'Arn'] },
    UserName: 'user-a',
    Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: { Ref: 'SmtpSecret' } }],
    OwnerTag: { Key: TAG, Value: { Ref: 'AWS::StackId' } },
  };
  const resolved = resolveRefs(template, { SmtpSecret: 'arn:a' }, STACK_ID) as Record<string, unknown>;

  test('Ref resolves to the physical id and the stack id; a Ref to an unknown resource is an error', () => {
    expect(resolved.Targets).toEqual([expect.objectContaining({ SecretArn: 'arn:a' })]);
    expect(resolved.OwnerTag).toEqual({ Key: TAG, Value: STACK_ID });
    expect(() => resolveRefs(template, {}, STACK_ID)).toThrow('no physical id for SmtpSecret');
  });

  test('match the template\'s contract fields, scalars compared as strings, the service token aside', () => {
    const logged = JSON.stringify({ ...resolved, ServiceToken: 'arn:aws:lambda:…', ServiceTimeout: 3600, Targets: [{ ...(resolved.Targets as object[])[0], Port: 587 }] });

    expect(loggedPropertiesMismatch([event('Smtp', 'CREATE_IN_PROGRESS', 1, { properties: logged })], resolved)).toBeUndefined();
  });

  test('a different user, or no properties at all, is reported', () => {
    const other = JSON.stringify({ ...resolved, UserName: 'user-b' });

    expect(loggedPropertiesMismatch([event('Smtp', 'UPDATE_IN_PROGRESS', 1, { properties: other })], resolved)).toMatch(/are not the template's/);
    expect(loggedPropertiesMismatch([event('Smtp', 'UPDATE_IN_PROGRESS', 1)], resolved)).toBe('no IN_PROGRESS event of the operation carries ResourceProperties');
  });

  test('operations are split at each IN_PROGRESS of a new kind', () => {
    const ops = operationsOf([
      event('Smtp', 'UPDATE_IN_PROGRESS', 1), event('Smtp', 'UPDATE_IN_PROGRESS', 2), event('Smtp', 'UPDATE_COMPLETE', 3),
      event('Smtp', 'DELETE_IN_PROGRESS', 4), event('Smtp', 'DELETE_COMPLETE', 5), event('Other', 'CREATE_IN_PROGRESS', 2),
    ], 'Smtp');

    expect(ops.map((o) => o.map((e) => e.status))).toEqual([
      ['UPDATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE'], ['DELETE_IN_PROGRESS', 'DELETE_COMPLETE'],
    ]);
  });
});

// ---- the check's AWS calls against emulators ------------------------------

describe('the check\'s own AWS calls, against moto and the CloudFormation records emulator', () => {
  let moto: Moto;
  let records: CloudFormationRecords;
  let aws: Aws;
  let iam: IAMClient;

  beforeAll(async () => {
    moto = await startMoto();
    records = new CloudFormationRecords();
    await records.start();
    aws = new Aws({ region: 'eu-west-1', endpoint: moto.endpoint, cloudformationEndpoint: records.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    iam = new IAMClient(motoClientConfig(moto));
  });

  afterAll(async () => {
    await records.stop();
    await moto.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    records.reset();
  });

  test('a key left on a user is found by the invariant from what IAM reports', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'user-x' }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'user-x' }))).AccessKey?.AccessKeyId;
    await iam.send(new TagUserCommand({ UserName: 'user-x', Tags: [{ Key: TAG, Value: STACK_ID }] }));
    const declared: Declared = { live: [], users: ['user-x', 'user-gone'], ownerTagKey: TAG, rotations: {}, gone: [] };
    const observed: Observation = {
      stackName: 'ses-smtp-credentials-integ', physicalIds: {}, secrets: {},
      users: { 'user-x': await aws.user('user-x'), 'user-gone': await aws.user('user-gone') },
    };

    expect(observed.users['user-gone']).toEqual({ exists: false, keys: [], tags: {} });
    expect(invariantFindings(declared, observed)).toEqual([
      `IAM user user-x holds 1 key(s) [${key}], expected []; left over: ${key}`,
      `IAM user user-x holds no key of this stack but still carries the owner tag ${TAG}`,
      'IAM user user-gone does not exist',
    ]);
  });

  test('secret metadata: labels by version and tags, a deleted secret and a missing one', async () => {
    const sm = new SecretsManagerClient(motoClientConfig(moto));
    const arn = String((await sm.send(new CreateSecretCommand({ Name: 's', Tags: [{ Key: 'aws:cloudformation:logical-id', Value: 'S' }] }))).ARN);
    const v1 = String((await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: '{}', VersionStages: ['AWSCURRENT', 'ses-smtp-0123456789abcdef'] }))).VersionId);
    const gone = String((await sm.send(new CreateSecretCommand({ Name: 'gone' }))).ARN);
    await sm.send(new DeleteSecretCommand({ SecretId: gone, RecoveryWindowInDays: 7 }));

    expect(await aws.secret(arn)).toEqual({ exists: true, deleted: false, stages: { [v1]: ['AWSCURRENT', 'ses-smtp-0123456789abcdef'] }, tags: { 'aws:cloudformation:logical-id': 'S' } });
    expect((await aws.secret(gone)).deleted).toBe(true);
    expect(await aws.secret('arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope-AbCdEf')).toEqual({ exists: false, deleted: true, stages: {}, tags: {} });
  });

  test('the handler\'s log lines come back whole from FilterLogEvents and read as invocations', async () => {
    const logs = new CloudWatchLogsClient(motoClientConfig(moto));
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'handler' }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'handler', logStreamName: 's' }));
    const now = Date.now();
    const lines = lambdaLines(REQ_1, now, [[now + 1, 'INFO', { requestType: 'Create', logicalResourceId: 'Smtp', status: 'SUCCESS' }]], now + 2);
    await logs.send(new PutLogEventsCommand({ logGroupName: 'handler', logStreamName: 's', logEvents: lines.map((l) => ({ timestamp: l.at, message: l.message })) }));

    const [invocation] = invocationsOf(await aws.logEvents('handler', now - 1));

    expect(invocation).toEqual(expect.objectContaining({ requestId: REQ_1, start: now, end: now + 2, outcomes: [expect.objectContaining({ logicalId: 'Smtp', status: 'SUCCESS' })] }));
    expect(await aws.logEvents('no-such-group', 0)).toEqual([]);
  });

  test('only users carrying the run tag are the check\'s; deleting one removes its keys and policies first', async () => {
    await aws.createUser('mine', 'run-1');
    await iam.send(new CreateUserCommand({ UserName: 'theirs' }));
    const key = String((await iam.send(new CreateAccessKeyCommand({ UserName: 'mine' }))).AccessKey?.AccessKeyId);
    await iam.send(new PutUserPolicyCommand({ UserName: 'mine', PolicyName: 'send', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ses:SendRawEmail', Resource: '*' }] }) }));

    expect([await aws.runMarker('mine'), await aws.runMarker('theirs'), await aws.runMarker('nobody')]).toEqual(['run-1', '', undefined]);
    expect(await aws.deleteUser('mine')).toEqual([key]);
    expect((await aws.user('mine')).exists).toBe(false);
    expect(RUN_TAG_KEY).toBe('ses-smtp-credentials-integ:run');
  });

  test('stack events are read page by page down to the cursor, oldest first, with ResourceProperties', async () => {
    const log = records.stack(STACK_ID);
    log.put('Fn', 'AWS::Lambda::Function', 'fn');
    await new Promise((r) => setTimeout(r, 5));
    const cursor = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 130; i++) {
      log.request({ RequestType: 'Create', LogicalResourceId: `R${i}`, ResourceType: 'Custom::SesSmtpCredentials', ResourceProperties: { UserName: `u${i}` } })({ Status: 'SUCCESS', PhysicalResourceId: `p${i}` });
    }

    const events = await aws.stackEvents(STACK_ID, cursor);

    // Three events per Create, as CloudFormation logs a custom resource's: CREATE_IN_PROGRESS with its properties,
    // CREATE_IN_PROGRESS "Resource creation Initiated" once it has an answer, CREATE_COMPLETE. 390 events: 4 pages of 100.
    expect(events).toHaveLength(390);
    expect(events[0]).toEqual(expect.objectContaining({ logicalId: 'R0', status: 'CREATE_IN_PROGRESS', properties: '{"UserName":"u0"}' }));
    expect(events[389]).toEqual(expect.objectContaining({ logicalId: 'R129', status: 'CREATE_COMPLETE', physicalId: 'p129' }));
    expect(await aws.lastUpdated(STACK_ID, 'Fn')).toBeLessThan(cursor);
    expect(records.calls.filter((c) => c.action === 'DescribeStackEvents')).toHaveLength(4);
  });
});

// ---- the sibling that fails on purpose --------------------------------------

/** The sibling's code exactly as the snapshot deploys it. */
function siblingCode(): string {
  const template = JSON.parse(fs.readFileSync(path.join(SNAPSHOT_DIR, 'CancelInFlight.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { Description?: string; Code?: { ZipFile?: string } } }>;
  };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Description).startsWith('integ: fails on purpose'));
  return String(fn?.Properties?.Code?.ZipFile);
}

describe('the sibling that fails on purpose (its synthesized code, against moto)', () => {
  let moto: Moto;
  let iam: IAMClient;
  let server: http.Server;
  let answers: Array<{ body: Record<string, string>; at: number }>;
  let handler: (event: Record<string, string>) => Promise<void>;
  const saved = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    iam = new IAMClient(motoClientConfig(moto));
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        answers.push({ body: JSON.parse(body), at: Date.now() });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'eu-west-1',
      WATCH_USERS: 'x1,x2', OWNER_TAG_KEY: TAG, POLL_MS: '20', GIVE_UP_AFTER_MS: '5000',
    });
    const module = { exports: {} as { handler: typeof handler } };
    new Function('require', 'module', 'exports', siblingCode())(require, module, module.exports);
    handler = module.exports.handler;
  });

  afterAll(async () => {
    process.env = saved;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await moto.stop();
  });

  beforeEach(async () => {
    answers = [];
    await moto.reset();
    await iam.send(new CreateUserCommand({ UserName: 'x1' }));
    await iam.send(new CreateUserCommand({ UserName: 'x2' }));
  });

  function request(type: string): Record<string, string> {
    const { port } = server.address() as AddressInfo;
    return {
      RequestType: type, ResponseURL: `http://127.0.0.1:${port}/answer`, StackId: STACK_ID, RequestId: 'r-1', LogicalResourceId: 'FailOnPurpose',
      ...(type === 'Delete' ? { PhysicalResourceId: 'fail-on-purpose-r-0' } : {}),
    };
  }

  test('answers FAILED only once the handler\'s owner tag appears on a watched user', async () => {
    const tagged = (async () => {
      await new Promise((r) => setTimeout(r, 400));
      await iam.send(new TagUserCommand({ UserName: 'x2', Tags: [{ Key: TAG, Value: STACK_ID }] }));
      return Date.now();
    })();

    await handler(request('Create'));

    expect(answers).toHaveLength(1);
    expect(answers[0].at).toBeGreaterThanOrEqual(await tagged);
    expect(answers[0].body).toEqual(expect.objectContaining({ Status: 'FAILED', LogicalResourceId: 'FailOnPurpose', RequestId: 'r-1', PhysicalResourceId: 'fail-on-purpose-r-1' }));
    expect(answers[0].body.Reason).toMatch(/^Failing on purpose: owner tag on x2 at /);
  });

  test('answers FAILED at the first access key on a watched user', async () => {
    await iam.send(new CreateAccessKeyCommand({ UserName: 'x1' }));

    await handler(request('Create'));

    expect(answers.map((a) => [a.body.Status, a.body.Reason.replace(/ at .*/, '')])).toEqual([['FAILED', 'Failing on purpose: access key on x1']]);
  });

  test('still fails when nothing happens, after its deadline', async () => {
    process.env.GIVE_UP_AFTER_MS = '200';
    try {
      await handler(request('Create'));
    } finally {
      process.env.GIVE_UP_AFTER_MS = '5000';
    }

    expect(answers.map((a) => [a.body.Status, a.body.Reason])).toEqual([['FAILED', 'Failing on purpose: the handler did not start on x1, x2 in time']]);
  });

  test('lets the rollback delete it: SUCCESS for the physical id it was given', async () => {
    await handler(request('Delete'));

    expect(answers.map((a) => [a.body.Status, a.body.PhysicalResourceId])).toEqual([['SUCCESS', 'fail-on-purpose-r-0']]);
  });
});

// ---- every step, end to end, against a pretend account ----------------------

describe('the check\'s steps, end to end against a pretend account', () => {
  const plan = readPlan(SNAPSHOT_DIR);

  async function check(options: FakeAccountOptions = {}) {
    const account = new FakeAccount(plan, options);
    const scenario = new Scenario(account, plan, {
      assemblyDir: SNAPSHOT_DIR, region: 'eu-west-1', settleMs: 0, aborted: () => false, log: () => undefined,
      deploy: (id) => account.deploy(id), timing: { pollMs: 1, logQuietMs: 0, convergePollMs: 1 },
    });
    await scenario.run();
    // As run.ts does it: the teardown keeps the handler's log group when something was found.
    const found = { steps: scenario.steps, assumptions: Object.values(scenario.assumptions), exercised: scenario.exercised };
    const down = await teardown(account, {
      stackName: plan.stackName, stackId: scenario.stackId, users: plan.users, secretArns: [...scenario.secretArns],
      logGroupName: scenario.logGroupName, deleteLogs: !foundBeforeTeardown(found), log: () => undefined,
    });
    const findings = Object.fromEntries(scenario.steps.map((s) => [s.name, s.findings]));
    const outcome = { ...found, teardown: down };
    return { account, scenario, down, findings, verdict: verdictOf(outcome), summary: summaryOf('check', outcome) };
  }

  test('a handler that behaves as documented passes every step, and every assumption is confirmed, none contradicted', async () => {
    const { account, scenario, down, findings, verdict, summary } = await check();

    expect(findings).toEqual({ Create: [], Update: [], Replace: [], 'rotate 1': [], 'rotate 2': [], CancelInFlight: [], delete: [] });
    expect(scenario.exercised).toBe(true);
    expect(scenario.cancellations.map((c) => [c.logicalId.replace(/Credentials.*/, ''), c.requestType, c.inFlight])).toEqual([
      ['Cancelled1', 'Create', true], ['Cancelled2', 'Create', true], ['Cancelled3', 'Create', true],
    ]);
    expect(Object.values(scenario.assumptions).map((a) => [a.id, a.confirmedBy.length > 0, a.contradictedBy])).toEqual([
      ['properties', true, []], ['reservedTags', true, []], ['lastUpdated', true, []], ['cancelled', true, []], ['gate', true, []],
    ]);
    expect(scenario.assumptions.lastUpdated.confirmedBy.map((c) => c.replace(/ at .*/, ''))).toEqual(['Create: CREATE', 'Update: UPDATE', 'Replace: unchanged', 'CancelInFlight: unchanged']);
    expect(scenario.steps.find((s) => s.name === 'CancelInFlight')?.notes).toEqual(expect.arrayContaining([
      expect.stringMatching(/^sibling: Failing on purpose: owner tag on ses-smtp-credentials-integ-x1/),
      expect.stringMatching(/^WARN: Delete of Cancelled1Credentials\w+: its properties are not the ones physical id ses-smtp-credentials-integ-Cancelled1/),
    ]));
    expect(down).toEqual({ findings: [], notes: [] });
    expect(account.users.size).toBe(0);
    expect(account.deletedLogGroups).toEqual([scenario.logGroupName]);
    expect(verdict).toEqual({ verdict: 'PASSED', exitCode: EXIT.passed });
    expect(summary.split('\n').filter((l) => /^ {2}\S/.test(l))).toEqual([
      expect.stringMatching(/^ {2}Create +CREATE_COMPLETE +ok$/),
      expect.stringMatching(/^ {2}Update +UPDATE_COMPLETE +ok$/),
      expect.stringMatching(/^ {2}Replace +UPDATE_COMPLETE +ok$/),
      expect.stringMatching(/^ {2}rotate 1 +ok$/),
      expect.stringMatching(/^ {2}rotate 2 +ok$/),
      expect.stringMatching(/^ {2}CancelInFlight +UPDATE_ROLLBACK_COMPLETE +ok$/),
      expect.stringMatching(/^ {2}delete +DELETE_COMPLETE +ok$/),
      '  What stays trusted:',
    ]);
    expect(summary).not.toMatch(/not exercised|CONTRADICTED/);
  });

  test('a cancelled Create that finishes after the rollback and keeps its key fails the check, and the teardown removes that key', async () => {
    const { account, down, findings, verdict } = await check({ leakOnCancel: true });
    const leaked = /^IAM user ses-smtp-credentials-integ-x1 holds 1 key\(s\) \[(AKIA\d+)\], expected \[\]; left over: AKIA\d+$/;

    expect(findings.CancelInFlight).toEqual([
      expect.stringMatching(leaked),
      'IAM user ses-smtp-credentials-integ-x1 holds no key of this stack but still carries the owner tag SesSmtpCredentials:ses-smtp-credentials-integ',
    ]);
    expect(findings.delete).toEqual(findings.CancelInFlight);
    expect(down.findings).toEqual([`access key ${leaked.exec(findings.delete[0])?.[1]} was still on IAM user ses-smtp-credentials-integ-x1 after the stack was deleted; the teardown deleted it`]);
    expect(account.users.size).toBe(0);
    expect(verdict).toEqual({ verdict: 'FAILED', exitCode: EXIT.failed });
    expect(account.deletedLogGroups).toEqual([]);
  });

  test('deliveries that all answered before the cancellation make the run inconclusive, not passed', async () => {
    const { scenario, findings, verdict } = await check({ answerBeforeCancel: true });

    expect(Object.values(findings).flat()).toEqual([]);
    expect(verdict).toEqual({ verdict: 'INCONCLUSIVE', exitCode: EXIT.inconclusive });
    expect(scenario.exercised).toBe(false);
    expect(scenario.steps.find((s) => s.name === 'CancelInFlight')?.notes).toContain(
      'no SesSmtpUser delivery was running when CloudFormation cancelled it: the cancellation case was not exercised this run');
  });
});
