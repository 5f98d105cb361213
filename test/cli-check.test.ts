/**
 * `ses-smtp-credentials check` against fake SES endpoints on 127.0.0.1 that
 * authenticate like SES (moto's current key, v4 derivation for their region):
 * one speaking STARTTLS, one implicit TLS, both with a certificate openssl
 * made for localhost and 127.0.0.1. Each failure cause gets its explanation,
 * and no output carries the password.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import {
  CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, IAMClient, UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EXIT, main } from '../packages/cli/lib/cli';
import { FakeSes, startFakeSes } from './support/fake-ses-smtp';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { Moto, motoClientConfig, startMoto } from './support/moto';
import { makeCertificate } from './support/postfix';

const USER = 'app-mailer';
const HOUR_LATER = () => new Date(Date.now() + 3_600_000);
let base: string;
let moto: Moto;
let iam: IAMClient;
let secrets: SecretsManagerClient;
let starttls: FakeSes;
let implicit: FakeSes;
let caFile: string;
let serial = 0;

interface Issued { secretId: string; keyId: string; password: string }

/** A fresh key and secret; `passwordRegion` and `host` let a test store what a misconfigured issuer would. */
async function issue(opts: { passwordRegion?: string; host?: string; port?: number } = {}): Promise<Issued> {
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!;
  const region = opts.passwordRegion ?? 'eu-west-1';
  const password = await independentSmtpPassword(key.SecretAccessKey!, region);
  const secretId = `smtp/check-${++serial}`;
  await secrets.send(new CreateSecretCommand({ Name: secretId }));
  await secrets.send(new PutSecretValueCommand({
    SecretId: secretId,
    SecretString: JSON.stringify({ username: key.AccessKeyId, password, host: opts.host ?? 'localhost', port: opts.port ?? starttls.port, region }),
  }));
  return { secretId, keyId: key.AccessKeyId!, password };
}

async function check(argv: string[], now?: () => Date) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => { out += c; });
  stderr.on('data', (c) => { err += c; });
  const code = await main(['check', ...argv], { stdin: Readable.from(['']), stdout, stderr, now });
  return { code, stdout: out, stderr: err };
}

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-check-'));
  const cert = makeCertificate(base);
  caFile = cert.caFile;
  moto = await startMoto();
  iam = new IAMClient(motoClientConfig(moto));
  secrets = new SecretsManagerClient(motoClientConfig(moto));
  starttls = await startFakeSes('eu-west-1', moto.endpoint, iam, { tls: cert });
  implicit = await startFakeSes('eu-west-1', moto.endpoint, iam, { tls: cert, implicitTls: true });
  await iam.send(new CreateUserCommand({ UserName: USER }));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
}, 60_000);

afterAll(async () => {
  await starttls?.stop();
  await implicit?.stop();
  await moto?.stop();
  if (base) fs.rmSync(base, { recursive: true, force: true });
}, 30_000);

afterEach(async () => {
  starttls.minKeyAgeMs = 0;
  // IAM allows two keys per user: start every test from none.
  const { ListAccessKeysCommand } = await import('@aws-sdk/client-iam');
  for (const k of (await iam.send(new ListAccessKeysCommand({ UserName: USER }))).AccessKeyMetadata ?? []) {
    await iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: k.AccessKeyId }));
  }
});

