/**
 * The fault proxy with real SDK v3 clients and real moto: each fault kind,
 * the error SDK v3 makes of it, and whether the call took effect in moto.
 * These tests also pin what SDK v3 does with an answer it cannot parse, which
 * the handler relies on never to quote secret bytes.
 */
import { inspect } from 'node:util';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { execFile } from 'node:child_process';
import { FaultProxy, MAX_DELAY_MS, startFaultProxy, truncateBody } from './support/fault-proxy';
import { Moto, startMoto } from './support/moto';

const USER = 'legacy-mail-relay';
const SECRET_TEXT = 'S3cretPasswordValueThatMustNeverBeQuoted';
const VERSION = '11111111-2222-3333-4444-555555555555';

let moto: Moto;
let proxy: FaultProxy;
/** Through the proxy. */
let iam: IAMClient;
let secrets: SecretsManagerClient;
/** Straight to moto, to see what really happened. */
let motoIam: IAMClient;
let motoSecrets: SecretsManagerClient;

function config(endpoint: string, region: string) {
  return { endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 };
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  iam = new IAMClient(config(proxy.endpoint, 'us-east-1'));
  secrets = new SecretsManagerClient(config(proxy.endpoint, 'eu-west-1'));
  motoIam = new IAMClient(config(moto.endpoint, 'us-east-1'));
  motoSecrets = new SecretsManagerClient(config(moto.endpoint, 'eu-west-1'));
});
afterAll(async () => {
  for (const c of [iam, secrets, motoIam, motoSecrets]) c?.destroy();
  await proxy?.stop();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  proxy.clear();
  await motoIam.send(new CreateUserCommand({ UserName: USER }));
});

async function keysInMoto(userName = USER): Promise<string[]> {
  const out = await motoIam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!);
}

async function secretInMoto(): Promise<string> {
  const out = await motoSecrets.send(new CreateSecretCommand({ Name: 'smtp', SecretString: JSON.stringify({ password: SECRET_TEXT }) }));
  return out.ARN!;
}

async function versionsInMoto(arn: string): Promise<string[]> {
  const out = await motoSecrets.send(new DescribeSecretCommand({ SecretId: arn }));
  return Object.keys(out.VersionIdsToStages ?? {});
}

/** An SDK error as a bag of whatever fields it carries. */
type ErrorFields = Record<string, unknown> & {
  message?: string; stack?: string;
  /** Present on SDK errors; the tests assert on it. */
  $metadata: { httpStatusCode?: number; attempts?: number; requestId?: string };
  $response: { statusCode?: number; body?: unknown };
};

async function failure(promise: Promise<unknown>): Promise<ErrorFields> {
  try {
    await promise;
  } catch (e) {
    return e as ErrorFields;
  }
  throw new Error('expected the call to fail');
}

/** Everything a careless log line could print of an error: message, stack, enumerable fields, JSON, inspect. */
function printable(e: ErrorFields): string {
  return [String(e), e.message, e.stack, JSON.stringify(e), inspect(e, { depth: 5 }), ...Object.keys(e).map((k) => inspect(e[k], { depth: 5 }))].join('\n');
}

describe('without rules', () => {
  test('forwards IAM and Secrets Manager calls unchanged and records service, action and status', async () => {
    const out = await iam.send(new CreateAccessKeyCommand({ UserName: USER }));
    expect(await keysInMoto()).toEqual([out.AccessKey!.AccessKeyId]);
    const arn = await secretInMoto();
    await secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'v2', ClientRequestToken: VERSION }));
    expect(await versionsInMoto(arn)).toContain(VERSION);
    expect(proxy.requests).toEqual([
      { service: 'iam', action: 'CreateAccessKey', status: 200, upstreamStatus: 200 },
      { service: 'secretsmanager', action: 'PutSecretValue', status: 200, upstreamStatus: 200 },
    ]);
  });

  test('passes moto\'s own errors through', async () => {
    const e = await failure(iam.send(new CreateAccessKeyCommand({ UserName: 'nobody' })));
    expect(e.name).toBe('NoSuchEntityException');
    expect(e.$metadata.httpStatusCode).toBe(404);
    expect(proxy.requests).toEqual([{ service: 'iam', action: 'CreateAccessKey', status: 404, upstreamStatus: 404 }]);
  });
});

