/**
 * The CLI's README (packages/cli/README.md) is its whole manual and the page
 * npm shows: it documents every format, exit code and main.cf key there is,
 * states the Node.js versions the tests use, has no link that breaks outside
 * the repository, and each of its code blocks is run or checked (here or in
 * the test file its locator names) or says what it needs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FORMATS } from '../packages/cli/lib/formats';
import { EXIT } from '../packages/cli/lib/cli';
import { desiredSettings } from '../packages/cli/lib/postfix';
import { renderSecret } from '../lib/handler/model';
import { CLI_EXERCISED, CLI_README, CliBlockId, cliCodeBlocks, cliReadmeBlock, matchingCliBlocks } from './support/cli-readme';
import { NOT_RUN } from './support/readme';
import { NODE_RELEASES } from './support/node-versions';

const ROOT = path.join(__dirname, '..');
const CLI_PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', 'cli', 'package.json'), 'utf8'));

/** The first cells of the rows of the table whose header starts with `| header |`. */
function firstColumn(header: string): string[] {
  const table = new RegExp(`^ *\\| ${header} \\|.*\\n *\\|[-|]+\\|\\n((?: *\\|.*\\n)+)`, 'm').exec(CLI_README);
  if (!table) throw new Error(`packages/cli/README.md has no table headed '${header}'`);
  return table[1].split('\n').filter(Boolean).map((row) => row.trim().split('|')[1].trim());
}

describe('the CLI README documents', () => {
  test('every format, and no other', () => {
    expect(firstColumn('`--format`')).toEqual(Object.keys(FORMATS).map((f) => `\`${f}\``));
  });

  test('every exit code, and no other', () => {
    expect(firstColumn('exit code')).toEqual(Object.values(EXIT).map(String));
  });

  test('exactly the main.cf keys sync sets', () => {
    const keys = desiredSettings({ username: 'u', password: 'p', host: 'h', port: 465, region: 'eu-west-1' }, { passwordMap: 'hash:x', caFile: 'ca' }).map(([key]) => key);

    expect(firstColumn('key')).toEqual(keys.map((k) => `\`${k}\``));
  });

  test('the Node.js releases the tests run it on', () => {
    const tested = firstColumn('Node.js');

    expect(tested).toEqual(Object.keys(NODE_RELEASES).reverse());
    for (const version of Object.values(NODE_RELEASES)) expect(CLI_README).toMatch(new RegExp(`\\| ${version.replace(/\./g, '\\.')} \\|$`, 'm'));
  });

  test('the secret\'s fields as the handler writes them', () => {
    // As issuing.js and rotation.js render it: with the user the key belongs to.
    const written = JSON.parse(renderSecret('AKIAIOSFODNN7EXAMPLE', 'pw', { region: 'eu-west-1', host: 'h', port: 587, secretArn: 'arn' }, true, 'legacy-mail-relay'));

    expect(Object.keys(JSON.parse(cliReadmeBlock('secret').text))).toEqual(Object.keys(written));
  });

  test('installs pinned to this package\'s version', () => {
    const installs = [...CLI_README.matchAll(/npm install -g (\S+)/g)].map((m) => m[1]);

    expect(installs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(installs)).toEqual(new Set([`${CLI_PACKAGE.name}@${CLI_PACKAGE.version}`, `./${CLI_PACKAGE.name}-${CLI_PACKAGE.version}.tgz`]));
  });
});

describe('the CLI README on npm', () => {
  test('links only to absolute https addresses: npm shows it without the repository around it', () => {
    const targets = [...CLI_README.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1]);

    expect(targets.filter((t) => !t.startsWith('https://'))).toEqual([]);
    expect(CLI_README).not.toMatch(/\.\.\/|\]\(#/);
  });
});

