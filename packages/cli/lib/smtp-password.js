// @ts-check
'use strict';
/**
 * Amazon SES SMTP password derivation (pure, no I/O).
 *
 * Algorithm as documented by AWS ("Obtaining Amazon SES SMTP credentials by
 * converting existing AWS credentials"): a SigV4 signing-key chain over a fixed
 * date, the SMTP region, service "ses", "aws4_request" and the message
 * "SendRawEmail", prefixed with the version byte 0x04 and base64-encoded.
 */
const { createHmac } = require('node:crypto');
const { isRegionName } = require('./partitions');

/** Fixed "date" input of the documented algorithm. */
const DATE = '11111111';
const SERVICE = 'ses';
const TERMINAL = 'aws4_request';
const MESSAGE = 'SendRawEmail';
const VERSION = 0x04;

/**
 * @param {Buffer | string} key
 * @param {string} message
 * @returns {Buffer}
 */
function hmac(key, message) {
  return createHmac('sha256', key).update(message, 'utf8').digest();
}

/**
 * Derives the SES SMTP password for a long-term IAM secret access key.
 *
 * The password is region specific: the same key yields a different password
 * for every SMTP region.
 *
 * @param {string} secretAccessKey the IAM secret access key (never logged)
 * @param {string} region the SES SMTP region, e.g. `eu-west-1`: a region name
 *   of some AWS partition (partitions.js)
 * @returns {string} the 44-character base64 SMTP password
 */
function deriveSmtpPassword(secretAccessKey, region) {
  if (typeof secretAccessKey !== 'string' || secretAccessKey.length === 0) {
    throw new TypeError('deriveSmtpPassword: secretAccessKey must be a non-empty string');
  }
  if (!isRegionName(region)) {
    throw new TypeError(`deriveSmtpPassword: region must be an AWS region name such as 'eu-west-1' or 'eusc-de-east-1', got '${String(region)}'`);
  }
  let signature = hmac(`AWS4${secretAccessKey}`, DATE);
  for (const part of [region, SERVICE, TERMINAL, MESSAGE]) {
    signature = hmac(signature, part);
  }
  return Buffer.concat([Buffer.from([VERSION]), signature]).toString('base64');
}

module.exports = { deriveSmtpPassword };
