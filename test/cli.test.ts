/**
 * ses-smtp-credentials CLI (packages/cli): arguments, exit codes, formats and file safety.
 * AWS errors moto cannot produce (no credentials, access denied) use
 * aws-sdk-client-mock; the happy path against moto is in e2e-legacy-host.test.ts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { EXIT, main } from '../packages/cli/lib/cli';
import { FORMATS, render } from '../packages/cli/lib/formats';
import { SECRET_FIELDS } from '../packages/cli/lib/secret';

const CREDS = { username: 'AKIAIOSFODNN7EXAMPLE', password: "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38P+/'", host: 'email-smtp.eu-west-1.amazonaws.com', port: 587, region: 'eu-west-1' };
const secrets = mockClient(SecretsManagerClient);

async function run(argv: string[], stdin = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => { out += c; });
  stderr.on('data', (c) => { err += c; });
  const code = await main(argv, { stdin: Readable.from([stdin]), stdout, stderr });
  return { code, stdout: out, stderr: err };
}

/** Temporary directories the tests made; removed after each test. */
const made: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  secrets.reset();
  secrets.onAnyCommand().rejects(new Error('unexpected call'));
  process.env.AWS_REGION = 'eu-west-1';
});

describe('derive', () => {
  test('prints the SMTP password for the key on stdin', async () => {
    expect(await run(['derive', '--region', 'eu-west-1'], 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n'))
      .toEqual({ code: EXIT.OK, stdout: 'BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk\n', stderr: '' });
  });

  test.each(['eusc-de-east-1', 'us-gov-east-1', 'cn-northwest-1'])('derives for %s, a region of another partition', async (region) => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

    expect(await run(['derive', '--region', region], `${key}\n`))
      .toEqual({ code: EXIT.OK, stdout: `${await independentSmtpPassword(key, region)}\n`, stderr: '' });
  });

  test('refuses the secret key as an argument, explaining why', async () => {
    const result = await run(['derive', '--region', 'eu-west-1', '--secret-access-key', 'wJalr']);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('--secret-access-key is not accepted: arguments leak into process lists and shell history');
    expect(result.stdout).toBe('');
  });

  test.each([
    [['derive'], 'wJalr', 'derive needs --region'],
    [['derive', '--region', 'eu-west-1'], '', 'no secret access key on stdin'],
    [['derive', '--region', 'eu-west-1'], 'two words', 'stdin holds more than one word'],
    [['derive', '--region', 'Ireland'], 'wJalr', "--region must be an AWS region name such as 'eu-west-1', 'us-gov-west-1' or 'eusc-de-east-1' (the value given is not; it is not shown)"],
    [['derive', '--region'], 'wJalr', '--region needs a value'],
    [['derive', '--colour', 'red'], 'wJalr', "unknown option '--colour'"],
    [['derive', '--region', 'eu-west-1', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'], 'x', 'unexpected argument (40 characters, not shown'],
  ])('%j with stdin %j is a usage error', async (argv, stdin, message) => {
    const result = await run(argv, stdin);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('K7MDENG'); // a key pasted as an argument is never echoed
  });
});

describe('show', () => {
  test('reads AWSCURRENT and prints JSON by default', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'smtp', VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify(CREDS) });

    const result = await run(['show', '--secret-id', 'smtp']);

    expect(result.code).toBe(EXIT.OK);
    expect(JSON.parse(result.stdout)).toEqual(CREDS);
  });

  test('--output writes the file with mode 0600, even over an existing world-readable file', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(CREDS) });
    const file = path.join(tempDir('smtp-'), 'sasl_passwd');
    fs.writeFileSync(file, 'old', { mode: 0o644 });

    const result = await run(['show', '--secret-id', 'smtp', '--format', 'postfix-sasl-passwd', '--output', file]);

    expect(result).toMatchObject({ code: EXIT.OK, stdout: '' });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`[${CREDS.host}]:587 ${CREDS.username}:${CREDS.password}\n`);
  });

  test.each([
    ['no credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), EXIT.ACCESS, 'no AWS credentials found'],
    ['access denied', Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }), EXIT.ACCESS, 'SesSmtpUser.grantRead'],
    ['a wrong id or region', Object.assign(new Error("can't find the specified secret"), { name: 'ResourceNotFoundException' }), EXIT.NOT_FOUND, 'was not found in region eu-west-1 (from AWS_REGION). Check the name/ARN and the region'],
    ['anything else', Object.assign(new Error('boom'), { name: 'InternalServiceError' }), EXIT.ERROR, 'could not read the secret (--secret-id): InternalServiceError: boom'],
  ])('%s gives its own exit code and says what to do', async (_what, error, code, message) => {
    secrets.on(GetSecretValueCommand).rejects(error);

    const result = await run(['show', '--secret-id', 'smtp']);

    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  test.each([
    ['not JSON', 'hunter2', 'its value is not JSON', 'hunter2'],
    ['another secret shape', JSON.stringify({ username: 'db', password: 's3cr3t-db' }), 'missing host, port, region', 's3cr3t-db'],
  ])('a secret that is %s is refused without printing it', async (_what, value, message, secret) => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: value });

    const result = await run(['show', '--secret-id', 'smtp']);

    expect(result.code).toBe(EXIT.NOT_OURS);
    expect(result.stderr).toContain(message);
    expect(result.stderr + result.stdout).not.toContain(secret);
  });

  test('an unknown format lists the valid ones', async () => {
    const result = await run(['show', '--secret-id', 'smtp', '--format', 'xml']);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(`choose one of: ${Object.keys(FORMATS).join(', ')}`);
  });
});

