// @ts-check
'use strict';
/**
 * What Create, Update and Delete do, as plain async functions over an AwsPort.
 *
 * Every request first settles the resource (settle.js): whatever an earlier
 * operation left, however it ended, converges on what CloudFormation's
 * records and the live generations name. Then:
 * - Create issues once per operation (issuing.js): one key, every target.
 * - Update re-issues only when the fingerprint changes. When the requested
 *   fingerprint still has a live key (a rollback), it is restored instead.
 * - Delete deletes the key its physical id names (CloudFormation's record),
 *   and the settle retires its generation's keys: the physical id's, a
 *   rotation's current, pending and grace keys while that generation is
 *   current, each only if the version naming it vouches for it
 *   (provenance.js). When the resource itself goes (not a cleanup), the
 *   Delete also fences a rotation in flight and waits until no delivery of
 *   the resource can still create a key.
 *
 * @typedef {import('./model').Request} Request
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ physicalResourceId: string, data: Record<string, string>, pending?: import('./settle').Pending[] }} Outcome
 *   pending: what the settle could not finish yet (the invocation then asks Lambda to deliver it again)
 * @typedef {import('./issuing').Delivery & { previous?: import('./authority').VerifiedRequest['previous'], resourceGoes?: boolean, holds?: string }} Delivery
 */
const {
  UserFacingError, parseRequest, fingerprint, parsePhysicalId, usernameOf,
} = require('./model');
const { versionWithStage } = require('./aws');
const { warn } = require('./log');
const { claimIdOf } = require('./journal');
const { settle, settleAndWait } = require('./settle');
const { issueOnce } = require('./issuing');
const { repairGeneration, restore } = require('./generation');

const CURRENT = 'AWSCURRENT';

/**
 * @param {unknown} rawProperties
 * @param {AwsPort} aws
 * @param {Delivery} [delivery] CloudFormation's operation (the same on every delivery of a request) and the Lambda's lifetime
 * @returns {Promise<Outcome>}
 */
async function onCreate(rawProperties, aws, delivery = {}) {
  const request = parseRequest(rawProperties);
  const own = delivery.operationId && claimIdOf(delivery.operationId);
  const { pending, stages } = await settle({ request, stages: await preflight(request, aws), live: new Set([fingerprint(request)]), own }, aws);
  return { ...(await issueOnce(request, stages, delivery, aws, { updating: false, newUser: true })), pending };
}

/**
 * @param {unknown} rawProperties
 * @param {string} physicalId
 * @param {AwsPort} aws
 * @param {Delivery} [delivery]
 * @returns {Promise<Outcome>}
 */
async function onUpdate(rawProperties, physicalId, aws, delivery = {}) {
  const request = parseRequest(rawProperties);
  const fp = fingerprint(request);
  const previous = parsePhysicalId(physicalId);
  const own = delivery.operationId && claimIdOf(delivery.operationId);
  // The operation before this one ended without CloudFormation taking its
  // answer (cancelled, timed out, failed): a delivery of it that has not
  // claimed yet must never claim.
  const before = delivery.previous;
  const fences = before && before.outcome !== 'complete' && before.action !== 'DELETE' ? [claimIdOf(before.operationId)] : [];
  const live = new Set([fp, ...(previous ? [previous.fingerprint] : [])]);
  const { pending, stages } = await settle({ request, stages: await preflight(request, aws), live, own, fences }, aws);
  if (previous && previous.fingerprint === fp) {
    // A resource deployed before the owner tag existed gets it on its first
    // Update, before it ever needs it to delete.
    if (request.ownerTag && !request.source) await aws.tagUser(request.userName, request.ownerTag);
    if (previous.mode === 'key' && !request.source) await repairGeneration(request, fp, aws, stages);
    return { physicalResourceId: physicalId, data: { AccessKeyId: previous.accessKeyId }, pending };
  }
  const newUser = previous?.userName !== request.userName;
  const restored = await restore(request, fp, stages, aws);
  if (restored) return { ...restored, pending };
  return { ...(await issueOnce(request, stages, delivery, aws, { updating: true, newUser })), pending };
}

/**
 * @param {unknown} rawProperties the properties to act on (undefined: the physical id alone, authority.js)
 * @param {string} physicalId
 * @param {AwsPort} aws
 * @param {Delivery & { self?: import('./authority').Self, logicalId?: string }} [delivery]
 * @returns {Promise<Outcome>}
 */
