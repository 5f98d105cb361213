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

module.exports = { EXIT, CliError };