describe('rules', () => {
  test('match sees the form fields (IAM) and the JSON body (Secrets Manager)', async () => {
    await motoIam.send(new CreateUserCommand({ UserName: 'other' }));
    const seen: unknown[] = [];
    proxy.inject({ action: 'CreateAccessKey', kind: 'throttle-before', match: (p) => { seen.push(p); return p.UserName === 'other'; } });
    await iam.send(new CreateAccessKeyCommand({ UserName: USER })); // not matched: forwarded
    await expect(iam.send(new CreateAccessKeyCommand({ UserName: 'other' }))).rejects.toMatchObject({ name: 'Throttling' });
    expect(seen).toEqual([
      expect.objectContaining({ Action: 'CreateAccessKey', UserName: USER, Version: '2010-05-08' }),
      expect.objectContaining({ Action: 'CreateAccessKey', UserName: 'other' }),
    ]);

    const arn = await secretInMoto();
    proxy.inject({ action: 'PutSecretValue', kind: 'throttle-before', match: (p) => p.ClientRequestToken === VERSION });
    await expect(secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'x', ClientRequestToken: VERSION })))
      .rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  test('are used in order; times counts down; clear drops them', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: 'throttle-before', times: 2 });
    proxy.inject({ action: 'CreateAccessKey', kind: '5xx-after' });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await iam.send(new CreateAccessKeyCommand({ UserName: USER })).then(() => 'ok', (e) => e.name));
    }
    expect(outcomes).toEqual(['Throttling', 'Throttling', 'InternalFailure', 'ok']);
    expect(proxy.requests.map((r) => [r.status, r.fault])).toEqual([[400, 'throttle-before'], [400, 'throttle-before'], [500, '5xx-after'], [200, undefined]]);
    expect(() => proxy.inject({ action: 'CreateAccessKey', kind: 'reset-before', times: 0 })).toThrow(/times/);

    proxy.inject({ action: 'DeleteAccessKey', kind: 'reset-before' });
    proxy.clear();
    expect(proxy.requests).toEqual([]);
    await iam.send(new CreateUserCommand({ UserName: 'after-clear' })); // still forwarded
  });
});

describe('throttle-before', () => {
  test('IAM: Throttling, HTTP 400, client fault; nothing happened in moto', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: 'throttle-before' });
    const e = await failure(iam.send(new CreateAccessKeyCommand({ UserName: USER })));
    expect(e).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $fault: 'client', $metadata: { httpStatusCode: 400, attempts: 1 } });
    expect(e.$metadata.requestId).toEqual(expect.any(String));
    expect(await keysInMoto()).toEqual([]);
    expect(proxy.requests).toEqual([{ service: 'iam', action: 'CreateAccessKey', status: 400, fault: 'throttle-before', upstreamStatus: undefined }]);
  });

  test('Secrets Manager: ThrottlingException, HTTP 400; no new version in moto', async () => {
    const arn = await secretInMoto();
    proxy.inject({ action: 'PutSecretValue', kind: 'throttle-before' });
    const e = await failure(secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'x', ClientRequestToken: VERSION })));
    expect(e).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(await versionsInMoto(arn)).not.toContain(VERSION);
  });
});

describe('limitRate (a token bucket per service)', () => {
  test('IAM calls beyond the burst are answered as IAM throttles (400 Throttling, Rate exceeded) and not forwarded; other services pass', async () => {
    proxy.limitRate({ service: 'iam', perSecond: 0.001, burst: 2 });

    const outcomes = await Promise.all(Array.from({ length: 5 }, () => iam.send(new CreateAccessKeyCommand({ UserName: USER }))
      .then(() => 'created', (e: { name: string; message: string; $fault?: string; $metadata: { httpStatusCode?: number } }) => `${e.name} ${e.$metadata.httpStatusCode} ${e.$fault}: ${e.message}`)));
    const secret = await secrets.send(new CreateSecretCommand({ Name: 'unlimited' }));

    expect(outcomes.filter((o) => o === 'created')).toHaveLength(2);
    expect(outcomes.filter((o) => o !== 'created')).toEqual(Array(3).fill('Throttling 400 client: Rate exceeded'));
    expect(await keysInMoto()).toHaveLength(2);
    expect(secret.ARN).toBeDefined();
    expect(proxy.requests.filter((r) => r.fault === 'rate-limited').map((r) => [r.service, r.action, r.status, r.upstreamStatus]))
      .toEqual(Array(3).fill(['iam', 'CreateAccessKey', 400, undefined]));
  });

  test('clear removes the limit', async () => {
    proxy.limitRate({ service: 'iam', perSecond: 0.001, burst: 1 });
    proxy.clear();

    await iam.send(new CreateAccessKeyCommand({ UserName: USER }));
    await iam.send(new CreateAccessKeyCommand({ UserName: USER }));

    expect(await keysInMoto()).toHaveLength(2);
  });
});