async function onDelete(rawProperties, physicalId, aws, delivery = {}) {
  const issued = parsePhysicalId(physicalId);
  const outcome = { physicalResourceId: physicalId, data: {} };
  let request;
  try {
    request = parseRequest(rawProperties);
  } catch {
    request = undefined;
  }
  // The physical id's key is CloudFormation's record: it goes first, whatever the secrets say.
  if (issued?.mode === 'key') await aws.deleteAccessKey(issued.userName, issued.accessKeyId);
  if (!request) return outcome;
  const stages = await existingStages(request, aws);
  // A cleanup (or rollback cleanup) deletes an id CloudFormation no longer
  // holds; otherwise the resource itself goes. CloudFormation's log often says
  // which already (the stack is being deleted; an update just replaced the id);
  // else its record of the resource does.
  let currentId;
  if (delivery.holds) {
    currentId = delivery.holds;
  } else if (!delivery.resourceGoes) {
    const current = delivery.self && delivery.logicalId ? await aws.stackResource(delivery.self.stackId, delivery.logicalId) : undefined;
    currentId = current && !String(current.ResourceStatus).startsWith('DELETE_COMPLETE') ? current.PhysicalResourceId : undefined;
  }
  const deleting = currentId === undefined || currentId === physicalId;
  const before = delivery.previous;
  const fences = before && before.outcome !== 'complete' && before.action !== 'DELETE' ? [claimIdOf(before.operationId)] : [];
  const deleted = issued?.mode === 'key' ? [issued.accessKeyId] : [];
  let pending;
  let settled;
  if (deleting) {
    pending = await settleAndWait({ request, stages, live: new Set(), fences, deleting: true, deleted }, aws);
  } else {
    const holder = parsePhysicalId(currentId);
    ({ pending, stages: settled } = await settle({ request, stages, live: new Set(holder ? [holder.fingerprint] : []), fences, deleted }, aws));
  }
  if (deleting && pending.length > 0) {
    throw new UserFacingError(`Not deleted yet: ${pending.map((p) => p.why).join('; ')}. Nothing of it was left unrecorded; delete again in a few minutes, and the next Delete finishes it.`);
  }
  const primaryGone = !stages.has(request.targets[0].secretArn);
  const remaining = primaryGone && issued?.mode === 'key' && !request.source ? await otherKeys(request.userName, deleted, aws) : undefined;
  if (primaryGone && issued?.mode === 'key' && remaining?.length !== 0) warnOfUnknownRotatedKey(issued, request, remaining);
  // While a key only the deleted secret named may remain, the user keeps the tag (the warning says how to remove it).
  if (request.ownerTag && !request.source && !(primaryGone && remaining?.length !== 0)) await releaseUser(request, request.ownerTag, deleting, aws, settled);
  return { ...outcome, pending };
}

/**
 * A request CloudFormation already ended, delivered late (Lambda's retry of
 * an invocation that failed, or one that ran too late): only settles what
 * that operation left; never issues.
 * @param {'Create' | 'Update' | 'Delete'} type
 * @param {unknown} rawProperties
 * @param {string} physicalId
 * @param {AwsPort} aws
 * @param {Delivery & { self: import('./authority').Self, logicalId: string }} delivery
 * @returns {Promise<import('./settle').Pending[]>}
 */
async function settleEnded(type, rawProperties, physicalId, aws, delivery) {
  let request;
  try {
    request = parseRequest(rawProperties);
  } catch {
    return [];
  }
  if (type === 'Delete') {
    const current = await aws.stackResource(delivery.self.stackId, delivery.logicalId);
    // A Delete of an id CloudFormation no longer holds (a cleanup that failed) may be finished now.
    if (current && current.PhysicalResourceId !== physicalId && !String(current.ResourceStatus).startsWith('DELETE')) {
      return (await onDelete(rawProperties, physicalId, aws, delivery)).pending ?? [];
    }
  }
  const stages = await existingStages(request, aws);
  if (!stages.has(request.targets[0].secretArn)) return [];
  const current = await aws.stackResource(delivery.self.stackId, delivery.logicalId);
  const holder = parsePhysicalId(current?.PhysicalResourceId);
  // While CloudFormation works on the resource, which generations are live is its operation's to say.
  const settled = !current || /_COMPLETE$/.test(String(current.ResourceStatus)) || /_FAILED$/.test(String(current.ResourceStatus));
  const own = delivery.operationId ? [claimIdOf(delivery.operationId)] : [];
  return settleAndWait({ request, stages, live: settled && holder ? new Set([holder.fingerprint]) : undefined, fences: own }, aws);
}

