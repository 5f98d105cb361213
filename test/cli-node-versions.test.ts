/**
 * The CLI's bin, run as cron and systemd run it (a child process), is silent
 * on stderr when it succeeds, on every Node.js line it supports: cron mails
 * whatever a job writes to stderr, and a timer's journal should show failures
 * only. On Node.js 20 the AWS SDK's own notice about its Node.js 22 floor was
 * such a line on every run; the bin turns off exactly that notice.
 *
 * Node.js 22 and 24 (and 20 where the tests run on another line) come from
 * test/support/node-versions.js; a missing one fails its tests with the
 * command that installs it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { FakeSes, startFakeSes } from './support/fake-ses-smtp';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { Moto, motoClientConfig, startMoto } from './support/moto';
import { makeCertificate } from './support/postfix';
import { nodeBinary, nodeLines } from './support/node-versions';

const CLI = path.join(__dirname, '..', 'packages', 'cli', 'bin', 'ses-smtp-credentials.js');
const SECRET = 'smtp/eu-west-1';
/** AWS's documented example key and the password the CLI's README shows for it. */
const EXAMPLE_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const EXAMPLE_PASSWORD = 'BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk';

let base: string;
let moto: Moto;
let ses: FakeSes;
let caFile: string;

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the bin with a given Node.js and nothing of this process's environment but PATH and HOME. */
function cli(node: string, args: string[], options: { stdin?: string; env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...options.nodeArgs ?? [], CLI, ...args], {
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME,
        AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true',
        ...options.env,
      },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** The Node.js binary for a line; a missing one fails the test with the command that installs it. */
function node(line: 20 | 22 | 24): string {
  const found = nodeBinary(line);
  if ('problem' in found) throw new Error(found.problem);
  return found.binary;
}

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-node-'));
  const cert = makeCertificate(base);
  caFile = cert.caFile;
  moto = await startMoto();
  const iam = new IAMClient(motoClientConfig(moto));
  const secrets = new SecretsManagerClient(motoClientConfig(moto));
  ses = await startFakeSes('eu-west-1', moto.endpoint, iam, { tls: cert });
  await iam.send(new CreateUserCommand({ UserName: 'mail-relay' }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'mail-relay' }))).AccessKey!;
  const password = await independentSmtpPassword(key.SecretAccessKey!, 'eu-west-1');
  await secrets.send(new CreateSecretCommand({
    Name: SECRET,
    SecretString: JSON.stringify({ username: key.AccessKeyId, password, host: 'localhost', port: ses.port, region: 'eu-west-1' }),
  }));
}, 60_000);

afterAll(async () => {
  await ses?.stop();
  await moto?.stop();
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

test('the tested lines are 20, 22 and 24', () => {
  expect(nodeLines()).toEqual([20, 22, 24]);
});

describe.each([20, 22, 24] as const)('on Node.js %i, a successful run writes nothing to stderr', (line) => {
  test('show (reads the secret with the AWS SDK)', async () => {
    const run = await cli(node(line), ['show', '--secret-id', SECRET, '--format', 'postfix-relayhost']);

    expect(run).toEqual({ code: 0, stdout: `[localhost]:${ses.port}\n`, stderr: '' });
  });

  test('check (the AWS SDK, then nodemailer over STARTTLS and AUTH)', async () => {
    const run = await cli(node(line), ['check', '--secret-id', SECRET, '--ca-file', caFile]);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^ok: STARTTLS and AUTH accepted/);
  });

  test('derive, --help and --version', async () => {
    const runs = [
      await cli(node(line), ['derive', '--region', 'eu-west-1'], { stdin: EXAMPLE_KEY }),
      await cli(node(line), ['sync', '--help']),
      await cli(node(line), ['--version']),
    ];

    expect(runs.map((r) => [r.code, r.stderr])).toEqual([[0, ''], [0, ''], [0, '']]);
    expect(runs[0].stdout).toBe(`${EXAMPLE_PASSWORD}\n`);
  });
});

describe('only the SDK\'s Node.js notice is turned off', () => {
  test('on Node.js 20, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false brings it back (so these tests do see it)', async () => {
    const run = await cli(node(20), ['show', '--secret-id', SECRET, '--format', 'postfix-relayhost'], { env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' } });

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)');
  });

  test('any other process warning still reaches stderr', async () => {
    const preload = path.join(base, 'warn.js');
    fs.writeFileSync(preload, "process.emitWarning('a warning that is not the SDK notice');\n");

    const run = await cli(node(20), ['show', '--secret-id', SECRET, '--format', 'postfix-relayhost'], { nodeArgs: ['--require', preload] });

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Warning: a warning that is not the SDK notice');
    expect(run.stderr).not.toContain('NodeVersionSupportWarning');
  });
});
