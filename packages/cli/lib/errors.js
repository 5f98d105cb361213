// @ts-check
'use strict';
/**
 * Exit codes and the one error type commands throw. Each failure cause has
 * its own code, so a systemd unit, a cron wrapper or a boot script can act on
 * it without parsing text.
 */

const EXIT = Object.freeze({
  /** Success. sync: the host is in sync (whether or not this run changed anything; stdout says which). */
  OK: 0,
  /** Unexpected error. */
  ERROR: 1,
  /** Bad arguments, or a secret passed as an argument. */
  USAGE: 2,
  /** No AWS credentials, or access denied. */
  ACCESS: 3,
  /** Secret not found: wrong id or wrong region. */
  NOT_FOUND: 4,
  /** The secret is not SES SMTP credentials. */
  NOT_OURS: 5,
  /** sync: Postfix, its tools, its config directory or a CA bundle is missing. */
  SETUP: 6,
  /** An output file was refused: a symbolic link, not a regular file, owned by someone else, or not writable. */
  UNSAFE_OUTPUT: 7,
  /** sync: a Postfix command (postconf, postmap, postfix reload) failed. */
  POSTFIX: 8,
  /** check: the server refused the login (SMTP 535 or another AUTH error). */
  AUTH_FAILED: 9,
  /** check: no SMTP session: connection, TLS handshake, certificate or timeout. */
  CONNECT_FAILED: 10,
  /**
   * The secret holds no credentials yet: it has no value, a deployment's claim, or `{}`. The stack's first
   * deployment has not finished, or it failed. Worth retrying later, unlike 4 and 5.
   */
  NOT_READY: 11,
});

/**
 * What each exit code means, in a line: --help prints them, and the CLI's README has a row for each.
 * @type {Readonly<Record<number, string>>}
 */
const EXIT_MEANINGS = Object.freeze({
  [EXIT.OK]: 'ok (sync: the host is in sync, whether this run changed something or not; stdout says which)',
  [EXIT.ERROR]: 'unexpected error',
  [EXIT.USAGE]: 'usage error: bad arguments, or a secret passed as an argument',
  [EXIT.ACCESS]: 'no AWS credentials, or access denied',
  [EXIT.NOT_FOUND]: 'secret not found: wrong id or wrong region',
  [EXIT.NOT_OURS]: 'the secret is not SES SMTP credentials',
  [EXIT.SETUP]: 'Postfix, its tools, its config directory or a CA bundle is missing',
  [EXIT.UNSAFE_OUTPUT]: 'output file refused: symbolic link, not a regular file, another owner',
  [EXIT.POSTFIX]: 'a Postfix command failed (postconf, postmap, postfix reload)',
  [EXIT.AUTH_FAILED]: 'check: the server refused the login',
  [EXIT.CONNECT_FAILED]: 'check: no SMTP session (connection, TLS, certificate, timeout)',
  [EXIT.NOT_READY]: 'the secret holds no credentials yet (no value, a deployment\'s claim, or {}): the first deployment is unfinished or failed',
});

/** A failure whose message is safe to print: it names no secret and echoes no option value. */
class CliError extends Error {
  /** @param {string} message @param {number} code one of EXIT */
  constructor(message, code) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

module.exports = { EXIT, EXIT_MEANINGS, CliError };