describe('show --output never writes through a link or over another user\'s file', () => {
  const dir = () => tempDir('smtp-out-');
  const show = (file: string) => run(['show', '--secret-id', 'smtp', '--format', 'postfix-sasl-passwd', '--output', file]);
  beforeEach(() => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(CREDS) });
  });

  test('a planted symbolic link is refused (7) and its target is untouched', async () => {
    const d = dir();
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, 'untouched\n', { mode: 0o644 });
    fs.symlinkSync(victim, path.join(d, 'sasl_passwd'));

    const result = await show(path.join(d, 'sasl_passwd'));

    expect(result.code).toBe(EXIT.UNSAFE_OUTPUT);
    expect(result.stderr).toContain('the --output file is a symbolic link');
    expect(result.stderr).not.toContain(d);
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(fs.lstatSync(path.join(d, 'sasl_passwd')).isSymbolicLink()).toBe(true);
    expect(fs.readdirSync(d).sort()).toEqual(['sasl_passwd', 'victim']); // no temporary file left
  });

  test('a dangling symbolic link is refused too: nothing is created where it points', async () => {
    const d = dir();
    fs.symlinkSync(path.join(d, 'created-by-follow'), path.join(d, 'out'));

    const result = await show(path.join(d, 'out'));

    expect(result.code).toBe(EXIT.UNSAFE_OUTPUT);
    expect(fs.existsSync(path.join(d, 'created-by-follow'))).toBe(false);
  });

  test('a file owned by another user (nobody) is refused (7) and keeps its owner and content', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test chowns a file to nobody: run it as root (CI does)');
    const d = dir();
    const file = path.join(d, 'sasl_passwd');
    fs.writeFileSync(file, 'theirs\n', { mode: 0o600 });
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    fs.chownSync(file, nobody, nobody);

    const result = await show(file);

    expect(result.code).toBe(EXIT.UNSAFE_OUTPUT);
    expect(result.stderr).toContain(`is owned by uid ${nobody}, not by this user (uid 0)`);
    expect(fs.statSync(file).uid).toBe(nobody);
    expect(fs.readFileSync(file, 'utf8')).toBe('theirs\n');
  });

  test('a new file is created 0600 and owned by the current user, atomically (a new inode)', async () => {
    const d = dir();
    const file = path.join(d, 'sasl_passwd');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    const before = fs.statSync(file).ino;

    expect((await show(file)).code).toBe(EXIT.OK);

    const after = fs.statSync(file);
    expect({ mode: after.mode & 0o777, uid: after.uid }).toEqual({ mode: 0o600, uid: process.getuid?.() });
    expect(after.ino).not.toBe(before);
    expect(fs.readdirSync(d)).toEqual(['sasl_passwd']);
  });

  test('a directory others may write to (no sticky bit) is refused', async () => {
    const d = dir();
    fs.chmodSync(d, 0o777);

    const result = await show(path.join(d, 'out'));

    expect(result.code).toBe(EXIT.UNSAFE_OUTPUT);
    expect(result.stderr).toContain('directory others may write to');
  });
});

