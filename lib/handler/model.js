// @ts-check
'use strict';
/**
 * Pure decisions of the handler: validating what CloudFormation sends,
 * naming what was issued, rendering the secret and wording errors.
 * No AWS calls here, so every rule is unit-testable.
 *
 * @typedef {import('../contract').SmtpCredentialsProperties} SmtpCredentialsProperties
 * @typedef {import('../contract').SmtpTargetProperties} SmtpTargetProperties
 * @typedef {import('../contract').KeySourceProperties} KeySourceProperties
 *
 * @typedef {{ region: string, host: string, port: number, secretArn: string }} Target
 * @typedef {{ secretArn: string, accessKeyIdField?: string, secretAccessKeyField?: string, accessKeyId?: string }} KeySource
 * @typedef {{ key: string, value: string }} OwnerTag
 * @typedef {{ userName: string, targets: Target[], serial: string, source?: KeySource, ownerTag?: OwnerTag }} Request
 * @typedef {{ mode: 'key' | 'source', userName: string, accessKeyId: string, fingerprint: string }} Issued
 */
const { createHash } = require('node:crypto');
const { isRegionName, isRegionalArn } = require('./partitions');

/** A failure whose message is safe and meant for the person deploying. */
class UserFacingError extends Error {
  /**
   * @param {string} message
   * @param {string} [awsName] the AWS error behind it, for callers that act on it
   */
  constructor(message, awsName) {
    super(message);
    this.name = 'UserFacingError';
    this.awsName = awsName;
  }
}

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
/** A secret's ARN, its partition and region going together (partitions.js). @param {unknown} arn @returns {arn is string} */
const isSecretArn = (arn) => isRegionalArn(arn, 'secretsmanager', 'secret');
/** Long-term keys start with AKIA; ASIA marks temporary STS credentials. */
const LONG_TERM_KEY_ID = /^AKIA[A-Z0-9]{12,124}$/;
const ANY_KEY_ID = /^[A-Z0-9]{16,128}$/;

/**
 * Validates and normalises the custom resource properties.
 * @param {unknown} raw `event.ResourceProperties`
 * @returns {Request}
 */
function parseRequest(raw) {
  const props = /** @type {Partial<SmtpCredentialsProperties> | undefined} */ (raw);
  if (!props || typeof props !== 'object') throw new UserFacingError('ResourceProperties are missing');
  const userName = props.UserName;
  if (typeof userName !== 'string' || !USER_NAME.test(userName)) {
    throw new UserFacingError(`UserName must be an IAM user name (1-64 characters of letters, digits and +=,.@_-), got '${String(userName)}'`);
  }
  if (!Array.isArray(props.Targets) || props.Targets.length === 0) {
    throw new UserFacingError('Targets must list at least one SMTP region and its secret');
  }
  const targets = props.Targets.map(parseTarget);
  const regions = new Set(targets.map((t) => t.region));
  if (regions.size !== targets.length) {
    throw new UserFacingError(`Targets name a region twice: ${targets.map((t) => t.region).join(', ')}`);
  }
  /** @type {Request} */
  const request = { userName, targets, serial: props.Serial === undefined ? '' : String(props.Serial) };
  if (props.Source !== undefined) request.source = parseSource(props.Source);
  if (props.OwnerTag !== undefined) request.ownerTag = parseOwnerTag(props.OwnerTag);
  return request;
}

/** IAM tag keys and values: letters, digits, spaces and _.:/=+-@ */
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/** @param {Partial<import('../contract').OwnerTagProperties>} t @returns {OwnerTag} */
function parseOwnerTag(t) {
  if (!t || typeof t.Key !== 'string' || !TAG_KEY.test(t.Key) || typeof t.Value !== 'string' || !TAG_VALUE.test(t.Value)) {
    throw new UserFacingError(`OwnerTag must be an IAM tag ({ Key, Value }), got '${JSON.stringify(t)}'`);
  }
  return { key: t.Key, value: t.Value };
}

/** @param {Partial<SmtpTargetProperties>} t @returns {Target} */
function parseTarget(t) {
  const region = t?.Region;
  if (!isRegionName(region)) {
    throw new UserFacingError(`Target Region must be an AWS region name such as 'eu-west-1', 'us-gov-west-1' or 'eusc-de-east-1', got '${String(region)}'`);
  }
  const host = t.Host;
  if (typeof host !== 'string' || host.length === 0 || /\s/.test(host)) {
    throw new UserFacingError(`Target Host for ${region} must be a host name, got '${String(host)}'`);
  }
  const port = Number(t.Port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserFacingError(`Target Port for ${region} must be a TCP port number, got '${String(t.Port)}'`);
  }
  const secretArn = t.SecretArn;
  if (!isSecretArn(secretArn)) {
    throw new UserFacingError(`Target SecretArn for ${region} must be a Secrets Manager secret ARN, got '${String(secretArn)}'`);
  }
  return { region, host, port, secretArn };
}

