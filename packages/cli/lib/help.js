// @ts-check
'use strict';
/**
 * What --help prints: a short overview of the program, and each command's
 * own page (`ses-smtp-credentials <command> --help`) with its options, an
 * example and the exit codes that command can give. The meanings of the exit
 * codes come from errors.js, the formats from formats.js.
 */
const { EXIT, EXIT_MEANINGS } = require('./errors');
const { FORMATS } = require('./formats');
const { CA_BUNDLES } = require('./postfix');
const { DEFAULT_CONFIG_DIR } = require('./sync');

const PROGRAM = 'ses-smtp-credentials';

/**
 * One command's page. `options` holds every option the command accepts and no
 * other, as typed and what it does; `ok` says what exit 0 means for it.
 * @typedef {{
 *   summary: string,
 *   usage: string,
 *   description: string,
 *   options: Array<[string, string]>,
 *   example: string,
 *   ok: string,
 *   exits: number[],
 * }} CommandHelp
 */

const SECRET_ID = /** @type {[string, string]} */ (['--secret-id ID', 'name or ARN of the SES SMTP secret (required)']);
const REGION = /** @type {[string, string]} */ (['--region REGION', "the secret's region (default: AWS_REGION or your AWS config)"]);
/** Every command that reads the secret can fail in these ways. */
const READS_SECRET = [EXIT.ACCESS, EXIT.NOT_FOUND, EXIT.NOT_OURS, EXIT.NOT_READY];
const ALWAYS = [EXIT.OK, EXIT.ERROR, EXIT.USAGE];

const READING = `The secret is read with the standard AWS credential chain (instance role,
AWS_PROFILE, ...); AWS_ENDPOINT_URL is honoured.`;

/** @type {Record<'sync' | 'check' | 'show' | 'derive', CommandHelp>} */
const COMMANDS = {
  sync: {
    summary: "make Postfix relay through SES with the secret's credentials; for a timer",
    usage: 'sync --secret-id ID [--region REGION]\n         [--postfix-config-dir DIR] [--ca-file FILE] [--dry-run] [--no-reload]',
    description: `Makes Postfix relay through SES with the credentials in the secret: writes
sasl_passwd (atomically, mode 0600), runs postmap, sets relayhost, SASL and
verified-TLS settings with postconf -e, and reloads Postfix only when
something changed. Idempotent: run it from a timer. Prints one line per
change, or "in sync: nothing changed."; stderr stays empty unless it fails.
${READING}`,
    options: [
      SECRET_ID,
      REGION,
      ['--postfix-config-dir DIR', `Postfix config directory (default ${DEFAULT_CONFIG_DIR})`],
      ['--ca-file FILE', `CA bundle Postfix verifies SES with (default: ${CA_BUNDLES.join(' or ')}, whichever exists)`],
      ['--dry-run', 'print what would change (never a secret); write nothing'],
      ['--no-reload', 'change files but do not reload Postfix'],
    ],
    example: `${PROGRAM} sync --secret-id smtp/eu-west-1 --region eu-west-1`,
    ok: 'the host is in sync, whether this run changed something or not (stdout says which)',
    exits: [...ALWAYS, ...READS_SECRET, EXIT.SETUP, EXIT.UNSAFE_OUTPUT, EXIT.POSTFIX],
  },
  check: {
    summary: "log in to SES with the secret's credentials and quit; explain a failure",
    usage: 'check --secret-id ID [--region REGION]\n         [--host HOST] [--port PORT] [--tls starttls|implicit]\n         [--ca-file FILE] [--timeout SECONDS]',
    description: `Logs in to the secret's SMTP endpoint (STARTTLS, or implicit TLS on
465/2465) with its credentials and quits without sending mail. On failure,
says which known causes fit: wrong region, key inactive or deleted, key too
new, TLS mode vs port, certificate not trusted, network.
${READING}`,
    options: [
      SECRET_ID,
      REGION,
      ['--host HOST', 'another endpoint (a test server, a VPC endpoint name)'],
      ['--port PORT', "another port (default: the secret's)"],
      ['--tls starttls|implicit', 'override the TLS mode the port implies'],
      ['--ca-file FILE', 'trust this CA bundle (a private CA) instead of the system one'],
      ['--timeout SECONDS', 'give up after this long (default 15, at most 300)'],
    ],
    example: `${PROGRAM} check --secret-id smtp/eu-west-1`,
    ok: 'TLS and AUTH accepted; no mail sent',
    exits: [...ALWAYS, ...READS_SECRET, EXIT.AUTH_FAILED, EXIT.CONNECT_FAILED],
  },
  show: {
    summary: 'render the credentials for another consumer (env, dotenv, url, ...)',
    usage: 'show --secret-id ID [--region REGION]\n         [--format FORMAT] [--output FILE]',
    description: `Reads the credentials and renders them in one of the formats below.
${READING}`,
    options: [
      SECRET_ID,
      REGION,
      ['--format FORMAT', 'one of the formats below (default: json)'],
      ['--output FILE', 'write to FILE (atomically, mode 0600) instead of stdout'],
    ],
    example: `${PROGRAM} show --secret-id smtp/eu-west-1 --format env`,
    ok: 'the credentials were printed or written',
    exits: [...ALWAYS, ...READS_SECRET, EXIT.UNSAFE_OUTPUT],
  },
  derive: {
    summary: 'derive an SMTP password from a secret access key read on stdin',
    usage: 'derive --region REGION',
    description: `Reads an IAM secret access key from stdin and prints the SES SMTP password
for REGION. The key is never accepted as an argument: arguments leak into
process lists and shell history. Needs no AWS credentials.`,
    options: [['--region REGION', 'the SES region the password is for (required)']],
    example: `printf '%s' "$KEY" | ${PROGRAM} derive --region eu-west-1`,
    ok: 'the password was printed',
    exits: ALWAYS,
  },
};

