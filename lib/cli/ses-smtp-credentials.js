#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * ses-smtp-credentials: derive an SES SMTP password by hand, or read the
 * credentials a SesSmtpUser stored and render them for a legacy consumer.
 *
 * Secrets never travel through argv (process lists, shell history): the
 * secret access key is read from stdin, and files are written with mode 0600.
 */
const fs = require('node:fs');
const { deriveSmtpPassword } = require('../handler/smtp-password');
const { SECRET_FIELDS } = require('../handler/model');
const { FORMATS, render } = require('./formats');

const EXIT = Object.freeze({ OK: 0, ERROR: 1, USAGE: 2, ACCESS: 3, NOT_FOUND: 4, NOT_OURS: 5 });

const HELP = `Usage: ses-smtp-credentials <command> [options]

Commands:
  derive --region REGION
      Reads an IAM secret access key from stdin and prints the SES SMTP
      password for REGION. The key is never accepted as an argument.
        printf '%s' "$SECRET_ACCESS_KEY" | ses-smtp-credentials derive --region eu-west-1

  show --secret-id ID [--region REGION] [--format FORMAT] [--output FILE]
      Reads the credentials a SesSmtpUser stored in Secrets Manager (standard
      AWS credential chain; honours AWS_ENDPOINT_URL) and renders them.
      --region   region of the secret (default: AWS_REGION / your AWS config)
      --format   ${Object.keys(FORMATS).join(' | ')} (default: json)
      --output   write to FILE (created with mode 0600) instead of stdout

Formats:
${Object.entries(FORMATS).map(([name, f]) => `  ${name.padEnd(20)} ${f.description}`).join('\n')}

Exit codes: 0 ok, 1 unexpected error, 2 usage error, 3 no AWS credentials or
access denied, 4 secret not found, 5 secret is not SES SMTP credentials.
`;

class CliError extends Error {
  /** @param {string} message @param {number} code */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/**
 * @param {string[]} argv
 * @param {Record<string, boolean>} allowed option name → takes a value
 * @returns {Record<string, string>}
 */
function parseOptions(argv, allowed) {
  /** @type {Record<string, string>} */
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s, 2) : [undefined, undefined];
    if (name === 'secret-access-key' || name === 'password') {
      throw new CliError(`--${name} is not accepted: arguments leak into process lists and shell history. Pipe the value on stdin instead.`, EXIT.USAGE);
    }
    // A stray word is not echoed: it may be a secret pasted in the wrong place.
    if (name === undefined) throw new CliError(`unexpected argument (${arg.length} characters, not shown; only --options are accepted). See --help.`, EXIT.USAGE);
    if (!(name in allowed)) throw new CliError(`unknown option '--${name}'. See --help.`, EXIT.USAGE);
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) throw new CliError(`--${name} needs a value. See --help.`, EXIT.USAGE);
    options[name] = value;
  }
  return options;
}

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
  const { region } = parseOptions(argv, { region: true });
  if (!region) throw new CliError('derive needs --region, the SES region the password is for (e.g. eu-west-1).', EXIT.USAGE);
  if (io.stdin.isTTY) io.stderr.write('Paste the secret access key and press Ctrl-D:\n');
  const secretAccessKey = (await readAll(io.stdin)).trim();
  if (!secretAccessKey) throw new CliError('no secret access key on stdin. Pipe it in: printf \'%s\' "$KEY" | ses-smtp-credentials derive --region REGION', EXIT.USAGE);
  if (/\s/.test(secretAccessKey)) throw new CliError('stdin holds more than one word; pipe only the secret access key.', EXIT.USAGE);
  try {
    io.stdout.write(`${deriveSmtpPassword(secretAccessKey, region)}\n`);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message.replace(/^deriveSmtpPassword: /, '') : String(e), EXIT.USAGE);
  }
}

/**
 * @param {string[]} argv
 * @param {{ stdout: NodeJS.WritableStream }} io
 */
async function show(argv, io) {
  const options = parseOptions(argv, { 'secret-id': true, region: true, format: true, output: true });
  const secretId = options['secret-id'];
  if (!secretId) throw new CliError('show needs --secret-id, the name or ARN of the SES SMTP secret.', EXIT.USAGE);
  const format = options.format ?? 'json';
  if (!(format in FORMATS)) throw new CliError(`unknown --format '${format}'; choose one of: ${Object.keys(FORMATS).join(', ')}.`, EXIT.USAGE);

  const credentials = await fetchCredentials(secretId, options.region);
  const text = render(format, credentials);
  if (options.output) {
    writePrivateFile(options.output, text);
  } else {
    io.stdout.write(text);
  }
}

