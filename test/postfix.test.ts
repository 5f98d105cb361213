/**
 * `ses-smtp-credentials sync` against Debian's real Postfix: a private
 * instance (own config, queue and data directories, no listener) relays
 * through a fake SES endpoint on 127.0.0.1 that speaks STARTTLS with a
 * certificate openssl made for localhost and checks AUTH against moto's
 * current key with the v4 derivation. Postfix verifies that certificate
 * (smtp_tls_security_level = secure, the test CA via --ca-file), so the
 * relayhost is the secret's host: 'localhost'.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { FakeSes, startFakeSes } from './support/fake-ses-smtp';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { Moto, motoClientConfig, startMoto } from './support/moto';
import { PostfixInstance, makeCertificate, requirePostfix, startPostfix, waitFor } from './support/postfix';
import { cliReadmeBlock } from './support/cli-readme';

const CLI = path.join(__dirname, '..', 'packages', 'cli', 'bin', 'ses-smtp-credentials.js');
const USER = 'mail-relay';
const SECRET = 'smtp/eu-west-1';

let base: string;
let moto: Moto;
let iam: IAMClient;
let secrets: SecretsManagerClient;
let ses: FakeSes;
let postfix: PostfixInstance;
let caFile: string;
let currentKey: { id: string; password: string };
const started = Date.now();

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME,
        AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true',
      },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const sync = (...extra: string[]) => cli(['sync', '--secret-id', SECRET, '--postfix-config-dir', postfix.configDir, '--ca-file', caFile, ...extra]);

/** Issues a key and writes the secret as the construct's handler would, for the fake SES on localhost. */
async function issueKey(): Promise<{ id: string; password: string }> {
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!;
  const password = await independentSmtpPassword(key.SecretAccessKey!, 'eu-west-1');
  const value = JSON.stringify({ username: key.AccessKeyId, password, host: 'localhost', port: ses.port, region: 'eu-west-1' });
  await secrets.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: value }));
  return { id: key.AccessKeyId!, password };
}

function expectNoSecretIn(run: Run) {
  expect(run.stdout + run.stderr).not.toContain(currentKey.password);
}

beforeAll(async () => {
  requirePostfix();
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'postfix-sync-'));
  fs.chmodSync(base, 0o755); // the postfix user walks into queue/ and data/
  const cert = makeCertificate(base);
  caFile = cert.caFile;
  moto = await startMoto();
  iam = new IAMClient(motoClientConfig(moto));
  secrets = new SecretsManagerClient(motoClientConfig(moto));
  ses = await startFakeSes('eu-west-1', moto.endpoint, iam, { tls: { key: cert.key, cert: cert.cert } });
  postfix = startPostfix(base);
  await iam.send(new CreateUserCommand({ UserName: USER }));
  await secrets.send(new CreateSecretCommand({ Name: SECRET }));
  currentKey = await issueKey();
}, 60_000);

afterAll(async () => {
  postfix?.stop();
  await ses?.stop();
  await moto?.stop();
  if (base) fs.rmSync(base, { recursive: true, force: true });
  console.log(`postfix.test.ts: ${((Date.now() - started) / 1000).toFixed(1)} s from start of file to the end`);
}, 60_000);

