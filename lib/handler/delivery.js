// @ts-check
'use strict';
/**
 * One CloudFormation request, delivered more than once. Lambda's asynchronous
 * invocations are at least once: a request may arrive again after the first
 * delivery was killed (a retry), or twice at the same time (a duplicate).
 *
 * Every delivery of a request writes under the same version ids (the request
 * id, and ids derived from it per secret), so Secrets Manager itself says
 * whether some delivery of this request already wrote, and refuses a second
 * writer with other content (ResourceExistsException). From that:
 * - every target current with one live key: done, answer what it answered;
 * - some writes, not all: another delivery is running, or died mid-way. It
 *   is waited for while it could still be running (versions younger than the
 *   Lambda's lifetime); once it cannot be, its key is deleted and its writes
 *   are undone, and this delivery fails with a reason that says so.
 * A delivery never undoes a version that holds another delivery's key.
 *
 * @typedef {import('./model').Request} Request
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ physicalResourceId: string, data: Record<string, string> }} Outcome
 * @typedef {{ requestId?: string, lifetimeMs?: number }} Delivery
 * @typedef {{ secretArn: string, versionId: string, stages: string[], claim?: import('./provenance').Claim }} Written
 *   claim: the key the version names, if any
 * @typedef {{ accessKeyId: string, status: string, createdAt?: number }} UserKey
 */
const { createHash } = require('node:crypto');
const { UserFacingError, fingerprint, formatPhysicalId, generationLabel } = require('./model');
const { versionWithStage } = require('./aws');
const { claimOf, vouchedKeys } = require('./provenance');

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
/** What a secret holds when its first credentials were withdrawn: valid JSON, no credentials. */
const NO_CREDENTIALS = '{}';
/** How often an unfinished earlier delivery is looked at again. */
const POLL_MS = 2_000;
/** Lambda's longest run, when the invocation cannot tell its own (15 minutes). */
const MAX_LAMBDA_LIFETIME_MS = 900_000;

/**
 * Version ids for the writes of one request, one per target: the request id
 * for the primary (a UUID, which Secrets Manager accepts as a token), a digest
 * of request id and secret for the others.
 * @param {string | undefined} requestId
 * @param {Request} request
 * @returns {string[] | undefined} undefined when the request id cannot serve as a token
 */
function versionTokens(requestId, request) {
  if (typeof requestId !== 'string' || requestId.length < 32 || requestId.length > 64) return undefined;
  return request.targets.map((target, index) => (index === 0
    ? requestId
    : createHash('sha256').update(`${requestId}\n${target.secretArn}`).digest('hex').slice(0, 32)));
}

/**
 * What earlier deliveries of this request wrote.
 * @param {Request} request
 * @param {string[]} tokens
 * @param {AwsPort} aws
 * @param {Map<string, Record<string, string[]>>} [known] secret ARN → version stages, when just read
 * @returns {Promise<{ state: 'none' } | { state: 'complete', outcome: Outcome } | { state: 'partial', written: Written[], userKeys?: UserKey[] }
 *   | { state: 'foreign', refused: Array<{ accessKeyId: string, why: string }> }>} partial: every key the versions
 *   name that the user has is vouched for, and userKeys are the user's keys (none with a key source); foreign: a
 *   version under this request's id names a key of the user that it does not vouch for: no delivery of this request wrote it
 */
async function inspect(request, tokens, aws, known) {
  /** @type {Written[]} */
  const written = [];
  for (const [index, target] of request.targets.entries()) {
    const stages = (known?.get(target.secretArn) ?? await aws.versionStages(target.secretArn))?.[tokens[index]];
    if (!stages) continue;
    written.push({ secretArn: target.secretArn, versionId: tokens[index], stages, claim: await claimOf(target.secretArn, tokens[index], aws) });
  }
  if (written.length === 0) return { state: 'none' };
  /** @type {UserKey[] | undefined} */
  let userKeys;
  if (!request.source) {
    // Anyone who may write the secret may write under this request's id too
    // (it derives from CloudFormation's public event id): a key such a
    // version names is neither answered as this resource's nor deleted.
    userKeys = await aws.listAccessKeys(request.userName);
    const claims = written.flatMap((w) => (w.claim ? [w.claim] : []));
    const { refused } = await vouchedKeys(request.userName, claims, aws, userKeys);
    if (refused.length > 0) return { state: 'foreign', refused };
  }
  const keys = new Set(written.map((w) => w.claim?.accessKeyId));
  const [accessKeyId] = keys;
  const allCurrent = written.length === request.targets.length && written.every((w) => w.stages.includes(CURRENT));
  if (allCurrent && keys.size === 1 && accessKeyId && (request.source || anyKeyActive(userKeys, [accessKeyId]))) {
    return {
      state: 'complete',
      outcome: {
        physicalResourceId: formatPhysicalId({ mode: request.source ? 'source' : 'key', userName: request.userName, accessKeyId, fingerprint: fingerprint(request) }),
        data: { AccessKeyId: accessKeyId },
      },
    };
  }
  return { state: 'partial', written, userKeys };
}

/**
 * Another delivery of this request wrote some or all targets: answer what it
 * achieved, wait while it may still be running, or undo what it left.
 * @param {Request} request
 * @param {string[]} tokens
 * @param {Delivery} delivery
 * @param {AwsPort} aws
 * @param {Awaited<ReturnType<typeof inspect>>} [seen] what was just found, to start from
 * @returns {Promise<Outcome>}
 */
