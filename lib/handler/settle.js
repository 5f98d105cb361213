// @ts-check
'use strict';
/**
 * Converges a resource's keys and secrets on what CloudFormation's records
 * and its live secret versions name, whatever path left them otherwise.
 *
 * Every request CloudFormation sends for a resource settles it first, with
 * the authority the request was checked with (authority.js): the resource's
 * user and secrets, and which generations are live (the fingerprints of the
 * physical id CloudFormation holds and of the properties in flight). It
 * reads the journal the resource's secrets keep (journal.js) and finishes
 * whatever an earlier operation left unfinished:
 *
 * - a claim that still carries its generation label: an operation whose
 *   holder stopped (killed, cancelled, timed out, fenced) between its claim
 *   and its last write. Its credential ids are fenced (a holder still
 *   running then fails to write and deletes its own key); keys it did write
 *   are retired and its versions withdrawn; once its holder can no longer
 *   create a key (CREATE_BUDGET_MS after the claim), a key of the user that
 *   this handler's role created in that window and that no record names is
 *   deleted (key-origin.js: by CloudTrail's record, never by guess);
 * - a generation label that is not live: the versions of a cancelled or
 *   superseded operation, or of a cleanup Delete that never succeeded. Their
 *   keys are retired (if the versions vouch for them, provenance.js),
 *   AWSCURRENT goes back to a live generation, and the labels come off;
 * - when the resource itself goes (its Delete): a rotation in flight is
 *   fenced as well (its token's version), and waited for.
 *
 * Nothing here deletes a key that a live generation's version names, a key
 * no version of ours vouches for, or a key CloudTrail does not show this
 * handler's role created.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {import('./model').Request} Request
 * @typedef {{
 *   request: Request,
 *   stages: Map<string, Record<string, string[]>>,
 *   live?: Set<string>,
 *   own?: string,
 *   fences?: string[],
 *   deleting?: boolean,
 *   deleted?: string[],
 * }} SettleInput
 *   request: the resource's user and secrets; stages: each secret's version stages, as just read (preflight);
 *   live: fingerprints whose versions stay (undefined: do not judge generations); own: this operation's claim
 *   id (not settled here); fences: claim ids of ended operations to fence (from CloudFormation's log);
 *   deleting: the resource goes away (its Delete); deleted: keys this request deleted already (its physical id's)
 * @typedef {{ why: string, until: number }} Pending something that cannot be settled before `until`
 */
const { isGenerationLabel, usernameOf } = require('./model');
const { versionWithStage } = require('./aws');
const { warn } = require('./log');
const { claimOf, vouchedKeys } = require('./provenance');
const { DELETED_LABEL, claimUserOf, credentialIdsOf, deletedFenceIdOf, entryKind, fence, fenceValue, isClaimId, writeOnce } = require('./journal');
const { retireUnrecordedKeys } = require('./key-origin');

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const PENDING = 'AWSPENDING';
const GRACE = 'ses-smtp-grace';
/**
 * A holder calls CreateAccessKey only within this long of writing its claim
 * (lifecycle.js); with the call that may be in flight then and the services'
 * clock skew, no key of its is younger than CREATE_WINDOW_MS after the claim.
 */
const CREATE_BUDGET_MS = 10 * 60_000;
const CREATE_WINDOW_MS = CREATE_BUDGET_MS + 60_000;
/** A rotation's createSecret likewise creates its key within this long of starting (rotation.js). */
const ROTATION_CREATE_BUDGET_MS = 5 * 60_000;
/** How often a Delete looks again while it waits for a holder or for CloudTrail. */
const SETTLE_POLL_MS = 5_000;

/**
 * Settles what earlier operations left.
 * @param {SettleInput} input
 * @param {AwsPort} aws
 * @returns {Promise<{ pending: Pending[], stages: Map<string, Record<string, string[]>> }>} what is still to
 *   settle (a holder that may still run, a key CloudTrail does not show yet), and the secrets' version stages
 *   after the settle (read again when it changed them; a Delete's, which nothing reads after, as they were)
 */
