// @ts-check
'use strict';
/**
 * Who created an access key, by AWS's own record of it: CloudTrail.
 *
 * IAM cannot label a key, and a key's id reaches its creator only in
 * CreateAccessKey's answer. A delivery that dies between that answer and its
 * next write, or a CreateAccessKey whose answer was lost (a 5xx, a reset
 * connection), leaves a key no record of ours names. IAM alone cannot tell
 * such a key from one a person or the IAM automation created at the same
 * moment. CloudTrail can: its CreateAccessKey event names the caller (for
 * this handler, a session of its own role: SES_SMTP_ROLE_ARN) and the key
 * (responseElements.accessKey.accessKeyId; never its secret).
 *
 * Only keys created in a window during which a delivery of ours may have
 * made one (settle.js, aws.js) are looked up, and only those that no record
 * names: the usual request never calls CloudTrail.
 *
 * Facts this relies on (CloudTrail User Guide): IAM's events are recorded in
 * the partition's IAM region (us-east-1 in the aws partition) and served by
 * LookupEvents there for 90 days; an event shows up typically within 5
 * minutes, not guaranteed. A key whose event has not shown after
 * CLOUDTRAIL_LAG_MS is not taken for ours.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ from: number, to: number }} Window epoch ms, both ends included
 */
const { warn } = require('./log');

/** IAM's and CloudTrail's clocks may disagree a little with each other and with ours. */
const CLOCK_SKEW_MS = 60_000;
/** After this long, a CreateAccessKey CloudTrail has not shown is taken as not made by this handler. */
const CLOUDTRAIL_LAG_MS = 15 * 60_000;

/**
 * Deletes the keys of `userName` that this handler's role created in one of
 * `windows` (by CloudTrail), and that no record names.
 * @param {string} userName
 * @param {Window[]} windows when a delivery of ours may have created a key
 * @param {Set<string>} named keys a record names (never deleted here)
 * @param {AwsPort} aws
 * @returns {Promise<{ retired: string[], undecided: string[] }>} undecided: created in a window, not named, and
 *   CloudTrail shows no CreateAccessKey event for it yet (it may still come); nothing was done to those
 */
async function retireUnrecordedKeys(userName, windows, named, aws) {
  if (windows.length === 0) return { retired: [], undecided: [] };
  const inWindow = (/** @type {number | undefined} */ at) => at !== undefined
    && windows.some((w) => at >= w.from - CLOCK_SKEW_MS && at <= w.to + CLOCK_SKEW_MS);
  const candidates = (await aws.listAccessKeys(userName)).filter((k) => !named.has(k.accessKeyId) && inWindow(k.createdAt));
  if (candidates.length === 0) return { retired: [], undecided: [] };
  const from = Math.min(...candidates.map((k) => /** @type {number} */ (k.createdAt))) - CLOCK_SKEW_MS;
  const to = Math.max(...candidates.map((k) => /** @type {number} */ (k.createdAt))) + CLOCK_SKEW_MS;
  const creations = await aws.keyCreations(userName, { from, to });
  /** @type {string[]} */
  const retired = [];
  /** @type {string[]} */
  const undecided = [];
  for (const key of candidates) {
    const creation = creations.get(key.accessKeyId);
    if (creation && !creation.ours) continue; // someone else's: a person's, the IAM automation's
    if (creation?.ours) {
      warn(`IAM user '${userName}': deleting access key ${key.accessKeyId}: CloudTrail shows this handler's role created it, and no record of this stack names it (a delivery stopped before it could record the key, or IAM's answer was lost)`);
      await aws.deleteAccessKey(userName, key.accessKeyId);
      retired.push(key.accessKeyId);
    } else if (aws.now() - /** @type {number} */ (key.createdAt) < CLOUDTRAIL_LAG_MS) {
      undecided.push(key.accessKeyId);
    }
  }
  return { retired, undecided };
}

module.exports = { retireUnrecordedKeys, CLOUDTRAIL_LAG_MS, CLOCK_SKEW_MS };
