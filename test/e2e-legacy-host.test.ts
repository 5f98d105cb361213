/**
 * End to end, as a legacy host does it, with real parts on 127.0.0.1 only:
 * the handler issues credentials into moto; the CLI (a subprocess) reads and
 * renders them; nodemailer sends over STARTTLS to an SMTP server that
 * authenticates like SES (key looked up in moto, password derived for its region).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createTransport } from 'nodemailer';
import { FakeSes, startFakeSes } from './support/fake-ses-smtp';
import { World } from './support/world';

const CLI = path.join(__dirname, '..', 'packages', 'cli', 'bin', 'ses-smtp-credentials.js');
const USER = 'legacy-mail-relay';
const world = new World();
let ses: FakeSes;
let secretArn: string;

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI like a boot script would, against moto. */
function cli(args: string[], stdin = '', command: string[] = [process.execPath, CLI]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), ...args], {
      cwd: path.join(__dirname, '..'),
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME,
        AWS_ENDPOINT_URL: world.moto.endpoint, AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function send(port: number, user: string, pass: string) {
  const transport = createTransport({
    host: '127.0.0.1', port, secure: false, requireTLS: true, auth: { user, pass },
    // The fake server uses smtp-server's built-in self-signed certificate; loopback only.
    tls: { rejectUnauthorized: false },
  });
  return transport.sendMail({ from: 'noreply@example.com', to: 'ops@example.com', subject: 'legacy report', text: 'nightly batch finished' })
    .finally(() => transport.close());
}

beforeAll(async () => {
  await world.start();
  ses = await startFakeSes('eu-west-1', world.moto.endpoint, world.iam);
});
afterAll(async () => {
  await ses.stop();
  await world.stop();
});
beforeEach(async () => {
  await world.reset();
  await world.createUser(USER);
  secretArn = await world.createEmptySecret('smtp/eu-west-1');
  const create = await world.send('Create', {
    UserName: USER,
    Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: secretArn }],
  });
  expect(create.Status).toBe('SUCCESS');
});

test('a legacy host reads the secret with the CLI and sends mail over STARTTLS with it', async () => {
  const shown = await cli(['show', '--secret-id', secretArn, '--format', 'json']);
  expect(shown.code).toBe(0);
  expect(shown.stderr).not.toContain('ses-smtp-credentials:');
  const credentials = JSON.parse(shown.stdout);

  const info = await send(ses.port, credentials.username, credentials.password);

  expect(info.accepted).toEqual(['ops@example.com']);
  expect(ses.received).toHaveLength(1);
  expect(ses.received[0]).toMatchObject({ from: 'noreply@example.com', to: ['ops@example.com'], user: credentials.username, overTls: true });
  expect(ses.received[0].data).toContain('nightly batch finished');
});

test('the Postfix sasl_passwd line carries credentials the server accepts', async () => {
  const line = (await cli(['show', '--secret-id', secretArn, '--format', 'postfix-sasl-passwd'])).stdout.trim();
  const [, user, pass] = /^\[email-smtp\.eu-west-1\.amazonaws\.com\]:587 (AKIA[A-Z0-9]+):(\S+)$/.exec(line) ?? [];

  await send(ses.port, user, pass);

  expect(ses.received.at(-1)?.user).toBe(user);
});

test('a password derived for another region is rejected with 535', async () => {
  const { username } = JSON.parse((await cli(['show', '--secret-id', secretArn])).stdout);
  const secretAccessKey = world.secretOf(username).secretAccessKey;
  const derived = await cli(['derive', '--region', 'eu-central-1'], secretAccessKey);
  expect(derived.code).toBe(0);

  await expect(send(ses.port, username, derived.stdout.trim())).rejects.toMatchObject({ responseCode: 535 });
  expect(ses.authFailures).toContain(username);
});

test('the CLI derives the same password the handler stored, from stdin', async () => {
  const { username, password } = JSON.parse((await cli(['show', '--secret-id', secretArn])).stdout);

  const derived = await cli(['derive', '--region', 'eu-west-1'], `${world.secretOf(username).secretAccessKey}\n`);

  expect(derived).toEqual({ code: 0, stdout: `${password}\n`, stderr: '' }); // derive loads no SDK: nothing on stderr
});

test('a key deleted with the resource no longer authenticates', async () => {
  const { username, password } = JSON.parse((await cli(['show', '--secret-id', secretArn])).stdout);
  const physical = JSON.parse(world.server.raw.at(-1)!).PhysicalResourceId;
  const properties = { UserName: USER, Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: secretArn }] };
  const deleted = await world.send('Delete', properties, { physicalResourceId: physical });
  expect(deleted.Status).toBe('SUCCESS');

  await expect(send(ses.port, username, password)).rejects.toMatchObject({ responseCode: 535 });
});

describe('a secret that holds no credentials yet says so, and why', () => {
  test('one that exists without a value (a first deployment still running): exit 11, not "not found"', async () => {
    const pending = await world.createEmptySecret('smtp/eu-central-1');

    const run = await cli(['show', '--secret-id', pending]);

    expect(run).toMatchObject({ code: 11, stdout: '' });
    expect(run.stderr).toBe('ses-smtp-credentials: the secret (--secret-id) exists in region eu-west-1 (from AWS_REGION) but has no value yet: '
      + 'the stack that owns it has not finished its first deployment, or that deployment failed. Wait for the deployment to finish and run this again; '
      + 'if it failed, the stack\'s events in CloudFormation say why: fix that and deploy again.\n');
  });

  test('one that does not exist is still "not found" (4)', async () => {
    const run = await cli(['show', '--secret-id', 'smtp/no-such-secret']);

    expect(run.code).toBe(4);
    expect(run.stderr).toContain('was not found in region eu-west-1 (from AWS_REGION). Check the name/ARN and the region');
  });

  test('the claim left by a first deployment that failed before writing the primary: exit 11, and what happened', async () => {
    // Two regions; writing the second one is denied: the primary holds only the deployment's claim (its first version, so AWSCURRENT).
    const first = await world.createEmptySecret('smtp/first-deploy');
    const second = await world.createEmptySecret('smtp/first-deploy-eu-central-1');
    world.fault = (name, input) => (name === 'PutSecretValue' && input.SecretId === second
      ? Object.assign(new Error('User is not authorized to perform secretsmanager:PutSecretValue'), { name: 'AccessDeniedException' })
      : undefined);
    const failed = await world.send('Create', {
      UserName: USER,
      Targets: [
        { Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: first },
        { Region: 'eu-central-1', Host: 'email-smtp.eu-central-1.amazonaws.com', Port: '587', SecretArn: second },
      ],
    });
    expect(failed.Status).toBe('FAILED');
    expect(await world.currentValue(first)).toEqual({ sesSmtpClaim: expect.any(String), iamUserName: USER });

    const run = await cli(['check', '--secret-id', first]);

    expect(run).toMatchObject({ code: 11, stdout: '' });
    expect(run.stderr).toBe('ses-smtp-credentials: the secret (--secret-id) holds no credentials yet: the stack\'s first deployment has claimed it '
      + 'and not written credentials, either because it is still running or because it failed. Wait for the deployment to finish and run this '
      + 'again; if it failed, the stack\'s events in CloudFormation say why: fix that and deploy again.\n');
  });
});

test('works through npx from the package\'s own bin', async () => {
  const npx = await cli(['show', '--secret-id', secretArn, '--format', 'postfix-relayhost'], '', ['npx', '--no-install', 'ses-smtp-credentials']);

  expect(npx.code).toBe(0);
  expect(npx.stdout).toBe('[email-smtp.eu-west-1.amazonaws.com]:587\n');
});
