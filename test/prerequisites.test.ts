/**
 * npm test's pretest step (test/support/prerequisites.js): it picks a Python
 * with the pinned moto and cfn-lint, remembers it so a second run starts no
 * Python, and where it cannot, says the exact command and the tests fail.
 *
 * Each test runs a copy of the script in a scratch "repository" of its own,
 * so the real choice recorded in node_modules/.cache is never touched. The
 * installation into .venv/ needs the Python package index, which these tests
 * do not reach; it is not run here.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startMoto } from './support/moto';
import { PYTHON_INSTALL_COMMAND, testPython } from './support/prerequisites';

const REAL_REQUIREMENTS = fs.readFileSync(path.join(__dirname, 'requirements.txt'), 'utf8');
const STATE = path.join('node_modules', '.cache', 'ses-smtp-credentials', 'test-python.json');

let repo: string;
beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'prereq-repo-'));
  fs.mkdirSync(path.join(repo, 'test', 'support'), { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'support', 'prerequisites.js'), path.join(repo, 'test', 'support', 'prerequisites.js'));
  fs.writeFileSync(path.join(repo, 'test', 'requirements.txt'), REAL_REQUIREMENTS);
});
afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

function pretest(env: NodeJS.ProcessEnv): { status: number | null; stdout: string } {
  const run = spawnSync(process.execPath, [path.join(repo, 'test', 'support', 'prerequisites.js')], {
    cwd: repo, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
  });
  return { status: run.status, stdout: `${run.stdout}${run.stderr}` };
}

describe('the pretest step', () => {
  test('uses a Python with the pinned versions, prints them, and on the second run starts no Python at all', () => {
    // A Python that counts its own starts.
    const counter = path.join(repo, 'starts');
    const python = path.join(repo, 'python');
    fs.writeFileSync(python, `#!/bin/sh\necho >> '${counter}'\nexec '${testPython()}' "$@"\n`, { mode: 0o755 });

    const first = pretest({ MOTO_PYTHON: python });
    const startsAfterFirst = fs.readFileSync(counter, 'utf8').length;
    const second = pretest({ MOTO_PYTHON: python });

    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/moto 5\.\d+\.\d+, cfn-lint 1\.\d+\.\d+ \(/);
    expect(first.stdout).not.toContain('checked earlier');
    expect(startsAfterFirst).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(repo, STATE), 'utf8')).versions).toEqual({
      moto: /moto\[server\]==(\S+)/.exec(REAL_REQUIREMENTS)![1],
      'cfn-lint': /cfn-lint==(\S+)/.exec(REAL_REQUIREMENTS)![1],
    });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('checked earlier');
    expect(second.stdout).not.toContain('installing');
    expect(fs.readFileSync(counter, 'utf8').length).toBe(startsAfterFirst);
  });

  test('checks again when a pin changes, and does not use a Python with other versions', () => {
    const python = testPython();
    expect(pretest({ MOTO_PYTHON: python }).status).toBe(0);
    fs.writeFileSync(path.join(repo, 'test', 'requirements.txt'), REAL_REQUIREMENTS.replace(/moto\[server\]==\S+/, 'moto[server]==0.0.1'));

    const run = pretest({ MOTO_PYTHON: python });

    expect(run.stdout).toMatch(/moto and cfn-lint: NOT AVAILABLE, MOTO_PYTHON=\S+ does not match test\/requirements.txt: \S+: moto 5\.\S+ \(wants 0\.0\.1\)/);
    expect(run.stdout).toContain(PYTHON_INSTALL_COMMAND);
    expect(fs.existsSync(path.join(repo, STATE))).toBe(false);
  });

  test('a Python that cannot run is reported with the exact command, and the run goes on to fail the tests', () => {
    const run = pretest({ MOTO_PYTHON: '/nonexistent/python3' });

    expect(run.status).toBe(0);
    expect(run.stdout).toContain('moto and cfn-lint: NOT AVAILABLE');
    expect(run.stdout).toContain(`run: ${PYTHON_INSTALL_COMMAND}`);
  });

  test('rejects a requirements line that is not pinned to one version', () => {
    fs.writeFileSync(path.join(repo, 'test', 'requirements.txt'), 'moto[server]>=5\ncfn-lint==1.51.0\n');

    const run = pretest({ MOTO_PYTHON: testPython() });

    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain("pin every requirement as name==version: 'moto[server]>=5'");
  });
});

describe('the harness', () => {
  test('fails a test that needs moto with the exact command when the Python lacks it', async () => {
    const saved = process.env.MOTO_PYTHON;
    process.env.MOTO_PYTHON = '/nonexistent/python3';
    try {
      await expect(startMoto()).rejects.toThrow(PYTHON_INSTALL_COMMAND);
    } finally {
      if (saved === undefined) delete process.env.MOTO_PYTHON;
      else process.env.MOTO_PYTHON = saved;
    }
  });
});
