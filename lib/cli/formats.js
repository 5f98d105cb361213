// @ts-check
'use strict';
/**
 * Renderings of SES SMTP credentials for the consumers legacy hosts have.
 *
 * @typedef {{ username: string, password: string, host: string, port: number, region: string }} SmtpCredentials
 * @typedef {{ description: string, render: (c: SmtpCredentials) => string }} Format
 */

/** Single-quotes a value for POSIX shells. @param {string | number} value */
function shellQuote(value) {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** @param {SmtpCredentials} c @returns {Array<[string, string | number]>} */
function variables(c) {
  return [['SMTP_HOST', c.host], ['SMTP_PORT', c.port], ['SMTP_USERNAME', c.username], ['SMTP_PASSWORD', c.password], ['SMTP_REGION', c.region]];
}

/** Implicit TLS (465, 2465) versus STARTTLS (25, 587, 2587). @param {number} port */
function implicitTls(port) {
  return port === 465 || port === 2465;
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
    render: (c) => `[${c.host}]:${c.port} ${c.username}:${c.password}\n`,
  },
  'postfix-relayhost': {
    description: 'the relayhost value for main.cf: [host]:port',
    render: (c) => `[${c.host}]:${c.port}\n`,
  },
  'postfix-main-cf': {
    description: 'main.cf settings for relaying through SES with SASL and TLS (no secret in it)',
    render: (c) => [
      `relayhost = [${c.host}]:${c.port}`,
      'smtp_sasl_auth_enable = yes',
      'smtp_sasl_security_options = noanonymous',
      'smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd',
      'smtp_use_tls = yes',
      'smtp_tls_security_level = encrypt',
      'smtp_tls_note_starttls_offer = yes',
      ...(implicitTls(c.port) ? ['smtp_tls_wrappermode = yes'] : []),
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