describe('sync on a real Postfix', () => {
  test('a first sync configures the relay, reloads, and mail goes out over verified TLS with AUTH', async () => {
    const run = await sync();

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('write sasl_passwd: new file');
    expect(run.stdout).toContain('Postfix reloaded');
    expectNoSecretIn(run);
    expect(postfix.postconf('relayhost')).toBe(`[localhost]:${ses.port}`);
    expect(postfix.postconf('smtp_tls_security_level')).toBe('secure');
    expect(postfix.postconf('smtp_tls_CAfile')).toBe(caFile);
    expect(postfix.postconf('smtp_sasl_password_maps')).toBe(`hash:${postfix.configDir}/sasl_passwd`);
    expect(fs.readFileSync(path.join(postfix.configDir, 'main.cf'), 'utf8')).not.toMatch(/smtp_use_tls|smtp_tls_wrappermode/);
    for (const file of ['sasl_passwd', 'sasl_passwd.db']) {
      const stat = fs.statSync(path.join(postfix.configDir, file));
      expect({ file, mode: stat.mode & 0o777, uid: stat.uid }).toEqual({ file, mode: 0o600, uid: 0 });
    }

    postfix.send('ops@example.com', 'first', 'relayed after sync');

    const mail = await waitFor('the first mail at the fake SES', () => ses.received.find((m) => m.data.includes('Subject: first')));
    expect(mail).toMatchObject({ user: currentKey.id, overTls: true, to: ['ops@example.com'] });
    expect(fs.readFileSync(postfix.maillog, 'utf8')).toMatch(/Verified TLS connection established to localhost\[127\.0\.0\.1\]/);
  });

  test('a second sync finds everything in place: nothing written, no reload', async () => {
    const mainCf = fs.statSync(path.join(postfix.configDir, 'main.cf')).mtimeMs;
    const passwd = fs.statSync(path.join(postfix.configDir, 'sasl_passwd')).ino;

    const run = await sync();

    expect(run).toEqual({ code: 0, stdout: 'in sync: nothing changed.\n', stderr: '' });
    expect(fs.statSync(path.join(postfix.configDir, 'main.cf')).mtimeMs).toBe(mainCf);
    expect(fs.statSync(path.join(postfix.configDir, 'sasl_passwd')).ino).toBe(passwd);
  });

  test('after a rotation mail defers with 535; --dry-run tells, sync fixes it, and the queue flushes', async () => {
    const oldKey = currentKey;
    currentKey = await issueKey();
    await iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: oldKey.id }));

    postfix.send('ops@example.com', 'second', 'sent during the rotation');
    const deferred = await waitFor('a deferral with 535', () => /535/.test(postfix.queue()) && postfix.queue());
    expect(deferred).toContain('Authentication Credentials Invalid');
    expect(ses.authFailures).toContain(oldKey.id);

    const dry = await sync('--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would write sasl_passwd: new credentials');
    expect(dry.stdout).toContain('would rebuild the hash map with postmap');
    expect(dry.stdout).toContain('dry run: nothing was written.');
    expectNoSecretIn(dry);
    expect(fs.readFileSync(path.join(postfix.configDir, 'sasl_passwd'), 'utf8')).toContain(oldKey.id);

    const run = await sync();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('write sasl_passwd: new credentials');
    expect(run.stdout).toContain('Postfix reloaded');
    expect(run.stdout).not.toContain('set relayhost'); // only the password changed
    // The CLI README's sample output is this run, with SES's host and port and a sample key id.
    const asInReadme = run.stdout.replace(/AKIA…[A-Z0-9]{4}/, 'AKIA…WXYZ').replace(`[localhost]:${ses.port}`, '[email-smtp.eu-west-1.amazonaws.com]:587');
    expect(asInReadme).toBe(cliReadmeBlock('sync-output').text);
    expectNoSecretIn(run);

    postfix.flush();
    const mail = await waitFor('the deferred mail at the fake SES', () => ses.received.find((m) => m.data.includes('Subject: second')));
    expect(mail.user).toBe(currentKey.id);
    await waitFor('an empty queue', () => /Mail queue is empty/.test(postfix.queue()));
  });

  test('a symbolic link planted at sasl_passwd is refused and nothing changes', async () => {
    const passwd = path.join(postfix.configDir, 'sasl_passwd');
    const victim = path.join(base, 'victim');
    fs.writeFileSync(victim, 'untouched\n');
    fs.renameSync(passwd, `${passwd}.saved`);
    fs.symlinkSync(victim, passwd);
    try {
      const run = await sync();

      expect(run.code).toBe(7);
      expect(run.stderr).toContain('sasl_passwd in the --postfix-config-dir directory is a symbolic link');
      expect(run.stderr).not.toContain(postfix.configDir); // an option value is never echoed
      expect(fs.readFileSync(victim, 'utf8')).toBe('untouched\n');
      expect(fs.readdirSync(postfix.configDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      fs.rmSync(passwd);
      fs.renameSync(`${passwd}.saved`, passwd);
    }
  });

  test('a missing config directory is a set-up error (6) that names no path', async () => {
    const run = await cli(['sync', '--secret-id', SECRET, '--postfix-config-dir', path.join(base, 'nope'), '--ca-file', caFile]);

    expect(run.code).toBe(6);
    expect(run.stderr).toContain('the --postfix-config-dir directory has no main.cf');
    expect(run.stderr).not.toContain(base);
  });
});