describe('the CLI README code blocks', () => {
  test('every block is run or checked by a test, or says what it needs and that it is not run', () => {
    const blocks = cliCodeBlocks();
    const claimed = new Set((Object.keys(CLI_EXERCISED) as CliBlockId[]).flatMap((id) => matchingCliBlocks(id, blocks)));
    const unaccounted = blocks
      .filter((b) => !claimed.has(b) && !NOT_RUN.test(b.text.split('\n')[0]))
      .map((b) => `packages/cli/README.md:${b.line} (${b.lang}, section '${b.section}')`);

    expect(blocks.length).toBeGreaterThanOrEqual(12);
    expect(unaccounted).toEqual([]);
  });

  test.each(Object.keys(CLI_EXERCISED) as CliBlockId[])('block %s is found exactly once, and its test file uses it', (id) => {
    const block = cliReadmeBlock(id);
    const testSource = fs.readFileSync(path.join(__dirname, CLI_EXERCISED[id].testFile), 'utf8');

    expect(NOT_RUN.test(block.text.split('\n')[0])).toBe(false);
    expect(testSource).toContain(`'${id}'`);
  });
});

/** A directory of stand-in commands for a shell block, removed after the test. */
function fakeBin(scripts: Record<string, string>): string {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-readme-bin-'));
  for (const [name, body] of Object.entries(scripts)) fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  return bin;
}

/** Runs a README block with bash as a boot script would (-eu). */
function runBlock(text: string, bin: string, env: Record<string, string> = {}) {
  // --norc: Debian's bash reads /etc/bash.bashrc when its stdin is a socket, as Node's pipes are.
  return spawnSync('bash', ['--norc', '--noprofile', '-eu', '-c', text], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, ...env },
  });
}

describe('the derive example', () => {
  test('prints the SMTP password for the key in $SECRET_ACCESS_KEY, run as the README has it', () => {
    const bin = fakeBin({});
    try {
      fs.symlinkSync(path.join(ROOT, 'packages', 'cli', 'bin', 'ses-smtp-credentials.js'), path.join(bin, 'ses-smtp-credentials'));

      // AWS's documented example key; the password is the one the README's secret example shows.
      const run = runBlock(cliReadmeBlock('derive').text, bin, { SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });

      expect(run).toMatchObject({ status: 0, stdout: `${JSON.parse(cliReadmeBlock('secret').text).password}\n`, stderr: '' });
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('the boot script that waits for the secret', () => {
  /**
   * Stand-ins: ses-smtp-credentials exits with the next code of $CODES per call
   * (the last one repeats) and logs its arguments; sleep and systemctl only log.
   */
  function boot(codes: number[]) {
    const bin = fakeBin({
      'ses-smtp-credentials': [
        'n=$(($(cat "$LOG_DIR/calls.log" 2>/dev/null || echo 0) + 1)); echo "$n" > "$LOG_DIR/calls.log"',
        'echo "$*" >> "$LOG_DIR/args.log"',
        'codes=($CODES); i=$((n - 1)); [ "$i" -lt "${#codes[@]}" ] || i=$((${#codes[@]} - 1))',
        'exit "${codes[$i]}"',
      ].join('\n'),
      'sleep': 'echo "$*" >> "$LOG_DIR/sleep.log"',
      'systemctl': 'echo "$*" >> "$LOG_DIR/systemctl.log"',
    });
    try {
      const run = runBlock(cliReadmeBlock('boot-wait').text, bin, { LOG_DIR: bin, CODES: codes.join(' '), SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf' });
      const read = (name: string) => (fs.existsSync(path.join(bin, `${name}.log`)) ? fs.readFileSync(path.join(bin, `${name}.log`), 'utf8').trim().split('\n') : []);
      return { status: run.status, stderr: run.stderr, args: read('args'), sleeps: read('sleep'), systemctl: read('systemctl') };
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  }

  test('retries while the secret has no credentials yet (11), then starts Postfix', () => {
    const result = boot([11, 11, 0]);

    expect(result).toMatchObject({ status: 0, stderr: '', sleeps: ['20', '20'], systemctl: ['enable --now postfix'] });
    expect(result.args).toEqual(Array(3).fill('sync --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf --region eu-west-1'));
  });

  test('stops at once, with its exit code, on any other failure', () => {
    expect(boot([3])).toMatchObject({ status: 3, args: [expect.any(String)], sleeps: [], systemctl: [] });
  });

  test('gives up with 11 after 30 tries (10 minutes of sleeps)', () => {
    expect(boot([11])).toMatchObject({ status: 11, args: Array(30).fill(expect.any(String)), sleeps: Array(30).fill('20'), systemctl: [] });
  });
});
