// @ts-check
/**
 * What the tests need from the machine besides Node.js, in one place, and the
 * step that provides it: `npm test` runs this file first (npm's `pretest`).
 *
 * - moto and cfn-lint, at the versions pinned in test/requirements.txt. A
 *   Python that already has exactly those versions is used as it is (MOTO_PYTHON
 *   if set, else the project's .venv/, else `python3`). Otherwise they are
 *   installed into .venv/ in the repository root (git-ignored), never into the
 *   user's own site-packages. The Python chosen is recorded for the harness
 *   (testPython()), with what it takes to notice a change, so a second run
 *   starts no Python at all.
 * - Postfix and Cyrus SASL's PLAIN/LOGIN client module, for
 *   test/postfix.test.ts: installed with apt-get where the user is root and
 *   apt-get exists.
 *
 * Nothing here fails the run: whatever could not be provided makes the tests
 * that need it fail with the exact command to run (they never skip).
 */
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const REQUIREMENTS = path.join(ROOT, 'test', 'requirements.txt');
const VENV_PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const STATE_FILE = path.join(ROOT, 'node_modules', '.cache', 'ses-smtp-credentials', 'test-python.json');

const PYTHON_INSTALL_COMMAND = 'python3 -m venv .venv && .venv/bin/python -m pip install -r test/requirements.txt';
const PYTHON_HINT = 'moto and cfn-lint, at the versions in test/requirements.txt, are required for these tests. '
  + `In the repository root, run: ${PYTHON_INSTALL_COMMAND} (npm test tries this itself), `
  + 'or set MOTO_PYTHON to a Python that has them.';

const POSTFIX_PRESEED = 'postfix postfix/main_mailer_type select No configuration';
const POSTFIX_INSTALL_COMMAND = `echo '${POSTFIX_PRESEED}' | debconf-set-selections && apt-get update `
  + '&& DEBIAN_FRONTEND=noninteractive apt-get install -y postfix libsasl2-modules';
const POSTFIX_HINT = 'Postfix and libsasl2-modules are required for these tests, and root. '
  + `As root, run: ${POSTFIX_INSTALL_COMMAND} (npm test does this itself when run as root).`;

/**
 * @typedef {{ dist: string, version: string }} Pin
 * @typedef {{ executable: string, versions: Record<string, string | null>, dirs: string[], error: string | null }} Probe
 * @typedef {{ key: string, python: string, versions: Record<string, string>, dirs: { dir: string, mtimeMs: number }[] }} State
 */

/** The `name[extras]==version` lines of test/requirements.txt. @returns {Pin[]} */
function pins() {
  return fs.readFileSync(REQUIREMENTS, 'utf8').split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => {
      const match = /^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)$/.exec(line);
      if (!match) throw new Error(`test/requirements.txt: pin every requirement as name==version: '${line}'`);
      return { dist: match[1], version: match[2] };
    });
}

/** @returns {State | undefined} */
function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The Python the harness runs moto and cfn-lint with. */
function testPython() {
  return process.env.MOTO_PYTHON || readState()?.python || 'python3';
}

/** What decides the choice: the pins and an explicit MOTO_PYTHON. */
function stateKey() {
  return createHash('sha256')
    .update(fs.readFileSync(REQUIREMENTS))
    .update(`\0${process.env.MOTO_PYTHON ?? ''}`)
    .digest('hex');
}

/**
 * The recorded choice still holds: same pins, the interpreter is there, and
 * no package was added to or removed from the directories holding the pinned
 * ones (installing or upgrading changes a directory's mtime).
 * @param {State | undefined} state
 * @returns {state is State}
 */
function stillValid(state) {
  if (!state || state.key !== stateKey() || !fs.existsSync(state.python)) return false;
  return state.dirs.every(({ dir, mtimeMs }) => {
    try {
      return fs.statSync(dir).mtimeMs === mtimeMs;
    } catch {
      return false;
    }
  });
}

// Reports the installed versions of the given distributions, where they live,
// and whether what the harness runs imports.
const PROBE = `
import importlib.metadata as md, json, sys
out = {"executable": sys.executable, "versions": {}, "dirs": [], "error": None}
for name in json.loads(sys.argv[1]):
    try:
        dist = md.distribution(name)
        out["versions"][name] = dist.version
        out["dirs"].append(str(dist.locate_file("")))
    except md.PackageNotFoundError:
        out["versions"][name] = None
try:
    import moto.server, flask, flask_cors, cfnlint.runner
except Exception as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
`;

/**
 * @param {string} python
 * @param {Pin[]} wanted
 * @returns {Probe | string} the probe, or why the Python could not be asked
 */
function probe(python, wanted) {
  const run = spawnSync(python, ['-c', PROBE, JSON.stringify(wanted.map((p) => p.dist))], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) return (run.error?.message ?? run.stderr.trim().split('\n').pop()) || `exit ${run.status}`;
  return JSON.parse(run.stdout);
}

/** @param {Probe | string} found @param {Pin[]} wanted */
function mismatch(found, wanted) {
  if (typeof found === 'string') return found;
  const wrong = wanted.filter((p) => found.versions[p.dist] !== p.version)
    .map((p) => `${p.dist} ${found.versions[p.dist] ?? 'missing'} (wants ${p.version})`);
  if (wrong.length > 0) return wrong.join(', ');
  return found.error ?? '';
}

/** @param {string} command @param {string[]} args @param {(line: string) => void} log */
function runLoud(command, args, log) {
  log(`$ ${[command, ...args].join(' ')}`);
  const run = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  return run.status === 0;
}

