// @ts-check
'use strict';
/**
 * `derive`: the SES SMTP password for a secret access key read on stdin.
 * The key is never accepted as an argument: argv leaks into process lists
 * and shell history.
 */
const { deriveSmtpPassword } = require('./smtp-password');
const { CliError, EXIT } = require('./errors');
const { parseOptions, value, checkRegion } = require('./options');

/** The options derive accepts. @type {Record<string, 'value' | 'flag'>} */
const DERIVE_OPTIONS = Object.freeze({ region: 'value' });

/** @param {NodeJS.ReadableStream} stdin @returns {Promise<string>} */
async function readAll(stdin) {
  let data = '';
  for await (const chunk of stdin) data += chunk;
  return data;
}

/**
 * @param {string[]} argv
 * @param {{ stdin: NodeJS.ReadableStream & { isTTY?: boolean }, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream }} io
 */
async function derive(argv, io) {
  const region = checkRegion(value(parseOptions(argv, DERIVE_OPTIONS), 'region'));
  if (!region) throw new CliError('derive needs --region, the SES region the password is for (e.g. eu-west-1).', EXIT.USAGE);
  if (io.stdin.isTTY) io.stderr.write('Paste the secret access key and press Ctrl-D:\n');
  const secretAccessKey = (await readAll(io.stdin)).trim();
  if (!secretAccessKey) throw new CliError('no secret access key on stdin. Pipe it in: printf \'%s\' "$KEY" | ses-smtp-credentials derive --region REGION', EXIT.USAGE);
  if (/\s/.test(secretAccessKey)) throw new CliError('stdin holds more than one word; pipe only the secret access key.', EXIT.USAGE);
  io.stdout.write(`${deriveSmtpPassword(secretAccessKey, region)}\n`);
}

module.exports = { derive, DERIVE_OPTIONS };
