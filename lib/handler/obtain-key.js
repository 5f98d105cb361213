// @ts-check
'use strict';
/**
 * Where the key comes from: created for the user (making room by retiring a
 * rotation's grace key when IAM's two slots are full), or read from the IAM
 * automation's key source and checked to be a key of the user.
 *
 * @typedef {import('./model').Request} Request
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ accessKeyId: string, secretAccessKey: string, created: boolean }} ObtainedKey
 */
const { UserFacingError, assertLongTermKeyId, usernameOf } = require('./model');
const { versionWithStage } = require('./aws');
const { warn } = require('./log');
const { claimOf, vouchedKeys } = require('./provenance');

const CURRENT = 'AWSCURRENT';
/**
 * Marks the version whose key a rotation left valid (the one AWSCURRENT left
 * in finishSecret): the only key outside the current generation that this
 * construct provably created and may retire. AWSPREVIOUS alone does not say
 * so: after a switch from a key source it names the automation's key.
 */
const GRACE = 'ses-smtp-grace';
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+=]{16,128}$/;

/**
 * @param {Request} request
 * @param {AwsPort} aws
 * @param {boolean} updating
 * @param {number} [createBy] epoch ms after which no CreateAccessKey may start (the claim's creation budget, settle.js)
 * @param {() => Promise<Set<string>>} [recorded] the keys the resource's records name (never taken for one an
 *   unanswered CreateAccessKey made)
 * @returns {Promise<ObtainedKey>}
 */
async function obtainKey(request, aws, updating, createBy, recorded) {
  if (request.source) {
    const key = await readSourceKey(request.source, aws);
    await assertKeyOfUser(request, key.accessKeyId, aws);
    return { ...key, created: false };
  }
  try {
    return { ...(await aws.createAccessKey(request.userName, { updating, createBy, recorded })), created: true };
  } catch (e) {
    // IAM refused (no key was made) because the user holds 2 keys: if one of
    // them is the grace key a rotation left valid, it is ours to retire.
    if (!(e instanceof UserFacingError && e.awsName === 'LimitExceeded') || !(await retireGraceKey(request, aws))) throw e;
    return { ...(await aws.createAccessKey(request.userName, { updating, createBy, recorded })), created: true };
  }
}

/**
 * A key source must hold a key of the construct's user: one of the keys IAM
 * lists for that user. Checked before anything is written.
 * @param {Request} request
 * @param {string} accessKeyId
 * @param {AwsPort} aws
 */
async function assertKeyOfUser(request, accessKeyId, aws) {
  const keys = await aws.listAccessKeys(request.userName);
  if (!keys.some((k) => k.accessKeyId === accessKeyId)) {
    throw new UserFacingError(`Source secret ${request.source?.secretArn} holds access key ${accessKeyId}, which is not a key of IAM user '${request.userName}', the user of this SesSmtpUser (its keys: ${keys.map((k) => k.accessKeyId).join(', ') || 'none'}). Nothing was written. Point keySource at the secret that holds ${request.userName}'s key, or change user.`);
  }
}

/**
 * Deletes the previous rotation's key, which stays valid (the primary
 * secret's version labelled GRACE, also AWSPREVIOUS right after a rotation)
 * until something needs its slot. Only that key, if the user still holds it
 * and it is not the current one.
 * @param {Request} request
 * @param {AwsPort} aws
 * @returns {Promise<boolean>} whether a key was deleted
 */
async function retireGraceKey(request, aws) {
  const primary = request.targets[0].secretArn;
  const graceVersion = versionWithStage(await aws.versionStages(primary), GRACE);
  if (!graceVersion) return false;
  const claim = await claimOf(primary, graceVersion, aws);
  if (!claim || claim.accessKeyId === usernameOf(await aws.getSecretString(primary, { stage: CURRENT }))) return false;
  const grace = claim.accessKeyId;
  const { retire, refused } = await vouchedKeys(request.userName, [claim], aws);
  for (const { accessKeyId, why } of refused) warn(`IAM user '${request.userName}': access key ${accessKeyId} is not retired to make room for a new one: ${why}`);
  if (!retire.includes(grace)) return false;
  const deleted = await aws.deleteAccessKey(request.userName, grace);
  await aws.moveStage(primary, GRACE, { removeFrom: graceVersion });
  return deleted;
}

/**
 * Reads the key pair the IAM automation stored. Its values never reach a
 * message: errors name fields, not contents.
 * @param {import('./model').KeySource} source
 * @param {AwsPort} aws
 * @returns {Promise<{ accessKeyId: string, secretAccessKey: string }>}
 */
async function readSourceKey(source, aws) {
  const where = `Source secret ${source.secretArn}`;
  const raw = await aws.getSecretString(source.secretArn, { stage: CURRENT });
  if (raw === undefined) throw new UserFacingError(`${where} does not exist, has no current value or is a binary secret`);
  let accessKeyId = source.accessKeyId;
  let secretAccessKey;
  if (source.secretAccessKeyField === undefined && source.accessKeyIdField === undefined) {
    secretAccessKey = raw.trim();
  } else {
    let doc;
    try {
      doc = JSON.parse(raw);
    } catch {
      throw new UserFacingError(`${where} is not a JSON object, but field names were given (${[source.accessKeyIdField, source.secretAccessKeyField].filter(Boolean).join(', ')}). For a plain-string secret access key, give the access key id separately.`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UserFacingError(`${where} is JSON but not an object`);
    if (source.accessKeyIdField !== undefined) {
      accessKeyId = doc[source.accessKeyIdField];
      if (typeof accessKeyId !== 'string') throw new UserFacingError(`${where} has no string field '${source.accessKeyIdField}' (expected the access key id); fields present: ${Object.keys(doc).join(', ') || 'none'}`);
    }
    const field = source.secretAccessKeyField ?? 'SecretAccessKey';
    secretAccessKey = doc[field];
    if (typeof secretAccessKey !== 'string') throw new UserFacingError(`${where} has no string field '${field}' (expected the secret access key); fields present: ${Object.keys(doc).join(', ') || 'none'}`);
  }
  assertLongTermKeyId(String(accessKeyId ?? ''), where);
  if (!SECRET_ACCESS_KEY.test(secretAccessKey)) {
    throw new UserFacingError(`${where}: the secret access key is malformed (expected a secret access key: 40 characters of A-Z, a-z, 0-9, / and +; got ${secretAccessKey.length} characters)`);
  }
  return { accessKeyId: /** @type {string} */ (accessKeyId), secretAccessKey };
}

module.exports = { obtainKey, readSourceKey, retireGraceKey, GRACE };
