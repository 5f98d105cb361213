// @ts-check
'use strict';
/**
 * `show`: the stored credentials, rendered for another consumer (formats.js),
 * on stdout or into a file written like sasl_passwd (private-file.js).
 */
const path = require('node:path');
const { CliError, EXIT } = require('./errors');
const { parseOptions, value, checkRegion } = require('./options');
const { fetchCredentials } = require('./secret');
const { FORMATS, render } = require('./formats');
const { writePrivateFile } = require('./private-file');

/** The options show accepts. @type {Record<string, 'value' | 'flag'>} */
const SHOW_OPTIONS = Object.freeze({ 'secret-id': 'value', region: 'value', format: 'value', output: 'value' });

/**
 * @param {string[]} argv
 * @param {{ stdout: NodeJS.WritableStream }} io
 */
async function show(argv, io) {
  const options = parseOptions(argv, SHOW_OPTIONS);
  const secretId = value(options, 'secret-id');
  if (!secretId) throw new CliError('show needs --secret-id, the name or ARN of the SES SMTP secret.', EXIT.USAGE);
  const region = checkRegion(value(options, 'region'));
  const format = value(options, 'format') ?? 'json';
  if (!(format in FORMATS)) throw new CliError(`unknown --format; choose one of: ${Object.keys(FORMATS).join(', ')}.`, EXIT.USAGE);

  const { credentials } = await fetchCredentials(secretId, region);
  const text = render(format, credentials);
  const output = value(options, 'output');
  if (output !== undefined) {
    writePrivateFile(path.resolve(output), text, 'the --output file');
  } else {
    io.stdout.write(text);
  }
}

module.exports = { show, SHOW_OPTIONS };