/**
 * @param {string} secretId
 * @param {string | undefined} region
 * @returns {Promise<import('./formats').SmtpCredentials>}
 */
async function fetchCredentials(secretId, region) {
  let sdk;
  try {
    sdk = require('@aws-sdk/client-secrets-manager');
  } catch {
    throw new CliError('show needs the AWS SDK: npm install @aws-sdk/client-secrets-manager', EXIT.ERROR);
  }
  const client = new sdk.SecretsManagerClient(region ? { region } : {});
  const where = () => `in region ${region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '(from your AWS config)'}`;
  let secretString;
  try {
    // By stage on purpose: the current version, whatever else is labelled.
    const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
    secretString = out.SecretString;
  } catch (e) {
    const err = /** @type {{ name?: string, message?: string }} */ (e);
    switch (err.name) {
      case 'CredentialsProviderError':
        throw new CliError(`no AWS credentials found (${err.message}). Run on a host with an instance/task role, or set AWS_PROFILE or AWS_ACCESS_KEY_ID.`, EXIT.ACCESS);
      case 'AccessDeniedException':
      case 'AccessDenied':
        throw new CliError(`access denied reading ${secretId}: ${err.message}. Grant this role read access (SesSmtpUser.grantRead, or secretsmanager:GetSecretValue plus kms:Decrypt).`, EXIT.ACCESS);
      case 'ResourceNotFoundException':
        throw new CliError(`secret ${secretId} not found ${where()}. Check the name/ARN and the region (--region or AWS_REGION); the secret lives where the stack was deployed.`, EXIT.NOT_FOUND);
      default:
        if (/region/i.test(err.message ?? '') && !region) {
          throw new CliError(`no AWS region configured: pass --region or set AWS_REGION. (${err.message})`, EXIT.USAGE);
        }
        throw new CliError(`could not read ${secretId}: ${err.name}: ${err.message}`, EXIT.ERROR);
    }
  }
  return parseCredentials(secretId, secretString);
}

/**
 * @param {string} secretId
 * @param {string | undefined} secretString
 * @returns {import('./formats').SmtpCredentials}
 */
function parseCredentials(secretId, secretString) {
  let doc;
  try {
    doc = JSON.parse(secretString ?? '');
  } catch {
    throw new CliError(`secret ${secretId} is not SES SMTP credentials: its value is not JSON.`, EXIT.NOT_OURS);
  }
  const missing = SECRET_FIELDS.filter((field) => doc == null || doc[field] === undefined || doc[field] === '');
  if (missing.length > 0) {
    throw new CliError(`secret ${secretId} is not SES SMTP credentials: missing ${missing.join(', ')} (expected fields: ${SECRET_FIELDS.join(', ')}).`, EXIT.NOT_OURS);
  }
  return { username: String(doc.username), password: String(doc.password), host: String(doc.host), port: Number(doc.port), region: String(doc.region) };
}

/**
 * Creates (or truncates) a file readable only by its owner.
 * @param {string} path
 * @param {string} text
 */
function writePrivateFile(path, text) {
  const fd = fs.openSync(path, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // an existing file keeps its old mode otherwise
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * @param {string[]} argv arguments after the program name
 * @param {{ stdin: NodeJS.ReadableStream & { isTTY?: boolean }, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream }} io
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
      io.stdout.write(`${JSON.parse(fs.readFileSync(require.resolve('../../package.json'), 'utf8')).version}\n`);
      return EXIT.OK;
    }
    if (command === 'derive') await derive(rest, io);
    else if (command === 'show') await show(rest, io);
    else throw new CliError(`unknown command '${command}'; use derive or show. See --help.`, EXIT.USAGE);
    return EXIT.OK;
  } catch (e) {
    const code = e instanceof CliError ? e.code : EXIT.ERROR;
    io.stderr.write(`ses-smtp-credentials: ${e instanceof Error ? e.message : String(e)}\n`);
    return code;
  }
}

module.exports = { main, EXIT };

if (require.main === module) {
  main(process.argv.slice(2), process).then((code) => { process.exitCode = code; });
}
