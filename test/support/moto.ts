/**
 * Starts moto (a real AWS API emulator) on a free loopback port for one test
 * file, and stops it afterwards. No traffic leaves 127.0.0.1.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { PYTHON_HINT, testPython } from './prerequisites';

export const INSTALL_HINT = PYTHON_HINT;

export interface Moto {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** Clears every account, user, key and secret. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function requestWithBody(method: string, url: string, payload?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) };
    const req = http.request(url, { method, timeout: 2000, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

async function request(method: string, url: string): Promise<number> {
  return (await requestWithBody(method, url)).status;
}

/**
 * Makes IAM report an access key as created `seconds` earlier than it was:
 * a key someone made long before the test (moto_fixtures.py). AWS's API
 * cannot do this; only the passing of time can.
 */
export async function ageAccessKey(moto: Moto, accessKeyId: string, seconds: number): Promise<void> {
  const { status, body } = await requestWithBody('POST', `${moto.endpoint}/_fixtures/age-access-key`, JSON.stringify({ AccessKeyId: accessKeyId, Seconds: seconds }));
  if (status !== 200) throw new Error(`moto could not age access key ${accessKeyId}: ${status} ${body}`);
}

/** Makes Secrets Manager report a secret version as created `seconds` earlier than it was (moto_fixtures.py). */
export async function ageSecretVersion(moto: Moto, secretId: string, versionId: string, seconds: number): Promise<void> {
  const { status, body } = await requestWithBody('POST', `${moto.endpoint}/_fixtures/age-secret-version`, JSON.stringify({ SecretId: secretId, VersionId: versionId, Seconds: seconds }));
  if (status !== 200) throw new Error(`moto could not age version ${versionId} of ${secretId}: ${status} ${body}`);
}

/**
 * Moves moto's clock `offsetMs` ahead of the real one (moto_fixtures.py): what
 * IAM and Secrets Manager stamp from then on. Only forward.
 */
export async function setMotoClock(moto: Moto, offsetMs: number): Promise<void> {
  const { status, body } = await requestWithBody('POST', `${moto.endpoint}/_fixtures/clock`, JSON.stringify({ OffsetMs: offsetMs }));
  if (status !== 200) throw new Error(`moto would not move its clock to +${offsetMs} ms: ${status} ${body}`);
}

export interface StartMotoOptions {
  /**
   * Run moto behind test/support/moto_enforced.py, which authorises every
   * request not made with the harness key 'testing' against the caller's
   * identity policies, the ARN of the resource the request names and the
   * policies' conditions, and answers denials as AWS does.
   */
  readonly enforceIam?: boolean;
}

/** One authorisation decision recorded by the enforcing launcher. */
export interface EnforcerDecision {
  /** The caller as AWS names it, e.g. arn:aws:sts::123456789012:assumed-role/role/session */
  readonly principal: string;
  /** e.g. iam:DeleteAccessKey */
  readonly action: string;
  /** The ARN the request was authorised against, or '*'. */
  readonly resource: string;
  readonly effect: 'allow' | 'deny';
  readonly reason: 'allow' | 'explicit-deny' | 'implicit-deny';
  /** '<policy>#<Sid or index>' of the deciding statement; null for an implicit deny. */
  readonly statement: string | null;
}

/** The decisions the enforcing launcher (startMoto({ enforceIam: true })) has made since the last clear. */
export async function decisions(moto: Moto): Promise<EnforcerDecision[]> {
  const { status, body } = await requestWithBody('GET', `${moto.endpoint}/_enforcer/decisions`);
  if (status !== 200) throw new Error(`no decisions at ${moto.endpoint} (${status}): was moto started with { enforceIam: true }?`);
  return JSON.parse(body) as EnforcerDecision[];
}

/** Forgets the recorded decisions (moto's state is untouched). */
export async function clearDecisions(moto: Moto): Promise<void> {
  const status = await request('POST', `${moto.endpoint}/_enforcer/clear`);
  if (status !== 200) throw new Error(`clearing decisions at ${moto.endpoint} answered ${status}: was moto started with { enforceIam: true }?`);
}

export async function startMoto(options: StartMotoOptions = {}): Promise<Moto> {
  const python = testPython();
  const probe = spawnSync(python, ['-c', 'import moto.server, flask'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`${INSTALL_HINT}\n(${python} said: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const args = options.enforceIam
    ? [path.join(__dirname, 'moto_enforced.py'), '--host', '127.0.0.1', '--port', String(port)]
    : [path.join(__dirname, 'moto_server.py'), '--host', '127.0.0.1', '--port', String(port)];
  const child: ChildProcess = spawn(python, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited early (${child.exitCode}): ${stderr}`);
    try {
      if ((await request('GET', `${endpoint}/moto-api/`)) < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto did not start on ${endpoint} within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async reset() {
      const status = await request('POST', `${endpoint}/moto-api/reset`);
      if (status >= 300) throw new Error(`moto reset answered ${status}`);
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

/** Credentials and region for the SDK; moto accepts any. Never real ones. */
export function motoClientConfig(moto: Moto, region = 'eu-west-1') {
  return {
    endpoint: moto.endpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
}
