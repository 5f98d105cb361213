// @ts-check
'use strict';
/**
 * `check`: STARTTLS (or implicit TLS on 465/2465) and SMTP AUTH with the
 * stored credentials, then QUIT. No mail is sent: nodemailer's verify().
 */
const fs = require('node:fs');
const { CliError, EXIT } = require('./errors');
const { parseOptions, value, checkRegion, portOption } = require('./options');
const { fetchCredentials } = require('./secret');
const { implicitTls } = require('./postfix');
const { diagnose, maskKeyId } = require('./diagnose');

/** The options check accepts. @type {Record<string, 'value' | 'flag'>} */
const CHECK_OPTIONS = Object.freeze({ 'secret-id': 'value', region: 'value', host: 'value', port: 'value', 'ca-file': 'value', tls: 'value', timeout: 'value' });

/**
 * @param {string[]} argv
 * @param {{ stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, now?: () => Date }} io
 */
async function check(argv, io) {
  const options = parseOptions(argv, CHECK_OPTIONS);
  const secretId = value(options, 'secret-id');
  if (!secretId) throw new CliError('check needs --secret-id, the name or ARN of the SES SMTP secret.', EXIT.USAGE);
  const region = checkRegion(value(options, 'region'));
  const hostOption = value(options, 'host');
  if (hostOption !== undefined && !/^[A-Za-z0-9.:-]{1,253}$/.test(hostOption)) throw new CliError('--host must be a host name or IP address.', EXIT.USAGE);
  const portOverride = portOption(value(options, 'port'), 'port');
  const tlsOption = value(options, 'tls');
  if (tlsOption !== undefined && tlsOption !== 'starttls' && tlsOption !== 'implicit') throw new CliError('--tls must be starttls or implicit.', EXIT.USAGE);
  const timeoutText = value(options, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? 15 : Number(timeoutText);
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 300)) throw new CliError('--timeout must be a number of seconds, up to 300.', EXIT.USAGE);
  const caFile = value(options, 'ca-file');
  let ca;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch {
      throw new CliError('--ca-file is not a readable file.', EXIT.USAGE);
    }
  }

  const { credentials, writtenAt } = await fetchCredentials(secretId, region);
  const host = hostOption ?? credentials.host;
  const port = portOverride ?? credentials.port;
  const implicit = tlsOption ? tlsOption === 'implicit' : implicitTls(port);
  const target = hostOption !== undefined || portOverride !== undefined ? 'the endpoint given by --host/--port' : `[${credentials.host}]:${credentials.port}`;

  const { createTransport } = require('nodemailer');
  const transport = createTransport({
    host,
    port,
    secure: implicit,
    requireTLS: !implicit, // never AUTH in clear text
    auth: { user: credentials.username, pass: credentials.password },
    tls: { minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) },
    connectionTimeout: timeoutSeconds * 1000,
    // The greeting timer must fire before the idle-socket timer: "connected, but no greeting" is
    // what a STARTTLS client sees on an implicit-TLS port, and a plain "Timeout" would hide it.
    greetingTimeout: timeoutSeconds * 1000,
    socketTimeout: timeoutSeconds * 2000,
    logger: false,
    debug: false,
  });
  try {
    await transport.verify();
  } catch (e) {
    const error = /** @type {import('./diagnose').SmtpError} */ (e ?? {});
    const diagnosis = diagnose(error, {
      credentials, port, implicitTls: implicit, hostOverridden: hostOption !== undefined, host, writtenAt, now: (io.now ?? (() => new Date()))(),
    });
    const reported = scrub(String(error.message ?? e), [credentials.password, credentials.username, hostOption, caFile]);
    const lines = [
      `check failed against ${target} (${implicit ? 'implicit TLS' : 'STARTTLS'}): ${diagnosis.summary}.`,
      `  The SMTP client said: ${reported}`,
      `  Known causes that fit:`,
      ...diagnosis.causes.map((cause) => `  - ${cause}`),
    ];
    throw new CliError(lines.join('\n'), diagnosis.exit);
  } finally {
    transport.close();
  }
  io.stdout.write(`ok: ${implicit ? 'implicit TLS' : 'STARTTLS'} and AUTH accepted by ${target} for key ${maskKeyId(credentials.username)}; no mail sent.\n`);
}

/** Replaces every occurrence of the given values (secrets, option values) in text. @param {string} text @param {Array<string | undefined>} values */
function scrub(text, values) {
  let out = text;
  for (const v of values) if (v) out = out.split(v).join('<hidden>');
  return out;
}

module.exports = { check, CHECK_OPTIONS, scrub };
