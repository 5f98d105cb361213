// @ts-check
/**
 * jest's node environment, with a private temporary directory per test file
 * (see scratch-tmpdir.js). A file that leaves anything in it fails.
 *
 * It also drops one warning, and only in the test file's own process: the AWS
 * SDK for JavaScript v3's NodeVersionSupportWarning on Node.js 20 (releases
 * after the first week of January 2027 need Node.js 22; @aws-sdk/core,
 * emitWarningIfUnsupportedVersion). The SDK prints it once per module
 * registry, and jest gives every test file a new one, so a full run printed it
 * once per file. Every other warning still prints. The SDK's own switch,
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true, is not set here:
 * child processes (the CLI, cdk synth) would inherit it, and a test that
 * expects a quiet CLI could no longer fail.
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
    this.global.process.emitWarning = withoutSdkNodeVersionWarning(this.global.process.emitWarning);
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

/** The SDK's warning starts with this (it passes one string to process.emitWarning). */
const SDK_NODE_VERSION_WARNING = 'NodeVersionSupportWarning:';

/**
 * process.emitWarning, without the SDK's Node.js version warning.
 * @param {typeof process.emitWarning} emitWarning
 * @returns {typeof process.emitWarning}
 */
function withoutSdkNodeVersionWarning(emitWarning) {
  return /** @type {typeof process.emitWarning} */ (function emitWarningExceptSdkNodeVersion(/** @type {unknown[]} */ ...args) {
    const [warning] = args;
    const text = typeof warning === 'string' ? warning : warning instanceof Error ? warning.message : '';
    if (text.startsWith(SDK_NODE_VERSION_WARNING)) return;
    return Reflect.apply(emitWarning, process, args);
  });
}

module.exports = ScratchTmpdirEnvironment;
module.exports.withoutSdkNodeVersionWarning = withoutSdkNodeVersionWarning;