describe('5xx-after', () => {
  test('IAM: InternalFailure, HTTP 500, server fault; the key exists in moto', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: '5xx-after' });
    const e = await failure(iam.send(new CreateAccessKeyCommand({ UserName: USER })));
    expect(e).toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    expect(await keysInMoto()).toHaveLength(1);
    expect(proxy.requests).toEqual([{ service: 'iam', action: 'CreateAccessKey', status: 500, fault: '5xx-after', upstreamStatus: 200 }]);
  });

  test('503: ServiceUnavailable', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: '5xx-after', status: 503 });
    const e = await failure(iam.send(new CreateAccessKeyCommand({ UserName: USER })));
    expect(e).toMatchObject({ name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
    expect(await keysInMoto()).toHaveLength(1);
  });

  test('Secrets Manager: InternalServiceError, HTTP 500; the version exists in moto', async () => {
    const arn = await secretInMoto();
    proxy.inject({ action: 'PutSecretValue', kind: '5xx-after' });
    const e = await failure(secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'x', ClientRequestToken: VERSION })));
    expect(e).toMatchObject({ name: 'InternalServiceError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    expect(await versionsInMoto(arn)).toContain(VERSION);
  });
});

describe('garbage-after', () => {
  test('IAM: a plain Error with httpStatusCode 200 and no $fault; the secret is only in hidden fields; the key exists', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: 'garbage-after' });
    const e = await failure(iam.send(new CreateAccessKeyCommand({ UserName: USER })));
    const keys = await keysInMoto();
    expect(keys).toHaveLength(1);

    // What SDK v3 makes of it.
    expect(e.name).toBe('Error');
    expect(e.$fault).toBeUndefined();
    expect(e.$metadata.httpStatusCode).toBe(200); // set although AWS never answered meaningfully
    expect(e.message).toMatch(/^@aws-sdk XML parse error: /);
    expect(Object.keys(e)).toEqual(['$metadata']);

    // The body was the real answer, secret included: it sits in non-enumerable fields.
    const body = String(e.$responseBodyText);
    expect(body).toContain(`<AccessKeyId>${keys[0]}</AccessKeyId>`);
    const secret = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(body)![1];
    expect(secret).toHaveLength(40);
    expect(e.$response.body).toBe(body);
    expect(Object.getOwnPropertyDescriptor(e, '$response')!.enumerable).toBe(false);
    expect(Object.getOwnPropertyDescriptor(e, '$responseBodyText')!.enumerable).toBe(false);

    // Nothing printable carries it.
    expect(printable(e)).not.toContain(secret.slice(0, 8));
    expect(printable(e)).not.toContain(keys[0]);
    expect(proxy.requests).toEqual([{ service: 'iam', action: 'CreateAccessKey', status: 200, fault: 'garbage-after', upstreamStatus: 200 }]);
  });

  test('Secrets Manager: SyntaxError with httpStatusCode 200; no body text kept; by default the message quotes no value', async () => {
    const arn = await secretInMoto();
    let sent = '';
    proxy.inject({ action: 'GetSecretValue', kind: 'garbage-after', garble: (real) => (sent = truncateBody(real, true)) });
    const e = await failure(secrets.send(new GetSecretValueCommand({ SecretId: arn })));
    expect(sent).toContain(SECRET_TEXT); // the real body, cut before its last character
    expect(e.name).toBe('SyntaxError');
    expect(e.$fault).toBeUndefined();
    expect(e.$metadata.httpStatusCode).toBe(200);
    expect(e.message).toMatch(/^Expected ',' or '}' after property value in JSON at position \d+/);
    expect(Object.keys(e)).toEqual(['$metadata']);
    // Unlike the XML case, the JSON path keeps no text: $response.body is the spent stream.
    expect(e.$responseBodyText).toBeUndefined();
    expect(typeof e.$response.body).toBe('object');
    expect(printable(e)).not.toContain(SECRET_TEXT.slice(0, 6));
  });

  test('Secrets Manager: JSON.parse quotes ~10 characters around an unexpected token, so a message CAN hold secret bytes', async () => {
    const arn = await secretInMoto();
    // The real body with the secret's opening quotes dropped: the secret's first letter is the bad token.
    const garble = (real: string) => {
      const at = real.indexOf('"SecretString"'); // moto may put a space after the colon
      return `${real.slice(0, at)}"SecretString":${real.slice(real.indexOf(SECRET_TEXT))}`;
    };
    proxy.inject({ action: 'GetSecretValue', kind: 'garbage-after', garble });
    const e = await failure(secrets.send(new GetSecretValueCommand({ SecretId: arn })));
    expect(e.name).toBe('SyntaxError');
    expect(e.$metadata.httpStatusCode).toBe(200); // so "AWS answered" is no sign that the message is safe to quote
    expect(e.message).toMatch(/^Unexpected token 'S', \.\.\."etString":S3cretPass"\.\.\. is not valid JSON/);
    expect(e.message).toContain(SECRET_TEXT.slice(0, 10));
  });

  test('Secrets Manager PutSecretValue: the version exists in moto', async () => {
    const arn = await secretInMoto();
    proxy.inject({ action: 'PutSecretValue', kind: 'garbage-after' });
    const e = await failure(secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'x', ClientRequestToken: VERSION })));
    expect(e).toMatchObject({ name: 'SyntaxError', $metadata: { httpStatusCode: 200 } });
    expect(await versionsInMoto(arn)).toContain(VERSION);
  });
});

