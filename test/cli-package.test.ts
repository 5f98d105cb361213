/**
 * The CLI is its own small npm package (packages/cli): it depends on the
 * Secrets Manager client and nodemailer only, never on the construct package,
 * aws-cdk-lib or constructs. The SES SMTP password derivation and the
 * partition table each exist once: lib/handler/smtp-password.js and
 * lib/handler/partitions.js (in the Lambda asset) are the originals, and the
 * CLI package ships byte-identical copies, because neither artifact can load
 * the other's files (the asset is a plain directory on Lambda; the CLI must
 * install without the construct). This test is what keeps them one.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import { deriveSmtpPassword as handlerDerive } from '../lib/handler/smtp-password';
import { SECRET_FIELDS as HANDLER_FIELDS } from '../lib/handler/model';
import { deriveSmtpPassword as cliDerive } from '../packages/cli/lib/smtp-password';
import { SECRET_FIELDS as CLI_FIELDS } from '../packages/cli/lib/secret';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { cliReadmeBlock } from './support/cli-readme';

const ROOT = path.join(__dirname, '..');
const CLI_DIR = path.join(ROOT, 'packages', 'cli');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('the SMTP password derivation shared by the handler and the CLI', () => {
  test.each(['smtp-password.js', 'partitions.js'])('the CLI\'s copy of %s is byte-identical to the handler\'s (edit it in lib/handler/, then copy it)', (file) => {
    expect(fs.readFileSync(path.join(CLI_DIR, 'lib', file), 'utf8'))
      .toBe(fs.readFileSync(path.join(ROOT, 'lib', 'handler', file), 'utf8'));
  });

  test.each([
    ['eu-west-1', 'BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk'],
    ['us-gov-west-1', 'BHW/eHvx1MM9YwW4wrJG6MGVQmLDCAM99G9YiSdGEIAw'],
  ])('both give the known answer for the documentation key in %s', (region, expected) => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

    expect([handlerDerive(key, region), cliDerive(key, region)]).toEqual([expected, expected]);
  });

  test('both agree with the independent implementation on random keys', async () => {
    for (let i = 0; i < 10; i++) {
      const key = randomBytes(30).toString('base64');
      const expected = await independentSmtpPassword(key, 'ap-southeast-2');
      expect([handlerDerive(key, 'ap-southeast-2'), cliDerive(key, 'ap-southeast-2')]).toEqual([expected, expected]);
    }
  });

  test('the CLI expects exactly the secret fields the handler writes', () => {
    expect([...CLI_FIELDS]).toEqual([...HANDLER_FIELDS]);
  });
});

describe('packages/cli', () => {
  const pkg = readJson(path.join(CLI_DIR, 'package.json'));

  test('depends on the Secrets Manager client and nodemailer only', () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@aws-sdk/client-secrets-manager', 'nodemailer']);
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.bin).toEqual({ 'ses-smtp-credentials': 'bin/ses-smtp-credentials.js' });
  });

  test('its code requires nothing but Node built-ins, its own files and its two dependencies', () => {
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const files = ['bin', 'lib'].flatMap((dir) => fs.readdirSync(path.join(CLI_DIR, dir)).map((f) => path.join(CLI_DIR, dir, f)));
    const required = files.flatMap((file) => [...fs.readFileSync(file, 'utf8').matchAll(/require\('([^']+)'\)/g)].map((m) => m[1]));

    expect(required.length).toBeGreaterThan(10);
    expect(required.filter((r) => !r.startsWith('./') && !r.startsWith('../lib/') && !allowed.has(r))).toEqual([]);
  });

  test('its bin is executable and starts with a node shebang', () => {
    const bin = path.join(CLI_DIR, pkg.bin['ses-smtp-credentials']);

    expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  test('the construct package no longer ships the CLI or carries the SDK peer, and installs the CLI as a workspace', () => {
    const root = readJson(path.join(ROOT, 'package.json'));

    expect(root.bin).toBeUndefined();
    expect(root.peerDependencies).not.toHaveProperty('@aws-sdk/client-secrets-manager');
    expect(root.workspaces).toEqual(['packages/*']);
    expect(fs.existsSync(path.join(ROOT, 'lib', 'cli'))).toBe(false);
    expect(readJson(path.join(ROOT, 'package-lock.json')).packages['packages/cli']).toMatchObject({ name: 'ses-smtp-credentials-cli', version: pkg.version });
  });
});

describe('the CLI README\'s install-from-tarball block, run in a copy of the repository', () => {
  let work: string;
  let run: ReturnType<typeof spawnSync>;
  const pkg = readJson(path.join(CLI_DIR, 'package.json'));
  const tarball = () => path.join(work, 'repo', `${pkg.name}-${pkg.version}.tgz`);
  const installed = () => path.join(work, 'prefix', 'bin', 'ses-smtp-credentials');

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-install-'));
    // What a clone has: the root manifest with its workspaces, and the CLI's sources.
    fs.mkdirSync(path.join(work, 'repo', 'packages'), { recursive: true });
    for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, file), path.join(work, 'repo', file));
    fs.cpSync(CLI_DIR, path.join(work, 'repo', 'packages', 'cli'), { recursive: true });

    // npm install -g goes to a prefix of the test's own, not to /usr/local.
    run = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', cliReadmeBlock('install-from-tarball').text], {
      cwd: path.join(work, 'repo'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        npm_config_prefix: path.join(work, 'prefix'),
        npm_config_prefer_offline: 'true', // the dependencies are in npm's cache after npm ci
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      },
      timeout: 150_000,
    });
  }, 160_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('packs a small tarball of the bin, the code, the manifest and the README npm shows', () => {
    expect(run.status).toBe(0); // on failure: run.stderr
    const files = spawnSync('tar', ['-tzf', tarball()], { encoding: 'utf8' }).stdout.trim().split('\n').sort();
    const sources = ['bin', 'lib'].flatMap((dir) => fs.readdirSync(path.join(CLI_DIR, dir)).map((f) => `package/${dir}/${f}`));

    expect(files).toEqual(['package/README.md', 'package/package.json', ...sources].sort());
    expect(fs.statSync(tarball()).size).toBeLessThan(40_000);
    const readme = spawnSync('tar', ['-xzOf', tarball(), 'package/README.md'], { encoding: 'utf8' }).stdout;
    expect(readme).toBe(fs.readFileSync(path.join(CLI_DIR, 'README.md'), 'utf8'));
  });

  test('installs a command that runs, quietly', () => {
    expect(run.status).toBe(0); // on failure: run.stderr
    const version = spawnSync(installed(), ['--version'], { encoding: 'utf8', env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
    const derived = spawnSync(installed(), ['derive', '--region', 'eu-west-1'], {
      encoding: 'utf8', input: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` },
    });

    expect(version).toMatchObject({ status: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(derived).toMatchObject({ status: 0, stdout: 'BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk\n', stderr: '' });
  });
});