/**
 * After a Delete: when no key of this stack is left on the user, the owner
 * tag (and with it the handler's permission to touch the user) goes too. A
 * key of this stack is one its secret names as AWSCURRENT while its
 * generation lives: the replacement after a `serial` change, say. When the
 * resource itself went, nothing of it names a key. When the secret cannot
 * be read, any remaining key keeps the tag.
 * @param {Request} request
 * @param {import('./model').OwnerTag} ownerTag
 * @param {boolean} deleting the resource itself went
 * @param {AwsPort} aws
 * @param {Map<string, Record<string, string[]>>} [settled] the secrets' version stages as the settle left them (read here without)
 */
async function releaseUser(request, ownerTag, deleting, aws, settled) {
  try {
    let keep = false;
    if (!deleting) {
      const primary = request.targets[0].secretArn;
      const stages = settled ? settled.get(primary) : await aws.versionStages(primary);
      const current = stages && versionWithStage(stages, CURRENT);
      const currentKey = current ? usernameOf(await aws.getSecretString(primary, { versionId: current })) : undefined;
      if (!stages) keep = (await aws.listAccessKeys(request.userName)).length > 0;
      else if (currentKey) keep = (await aws.listAccessKeys(request.userName)).some((k) => k.accessKeyId === currentKey);
    }
    if (!keep) await aws.untagUser(request.userName, ownerTag);
  } catch (e) {
    warn(`could not remove tag ${ownerTag.key} from IAM user '${request.userName}' (harmless: it only lets this stack's handler manage its keys): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The primary secret is gone: a rotation may have made a key that only that
 * secret named (the current key after a rotation, while the one this
 * resource issued stayed valid until the next). Which of the user's other
 * keys that is cannot be proven, so none is deleted; every key this Delete
 * did not remove is named in a warning, with what to check.
 * @param {import('./model').Issued} issued
 * @param {Request} request
 * @param {string[] | undefined} remaining the user's other keys (undefined: they could not be listed)
 */
function warnOfUnknownRotatedKey(issued, request, remaining) {
  const which = remaining ? `still has ${remaining.join(', ')}` : 'may still have keys';
  const tag = request.ownerTag ? `; it keeps tag ${request.ownerTag.key} while it does (aws iam untag-user --user-name ${issued.userName} --tag-keys ${request.ownerTag.key})` : '';
  warn(`secret ${request.targets[0].secretArn} was deleted before this resource, so a rotation may have replaced access key ${issued.accessKeyId} with a key only that secret named. IAM user '${issued.userName}' ${which}${tag}; delete the one this stack issued: aws iam list-access-keys --user-name ${issued.userName}; aws iam delete-access-key --user-name ${issued.userName} --access-key-id <id>`);
}

/**
 * The user's keys besides those this request deleted.
 * @param {string} userName
 * @param {string[]} deleted
 * @param {AwsPort} aws
 * @returns {Promise<string[] | undefined>} undefined when they cannot be listed
 */
async function otherKeys(userName, deleted, aws) {
  try {
    return (await aws.listAccessKeys(userName)).map((k) => k.accessKeyId).filter((k) => !deleted.includes(k));
  } catch (e) {
    warn(`could not list the access keys of IAM user '${userName}': ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/**
 * Looks at every target secret before anything is created, so a secret that
 * was deleted out of band fails the request while nothing has changed yet.
 * @param {Request} request
 * @param {AwsPort} aws
 * @returns {Promise<Map<string, Record<string, string[]>>>} secret ARN → version stages
 */
async function preflight(request, aws) {
  const versions = new Map();
  for (const target of request.targets) {
    const stages = await aws.versionStages(target.secretArn);
    if (!stages) {
      throw new UserFacingError(`Secret ${target.secretArn} (SMTP credentials for ${target.region}) does not exist or is scheduled for deletion, so nothing was changed. If it was deleted outside CloudFormation, restore it (aws secretsmanager restore-secret --secret-id ${target.secretArn}) and deploy again.`);
    }
    versions.set(target.secretArn, stages);
  }
  return versions;
}

/**
 * The version stages of the target secrets that still exist (a Delete goes on without the others).
 * @param {Request} request
 * @param {AwsPort} aws
 * @returns {Promise<Map<string, Record<string, string[]>>>}
 */
async function existingStages(request, aws) {
  const versions = new Map();
  for (const target of request.targets) {
    try {
      const stages = await aws.versionStages(target.secretArn);
      if (stages) versions.set(target.secretArn, stages);
    } catch (e) {
      warn(`could not inspect ${target.secretArn} while deleting; the rest is still done: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return versions;
}

module.exports = { onCreate, onUpdate, onDelete, settleEnded, preflight, CURRENT };