/**
 * Runs one CreateAccessKey through the proxy in a plain Node process, outside
 * jest, and returns the error's shape. Inside jest, Node's own errors come from
 * another realm: the SDK's `instanceof Error` fails and it wraps them.
 */
function createAccessKeyOutsideJest(): Promise<Record<string, unknown>> {
  const script = `
    const { IAMClient, CreateAccessKeyCommand } = require('@aws-sdk/client-iam');
    const iam = new IAMClient({ endpoint: process.env.ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
    iam.send(new CreateAccessKeyCommand({ UserName: process.env.USER_NAME })).then(
      () => console.log('{}'),
      (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, $fault: e.$fault, $metadata: e.$metadata, keys: Object.keys(e) })));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--no-warnings', '-e', script], { cwd: process.cwd(), env: { ...process.env, ENDPOINT: proxy.endpoint, USER_NAME: USER } },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
  });
}

describe('reset', () => {
  /** What SDK v3 gives for a reset connection in a plain Node process (as in Lambda). */
  const networkError = {
    name: 'TimeoutError', code: 'ECONNRESET', message: 'socket hang up',
    $metadata: { attempts: 1, totalRetryDelay: 0 }, keys: ['code', 'name', '$metadata'],
  };
  /** The same error as seen inside jest: wrapped, without its code. */
  const wrappedInJest = { name: 'Error', message: 'AWS SDK error wrapper for TimeoutError: socket hang up', $metadata: { attempts: 1, totalRetryDelay: 0 } };

  test('reset-after: TimeoutError with code ECONNRESET and no HTTP status; the key exists', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: 'reset-after' });
    expect(await createAccessKeyOutsideJest()).toEqual(networkError);
    expect(await keysInMoto()).toHaveLength(1);
    expect(proxy.requests).toEqual([{ service: 'iam', action: 'CreateAccessKey', status: 'reset', fault: 'reset-after', upstreamStatus: 200 }]);

    proxy.inject({ action: 'CreateAccessKey', kind: 'reset-after' });
    const e = await failure(iam.send(new CreateAccessKeyCommand({ UserName: USER })));
    expect(e).toMatchObject(wrappedInJest);
    expect(e.code).toBeUndefined();
    expect(Object.keys(e)).toEqual(['$metadata']);
    expect(await keysInMoto()).toHaveLength(2);
  });

  test('reset-before: the same error; nothing happened in moto', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: 'reset-before' });
    expect(await createAccessKeyOutsideJest()).toEqual(networkError);
    proxy.inject({ action: 'CreateAccessKey', kind: 'reset-before' });
    expect(await failure(iam.send(new CreateAccessKeyCommand({ UserName: USER })))).toMatchObject(wrappedInJest);
    expect(await keysInMoto()).toEqual([]);
    expect(proxy.requests.map((r) => [r.status, r.fault, r.upstreamStatus])).toEqual([['reset', 'reset-before', undefined], ['reset', 'reset-before', undefined]]);
  });

  test('Secrets Manager reset-after: the version exists; the next call works on a fresh connection', async () => {
    const arn = await secretInMoto();
    proxy.inject({ action: 'PutSecretValue', kind: 'reset-after' });
    const e = await failure(secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'x', ClientRequestToken: VERSION })));
    expect(e).toMatchObject(wrappedInJest);
    expect(await versionsInMoto(arn)).toContain(VERSION);
    await secrets.send(new DescribeSecretCommand({ SecretId: arn }));
  });
});

describe('delay', () => {
  test('forwards after the delay', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: 'delay', ms: 400 });
    const started = Date.now();
    await iam.send(new CreateAccessKeyCommand({ UserName: USER }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(proxy.requests).toEqual([{ service: 'iam', action: 'CreateAccessKey', status: 200, fault: 'delay', upstreamStatus: 200 }]);
  });

  test('a client that gives up sees an AbortError; the call still reaches moto later', async () => {
    proxy.inject({ action: 'CreateAccessKey', kind: 'delay', ms: 500 });
    const e = await failure(iam.send(new CreateAccessKeyCommand({ UserName: USER }), { abortSignal: AbortSignal.timeout(100) }));
    expect(e.name).toBe('AbortError');
    expect(e.$metadata?.httpStatusCode).toBeUndefined();
    expect(await keysInMoto()).toEqual([]);
    await new Promise((r) => setTimeout(r, 800));
    expect(await keysInMoto()).toHaveLength(1);
  });

  test('is bounded', () => {
    expect(MAX_DELAY_MS).toBeLessThanOrEqual(30_000);
  });
});
