/**
 * A private Postfix instance for one test file: its own config, queue and
 * data directories under a temporary directory, no listener (mail is
 * submitted with `sendmail -C DIR`), logging to a file, relaying only where
 * the test's main.cf says. Needs Debian's postfix and libsasl2-modules and
 * root (Postfix's master runs as root and drops to the postfix user).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { POSTFIX_HINT, missingPostfixParts, postfixTool } from './prerequisites';

export const POSTFIX_INSTALL_HINT = POSTFIX_HINT;

const which = postfixTool;

/** Fails (never skips) when Postfix, the SASL PLAIN/LOGIN client module or root is missing. */
export function requirePostfix(): void {
  const missing = missingPostfixParts();
  if (missing.length > 0) throw new Error(`${POSTFIX_INSTALL_HINT} Missing: ${missing.join(', ')}.`);
  if (process.getuid?.() !== 0) throw new Error(`A private Postfix instance must be started as root (its master process drops privileges itself). ${POSTFIX_INSTALL_HINT}`);
}

export interface PostfixInstance {
  readonly configDir: string;
  readonly maillog: string;
  /** Submits a message through the instance's sendmail (no listener involved). */
  send(to: string, subject: string, body: string): void;
  /** `postqueue -p`: the queue listing, deferral reasons included. */
  queue(): string;
  /** `postqueue -f`: try every queued message now. */
  flush(): void;
  postconf(key: string): string;
  masterPid(): string;
  stop(): void;
}

function tool(name: string): string {
  const found = which(name);
  if (!found) throw new Error(POSTFIX_INSTALL_HINT);
  return found;
}

function run(name: string, args: string[], input?: string): string {
  return execFileSync(tool(name), args, { encoding: 'utf8', input, timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Minimal master.cf: no inet services, nothing chrooted, postlog for maillog_file. */
const MASTER_CF = `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/** Creates and starts an instance under `base` (which must be traversable by the postfix user). */
export function startPostfix(base: string): PostfixInstance {
  const configDir = path.join(base, 'postfix');
  const queueDir = path.join(base, 'queue');
  const dataDir = path.join(base, 'data');
  const maillog = path.join(base, 'maillog');
  for (const dir of [configDir, queueDir, dataDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chownSync(dataDir, Number(run('id', ['-u', 'postfix']).trim()), 0);
  // The host's own settings, as a freshly installed relay has them; sync adds the relay settings.
  fs.writeFileSync(path.join(configDir, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${queueDir}`,
    `data_directory = ${dataDir}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = relay.test.internal',
    'mydestination =',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'master_service_disable = inet',
    'local_transport = error:5.1.1 no local delivery here',
    'alias_maps =',
    'alias_database =',
    // No DNS here: names come from /etc/hosts (the test's relayhost is localhost).
    'smtp_host_lookup = native',
    'smtp_tls_loglevel = 1',
    `maillog_file_prefixes = ${base}`,
    `maillog_file = ${maillog}`,
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(configDir, 'master.cf'), MASTER_CF.trimStart());
  const started = spawnSync(tool('postfix'), ['-c', configDir, 'start'], { encoding: 'utf8', timeout: 30_000 });
  if (started.status !== 0) {
    const log = fs.existsSync(maillog) ? fs.readFileSync(maillog, 'utf8') : '(no maillog)';
    throw new Error(`postfix -c ${configDir} start failed (${started.status}): ${started.stderr}\n${log}`);
  }
  return {
    configDir,
    maillog,
    send(to, subject, body) {
      run('sendmail', ['-C', configDir, '-f', 'noreply@example.com', to], `From: noreply@example.com\nTo: ${to}\nSubject: ${subject}\n\n${body}\n`);
    },
    queue: () => run('postqueue', ['-c', configDir, '-p']),
    flush() {
      run('postqueue', ['-c', configDir, '-f']);
    },
    postconf: (key) => run('postconf', ['-c', configDir, '-h', key]).trim(),
    masterPid: () => fs.readFileSync(path.join(queueDir, 'pid', 'master.pid'), 'utf8').trim(),
    stop() {
      spawnSync(tool('postfix'), ['-c', configDir, 'stop'], { timeout: 30_000 });
    },
  };
}

/** A key and a self-signed certificate for localhost and 127.0.0.1, made by openssl; the certificate is its own CA. */
export function makeCertificate(dir: string): { key: string; cert: string; caFile: string } {
  const keyFile = path.join(dir, 'ses-test.key');
  const caFile = path.join(dir, 'ses-test.crt');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyFile, '-out', caFile,
  ], { stdio: 'pipe', timeout: 30_000 });
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(caFile, 'utf8'), caFile };
}

/** Polls `probe` until it returns a value or the deadline passes. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