async function settle(input, aws) {
  const { request } = input;
  const primary = request.targets[0].secretArn;
  /** @type {Pending[]} */
  const pending = [];
  let stages = input.stages;
  if (!stages.has(primary)) {
    // The primary secret is gone (deleted with the stack, or by hand): its journal with it.
    const changed = input.live ? await retireDeadGenerations(request, stages, input.live, aws, input.deleting === true, input.deleted) : false;
    return { pending, stages: changed ? await reread(request, aws) : stages };
  }
  // An ended operation whose delivery has not claimed yet never will.
  for (const claimId of input.fences ?? []) {
    // Its claim is written already (and settled below while it still has its label).
    if (claimId === input.own || stages.get(primary)?.[claimId]) continue;
    const fenced = await fence(aws, primary, claimId, 'a later request of this resource');
    // Claimed since the stages were read (a delivery still running), or claimed and released before
    // (DescribeSecret lists no version without a label): a claim still labelled is settled below.
    if (!fenced.fenced && entryKind(fenced.value) === 'claim') stages = await reread(request, aws);
  }
  const claims = Object.entries(stages.get(primary) ?? {})
    .filter(([versionId, labels]) => isClaimId(versionId) && versionId !== input.own && labels.some(isGenerationLabel));
  for (const [claimId, labels] of claims) {
    const left = await settleClaim(request, claimId, /** @type {string} */ (labels.find(isGenerationLabel)), input, aws);
    if (left) pending.push(left);
  }
  if (claims.length > 0) stages = await reread(request, aws);
  const changed = input.live ? await retireDeadGenerations(request, stages, input.live, aws, input.deleting === true, input.deleted) : false;
  if (input.deleting) {
    const left = await settleRotation(request, stages, aws);
    if (left) pending.push(left);
    return { pending, stages };
  }
  return { pending, stages: changed ? await reread(request, aws) : stages };
}

/**
 * Settles one claim another operation left: fences its credentials, retires
 * what it wrote, and, once its holder can no longer create a key, a key it
 * created without recording it.
 * @param {Request} request
 * @param {string} claimId
 * @param {string} label its generation label
 * @param {SettleInput} input
 * @param {AwsPort} aws
 * @returns {Promise<Pending | undefined>}
 */
async function settleClaim(request, claimId, label, input, aws) {
  const primary = request.targets[0].secretArn;
  const ids = credentialIdsOf(claimId, request);
  /** @type {import('./provenance').Claim[]} */
  const written = [];
  // The other regions first, the primary last, as the holder writes them.
  for (const index of [...request.targets.keys()].slice(1).concat(0)) {
    const secretArn = request.targets[index].secretArn;
    const result = await fence(aws, secretArn, ids[index], `a later request of this resource (claim ${claimId})`);
    if (result.fenced) continue;
    const claim = await claimOf(secretArn, ids[index], aws);
    if (claim) written.push(claim);
  }
  await retireWritten(request, written, label, input, aws);
  const created = (await aws.versionDates(primary)).get(claimId);
  const until = (created ?? aws.now()) + CREATE_WINDOW_MS;
  if (aws.now() < until) return { why: `claim ${claimId} of secret ${primary}: its delivery may still create a key until ${new Date(until).toISOString()}`, until };
  // The user the holder was creating a key for (a change of user: not the resource's now).
  const user = claimUserOf(await aws.getSecretString(primary, { versionId: claimId })) ?? request.userName;
  // When the resource goes, every key of it goes: nothing of it is a record to keep.
  const named = input.deleting ? new Set() : await recordedKeys(request, await reread(request, aws), aws);
  const { undecided } = await retireUnrecordedKeys(user, [{ from: created ?? until - CREATE_WINDOW_MS, to: until }], named, aws);
  if (undecided.length > 0) {
    return { why: `IAM user '${user}' has key(s) ${undecided.join(', ')} created while claim ${claimId} was held, and CloudTrail does not show yet who created them`, until: aws.now() + SETTLE_POLL_MS };
  }
  await aws.moveStage(primary, label, { removeFrom: claimId });
  // The holder tagged its user before creating a key: the user keeps the tag
  // only while a record of this resource names a key of it.
  if (request.ownerTag && !request.source && !(await aws.listAccessKeys(user)).some((k) => named.has(k.accessKeyId))) {
    await aws.untagUser(user, request.ownerTag);
  }
  return undefined;
}

