// @ts-check
'use strict';
/**
 * Which of a user's keys a secret version may name for the handler to retire.
 *
 * The handler retires keys that its own secrets name: a rotation's grace key,
 * a failed rotation's pending key, the key a generation label points at when
 * the stack is deleted, what a dead delivery left. But anyone who may call
 * secretsmanager:PutSecretValue and UpdateSecretVersionStage on a credentials
 * secret can write a version naming any key, with any label. On the version's
 * word alone, such a writer could make the handler delete another key of the
 * same IAM user (one a person or other automation made), which the writer may
 * not delete themselves.
 *
 * What no writer chooses are the services' own clocks: IAM's CreateDate of
 * the key and Secrets Manager's CreatedDate of the version. Every version the
 * handler writes that names a key it created is written by the invocation
 * that created the key (CloudFormation requests and createSecret alike; a
 * later delivery never adopts an earlier one's key, it deletes it), so the
 * version is created less than one Lambda lifetime after the key. A version
 * created later than that does not vouch for the key it names, and the key is
 * not retired on its word.
 *
 * Labels move, content does not: a writer may move a label onto an old
 * version, such as one the handler wrote minutes after the IAM automation
 * created the key of a key source. So a version vouches only if its value
 * also says this handler created the key (model.js ISSUED_BY_FIELD), which
 * the handler writes only for keys it created. Versions written before
 * CloudFormation last updated this function (AwsPort.handlerUpdatedAt) may
 * come from a version of the handler that wrote no such field (0.1.0): for
 * them the clocks alone decide, so an upgrade does not strand the keys its
 * predecessor issued.
 *
 * Not covered: a version written within that window of the key's creation
 * (the writer must learn a new key's id within minutes of its creation), and
 * an AWSPENDING version Secrets Manager created empty for a rotation that
 * failed, filled in later (its CreatedDate is the rotation's start). Keys in
 * the physical id are CloudFormation's record and need no voucher.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ accessKeyId: string, secretArn: string, versionId: string, issued: boolean, userName?: string }} Claim a
 *   version that names a key; issued: its value says this handler created the key; userName: the IAM user the value
 *   says the key is of (every value this handler writes says so; an earlier build's did not)
 */

const { keyClaimOf } = require('./model');

/** Lambda's longest run: every version naming a key the handler created is written within it. */
const LAMBDA_LIFETIME_MS = 15 * 60_000;
/** IAM's and Secrets Manager's clocks may disagree a little. */
const CLOCK_SKEW_MS = 60_000;
/** CloudTrail's event history holds the last 90 days of management events. */
const TRAIL_HISTORY_MS = 90 * 24 * 3_600_000;
/** The latest a version may be created after the key it names, and still vouch for it. */
const VOUCHING_WINDOW_MS = LAMBDA_LIFETIME_MS + CLOCK_SKEW_MS;

/**
 * What a version of a secret claims: the key its value names, if any.
 * @param {string} secretArn
 * @param {string} versionId
 * @param {Pick<AwsPort, 'getSecretString'>} aws
 * @returns {Promise<Claim | undefined>}
 */
async function claimOf(secretArn, versionId, aws) {
  const { accessKeyId, issued, userName } = keyClaimOf(await aws.getSecretString(secretArn, { versionId }));
  return accessKeyId ? { accessKeyId, secretArn, versionId, issued, ...(userName ? { userName } : {}) } : undefined;
}

/**
 * Sorts the keys these versions name into those the handler may retire (the
 * user still has them and a version vouches for them) and those it may not.
 * A key the user no longer has is in neither list: there is nothing to retire.
 * @param {string} userName
 * @param {Claim[]} claims
 * @param {Pick<AwsPort, 'listAccessKeys' | 'versionDates'> & Partial<Pick<AwsPort, 'handlerUpdatedAt' | 'keyCreations' | 'now'>>} aws
 * @param {Array<{ accessKeyId: string, createdAt?: number }>} [keys] the user's keys, when just listed
 * @returns {Promise<{ retire: string[], refused: Array<{ accessKeyId: string, why: string }> }>}
 */
