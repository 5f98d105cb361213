// @ts-check
'use strict';
/**
 * The handler's structured log lines: names, ARNs and key ids only, never a
 * secret (a secret access key, a password, a pre-signed URL).
 */

/**
 * A warning line.
 * @param {string} message
 */
function warn(message) {
  console.warn(JSON.stringify({ level: 'WARN', message }));
}

module.exports = { warn };
