// @ts-check
'use strict';
/**
 * ses-smtp-credentials: keep a Postfix relay in step with the SES SMTP
 * credentials a SesSmtpUser stores (sync), explain a failing login (check),
 * render the credentials for other consumers (show), or derive a password by
 * hand (derive).
 *
 * Secrets never travel through argv (process lists, shell history): the
 * secret access key is read from stdin. Errors never echo an option value.
 * Files holding a secret are written atomically with mode 0600 and never
 * through a symbolic link.
 */
const fs = require('node:fs');
const path = require('node:path');
const { deriveSmtpPassword } = require('./smtp-password');
const { CliError, EXIT } = require('./errors');
const { parseOptions, value, checkRegion } = require('./options');
const { fetchCredentials } = require('./secret');
const { FORMATS, render } = require('./formats');
const { writePrivateFile } = require('./private-file');
const { sync, DEFAULT_CONFIG_DIR } = require('./sync');
const { check } = require('./check');

const HELP = `Usage: ses-smtp-credentials <command> [options]

Commands:
  sync --secret-id ID [--region REGION] [--postfix-config-dir DIR]
       [--ca-file FILE] [--dry-run] [--no-reload]
      Makes Postfix relay through SES with the credentials in the secret:
      writes sasl_passwd (atomically, mode 0600), runs postmap, sets relayhost,
      SASL and verified-TLS settings with postconf -e, and reloads Postfix only
      when something changed. Idempotent: run it from a timer.
      --postfix-config-dir  Postfix config directory (default ${DEFAULT_CONFIG_DIR})
      --ca-file   CA bundle Postfix verifies SES with (default: the
                  distribution's, /etc/ssl/certs/ca-certificates.crt or
                  /etc/pki/tls/certs/ca-bundle.crt)
      --dry-run   print what would change (never a secret); write nothing
      --no-reload change files but do not reload Postfix

  check --secret-id ID [--region REGION] [--host HOST] [--port PORT]
        [--tls starttls|implicit] [--ca-file FILE] [--timeout SECONDS]
      Logs in to the secret's SMTP endpoint (STARTTLS, or implicit TLS on
      465/2465) with its credentials and quits without sending mail. On
      failure, says which known causes fit: wrong region, key inactive or
      deleted, key too new, TLS mode vs port, certificate not trusted.
      --host, --port  another endpoint (a test server, a VPC endpoint name)

  show --secret-id ID [--region REGION] [--format FORMAT] [--output FILE]
      Reads the credentials and renders them.
      --format   ${Object.keys(FORMATS).join(' | ')} (default: json)
      --output   write to FILE (atomically, mode 0600) instead of stdout

  derive --region REGION
      Reads an IAM secret access key from stdin and prints the SES SMTP
      password for REGION. The key is never accepted as an argument.
        printf '%s' "$SECRET_ACCESS_KEY" | ses-smtp-credentials derive --region eu-west-1

The secret is read with the standard AWS credential chain (instance role,
AWS_PROFILE, ...); AWS_ENDPOINT_URL is honoured. --region defaults to
AWS_REGION or your AWS config.

Formats:
${Object.entries(FORMATS).map(([name, f]) => `  ${name.padEnd(20)} ${f.description}`).join('\n')}

Exit codes:
  0 ok (sync: in sync, whether this run changed something or not; stdout says)
  1 unexpected error
  2 usage error
  3 no AWS credentials or access denied
  4 secret not found
  5 secret is not SES SMTP credentials
  6 Postfix, its tools, its config directory or a CA bundle is missing
  7 output file refused: symbolic link, not a regular file, another owner
  8 a Postfix command failed (postconf, postmap, postfix reload)
  9 check: the server refused the login
  10 check: no SMTP session (connection, TLS, certificate, timeout)
  11 the secret holds no credentials yet (no value, or {}): the first
     deployment is unfinished or failed
`;

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
  const region = checkRegion(value(parseOptions(argv, { region: 'value' }), 'region'));
  if (!region) throw new CliError('derive needs --region, the SES region the password is for (e.g. eu-west-1).', EXIT.USAGE);
  if (io.stdin.isTTY) io.stderr.write('Paste the secret access key and press Ctrl-D:\n');
  const secretAccessKey = (await readAll(io.stdin)).trim();
  if (!secretAccessKey) throw new CliError('no secret access key on stdin. Pipe it in: printf \'%s\' "$KEY" | ses-smtp-credentials derive --region REGION', EXIT.USAGE);
  if (/\s/.test(secretAccessKey)) throw new CliError('stdin holds more than one word; pipe only the secret access key.', EXIT.USAGE);
  io.stdout.write(`${deriveSmtpPassword(secretAccessKey, region)}\n`);
}

/**
 * @param {string[]} argv
 * @param {{ stdout: NodeJS.WritableStream }} io
 */
async function show(argv, io) {
  const options = parseOptions(argv, { 'secret-id': 'value', region: 'value', format: 'value', output: 'value' });
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

/**
 * @param {string[]} argv arguments after the program name
 * @param {{ stdin: NodeJS.ReadableStream & { isTTY?: boolean }, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, now?: () => Date }} io
 * @returns {Promise<number>} exit code
 */
async function main(argv, io) {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help')) {
      io.stdout.write(HELP);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (command === '--version') {
      io.stdout.write(`${JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
      return EXIT.OK;
    }
    if (command === 'sync') await sync(rest, io);
    else if (command === 'check') await check(rest, io);
    else if (command === 'show') await show(rest, io);
    else if (command === 'derive') await derive(rest, io);
    else {
      // Named only when it looks like a command word: a pasted secret is not echoed.
      const shown = /^[a-z][a-z-]{0,20}$/.test(command) ? `'${command}'` : `(${command.length} characters, not shown)`;
      throw new CliError(`unknown command ${shown}; use sync, check, show or derive. See --help.`, EXIT.USAGE);
    }
    return EXIT.OK;
  } catch (e) {
    const code = e instanceof CliError ? e.code : EXIT.ERROR;
    io.stderr.write(`ses-smtp-credentials: ${e instanceof Error ? e.message : String(e)}\n`);
    return code;
  }
}

module.exports = { main, EXIT };
