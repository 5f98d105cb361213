// @ts-check
'use strict';
/**
 * The journal every issuing request keeps in its resource's secrets, so that
 * whatever happens to a delivery, a later one can tell what it did.
 *
 * Secrets Manager gives each version an id the writer chooses (its
 * ClientRequestToken) and refuses a second writer of the same id with other
 * content (ResourceExistsException): a compare-and-set that every delivery
 * and every later request can use. For each CloudFormation operation (its
 * id comes from CloudFormation's log, authority.js) the ids are fixed:
 *
 * - the CLAIM, on the primary secret, written before any key is created and
 *   labelled with the generation label of the properties it issues for. The
 *   one delivery whose claim write succeeds holds the operation: only it
 *   creates a key. Copies and redeliveries find the claim and wait.
 * - the CREDENTIALS, one version per target, derived from the claim's id,
 *   written as AWSCURRENT with the generation label once the key exists. The
 *   primary's is written last: it moves the generation label off the claim,
 *   which is how "this claim was settled by its own holder" reads.
 * - a FENCE is what a later request writes under those same ids when the
 *   operation is over (cancelled, timed out, failed): a holder that is still
 *   running then fails to write, and deletes the key it made. Where the holder
 *   had already written, the fence write fails and shows what it wrote.
 *
 * A claim that still carries its generation label, with no credentials
 * behind it, is an operation whose holder stopped somewhere between its
 * claim and its last write: settle.js finishes it.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {import('./model').Request} Request
 */
const { createHash, randomUUID } = require('node:crypto');

/** Prefix of every claim's version id: a claim is known by its id alone (DescribeSecret lists ids and labels). */
const CLAIM_PREFIX = 'ses-smtp-claim-';
/** The label a fence carries (Secrets Manager moves AWSCURRENT to a new version written without one). */
const FENCE_LABEL = 'ses-smtp-fence';
/**
 * The label of the fence a Delete of the resource writes before it looks for
 * a rotation in flight; a rotation's createSecret looks for it before it
 * creates a key. Whichever comes second sees the other.
 */
const DELETED_LABEL = 'ses-smtp-deleted';
/** What a claim and a fence hold: no credentials, and no field a reader could take for them. */
const CLAIM_FIELD = 'sesSmtpClaim';
const FENCE_FIELD = 'sesSmtpFence';

/** @param {string} text */
function hex(text) {
  return createHash('sha256').update(text).digest('hex');
}

/** @param {string} text a UUID-shaped digest (Secrets Manager shows version ids as UUIDs) */
function uuidOf(text) {
  const h = hex(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The claim's version id of an operation.
 * @param {string} operationId
 */
function claimIdOf(operationId) {
  return `${CLAIM_PREFIX}${hex(`claim|${operationId}`).slice(0, 32)}`;
}

/** @param {string | undefined} versionId */
function isClaimId(versionId) {
  return typeof versionId === 'string' && versionId.startsWith(CLAIM_PREFIX);
}

/**
 * The credentials' version id in each target, derived from the claim alone
 * (a later request that finds the claim can fence them without knowing the
 * operation).
 * @param {string} claimId
 * @param {Request} request
 * @returns {string[]} one per target, primary first
 */
function credentialIdsOf(claimId, request) {
  return request.targets.map((target) => uuidOf(`${claimId}|${target.secretArn}`));
}

/**
 * A claim's value: a random mark of the delivery that wrote it, and the IAM
 * user it may create a key for (what settles an abandoned claim looks at).
 * @param {string} userName
 */
function claimValue(userName) {
  return JSON.stringify({ [CLAIM_FIELD]: randomUUID(), iamUserName: userName });
}

/**
 * The IAM user a claim says its holder may create a key for.
 * @param {string | undefined} secretString
 * @returns {string | undefined}
 */
function claimUserOf(secretString) {
  try {
    const doc = JSON.parse(secretString ?? '');
    return doc && typeof doc === 'object' && CLAIM_FIELD in doc && typeof doc.iamUserName === 'string' ? doc.iamUserName : undefined;
  } catch {
    return undefined;
  }
}

/** @param {string} who what fenced it, for a reader of the secret's history */
function fenceValue(who) {
  return JSON.stringify({ [FENCE_FIELD]: who });
}

/**
 * What kind of journal entry a value is.
 * @param {string | undefined} secretString
 * @returns {'claim' | 'fence' | 'value' | 'none'} value: anything else (credentials, {} …)
 */
function entryKind(secretString) {
  if (secretString === undefined) return 'none';
  try {
    const doc = JSON.parse(secretString);
    if (doc && typeof doc === 'object' && CLAIM_FIELD in doc) return 'claim';
    if (doc && typeof doc === 'object' && FENCE_FIELD in doc) return 'fence';
  } catch {
    // not JSON: a value someone else wrote
  }
  return 'value';
}

/**
 * Writes a version under an id this journal fixed, unless some version holds
 * that id already.
 * @param {AwsPort} aws
 * @param {string} secretArn
 * @param {string} versionId
 * @param {string} value
 * @param {string[]} labels
 * @returns {Promise<boolean>} true: written now; false: the id was taken (by another writer, or by this one before)
 */
async function writeOnce(aws, secretArn, versionId, value, labels) {
  try {
    await aws.putSecretValue(secretArn, value, labels, versionId);
    return true;
  } catch (e) {
    if (/** @type {{ awsName?: string }} */ (e)?.awsName === 'ResourceExistsException') return false;
    throw e;
  }
}

/**
 * Fences one version id: written now (nobody can write it any more), or taken (read what is there).
 * @param {AwsPort} aws
 * @param {string} secretArn
 * @param {string} versionId
 * @param {string} who
 * @returns {Promise<{ fenced: true } | { fenced: false, value: string | undefined }>}
 */
async function fence(aws, secretArn, versionId, who) {
  if (await writeOnce(aws, secretArn, versionId, fenceValue(who), [FENCE_LABEL])) return { fenced: true };
  return { fenced: false, value: await aws.getSecretString(secretArn, { versionId }) };
}

/**
 * The id of the fence a Delete writes into a secret (the same for every
 * delivery of every Delete: writing it again changes nothing).
 * @param {string} secretArn
 */
function deletedFenceIdOf(secretArn) {
  return `ses-smtp-deleted-${hex(`deleted|${secretArn}`).slice(0, 32)}`;
}

module.exports = {
  CLAIM_PREFIX, FENCE_LABEL, DELETED_LABEL, deletedFenceIdOf,
  claimIdOf, isClaimId, credentialIdsOf, claimValue, claimUserOf, fenceValue, entryKind, writeOnce, fence, uuidOf,
};