/**
 * Retires the keys versions of an ended operation name, and withdraws those versions.
 * @param {Request} request
 * @param {import('./provenance').Claim[]} written
 * @param {string} label the generation label they carry
 * @param {SettleInput} input
 * @param {AwsPort} aws
 */
async function retireWritten(request, written, label, input, aws) {
  if (written.length === 0) return;
  const named = await namedKeys(request, input, aws);
  await retireClaims(request, written, named, 'which an operation CloudFormation no longer waits for wrote into this resource\'s secrets', aws);
  for (const claim of written) await withdraw(claim.secretArn, claim.versionId, label, aws);
}

/**
 * Retires the keys versions name, each with the user the version says it is
 * of, if the version vouches for it (provenance.js) and no live record names
 * it. A user other than the resource's (the target of a change of user that
 * was cancelled) loses the owner tag once no live record names a key of it.
 * @param {Request} request
 * @param {import('./provenance').Claim[]} claims
 * @param {Set<string>} named
 * @param {string | undefined} why for the warning (none: the resource is being deleted, which says it all)
 * @param {AwsPort} aws
 */
async function retireClaims(request, claims, named, why, aws) {
  /** @type {Map<string, import('./provenance').Claim[]>} */
  const byUser = new Map();
  for (const claim of claims) {
    if (named.has(claim.accessKeyId)) continue;
    const user = claim.userName ?? request.userName;
    byUser.set(user, [...(byUser.get(user) ?? []), claim]);
  }
  for (const [user, list] of byUser) {
    const { retire, refused } = await vouchedKeys(user, list, aws);
    for (const r of refused) warn(`IAM user '${user}': access key ${r.accessKeyId}, named in a secret of this resource, is not deleted: ${r.why}`);
    for (const key of retire) {
      if (why) warn(`IAM user '${user}': deleting access key ${key}, ${why}`);
      await aws.deleteAccessKey(user, key);
    }
    if (retire.length > 0 && user.toLowerCase() !== request.userName.toLowerCase() && request.ownerTag && !request.source) {
      const left = (await aws.listAccessKeys(user)).filter((k) => named.has(k.accessKeyId));
      if (left.length === 0) await aws.untagUser(user, request.ownerTag);
    }
  }
}

/**
 * Takes AWSCURRENT (back to the version that was current before) and the
 * generation label off a version of an ended operation.
 * @param {string} secretArn
 * @param {string} versionId
 * @param {string} label
 * @param {AwsPort} aws
 */
async function withdraw(secretArn, versionId, label, aws) {
  const stages = await aws.versionStages(secretArn);
  const labels = stages?.[versionId] ?? [];
  if (labels.includes(CURRENT)) {
    const back = versionWithStage(stages, PREVIOUS);
    // A claim is AWSPREVIOUS after the first credentials of a secret: it holds none to go back to.
    if (back && back !== versionId && !isClaimId(back) && entryKind(await aws.getSecretString(secretArn, { versionId: back })) === 'value') {
      await aws.moveStage(secretArn, CURRENT, { moveTo: back, removeFrom: versionId });
    } else {
      await aws.putSecretValue(secretArn, '{}', [CURRENT]);
    }
  }
  if (labels.includes(label)) await aws.moveStage(secretArn, label, { removeFrom: versionId });
}

/**
 * Generations that are not live: retires their keys, puts AWSCURRENT back on
 * a live generation, takes their labels off. When the resource goes
 * (`deleting`), everything its secrets name goes with it: a rotation's grace
 * and pending keys too; the secrets themselves are CloudFormation's to
 * delete, so their labels stay.
 * @param {Request} request
 * @param {Map<string, Record<string, string[]>>} stages
 * @param {Set<string>} live
 * @param {AwsPort} aws
 * @param {boolean} deleting
 * @param {string[]} [deleted] keys deleted already: not looked for again
 */