async function vouchedKeys(userName, claims, aws, keys) {
  if (claims.length === 0) return { retire: [], refused: [] };
  const created = new Map((keys ?? await aws.listAccessKeys(userName)).map((k) => [k.accessKeyId, k.createdAt]));
  /** @type {Map<string, Promise<Map<string, number>>>} */
  const datesOf = new Map();
  const versionDates = (/** @type {string} */ secretArn) => {
    if (!datesOf.has(secretArn)) datesOf.set(secretArn, aws.versionDates(secretArn));
    return /** @type {Promise<Map<string, number>>} */ (datesOf.get(secretArn));
  };
  /** @type {Map<string, string>} key → why no version vouched for it */
  const refusals = new Map();
  const retire = new Set();
  for (const claim of claims) {
    if (!created.has(claim.accessKeyId) || retire.has(claim.accessKeyId)) continue;
    const keyCreated = created.get(claim.accessKeyId);
    const versionCreated = (await versionDates(claim.secretArn)).get(claim.versionId);
    // Well before the deployment (CloudFormation's clock is not Secrets Manager's).
    // Only a value that carries no mark of this handler at all may be an earlier build's.
    const legacy = !claim.issued && !claim.userName && versionCreated !== undefined && versionCreated < (await aws.handlerUpdatedAt?.() ?? -Infinity) - CLOCK_SKEW_MS;
    const why = refusal(claim, keyCreated, versionCreated, legacy) ?? (legacy ? await notCreatedByHandler(userName, claim.accessKeyId, keyCreated, aws) : undefined);
    if (why) {
      if (!refusals.has(claim.accessKeyId)) refusals.set(claim.accessKeyId, why);
    } else {
      retire.add(claim.accessKeyId);
      refusals.delete(claim.accessKeyId);
    }
  }
  return { retire: [...retire], refused: [...refusals].map(([accessKeyId, why]) => ({ accessKeyId, why })) };
}

/**
 * @param {Claim} claim
 * @param {number | undefined} keyCreated
 * @param {number | undefined} versionCreated
 * @param {boolean} legacy written before this handler's code was deployed, by one that wrote no ISSUED_BY_FIELD
 * @returns {string | undefined} why the version does not vouch for the key
 */
function refusal(claim, keyCreated, versionCreated, legacy) {
  const where = `version ${claim.versionId} of secret ${claim.secretArn}`;
  if (!claim.issued && !legacy) return `${where} names it without saying this handler created the key (a key source's key, or a value someone else wrote)`;
  if (keyCreated === undefined || versionCreated === undefined) {
    return `IAM or Secrets Manager reported no creation date for key ${claim.accessKeyId} or ${where}`;
  }
  const lateMs = versionCreated - keyCreated;
  if (lateMs <= VOUCHING_WINDOW_MS) return undefined;
  return `${where} names it, but was written ${describeDelay(lateMs)} after IAM created the key, and the handler writes `
    + `the versions naming its keys within ${VOUCHING_WINDOW_MS / 60_000} minutes of creating them: someone else wrote that version`;
}

/**
 * An unmarked value of an earlier build names a key: the build that wrote no
 * mark at all (0.1.0) and the builds that marked only the keys they issued
 * both wrote such values, the latter for a key source's key. Which one
 * created the key is CloudTrail's to say: the handler's role, or someone
 * else (the IAM automation). CloudTrail's event history reaches back 90 days.
 * @param {string} userName
 * @param {string} accessKeyId
 * @param {number | undefined} keyCreated
 * @param {Partial<Pick<AwsPort, 'keyCreations' | 'now'>>} aws
 * @returns {Promise<string | undefined>} why not the handler's key (undefined: CloudTrail shows the handler's role created it)
 */
async function notCreatedByHandler(userName, accessKeyId, keyCreated, aws) {
  const unmarked = 'an earlier build of this handler wrote that value without marking it, for a key it issued or for a key source\'s key';
  if (!aws.keyCreations || keyCreated === undefined) return `${unmarked}, and who created the key cannot be looked up`;
  if (aws.now && aws.now() - keyCreated > TRAIL_HISTORY_MS) {
    return `${unmarked}; IAM created the key more than 90 days ago, beyond CloudTrail's event history, so who created it is not known`;
  }
  let seen;
  try {
    seen = await aws.keyCreations(userName, { from: keyCreated - CLOCK_SKEW_MS, to: keyCreated + CLOCK_SKEW_MS });
  } catch (e) {
    return `${unmarked}, and CloudTrail could not say who created the key (${e instanceof Error ? e.message : String(e)})`;
  }
  if (seen.get(accessKeyId)?.ours) return undefined;
  return `${unmarked}; CloudTrail shows ${seen.has(accessKeyId) ? 'someone other than this handler\'s role created the key' : 'no creation of the key'}`;
}

/** @param {number} ms */
function describeDelay(ms) {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} hours` : `${Math.round(hours / 24)} days`;
}

module.exports = { claimOf, vouchedKeys, VOUCHING_WINDOW_MS, CLOCK_SKEW_MS };
