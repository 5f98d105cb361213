// @ts-check
'use strict';
/**
 * A generation is what one set of properties issued (its fingerprint, its
 * label on the versions that hold its credentials). An Update back to a
 * generation that still has its key (a rollback) makes it current again
 * instead of creating a key; an Update with the same properties makes sure
 * every target still holds it as AWSCURRENT.
 *
 * @typedef {import('./model').Request} Request
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ physicalResourceId: string, data: Record<string, string> }} Outcome
 */
const { formatPhysicalId, generationLabel, isGenerationLabel, usernameOf } = require('./model');
const { versionWithStage } = require('./aws');
const { warn } = require('./log');
const { claimOf, vouchedKeys } = require('./provenance');
const { isClaimId } = require('./journal');

const CURRENT = 'AWSCURRENT';

/**
 * The same properties again (a rollback to them, or a no-op Update): every
 * target must still hold this generation as AWSCURRENT. A failed request that
 * could not undo its writes (a killed delivery) may have left another key
 * current in some targets; AWSCURRENT goes back to this generation's version,
 * and a key that only such a version named (written by this handler under
 * another generation label, not the generation's own key) is deleted, so it
 * does not hold the user's second key slot.
 * @param {Request} request
 * @param {string} fp
 * @param {AwsPort} aws
 */
async function repairGeneration(request, fp, aws, known = new Map()) {
  const label = generationLabel(fp);
  const moves = [];
  /** @type {string | undefined} */
  let primaryLabelled;
  for (const target of request.targets) {
    const stages = known.get(target.secretArn) ?? await aws.versionStages(target.secretArn);
    const found = versionWithStage(stages, label);
    // A claim carries the label until its credentials are written (journal.js): it holds none.
    const labelled = isClaimId(found) ? undefined : found;
    if (target === request.targets[0]) primaryLabelled = labelled;
    const current = versionWithStage(stages, CURRENT);
    if (!labelled || !current || labelled === current) continue;
    moves.push({ secretArn: target.secretArn, labelled, current, leftByAnotherRequest: (stages?.[current] ?? []).some(isGenerationLabel) });
  }
  if (moves.length === 0) return;
  const generationKey = primaryLabelled && usernameOf(await aws.getSecretString(request.targets[0].secretArn, { versionId: primaryLabelled }));
  /** @type {import('./provenance').Claim[]} */
  const strays = [];
  for (const move of moves) {
    const claim = await claimOf(move.secretArn, move.current, aws);
    await aws.moveStage(move.secretArn, CURRENT, { moveTo: move.labelled, removeFrom: move.current });
    if (claim && generationKey && claim.accessKeyId !== generationKey && move.leftByAnotherRequest) strays.push(claim);
  }
  const { retire, refused } = await vouchedKeys(request.userName, strays, aws);
  for (const { accessKeyId, why } of refused) {
    warn(`IAM user '${request.userName}': access key ${accessKeyId} was current in a secret of this resource and is not deleted: ${why}`);
  }
  for (const key of retire) {
    warn(`IAM user '${request.userName}': deleting access key ${key}, which a failed request of this resource left current in its secret`);
    await aws.deleteAccessKey(request.userName, key);
  }
}

/**
 * When the requested fingerprint still has a live key (CloudFormation rolling
 * back to properties it had moments ago), makes that generation current again
 * instead of creating another key.
 * @param {Request} request
 * @param {string} fp
 * @param {Map<string, Record<string, string[]>>} versions from preflight
 * @param {AwsPort} aws
 * @returns {Promise<Outcome | undefined>}
 */
async function restore(request, fp, versions, aws) {
  if (request.source) return undefined; // source keys are simply re-read
  const label = generationLabel(fp);
  const found = [];
  for (const target of request.targets) {
    const stages = versions.get(target.secretArn);
    const versionId = versionWithStage(stages, label);
    if (!versionId) return undefined;
    found.push({ secretArn: target.secretArn, versionId, current: versionWithStage(stages, CURRENT) });
  }
  const claim = await claimOf(found[0].secretArn, found[0].versionId, aws);
  if (!claim) return undefined;
  const { accessKeyId } = claim;
  const keys = await aws.listAccessKeys(request.userName);
  if (!keys.some((k) => k.accessKeyId === accessKeyId && k.status === 'Active')) return undefined;
  // The label is anyone's to move who may write the secret, and the key
  // restored goes into the physical id, which a later Delete trusts: the
  // version must vouch for it (provenance.js).
  const { refused } = await vouchedKeys(request.userName, [claim], aws, keys);
  if (refused.length > 0) {
    warn(`IAM user '${request.userName}': access key ${accessKeyId} is not restored as this resource's key: ${refused[0].why}; a new key is issued instead`);
    return undefined;
  }
  for (const f of found) {
    if (f.current !== f.versionId) await aws.moveStage(f.secretArn, CURRENT, { moveTo: f.versionId, removeFrom: f.current });
  }
  return {
    physicalResourceId: formatPhysicalId({ mode: 'key', userName: request.userName, accessKeyId, fingerprint: fp }),
    data: { AccessKeyId: accessKeyId },
  };
}

module.exports = { repairGeneration, restore };