/** @param {Partial<KeySourceProperties>} s @returns {KeySource} */
function parseSource(s) {
  if (!s || !isSecretArn(s.SecretArn)) {
    throw new UserFacingError(`Source SecretArn must be a Secrets Manager secret ARN, got '${String(s?.SecretArn)}'`);
  }
  /** @type {KeySource} */
  const source = { secretArn: s.SecretArn };
  if (s.AccessKeyId !== undefined) source.accessKeyId = String(s.AccessKeyId);
  if (s.AccessKeyIdField !== undefined) source.accessKeyIdField = String(s.AccessKeyIdField);
  if (s.SecretAccessKeyField !== undefined) source.secretAccessKeyField = String(s.SecretAccessKeyField);
  if (source.accessKeyId === undefined && source.accessKeyIdField === undefined) {
    throw new UserFacingError('Source needs AccessKeyIdField or AccessKeyId');
  }
  return source;
}

/**
 * A short, stable digest of everything that determines the credentials. Two
 * requests with the same fingerprint need the same key and the same secret values.
 * @param {Request} request
 * @returns {string} 16 hex characters
 */
function fingerprint(request) {
  const canonical = JSON.stringify([
    request.userName,
    request.targets.map((t) => [t.region, t.host, t.port, t.secretArn]),
    request.serial,
    request.source ? [request.source.secretArn, request.source.accessKeyIdField ?? '', request.source.secretAccessKeyField ?? '', request.source.accessKeyId ?? ''] : null,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * Custom staging label that marks the secret version holding the live
 * credentials of one fingerprint. Rotation moves it along with AWSCURRENT.
 * @param {string} fp
 */
function generationLabel(fp) {
  return `ses-smtp-${fp}`;
}

/** @param {string} label @returns {boolean} */
function isGenerationLabel(label) {
  return /^ses-smtp-[0-9a-f]{16}$/.test(label);
}

/**
 * Physical resource id: `key/<user>/<key id>/<fingerprint>` for keys this
 * resource created, `source/<user>/<key id>/<fingerprint>` for keys read
 * from the IAM automation's secret (never deleted by us).
 * @param {Issued} issued
 */
function formatPhysicalId(issued) {
  return [issued.mode, issued.userName, issued.accessKeyId, issued.fingerprint].join('/');
}

/**
 * @param {string | undefined} physicalId
 * @returns {Issued | undefined} undefined for ids this handler did not issue
 *   (for example the one a failed Create reported)
 */
function parsePhysicalId(physicalId) {
  const parts = String(physicalId ?? '').split('/');
  if (parts.length !== 4) return undefined;
  const [mode, userName, accessKeyId, fp] = parts;
  if ((mode !== 'key' && mode !== 'source') || !USER_NAME.test(userName) || !ANY_KEY_ID.test(accessKeyId) || !/^[0-9a-f]{16}$/.test(fp)) {
    return undefined;
  }
  return { mode, userName, accessKeyId, fingerprint: fp };
}

/**
 * Physical id reported when a Create fails: matches no key, so the rollback Delete touches nothing.
 * @param {string | undefined} requestId
 */
function failedCreatePhysicalId(requestId) {
  return `create-failed/${String(requestId ?? 'unknown').replace(/[^\w-]/g, '')}`;
}

/**
 * Rejects key ids that cannot make SMTP credentials.
 * @param {string} accessKeyId
 * @param {string} where what the id came from, for the message
 */
function assertLongTermKeyId(accessKeyId, where) {
  if (typeof accessKeyId !== 'string' || accessKeyId.length === 0) {
    throw new UserFacingError(`${where} holds no access key id`);
  }
  if (accessKeyId.startsWith('ASIA')) {
    throw new UserFacingError(`${where} holds a temporary (STS) access key id '${accessKeyId}'. SES SMTP credentials can only be derived from a long-term IAM user key (AKIA...); temporary credentials expire and SES rejects them. Store the IAM user's long-term key instead.`);
  }
  if (!LONG_TERM_KEY_ID.test(accessKeyId)) {
    throw new UserFacingError(`${where} holds ${redactKeyId(accessKeyId)} where the access key id belongs, which does not look like an IAM access key id (AKIA followed by upper-case letters and digits); is it the secret access key in the wrong field?`);
  }
}

/**
 * Describes, without showing it, something that is not a valid key id: it may be a secret in the wrong field.
 * @param {string} value
 */
function redactKeyId(value) {
  return `a value of ${value.length} characters`;
}

/**
 * The field, and its value, that a secret value carries when this handler
 * created the access key it names (not a key source, not anyone else). A
 * version's content never changes, so no later label can make a value
 * written for a key source's key claim it (provenance.js).
 */
const ISSUED_BY_FIELD = 'issuedBy';
const ISSUED_BY = 'ses-smtp-credentials';
/**
 * The IAM user whose key a value names. Every value this handler writes
 * carries it: it marks the value as this handler's (a value without it was
 * written by an earlier build, or by someone else), and it says whose key a
 * version names when that version's generation is retired (a change of user
 * cancelled halfway leaves the other user's key behind).
 */
const USER_FIELD = 'iamUserName';

/**
 * The SMTP secret document written for one target.
 * @param {string} accessKeyId
 * @param {string} password
 * @param {Target} target
 * @param {boolean} [issued] this handler created the key (adds ISSUED_BY_FIELD)
 * @param {string} [userName] the IAM user the key belongs to (USER_FIELD)
 * @returns {string}
 */
function renderSecret(accessKeyId, password, target, issued = false, userName = undefined) {
  return JSON.stringify({
    username: accessKeyId,
    password,
    host: target.host,
    port: target.port,
    region: target.region,
    ...(userName !== undefined ? { [USER_FIELD]: userName } : {}),
    ...(issued ? { [ISSUED_BY_FIELD]: ISSUED_BY } : {}),
  });
}

/**
 * Reads a secret string as a JSON object without ever throwing (a JSON.parse
 * error message would quote the secret).
 * @param {string | undefined} secretString
 * @returns {Record<string, unknown> | undefined}
 */
function parseSecretDocument(secretString) {
  if (!secretString) return undefined;
  try {
    const doc = JSON.parse(secretString);
    return doc && typeof doc === 'object' ? doc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `username` (access key id) in an SMTP secret string, if there is one.
 * @param {string | undefined} secretString
 * @returns {string | undefined}
 */
function usernameOf(secretString) {
  const username = parseSecretDocument(secretString)?.username;
  return typeof username === 'string' ? username : undefined;
}

/**
 * The key a secret value names, whether the value says this handler created
 * it, and whose key it is (as far as the value says).
 * @param {string | undefined} secretString
 * @returns {{ accessKeyId?: string, issued: boolean, userName?: string }} userName: only in values this
 *   handler wrote (USER_FIELD); undefined in an earlier build's
 */
function keyClaimOf(secretString) {
  const doc = parseSecretDocument(secretString);
  const username = doc?.username;
  const userName = doc?.[USER_FIELD];
  return {
    accessKeyId: typeof username === 'string' ? username : undefined,
    issued: doc?.[ISSUED_BY_FIELD] === ISSUED_BY,
    ...(typeof userName === 'string' ? { userName } : {}),
  };
}

/** Field names of the SMTP secret, in the order they are written. */
const SECRET_FIELDS = Object.freeze(['username', 'password', 'host', 'port', 'region']);

/**
 * The user has no room for another access key.
 * @param {string} userName
 * @param {boolean} updating re-issuing (the old key is deleted only in CloudFormation's cleanup)
 */
function quotaExceeded(userName, updating) {
  return new UserFacingError(
    `IAM user '${userName}' already has 2 access keys, the most IAM allows per user (quota AccessKeysPerUser, not adjustable). ` +
    (updating ? 'Re-issuing needs room for one new key until CloudFormation deletes the old one. ' : '') +
    `Nothing was changed. Remove an unused key (aws iam list-access-keys --user-name ${userName}; aws iam delete-access-key) and deploy again.`,
    'LimitExceeded');
}

/**
 * Whether an error's message may be quoted to CloudFormation and the logs:
 * only AWS's own parsed error answers ($fault), Node's network errors (a
 * code such as ECONNRESET) and timeouts. Anything else may carry response
 * bytes: an unparsable answer fails with HTTP 200 and a parser message that
 * quotes the text around the fault, and a GetSecretValue answer holds a secret.
 * @param {unknown} error
 * @returns {boolean}
 */
function quotableMessage(error) {
  const err = /** @type {{ name?: string, message?: unknown, code?: unknown, $fault?: unknown }} */ (error ?? {});
  if (typeof err.message !== 'string' || err.message.length === 0) return false;
  if (err.name === 'SyntaxError') return false;
  return err.$fault === 'client' || err.$fault === 'server' || typeof err.code === 'string'
    || err.name === 'TimeoutError' || err.name === 'AbortError';
}

/**
 * Turns an AWS SDK error into a sentence for the CloudFormation event.
 * AWS error messages carry names and ARNs, never secret values.
 * @param {unknown} error
 * @param {string} doing what was being attempted, e.g. "creating an access key for IAM user 'x'"
 * @returns {string}
 */
function explainAwsError(error, doing) {
  const err = /** @type {{ name?: string, message?: string, code?: string, $metadata?: { httpStatusCode?: number } }} */ (error ?? {});
  const name = err.name ?? 'Error';
  const detail = quotableMessage(error) ? `: ${err.message}` : '';
  switch (name) {
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'AccessDeniedError':
    {
      const hint = userPathHint(doing, detail);
      return `Access denied while ${doing} (${name}${detail}). ${hint}${hint ? 'Otherwise a' : 'A'} Service Control Policy, permissions boundary or key policy may block the handler's role.`;
    }
    case 'NoSuchEntity':
    case 'NoSuchEntityException':
      return `Not found while ${doing} (${name}${detail}). Check that the IAM user exists in this account.`;
    case 'ResourceNotFoundException':
      return `Not found while ${doing} (${name}${detail}). The secret may have been deleted outside CloudFormation; restore it (aws secretsmanager restore-secret) or let CloudFormation recreate it.`;
    case 'InvalidRequestException':
      return `Secrets Manager refused ${doing} (${name}${detail}). A secret scheduled for deletion cannot be written; restore it first.`;
    case 'KMSAccessDeniedException':
    case 'DecryptionFailure':
    case 'EncryptionFailure':
    case 'KMSDisabledException':
    case 'KMSInvalidStateException':
      return `KMS refused ${doing} (${name}${detail}). Check that the KMS key is enabled and that the handler's role may use it.`;
    case 'TimeoutError':
    case 'AbortError':
      return `Timed out while ${doing} (${name}${detail}).`;
    default:
      return `${name} while ${doing}${detail}`;
  }
}

/**
 * The first thing to check when IAM denies the handler an IAM user's keys or
 * tags: the user has an IAM path but was given by name. `iam.User.fromUserName`
 * assumes the root path, so the handler's role is allowed
 * `arn:…:user/<name>`, while IAM evaluates the user's real ARN,
 * `arn:…:user/<path>/<name>`. When IAM's own message names an ARN with a
 * path, the hint says so; otherwise it says what to check. Empty when the
 * call was not about an IAM user (`doing` names one as "IAM user '<name>'").
 * @param {string} doing
 * @param {string} detail the quotable part of AWS's message ('' if none)
 * @returns {string} sentences ending in a space, or ''
 */
function userPathHint(doing, detail) {
  const user = /\bIAM user '([^']+)'/.exec(doing)?.[1];
  if (!user) return '';
  const fromUserName = 'iam.User.fromUserName assumes the root path, and the handler\'s role may act only on the ARN SesSmtpUser was given';
  const arn = /\barn:aws[a-z-]*:iam::\d{12}:user(\/[^\s'"]*\/)([\w+=,.@-]+)/.exec(detail);
  if (arn && arn[2] === user) {
    return `IAM names the user ${arn[0]}, with the path ${arn[1]}: if SesSmtpUser got it by name, give it by ARN instead, `
      + `iam.User.fromUserArn(this, 'User', '${arn[0]}') (${fromUserName}). `;
  }
  return `If IAM user '${user}' has a path (aws iam get-user --user-name ${user} shows it in the Arn), it must be given to SesSmtpUser by ARN, `
    + `iam.User.fromUserArn(this, 'User', 'arn:<partition>:iam::<account>:user/<path>/${user}') (${fromUserName}). `;
}

module.exports = {
  UserFacingError,
  parseRequest,
  fingerprint,
  generationLabel,
  isGenerationLabel,
  formatPhysicalId,
  parsePhysicalId,
  failedCreatePhysicalId,
  assertLongTermKeyId,
  renderSecret,
  parseSecretDocument,
  usernameOf,
  SECRET_FIELDS,
  ISSUED_BY_FIELD,
  ISSUED_BY,
  USER_FIELD,
  keyClaimOf,
  explainAwsError,
  quotableMessage,
  quotaExceeded,
};
