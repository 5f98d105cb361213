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
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { EXIT, main } from '../packages/cli/lib/cli';
import { FORMATS, render } from '../packages/cli/lib/formats';
import { SECRET_FIELDS } from '../packages/cli/lib/secret';
import { SYNC_OPTIONS } from '../packages/cli/lib/sync';
import { CHECK_OPTIONS } from '../packages/cli/lib/check';
import { SHOW_OPTIONS } from '../packages/cli/lib/show';
import { DERIVE_OPTIONS } from '../packages/cli/lib/derive';

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
    ['anything else', Object.assign(new Error('boom'), { name: 'InternalServiceError' }), EXIT.ERROR, 'could not read the secret (--secret-id): InternalServiceError: boom'],
  ])('%s gives its own exit code and says what to do', async (_what, error, code, message) => {
    secrets.on(GetSecretValueCommand).rejects(error);

    const result = await run(['show', '--secret-id', 'smtp']);

    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  describe('ResourceNotFoundException: not found, or found without a value', () => {
    const notFound = (message: string) => Object.assign(new Error(message), { name: 'ResourceNotFoundException' });
    const denied = Object.assign(new Error('not authorized to perform secretsmanager:DescribeSecret'), { name: 'AccessDeniedException' });

    test.each([
      ['DescribeSecret finds it', "Secrets Manager can't find the specified secret.", { resolves: {} }, EXIT.NOT_READY, 'exists in region eu-west-1 (from AWS_REGION) but has no value yet'],
      ['DescribeSecret does not find it either', "Secrets Manager can't find the specified secret.", { rejects: notFound("Secrets Manager can't find the specified secret.") }, EXIT.NOT_FOUND, 'was not found'],
      ['DescribeSecret is denied, and AWS names the missing version', "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT", { rejects: denied }, EXIT.NOT_READY, 'but has no value yet'],
      ['DescribeSecret is denied, and AWS names the secret', "Secrets Manager can't find the specified secret.", { rejects: denied }, EXIT.NOT_FOUND, 'was not found'],
    ])('%s', async (_what, message, describe, code, said) => {
      secrets.on(GetSecretValueCommand, { SecretId: 'smtp', VersionStage: 'AWSCURRENT' }).rejects(notFound(message));
      if ('resolves' in describe) secrets.on(DescribeSecretCommand, { SecretId: 'smtp' }).resolves(describe.resolves);
      else secrets.on(DescribeSecretCommand, { SecretId: 'smtp' }).rejects(describe.rejects);

      const result = await run(['show', '--secret-id', 'smtp']);

      expect(result).toMatchObject({ code, stdout: '' });
      expect(result.stderr).toContain(said);
    });
  });

  test('a deployment\'s claim (what a secret holds before its first credentials) is "no credentials yet", not "missing username"', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ sesSmtpClaim: '8f1c9a4e-1b2c-4d5e-8f90-0a1b2c3d4e5f', iamUserName: 'legacy-mail-relay' }) });

    const result = await run(['show', '--secret-id', 'smtp']);

    expect(result.code).toBe(EXIT.NOT_READY);
    expect(result.stderr).toContain('holds no credentials yet: the stack\'s first deployment has claimed it and not written credentials');
    expect(result.stderr).not.toContain('missing');
  });

  test('{} (what a first deployment whose credentials were withdrawn leaves) is not called "missing username"', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{}' });

    const result = await run(['show', '--secret-id', 'smtp']);

    expect(result.code).toBe(EXIT.NOT_READY);
    expect(result.stderr).toContain('holds {} and no credentials');
    expect(result.stderr).not.toContain('missing');
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

describe('help', () => {
  const OPTIONS: Record<string, Record<string, unknown>> = { sync: SYNC_OPTIONS, check: CHECK_OPTIONS, show: SHOW_OPTIONS, derive: DERIVE_OPTIONS };
  const lines = (text: string) => text.split('\n');

  test.each([['--help'], ['-h'], ['help']])('%s prints a short overview: every command, every exit code, and where the rest is', async (flag) => {
    const result = await run([flag]);

    expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
    for (const command of Object.keys(OPTIONS)) expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    for (const code of Object.values(EXIT)) expect(result.stdout).toMatch(new RegExp(`^  ${code} +\\S`, 'm'));
    expect(result.stdout).toContain('ses-smtp-credentials <command> --help');
    expect(lines(result.stdout).length).toBeLessThan(40);
  });

  describe.each(Object.keys(OPTIONS))('%s --help', (command) => {
    test('is the command\'s own page, also as -h and help COMMAND, and calls no AWS API', async () => {
      const pages = [await run([command, '--help']), await run([command, '-h']), await run(['help', command]), await run([command, '--secret-id', 'smtp', '--help'])];
      const overview = (await run(['--help'])).stdout;

      for (const page of pages) expect(page).toEqual({ code: EXIT.OK, stdout: pages[0].stdout, stderr: '' });
      expect(pages[0].stdout).toMatch(new RegExp(`^Usage: ses-smtp-credentials ${command} `));
      expect(pages[0].stdout).not.toBe(overview);
      expect(secrets.calls()).toEqual([]);
    });

    test('names exactly the options the command accepts', async () => {
      const page = (await run([command, '--help'])).stdout;
      const options = /\nOptions:\n([\s\S]*?)\n\n/.exec(page)![1];

      expect([...options.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]).sort()).toEqual(Object.keys(OPTIONS[command]).sort());
    });

    test('lists the exit codes it can give, with what 0 means for it', async () => {
      const page = (await run([command, '--help'])).stdout;
      const codes = [.../\nExit codes:\n([\s\S]*)$/.exec(page)![1].matchAll(/^ {2}(\d+) /gm)].map((m) => Number(m[1]));
      const expected: Record<string, number[]> = {
        sync: [0, 1, 2, 3, 4, 5, 6, 7, 8, 11],
        check: [0, 1, 2, 3, 4, 5, 9, 10, 11],
        show: [0, 1, 2, 3, 4, 5, 7, 11],
        derive: [0, 1, 2],
      };

      expect(codes).toEqual(expected[command]);
      expect(page).not.toContain('0   ok (sync:');
    });

    test('fits an 80-column terminal', async () => {
      const page = (await run([command, '--help'])).stdout;

      expect(lines(page).filter((line) => line.length > 79)).toEqual([]);
      expect(lines(page).length).toBeLessThan(50);
    });
  });

  test('show --help describes every format', async () => {
    const page = (await run(['show', '--help'])).stdout;

    for (const format of Object.keys(FORMATS)) expect(page).toMatch(new RegExp(`^  ${format} +\\S`, 'm'));
  });

  test('help for an unknown command is a usage error', async () => {
    const result = await run(['help', 'rotate']);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain("unknown command 'rotate'");
  });
});

describe('errors', () => {
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
