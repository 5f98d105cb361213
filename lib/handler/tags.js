// @ts-check
'use strict';
/**
 * Tags on the primary secret that tell the rotation function what a secret
 * belongs to (a rotation event carries only the secret id). None is secret.
 * Defined here, inside the Lambda asset, and re-exported by lib/contract.ts
 * for the construct.
 */
const ROTATION_TAGS = Object.freeze({
  /** Name of the IAM user. */
  USER_NAME: 'SesSmtpCredentials:UserName',
  /** Prefix; one tag per SMTP region: `SesSmtpCredentials:Secret:<region>` = secret ARN. */
  SECRET_PREFIX: 'SesSmtpCredentials:Secret:',
  /** ARN of the key source secret, when keys come from the IAM automation. */
  SOURCE: 'SesSmtpCredentials:Source',
  /** JSON field of the access key id in the key source. */
  SOURCE_ID_FIELD: 'SesSmtpCredentials:SourceIdField',
  /** JSON field of the secret access key in the key source. */
  SOURCE_KEY_FIELD: 'SesSmtpCredentials:SourceKeyField',
  /** Access key id given with a plain-string key source. */
  SOURCE_KEY_ID: 'SesSmtpCredentials:SourceKeyId',
});

module.exports = { ROTATION_TAGS };