async function settleEarlierDelivery(request, tokens, delivery, aws, seen) {
  const lifetimeMs = delivery.lifetimeMs ?? MAX_LAMBDA_LIFETIME_MS;
  // Waiting goes on past the work deadline, until the undo deadline: a
  // delivery that arrived soon after the other's writes can see the moment
  // that one can no longer be running only then.
  let port = aws;
  /** Past the work deadline, goes on with the compensating port; false when that has no time left either. */
  const overtime = () => {
    if (port !== aws || !aws.signal?.aborted || !aws.options.undoSignal || aws.options.undoSignal.aborted) return false;
    port = aws.compensating();
    return true;
  };
  /** @type {Written[] | undefined} what the other delivery has written and nobody removed */
  let unsettled;
  try {
    for (let found = seen ?? await inspect(request, tokens, port); ; found = await inspect(request, tokens, port)) {
      unsettled = undefined;
      if (found.state === 'complete') return found.outcome;
      if (found.state === 'foreign') {
        throw new UserFacingError(`A secret version under this request's id (${delivery.requestId}) names ${found.refused.map((r) => `access key ${r.accessKeyId} (${r.why})`).join(' and ')}; this handler did not write it, so it is neither taken as this resource's key nor deleted. This delivery issued nothing and changed nothing. Find out who wrote the version (CloudTrail: PutSecretValue), then deploy again.`);
      }
      if (found.state === 'none') {
        throw new UserFacingError(`Another delivery of this request (${delivery.requestId}) wrote and then withdrew its credentials, so it failed; this delivery changed nothing. CloudFormation rolls back; deploy again.`);
      }
      unsettled = found.written;
      // A delivery that withdrew (its key deleted) or cannot be running any
      // more (older than the Lambda's lifetime) is not waited for.
      const finished = !request.source && !anyKeyActive(found.userKeys, found.written.map((w) => w.claim?.accessKeyId));
      if (finished || port.now() - await oldestWrite(found.written, port) > lifetimeMs) {
        await undoDeadDelivery(request, found.written, port);
        unsettled = undefined;
        throw new UserFacingError(`An earlier delivery of this request (${delivery.requestId}) did not finish writing the credentials; what it left (its key, its secret versions) was removed, and this delivery issued nothing. CloudFormation rolls back; deploy again.`);
      }
      if (port.signal?.aborted) {
        if (overtime()) continue;
        throw new UserFacingError(`Another delivery of this request (${delivery.requestId}) is still writing the credentials and answers CloudFormation itself, or it stopped; this delivery changed nothing, and names what that one has written so far.`);
      }
      await port.sleep(POLL_MS);
      overtime();
    }
  } catch (e) {
    if (unsettled) nameWhatItLeft(request, unsettled, port);
    throw e;
  }
}

/**
 * Records, for the Reason, what another delivery wrote and this one could
 * not remove: its keys and the secrets whose AWSCURRENT it moved.
 * @param {Request} request
 * @param {Written[]} written
 * @param {AwsPort} aws
 */
function nameWhatItLeft(request, written, aws) {
  if (!request.source) {
    for (const key of new Set(written.map((w) => w.claim?.accessKeyId))) {
      if (key) aws.leftBehind({ kind: 'key', userName: request.userName, accessKeyId: key });
    }
  }
  for (const w of written) if (w.stages.includes(CURRENT)) aws.leftBehind({ kind: 'secret', secretArn: w.secretArn });
}

/**
 * Whether the user (as just listed) has any of these keys, active.
 * @param {UserKey[] | undefined} userKeys
 * @param {Array<string | undefined>} accessKeyIds
 */
function anyKeyActive(userKeys, accessKeyIds) {
  return Boolean(userKeys?.some((k) => accessKeyIds.includes(k.accessKeyId) && k.status === 'Active'));
}

/**
 * When the earliest of these versions was created.
 * @param {Written[]} written
 * @param {AwsPort} aws
 */
async function oldestWrite(written, aws) {
  let oldest = aws.now();
  for (const w of written) {
    const created = (await aws.versionDates(w.secretArn)).get(w.versionId);
    if (created !== undefined && created < oldest) oldest = created;
  }
  return oldest;
}

/**
 * Removes what a delivery that can no longer be running left: its key, and
 * its versions as AWSCURRENT or under the generation label. inspect() found
 * that these versions vouch for every key they name that the user still has
 * (provenance.js): a version someone else wrote under this request's id
 * never gets here.
 * @param {Request} request
 * @param {Written[]} written
 * @param {AwsPort} aws
 */
async function undoDeadDelivery(request, written, aws) {
  if (!request.source) {
    for (const key of new Set(written.map((w) => w.claim?.accessKeyId))) {
      if (key) await aws.deleteAccessKey(request.userName, key);
    }
  }
  const label = generationLabel(fingerprint(request));
  for (const w of written) {
    if (w.stages.includes(label)) await aws.moveStage(w.secretArn, label, { removeFrom: w.versionId });
    if (w.stages.includes(CURRENT)) await withdrawCurrent(w.secretArn, w.versionId, aws);
  }
}

/**
 * Moves AWSCURRENT off a version whose key is gone: back to the version it
 * replaced, or, for a secret whose first value it was, to a value without
 * credentials (Secrets Manager keeps AWSCURRENT on some version).
 * @param {string} secretArn
 * @param {string} versionId
 * @param {AwsPort} aws
 * @param {string} [previous] the version that was current before, when known
 */
async function withdrawCurrent(secretArn, versionId, aws, previous) {
  const back = previous ?? versionWithStage(await aws.versionStages(secretArn), PREVIOUS);
  if (back && back !== versionId) {
    await aws.moveStage(secretArn, CURRENT, { moveTo: back, removeFrom: versionId });
  } else {
    await aws.putSecretValue(secretArn, NO_CREDENTIALS, [CURRENT]);
  }
}

module.exports = { versionTokens, inspect, settleEarlierDelivery, withdrawCurrent, NO_CREDENTIALS };
