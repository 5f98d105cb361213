// @ts-check
'use strict';
/**
 * Why an SMTP check failed: the known causes that fit the error, worded for
 * an administrator. Pure: no I/O, so every cause is unit-testable.
 *
 * @typedef {import('./secret').SmtpCredentials} SmtpCredentials
 * @typedef {{ code?: string, responseCode?: number, message?: string, cause?: unknown }} SmtpError
 * @typedef {{
 *   credentials: SmtpCredentials,
 *   port: number,
 *   implicitTls: boolean,
 *   hostOverridden: boolean,
 *   host: string,
 *   writtenAt: Date | undefined,
 *   now: Date,
 * }} CheckContext
 * @typedef {{ exit: number, summary: string, causes: string[] }} Diagnosis
 */
const { EXIT } = require('./errors');
const { partitionOf } = require('./partitions');

/** How long after a key is created SES may still refuse it. AWS says new credentials can take a few minutes. */
const PROPAGATION_MINUTES = 15;

const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/**
 * The SES region in an SMTP endpoint name (email-smtp.R.<the partition's DNS
 * suffix>, -fips, VPC endpoint names; partitions.js).
 * @param {string} host
 */
function regionOfHost(host) {
  const [, region, suffix] = /(?:^|[.-])email-smtp(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?([a-z0-9.-]+)$/.exec(host) ?? [];
  return suffix !== undefined && partitionOf(region)?.dnsSuffix === suffix ? region : undefined;
}

/** Every code and message in an error and its causes. @param {unknown} e @returns {{ codes: string[], text: string }} */
function flatten(e) {
  const codes = [];
  const texts = [];
  for (let cur = /** @type {any} */ (e), depth = 0; cur && depth < 5; cur = cur.cause, depth++) {
    for (const field of ['code', 'originalCode']) if (typeof cur[field] === 'string') codes.push(cur[field]);
    if (typeof cur.message === 'string') texts.push(cur.message);
    if (typeof cur.reason === 'string') texts.push(cur.reason);
  }
  return { codes, text: texts.join(' | ') };
}

/**
 * @param {SmtpError} error what nodemailer's verify() rejected with
 * @param {CheckContext} ctx
 * @returns {Diagnosis}
 */
function diagnose(error, ctx) {
  const { codes, text } = flatten(error);
  // Node's errno names also appear in messages only ("connect ECONNREFUSED ..."): count them as codes.
  for (const name of text.match(/\bE[A-Z]{4,}\b/g) ?? []) codes.push(name);
  const c = ctx.credentials;
  const modeName = ctx.implicitTls ? 'implicit TLS' : 'STARTTLS';

  if (error.responseCode === 535 || (codes.includes('EAUTH') && (error.responseCode ?? 0) >= 500)) {
    /** @type {string[]} */
    const causes = [];
    for (const host of new Set([c.host, ...(ctx.hostOverridden ? [ctx.host] : [])])) {
      const hostRegion = regionOfHost(host);
      if (hostRegion && hostRegion !== c.region) {
        causes.push(`Wrong region: the password was derived for ${c.region}, but ${host === c.host ? `the secret's host ${host}` : 'the host given by --host'} is SES in ${hostRegion}. SES SMTP passwords work in one region only: send to email-smtp.${c.region}.${partitionOf(c.region)?.dnsSuffix ?? 'amazonaws.com'}, or issue credentials for ${hostRegion}.`);
      }
    }
    if (ctx.writtenAt) {
      const minutes = Math.floor((ctx.now.getTime() - ctx.writtenAt.getTime()) / 60_000);
      if (minutes >= 0 && minutes < PROPAGATION_MINUTES) {
        causes.push(`New key: the credentials were written ${minutes === 0 ? 'less than a minute' : `${minutes} minute${minutes === 1 ? '' : 's'}`} ago. A new IAM access key can take a few minutes before SES accepts it; check again in 5 minutes.`);
      }
    }
    causes.push(`Key inactive or deleted: the TLS handshake worked and the server refused this access key (${maskKeyId(c.username)}). It may be inactive, or deleted by a rotation or a removed stack while this host kept an old copy: \`aws iam list-access-keys --user-name <user>\` shows its status; run \`ses-smtp-credentials sync\` (or show) again to pick up the current secret.`);
    return { exit: EXIT.AUTH_FAILED, summary: `the server refused the login (${error.responseCode ?? 'AUTH'})`, causes };
  }
  if (codes.includes('EAUTH') || error.responseCode) {
    return {
      exit: EXIT.AUTH_FAILED,
      summary: `the server refused the login (${error.responseCode ?? 'AUTH'})`,
      causes: ['A temporary refusal (4xx) clears by itself: check again later. Any other answer is not what SES sends: is the host really SES?'],
    };
  }

  if (codes.some((code) => CERTIFICATE_CODES.has(code)) || /certificate|altnames/i.test(text)) {
    return {
      exit: EXIT.CONNECT_FAILED,
      summary: 'the server\'s TLS certificate is not trusted',
      causes: [`Certificate not trusted: the certificate does not chain to a trusted CA or does not name the host. On a real SES endpoint this means something intercepts TLS (a proxy), the host is not SES, or the system CA bundle is missing or outdated (install ca-certificates). A private CA: pass --ca-file.`],
    };
  }

  if (codes.includes('ECONNREFUSED')) {
    return { exit: EXIT.CONNECT_FAILED, summary: 'the connection was refused', causes: ['Nothing listens on that host and port: check host and port (SES: 25, 587, 2587 STARTTLS; 465, 2465 implicit TLS).'] };
  }
  if (codes.includes('ENOTFOUND') || codes.includes('EAI_AGAIN') || codes.includes('EDNS')) {
    return { exit: EXIT.CONNECT_FAILED, summary: 'the host name does not resolve', causes: ['The host name does not resolve from here: check DNS, or the VPC endpoint\'s private DNS.'] };
  }

  const tlsFirst = /wrong version number|packet length too long|unknown protocol|ECONNRESET|socket hang up|before secure TLS connection|EPROTO/i.test(`${text} ${codes.join(' ')}`);
  const noGreeting = /greeting/i.test(text);
  if ((ctx.implicitTls && tlsFirst) || (!ctx.implicitTls && (noGreeting || tlsFirst))) {
    const other = ctx.implicitTls ? 'STARTTLS (SES: 25, 587, 2587)' : 'implicit TLS (SES: 465, 2465)';
    return {
      exit: EXIT.CONNECT_FAILED,
      summary: `no ${modeName} session on port ${ctx.port}`,
      causes: [`TLS mode vs port: ${modeName} was used on port ${ctx.port}, and the server seems to speak ${other}. SES uses STARTTLS on 25, 587 and 2587 and implicit TLS on 465 and 2465; fix the port in the secret (the construct's port prop), or pass --tls ${ctx.implicitTls ? 'starttls' : 'implicit'} for a non-standard port.`],
    };
  }

  if (/timeout|timed out/i.test(text) || codes.includes('ETIMEDOUT')) {
    return {
      exit: EXIT.CONNECT_FAILED,
      summary: 'the connection timed out',
      causes: [`No answer: a security group, network ACL or firewall drops the traffic${ctx.port === 25 ? ', or EC2\'s default limit on outbound port 25 applies: use 587 or 2587' : ''}. From a private subnet SES needs a NAT gateway or an SES VPC endpoint.`],
    };
  }
  return { exit: EXIT.CONNECT_FAILED, summary: 'no SMTP session', causes: ['No known cause fits; the error above is what the SMTP client reported.'] };
}

/** AKIA…WXYZ: enough to find the key in IAM. @param {string} keyId */
function maskKeyId(keyId) {
  return keyId.length > 8 ? `${keyId.slice(0, 4)}…${keyId.slice(-4)}` : '(short key id)';
}

module.exports = { diagnose, regionOfHost, maskKeyId, PROPAGATION_MINUTES };