/** Lines a terminal shows without wrapping them itself. */
const WIDTH = 79;

/** Breaks text into lines of at most `width` characters at spaces; a newline in it is kept. @param {string} text @param {number} width */
function wrap(text, width) {
  return text.split('\n').flatMap((paragraph) => {
    const lines = [''];
    for (const word of paragraph.split(' ')) {
      const last = lines[lines.length - 1];
      if (last && last.length + 1 + word.length > width) lines.push(word);
      else lines[lines.length - 1] = last ? `${last} ${word}` : word;
    }
    return lines;
  });
}

/** Two columns, the right one wrapped to fit WIDTH. @param {Array<[string, string]>} rows */
function table(rows) {
  const left = Math.max(...rows.map(([name]) => name.length)) + 2;
  return rows.map(([name, text]) => wrap(text, Math.max(WIDTH - 2 - left, 30))
    .map((line, i) => `  ${(i === 0 ? name : '').padEnd(left)}${line}`).join('\n')).join('\n');
}

/** @param {number[]} codes @param {string} [ok] what 0 means for this command */
function exitCodes(codes, ok) {
  const rows = [...codes].sort((a, b) => a - b).map((code) => /** @type {[string, string]} */ ([String(code), code === EXIT.OK && ok ? ok : EXIT_MEANINGS[code]]));
  return `Exit codes:\n${table(rows)}`;
}

/** The overview: `ses-smtp-credentials --help`. */
function programHelp() {
  return `Usage: ${PROGRAM} <command> [options]
       ${PROGRAM} <command> --help   (its options and exit codes)
       ${PROGRAM} --version

Keeps a host in step with the Amazon SES SMTP credentials that a SesSmtpUser
(the ses-smtp-credentials CDK construct) stores in Secrets Manager.

Commands:
${table(Object.entries(COMMANDS).map(([name, c]) => [name, c.summary]))}

${READING}
--region defaults to AWS_REGION or your AWS config.
Nothing goes to stderr unless a command fails.

${exitCodes(Object.values(EXIT))}
`;
}

/** One command's page: `ses-smtp-credentials <command> --help`. @param {keyof typeof COMMANDS} name */
function commandHelp(name) {
  const c = COMMANDS[name];
  const formats = name === 'show'
    ? `\nFormats:\n${table(Object.entries(FORMATS).map(([format, f]) => [format, f.description]))}\n`
    : '';
  return `Usage: ${PROGRAM} ${c.usage}

${c.description}

Options:
${table(c.options)}
${formats}
Example:
  ${c.example}

${exitCodes(c.exits, c.ok)}
`;
}

/** @param {string | undefined} name @returns {name is keyof typeof COMMANDS} */
function isCommand(name) {
  return name !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, name);
}

module.exports = { COMMANDS, programHelp, commandHelp, isCommand };