describe('check', () => {
  test('logs in over verified STARTTLS with the stored credentials and sends nothing', async () => {
    const { secretId } = await issue();

    const result = await check(['--secret-id', secretId, '--ca-file', caFile]);

    expect(result).toEqual({ code: EXIT.OK, stdout: expect.stringMatching(/^ok: STARTTLS and AUTH accepted by \[localhost\]:\d+ for key AKIA…\w{4}; no mail sent\.\n$/), stderr: '' });
    expect(starttls.received).toEqual([]);
  });

  test('implicit TLS on a port given as implicit works the same', async () => {
    const { secretId } = await issue({ port: implicit.port });

    const result = await check(['--secret-id', secretId, '--ca-file', caFile, '--tls', 'implicit']);

    expect(result).toMatchObject({ code: EXIT.OK }); // on failure, shows stderr
    expect(result.stdout).toContain('ok: implicit TLS and AUTH accepted');
  });

  test('a password derived for another region than the host: 535, and the region cause comes first', async () => {
    const issued = await issue({ passwordRegion: 'eu-central-1', host: 'email-smtp.eu-west-1.amazonaws.com' });

    const result = await check(['--secret-id', issued.secretId, '--host', '127.0.0.1', '--port', String(starttls.port), '--ca-file', caFile], HOUR_LATER);

    expect(result).toMatchObject({ code: EXIT.AUTH_FAILED }); // on failure, shows stderr
    expect(result.stderr).toContain('535');
    const causes = result.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(causes[0]).toContain("Wrong region: the password was derived for eu-central-1, but the secret's host email-smtp.eu-west-1.amazonaws.com is SES in eu-west-1");
    expect(result.stderr).not.toContain('New key');
    expect(result.stderr).not.toContain(issued.password);
    expect(result.stderr).not.toContain('127.0.0.1'); // an option value is never echoed
  });

  test.each([
    ['inactive', (keyId: string) => iam.send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: keyId, Status: 'Inactive' }))],
    ['deleted', (keyId: string) => iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: keyId }))],
  ])('a key that is %s: 535 after a good TLS handshake, explained', async (_state, act) => {
    const issued = await issue();
    await act(issued.keyId);

    const result = await check(['--secret-id', issued.secretId, '--ca-file', caFile], HOUR_LATER);

    expect(result).toMatchObject({ code: EXIT.AUTH_FAILED }); // on failure, shows stderr
    expect(result.stderr).toContain(`Key inactive or deleted: the TLS handshake worked and the server refused this access key (${issued.keyId.slice(0, 4)}…${issued.keyId.slice(-4)})`);
    expect(result.stderr).not.toMatch(/Wrong region|New key/);
    expect(result.stderr).not.toContain(issued.password);
  });

  test('a key minutes old that SES does not accept yet: the propagation cause is named', async () => {
    starttls.minKeyAgeMs = 10 * 60_000;
    const issued = await issue();

    const result = await check(['--secret-id', issued.secretId, '--ca-file', caFile]);

    expect(result).toMatchObject({ code: EXIT.AUTH_FAILED }); // on failure, shows stderr
    expect(result.stderr).toContain('New key: the credentials were written less than a minute ago. A new IAM access key can take a few minutes');
    expect(result.stderr).not.toContain(issued.password);
  });

  test('STARTTLS against a port that speaks implicit TLS: TLS mode vs port', async () => {
    const { secretId } = await issue({ port: implicit.port });

    const result = await check(['--secret-id', secretId, '--ca-file', caFile, '--timeout', '2']);

    expect(result).toMatchObject({ code: EXIT.CONNECT_FAILED }); // on failure, shows stderr
    expect(result.stderr).toContain(`TLS mode vs port: STARTTLS was used on port ${implicit.port}, and the server seems to speak implicit TLS`);
  });

  test('implicit TLS against a STARTTLS port: TLS mode vs port', async () => {
    const { secretId } = await issue();

    const result = await check(['--secret-id', secretId, '--ca-file', caFile, '--tls', 'implicit', '--timeout', '5']);

    expect(result).toMatchObject({ code: EXIT.CONNECT_FAILED }); // on failure, shows stderr
    expect(result.stderr).toContain(`TLS mode vs port: implicit TLS was used on port ${starttls.port}, and the server seems to speak STARTTLS`);
  });

  test('a certificate the system does not trust: named as such, and AUTH is never attempted', async () => {
    const { secretId, keyId } = await issue();

    const result = await check(['--secret-id', secretId]);

    expect(result).toMatchObject({ code: EXIT.CONNECT_FAILED }); // on failure, shows stderr
    expect(result.stderr).toContain('Certificate not trusted');
    expect(starttls.authFailures).not.toContain(keyId);
  });

  test('nothing listening: connection refused, not a login problem', async () => {
    const { secretId } = await issue();

    const result = await check(['--secret-id', secretId, '--host', '127.0.0.1', '--port', '1', '--timeout', '2']);

    expect(result).toMatchObject({ code: EXIT.CONNECT_FAILED }); // on failure, shows stderr
    expect(result.stderr).toContain('Nothing listens on that host and port');
  });
});