describe('formats', () => {
  test('env quotes values for the shell, so a password with quotes and slashes survives eval', async () => {
    const rendered = render('env', CREDS);
    const echoed = execFileSync('sh', ['-c', `${rendered} printf '%s' "$SMTP_PASSWORD"`], { encoding: 'utf8' });

    expect(echoed).toBe(CREDS.password);
  });

  test('url encodes the password and uses smtps:// for TLS-wrapper ports', () => {
    expect(render('url', CREDS)).toBe(`smtp://AKIAIOSFODNN7EXAMPLE:${encodeURIComponent(CREDS.password)}@${CREDS.host}:587\n`);
    expect(render('url', { ...CREDS, port: 465 })).toMatch(/^smtps:\/\//);
  });

  test('postfix-main-cf holds no secret and turns on wrapper mode only for 465/2465', () => {
    const mainCf = render('postfix-main-cf', CREDS);

    expect(mainCf).toContain(`relayhost=[${CREDS.host}]:587`);
    expect(mainCf).toContain('smtp_tls_security_level=secure');
    expect(mainCf).not.toContain(CREDS.password);
    expect(mainCf).not.toMatch(/smtp_tls_wrappermode|smtp_use_tls|=encrypt/);
    expect(render('postfix-main-cf', { ...CREDS, port: 465 })).toContain('smtp_tls_wrappermode=yes');
  });

  test('json renders exactly the fields the handler writes', () => {
    expect(Object.keys(JSON.parse(render('json', CREDS)))).toEqual([...SECRET_FIELDS]);
  });
});

describe('help and errors', () => {
  test('--help documents every command, format and exit code', async () => {
    const result = await run(['--help']);

    expect(result.code).toBe(EXIT.OK);
    for (const word of ['sync', 'check', 'derive', 'show', ...Object.keys(FORMATS), '0 ok', ...Object.values(EXIT).map((code) => `\n  ${code} `)]) {
      expect(result.stdout).toContain(word);
    }
  });

  test('no command prints help and exits with a usage error', async () => {
    expect((await run([])).code).toBe(EXIT.USAGE);
  });

  test('an unknown command is a usage error naming the commands', async () => {
    const result = await run(['rotate']);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain("unknown command 'rotate'; use sync, check, show or derive");
  });

  test.each([
    ['derive --region', ['derive', '--region', 'hunter2-SECRET']],
    ['show --format', ['show', '--secret-id', 'smtp', '--format', 'hunter2-SECRET']],
    ['check --port', ['check', '--secret-id', 'smtp', '--port', 'hunter2-SECRET']],
    ['check --tls', ['check', '--secret-id', 'smtp', '--tls', 'hunter2-SECRET']],
    ['sync --postfix-config-dir', ['sync', '--secret-id', 'smtp', '--postfix-config-dir', 'hunter2-SECRET']],
    ['a stray word', ['show', 'hunter2-SECRET']],
    ['an unknown command', ['hunter2-SECRET']],
    ['an unknown option', ['show', '--hunter2-SECRET=x']],
  ])('%s: a wrong value is a usage error that never echoes it', async (_what, argv) => {
    const result = await run(argv, 'x');

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).not.toContain('hunter2');
  });
});
