// @ts-check
/**
 * A private temporary directory for one test file.
 *
 * The test environment (test/support/test-environment.js) points TMPDIR at a
 * fresh directory before a test file loads anything, so every os.tmpdir() in
 * the file, in the libraries it loads and in the processes it starts lands
 * there. When the file ends, the directory is removed whatever it holds, so a
 * run leaves nothing in the machine's temporary directory.
 *
 * Removal alone would hide a test that forgets its own clean-up, so closing
 * also reports what was left. One kind of leftover is expected and not
 * reported: aws-cdk-lib makes a `cdk.out*` directory for every App created
 * without an outdir (Template.fromStack needs one) and offers no way to remove
 * it. Everything else is a leak of the test file, and fails it.
 *
 * The check is per file, not a before/after comparison of the shared
 * temporary directory, so parallel workers and other programs on the machine
 * cannot make it pass or fail.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PREFIX = 'ses-smtp-test-';

/** aws-cdk-lib's default App outdir: fs.mkdtempSync(path.join(tmpdir, 'cdk.out')). */
const EXPECTED = /^cdk\.out[A-Za-z0-9]{6}$/;

/**
 * Makes the directory inside `parent` (the machine's temporary directory).
 * Mode 0755: Postfix's unprivileged processes must traverse it to reach the
 * private instance that test/postfix.test.ts keeps below it.
 * @param {string} [parent]
 * @returns {string}
 */
function openScratch(parent = os.tmpdir()) {
  const dir = fs.mkdtempSync(path.join(parent, PREFIX));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/**
 * Removes the directory and everything in it; returns the names that were
 * left in it, other than aws-cdk-lib's outdirs, sorted.
 * @param {string} dir
 * @returns {string[]}
 */
function closeScratch(dir) {
  if (!fs.existsSync(dir)) return [];
  const leftovers = fs.readdirSync(dir).filter((name) => !EXPECTED.test(name)).sort();
  fs.rmSync(dir, { recursive: true, force: true });
  return leftovers;
}

module.exports = { openScratch, closeScratch, PREFIX };