async function retireDeadGenerations(request, stages, live, aws, deleting, deleted = []) {
  /** @type {Array<{ secretArn: string, versionId: string, label: string }>} */
  const dead = [];
  for (const { secretArn } of request.targets) {
    for (const [versionId, labels] of Object.entries(stages.get(secretArn) ?? {})) {
      if (isClaimId(versionId)) continue;
      for (const label of labels.filter((l) => isGenerationLabel(l) || (deleting && (l === GRACE || l === PENDING || l === CURRENT)))) {
        if (!isGenerationLabel(label) || !live.has(label.slice('ses-smtp-'.length))) dead.push({ secretArn, versionId, label });
      }
    }
  }
  if (dead.length === 0) return false;
  /** @type {import('./provenance').Claim[]} */
  const claims = [];
  for (const d of dead) {
    if (claims.some((c) => c.secretArn === d.secretArn && c.versionId === d.versionId)) continue;
    const claim = await claimOf(d.secretArn, d.versionId, aws);
    if (claim) claims.push(claim);
  }
  const named = await namedKeys(request, { request, stages, live, deleting }, aws);
  for (const key of deleted) named.add(key);
  await retireClaims(request, claims, named, deleting ? undefined
    : 'of a generation CloudFormation no longer holds (an operation that was cancelled, failed, or whose cleanup did not succeed)', aws);
  if (deleting) return true;
  for (const d of dead) {
    const labels = stages.get(d.secretArn)?.[d.versionId] ?? [];
    if (labels.includes(CURRENT)) {
      const liveVersion = Object.entries(stages.get(d.secretArn) ?? {})
        .find(([id, l]) => id !== d.versionId && !isClaimId(id) && l.some((x) => isGenerationLabel(x) && live.has(x.slice('ses-smtp-'.length))))?.[0];
      if (liveVersion) await aws.moveStage(d.secretArn, CURRENT, { moveTo: liveVersion, removeFrom: d.versionId });
      else await withdraw(d.secretArn, d.versionId, d.label, aws);
    }
    await aws.moveStage(d.secretArn, d.label, { removeFrom: d.versionId });
  }
  return true;
}

/**
 * When the resource goes: a rotation must not create a key after the
 * Delete, nor record one nobody will delete. The primary secret first gets
 * the Delete's fence (a createSecret that starts later refuses: a rotation
 * can start whenever someone calls RotateSecret, the schedule gone or not);
 * then a
 * rotation in flight is looked for: its token's version is fenced while
 * empty; what it wrote is retired by the Delete (the pending key); once its
 * createSecret can no longer create a key, one it created without recording
 * it is found through CloudTrail.
 * @param {Request} request
 * @param {Map<string, Record<string, string[]>>} known
 * @param {AwsPort} aws
 * @returns {Promise<Pending | undefined>}
 */
async function settleRotation(request, known, aws) {
  const primary = request.targets[0].secretArn;
  let stages = known;
  // A secret never set up for rotation, with no rotation's token staged, has no rotation to fence: a
  // rotation needs RotateSecret to name a function, and this function lets Secrets Manager invoke it
  // only for the secrets a rotation schedule of the stack registers.
  if (!aws.mayRotate(primary) && !versionWithStage(known.get(primary), PENDING)) return undefined;
  if (!versionWithStage(known.get(primary), DELETED_LABEL)) {
    await writeOnce(aws, primary, deletedFenceIdOf(primary), fenceValue('the Delete of this resource'), [DELETED_LABEL]);
    stages = new Map([[primary, (await aws.versionStages(primary)) ?? {}]]);
  }
  const token = versionWithStage(stages.get(primary), PENDING);
  if (!token || isClaimId(token)) return undefined;
  const value = await aws.getSecretString(primary, { versionId: token });
  if (value === undefined && !(await writeOnce(aws, primary, token, fenceValue('the Delete of this resource'), [PENDING]))) {
    // createSecret filled it meanwhile: what it wrote is settled on the next look.
    return { why: `a rotation of ${primary} (token ${token}) wrote while the Delete looked`, until: aws.now() };
  }
  const started = (await aws.versionDates(primary)).get(token) ?? aws.now();
  const until = Math.max(started, aws.now()) + ROTATION_CREATE_BUDGET_MS + 60_000;
  if (value === undefined && aws.now() < until) {
    return { why: `a rotation of ${primary} (token ${token}) may still create a key until ${new Date(until).toISOString()}`, until };
  }
  // The resource goes: whatever key this handler's role created in the rotation's window goes with it, recorded or not.
  const { undecided } = await retireUnrecordedKeys(request.userName, [{ from: started, to: until }], new Set(), aws);
  if (undecided.length > 0) {
    return { why: `IAM user '${request.userName}' has key(s) ${undecided.join(', ')} created while a rotation ran, and CloudTrail does not show yet who created them`, until: aws.now() + SETTLE_POLL_MS };
  }
  return undefined;
}