/**
 * Finds (or installs) a Python with the pinned moto and cfn-lint and records it.
 * @param {(line: string) => void} log
 * @returns {{ state: State, cached: boolean } | { problem: string }}
 */
function ensurePython(log) {
  const recorded = readState();
  if (stillValid(recorded)) return { state: recorded, cached: true };
  fs.rmSync(STATE_FILE, { force: true });

  const wanted = pins();
  const explicit = process.env.MOTO_PYTHON;
  const candidates = explicit ? [explicit] : [...(fs.existsSync(VENV_PYTHON) ? [VENV_PYTHON] : []), 'python3'];
  const rejected = [];
  for (const python of candidates) {
    const found = probe(python, wanted);
    const why = mismatch(found, wanted);
    if (!why && typeof found !== 'string') return { state: record(found, wanted), cached: false };
    rejected.push(`${python}: ${why}`);
  }
  if (explicit) return { problem: `MOTO_PYTHON=${explicit} does not match test/requirements.txt: ${rejected.join('; ')}` };

  log(`moto and cfn-lint: no Python here has the pinned versions (${rejected.join('; ')}); installing them into .venv/`);
  const installed = (fs.existsSync(VENV_PYTHON) || runLoud('python3', ['-m', 'venv', '.venv'], log))
    && runLoud(VENV_PYTHON, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', 'test/requirements.txt'], log);
  const found = installed ? probe(VENV_PYTHON, wanted) : 'the installation failed';
  const why = mismatch(found, wanted);
  if (!why && typeof found !== 'string') return { state: record(found, wanted), cached: false };
  return { problem: `could not install them into .venv/ (${why})` };
}

/** @param {Probe} found @param {Pin[]} wanted @returns {State} */
function record(found, wanted) {
  /** @type {State} */
  const state = {
    key: stateKey(),
    python: found.executable,
    versions: Object.fromEntries(wanted.map((p) => [p.dist, p.version])),
    dirs: [...new Set(found.dirs)].map((dir) => ({ dir, mtimeMs: fs.statSync(dir).mtimeMs })),
  };
  fs.mkdirSync(path.dirname(STATE_FILE), { recursive: true });
  fs.writeFileSync(STATE_FILE, `${JSON.stringify(state, undefined, 2)}\n`);
  return state;
}

const POSTFIX_TOOLS = ['postfix', 'postconf', 'postmap', 'postqueue', 'sendmail'];
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
const SASL_DIRS = ['/usr/lib/x86_64-linux-gnu/sasl2', '/usr/lib/aarch64-linux-gnu/sasl2', '/usr/lib64/sasl2', '/usr/lib/sasl2'];

/** A Postfix tool's path on PATH or in the sbin directories. @param {string} tool */
function postfixTool(tool) {
  return [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN]
    .map((dir) => path.join(dir, tool)).find((file) => fs.existsSync(file));
}

/** What test/postfix.test.ts needs and the machine lacks. @returns {string[]} */
function missingPostfixParts() {
  const missing = POSTFIX_TOOLS.filter((tool) => !postfixTool(tool));
  const saslPlain = SASL_DIRS.some((dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => /^libplain\.so/.test(f)));
  if (!saslPlain) missing.push('libsasl2-modules (SASL PLAIN)');
  return missing;
}

function canAptGet() {
  return process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** @param {(line: string) => void} log @returns {string | undefined} the problem, if any */
function ensurePostfix(log) {
  let missing = missingPostfixParts();
  if (missing.length === 0) return undefined;
  if (!canAptGet()) return `missing: ${missing.join(', ')}. ${POSTFIX_HINT}`;
  log(`Postfix: missing ${missing.join(', ')}; installing with apt-get`);
  const preseed = spawnSync('debconf-set-selections', { input: `${POSTFIX_PRESEED}\n`, stdio: ['pipe', 'inherit', 'inherit'] });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ok = preseed.status === 0
    && spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0
    && spawnSync('apt-get', ['install', '-y', '-qq', 'postfix', 'libsasl2-modules'], { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  missing = missingPostfixParts();
  if (ok && missing.length === 0) return undefined;
  return `apt-get did not provide ${missing.join(', ') || 'them'}. ${POSTFIX_HINT}`;
}

/** Debian package versions, where dpkg knows them. @param {string[]} packages */
function debianVersions(packages) {
  const query = spawnSync('dpkg-query', ['-W', '-f', '${Package} ${Version}\\n', ...packages], { encoding: 'utf8' });
  return (query.stdout ?? '').trim().split('\n').filter(Boolean).join(', ');
}

function main() {
  const log = (/** @type {string} */ line) => process.stdout.write(`${line}\n`);
  const python = ensurePython(log);
  const postfixProblem = ensurePostfix(log);
  const lines = ['Test prerequisites:'];
  if ('state' in python) {
    const versions = Object.entries(python.state.versions).map(([dist, version]) => `${dist} ${version}`).join(', ');
    lines.push(`  ${versions} (${python.state.python}${python.cached ? ', checked earlier' : ''})`);
  } else {
    lines.push(`  moto and cfn-lint: NOT AVAILABLE, ${python.problem}. The tests that need them will fail. ${PYTHON_HINT}`);
  }
  lines.push(postfixProblem
    ? `  Postfix: NOT AVAILABLE, ${postfixProblem} test/postfix.test.ts will fail.`
    : `  ${debianVersions(['postfix', 'libsasl2-modules']) || 'postfix, libsasl2-modules'}`);
  log(lines.join('\n'));
}

module.exports = { testPython, missingPostfixParts, postfixTool, PYTHON_HINT, POSTFIX_HINT, PYTHON_INSTALL_COMMAND, POSTFIX_INSTALL_COMMAND };

if (require.main === module) main();
