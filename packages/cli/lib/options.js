// @ts-check
'use strict';
/**
 * Command-line options. Values are never echoed in errors: a secret pasted
 * into the wrong place must not end up in a terminal, a log or a cron mail.
 */
const { CliError, EXIT } = require('./errors');
const { isRegionName } = require('./partitions');

/** Options that would carry a secret on argv, refused outright. */
const SECRET_OPTIONS = new Set(['secret-access-key', 'password']);

/**
 * @param {string[]} argv
 * @param {Record<string, 'value' | 'flag'>} allowed option name → whether it takes a value
 * @returns {Record<string, string | true>}
 */
function parseOptions(argv, allowed) {
  /** @type {Record<string, string | true>} */
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s, 2) : [undefined, undefined];
    if (name !== undefined && SECRET_OPTIONS.has(name)) {
      throw new CliError(`--${name} is not accepted: arguments leak into process lists and shell history. Pipe the value on stdin instead.`, EXIT.USAGE);
    }
    // A stray word is not echoed: it may be a secret pasted in the wrong place.
    if (name === undefined) throw new CliError(`unexpected argument (${arg.length} characters, not shown; only --options are accepted). See --help.`, EXIT.USAGE);
    if (!(name in allowed)) throw new CliError(`unknown option ${optionName(name)}. See --help.`, EXIT.USAGE);
    if (allowed[name] === 'flag') {
      if (inline !== undefined) throw new CliError(`--${name} takes no value. See --help.`, EXIT.USAGE);
      options[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) throw new CliError(`--${name} needs a value. See --help.`, EXIT.USAGE);
    options[name] = value;
  }
  return options;
}

/** An option name is shown only when it looks like one; anything else could be a pasted secret. @param {string} name */
function optionName(name) {
  return /^[a-z][a-z0-9-]{0,30}$/.test(name) ? `'--${name}'` : `(${name.length + 2} characters, not shown)`;
}

/**
 * The string value of an option, or undefined.
 * @param {Record<string, string | true>} options @param {string} name
 * @returns {string | undefined}
 */
function value(options, name) {
  const v = options[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Validates --region without echoing it: a region name of some AWS partition
 * (partitions.js, the AWS SDK's partition data).
 * @param {string | undefined} region
 */
function checkRegion(region) {
  if (region !== undefined && !isRegionName(region)) {
    throw new CliError("--region must be an AWS region name such as 'eu-west-1', 'us-gov-west-1' or 'eusc-de-east-1' (the value given is not; it is not shown).", EXIT.USAGE);
  }
  return region;
}

/**
 * Validates a TCP port option without echoing it.
 * @param {string | undefined} text @param {string} name
 * @returns {number | undefined}
 */
function portOption(text, name) {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) throw new CliError(`--${name} must be a TCP port, 1 to 65535.`, EXIT.USAGE);
  return port;
}

module.exports = { parseOptions, value, checkRegion, portOption };