/**
 * The keys the resource's live records name: its current key (when the
 * version holding it belongs to a live generation), and a rotation's grace
 * and pending keys. Nothing when the resource goes.
 * @param {Request} request
 * @param {SettleInput} input
 * @param {AwsPort} aws
 * @returns {Promise<Set<string>>}
 */
async function namedKeys(request, input, aws) {
  /** @type {Set<string>} */
  const named = new Set();
  if (input.deleting) return named;
  const primary = request.targets[0].secretArn;
  const stages = input.stages.get(primary) ?? {};
  const liveVersion = (/** @type {string} */ versionId) => !input.live
    || (stages[versionId] ?? []).some((l) => isGenerationLabel(l) && input.live?.has(l.slice('ses-smtp-'.length)));
  for (const label of [CURRENT, GRACE, PENDING]) {
    const versionId = versionWithStage(stages, label);
    if (!versionId || isClaimId(versionId) || (label === CURRENT && !liveVersion(versionId))) continue;
    const key = usernameOf(await aws.getSecretString(primary, { versionId }));
    if (key) named.add(key);
  }
  return named;
}

/**
 * Every key a labelled version of the resource's secrets names (any label:
 * current, previous, grace, pending, any generation's): what a key must not
 * be among before CloudTrail alone may condemn it (key-origin.js). Claims
 * and fences name none.
 * @param {Request} request
 * @param {Map<string, Record<string, string[]>>} stages
 * @param {AwsPort} aws
 * @returns {Promise<Set<string>>}
 */
async function recordedKeys(request, stages, aws) {
  /** @type {Set<string>} */
  const recorded = new Set();
  for (const { secretArn } of request.targets) {
    for (const versionId of Object.keys(stages.get(secretArn) ?? {})) {
      if (isClaimId(versionId) || versionId.startsWith('ses-smtp-deleted-')) continue;
      const key = usernameOf(await aws.getSecretString(secretArn, { versionId }));
      if (key) recorded.add(key);
    }
  }
  return recorded;
}

/** @param {Request} request @param {AwsPort} aws */
async function reread(request, aws) {
  /** @type {Map<string, Record<string, string[]>>} */
  const stages = new Map();
  for (const { secretArn } of request.targets) stages.set(secretArn, (await aws.versionStages(secretArn)) ?? {});
  return stages;
}

/**
 * Settles, then, while something is pending and there is time, waits and
 * settles again (a Delete: after it, nothing of the resource is left to
 * settle later).
 * @param {SettleInput} input
 * @param {AwsPort} aws
 * @returns {Promise<Pending[]>} what is still pending when time ran out
 */
async function settleAndWait(input, aws) {
  let current = input;
  for (;;) {
    const { pending } = await settle(current, aws);
    if (pending.length === 0 || aws.signal?.aborted) return pending;
    const next = Math.min(...pending.map((p) => p.until));
    await aws.sleep(Math.max(SETTLE_POLL_MS, Math.min(next - aws.now(), 60_000)));
    if (aws.signal?.aborted) return pending;
    current = { ...current, stages: await reread(input.request, aws), fences: [] };
  }
}

module.exports = { settle, settleAndWait, reread, recordedKeys, withdraw, retireClaims, CREATE_BUDGET_MS, ROTATION_CREATE_BUDGET_MS, CREATE_WINDOW_MS };
