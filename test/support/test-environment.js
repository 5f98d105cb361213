// @ts-check
/**
 * jest's node environment, with a private temporary directory per test file
 * (see scratch-tmpdir.js). A file that leaves anything in it fails.
 */
const { TestEnvironment } = require('jest-environment-node');
const { openScratch, closeScratch } = require('./scratch-tmpdir');

class ScratchTmpdirEnvironment extends TestEnvironment {
  /**
   * @param {import('@jest/environment').JestEnvironmentConfig} config
   * @param {import('@jest/environment').EnvironmentContext} context
   */
  constructor(config, context) {
    const previous = process.env.TMPDIR;
    const scratch = openScratch();
    // Set before super(): the test file's own process.env is a copy taken there,
    // and node's os.tmpdir() and child processes read this process's env.
    process.env.TMPDIR = scratch;
    super(config, context);
    this.scratch = scratch;
    this.previousTmpdir = previous;
    this.testPath = context.testPath;
  }

  async teardown() {
    await super.teardown();
    if (this.previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = this.previousTmpdir;
    const leftovers = closeScratch(this.scratch);
    if (leftovers.length > 0) {
      throw new Error(`${this.testPath} left ${leftovers.length} entries in its temporary directory `
        + `(removed now; remove them in the test): ${leftovers.join(', ')}`);
    }
  }
}

module.exports = ScratchTmpdirEnvironment;
