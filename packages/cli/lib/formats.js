// @ts-check
'use strict';
/**
 * Renderings of SES SMTP credentials for the consumers legacy hosts have.
 *
 * @typedef {import('./secret').SmtpCredentials} SmtpCredentials
 * @typedef {{ description: string, render: (c: SmtpCredentials) => string }} Format
 */
const { CA_BUNDLES, desiredSettings, implicitTls, saslPasswdLine } = require('./postfix');

/** Single-quotes a value for POSIX shells. @param {string | number} value */
function shellQuote(value) {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** @param {SmtpCredentials} c @returns {Array<[string, string | number]>} */
function variables(c) {
  return [['SMTP_HOST', c.host], ['SMTP_PORT', c.port], ['SMTP_USERNAME', c.username], ['SMTP_PASSWORD', c.password], ['SMTP_REGION', c.region]];
}


/** @type {Record<string, Format>} */
const FORMATS = {
  json: {
    description: 'the secret as stored: {"username","password","host","port","region"}',
    render: (c) => `${JSON.stringify(c, null, 2)}\n`,
  },
  env: {
    description: 'shell exports of SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_REGION (eval or source)',
    render: (c) => variables(c).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join(''),
  },
  dotenv: {
    description: 'the same variables as KEY=value lines (docker --env-file, systemd EnvironmentFile)',
    render: (c) => variables(c).map(([k, v]) => `${k}=${v}\n`).join(''),
  },
  'postfix-sasl-passwd': {
    description: 'one /etc/postfix/sasl_passwd line: [host]:port username:password (then: postmap hash:/etc/postfix/sasl_passwd)',
    render: (c) => saslPasswdLine(c),
  },
  'postfix-relayhost': {
    description: 'the relayhost value for main.cf: [host]:port',
    render: (c) => `[${c.host}]:${c.port}\n`,
  },
  'postfix-main-cf': {
    description: `the main.cf settings sync applies, as key=value lines for xargs -d '\\n' postconf -e (no secret in it; CA file for Debian/Ubuntu, ${CA_BUNDLES[1]} on RHEL/Amazon Linux)`,
    render: (c) => [
      ...desiredSettings(c, { passwordMap: 'hash:/etc/postfix/sasl_passwd', caFile: CA_BUNDLES[0] })
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${value}`),
      '',
    ].join('\n'),
  },
  url: {
    description: 'an SMTP URL, smtp://user:password@host:port (smtps:// on 465/2465), password URL-encoded',
    render: (c) => `${implicitTls(c.port) ? 'smtps' : 'smtp'}://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}\n`,
  },
};

/**
 * @param {string} format a key of FORMATS
 * @param {SmtpCredentials} credentials
 */
function render(format, credentials) {
  return FORMATS[format].render(credentials);
}

module.exports = { FORMATS, render, shellQuote };
