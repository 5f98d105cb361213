// @ts-check
'use strict';
/**
 * What Create, Update and Delete do, as plain async functions over an AwsPort.
 *
 * Invariants:
 * - Create makes exactly one key (or none, with a key source) and writes every target secret.
 * - Any failure undoes what this request made: the new key is deleted and
 *   secrets already written get their previous AWSCURRENT version back.
 * - Update re-issues only when the fingerprint changes. When the requested
 *   fingerprint still has a live key (a rollback), it is restored instead of
 *   creating a third key.
 * - Delete removes only keys this resource issued: the one in its physical id,
 *   the one its generation label points at (rotation may have replaced it)
 *   and, while that generation is current, a rotation's pending and grace keys.
 * - A re-issue that finds the user's 2 key slots full retires the grace key a
 *   rotation left valid (AWSPREVIOUS of the primary secret), never another.
 * - A key found only in a secret (not in the physical id) is deleted only if
 *   the version naming it vouches for it (provenance.js): a secret's writer
 *   cannot make the handler delete another key of the user.
 *
 * @typedef {import('./model').Request} Request
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ physicalResourceId: string, data: Record<string, string> }} Outcome
 * @typedef {{ accessKeyId: string, secretAccessKey: string, created: boolean }} ObtainedKey
 * @typedef {import('./delivery').Delivery} Delivery
 */
const { deriveSmtpPassword } = require('./smtp-password');
const {
  UserFacingError, parseRequest, fingerprint, generationLabel, formatPhysicalId, parsePhysicalId,
  assertLongTermKeyId, renderSecret, usernameOf, isGenerationLabel,
} = require('./model');
const { versionWithStage, warn } = require('./aws');
const { versionTokens, inspect, settleEarlierDelivery, withdrawCurrent } = require('./delivery');
const { claimOf, vouchedKeys } = require('./provenance');

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
const PREVIOUS = 'AWSPREVIOUS';
/**
 * Marks the version whose key a rotation left valid (the one AWSCURRENT left
 * in finishSecret): the only key outside the current generation that this
 * construct provably created and may retire. AWSPREVIOUS alone does not say
 * so: after a switch from a key source it names the automation's key.
 */
const GRACE = 'ses-smtp-grace';
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+=]{16,128}$/;

/**
 * @param {unknown} rawProperties
 * @param {AwsPort} aws
 * @param {Delivery} [delivery] CloudFormation's RequestId (the same on every delivery of a request) and the Lambda's lifetime
 * @returns {Promise<Outcome>}
 */
async function onCreate(rawProperties, aws, delivery = {}) {
  const request = parseRequest(rawProperties);
  const versions = await preflight(request, aws);
  return once(request, versions, delivery, aws, (tokens) => issue(request, versions, aws, { updating: false, newUser: true, tokens }));
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
  if (previous && previous.fingerprint === fp) {
    // A resource deployed before the owner tag existed gets it on its first
    // Update, before it ever needs it to delete.
    await claimUser(request, aws);
    if (previous.mode === 'key' && !request.source) await repairGeneration(request, fp, aws);
    return { physicalResourceId: physicalId, data: { AccessKeyId: previous.accessKeyId } };
  }
  const versions = await preflight(request, aws);
  const newUser = previous?.userName !== request.userName;
  return once(request, versions, delivery, aws, async (tokens) => (await restore(request, fp, versions, aws))
    ?? issue(request, versions, aws, { updating: true, newUser, tokens }));
}

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
async function repairGeneration(request, fp, aws) {
  const label = generationLabel(fp);
  const moves = [];
  /** @type {string | undefined} */
  let primaryLabelled;
  for (const target of request.targets) {
    const stages = await aws.versionStages(target.secretArn);
    const labelled = versionWithStage(stages, label);
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
 * Runs `work` once per request, however often it is delivered: an earlier or
 * concurrent delivery's result is answered (or its leftovers undone) instead
 * of issuing a second key. See delivery.js.
 * @param {Request} request
 * @param {Map<string, Record<string, string[]>>} versions from preflight
 * @param {Delivery} delivery
 * @param {AwsPort} aws
 * @param {(tokens: string[] | undefined) => Promise<Outcome>} work
 * @returns {Promise<Outcome>}
 */
async function once(request, versions, delivery, aws, work) {
  const tokens = versionTokens(delivery.requestId, request);
  if (!tokens) return work(undefined);
  const earlier = await inspect(request, tokens, aws, versions);
  if (earlier.state === 'complete') return earlier.outcome;
  if (earlier.state === 'partial' || earlier.state === 'foreign') return settleEarlierDelivery(request, tokens, delivery, aws, earlier);
  try {
    return await work(tokens);
  } catch (e) {
    // Another delivery of this request wrote first: its work stands, and
    // this one (which undid only its own) answers what that one achieves.
    if (e instanceof UserFacingError && e.awsName === 'ResourceExistsException') {
      return settleEarlierDelivery(request, tokens, delivery, aws);
    }
    throw e;
  }
}

/**
 * Before a key is created, puts the stack's owner tag on the user: the
 * handler role may list and delete keys only of users with that tag, so a
 * later Delete is authorised even after the user left the template. If no
 * key can be made, unissue() takes the tag off a user new to this resource.
 * @param {Request} request
 * @param {AwsPort} aws
 */
async function claimUser(request, aws) {
  if (request.ownerTag && !request.source) await aws.tagUser(request.userName, request.ownerTag);
}

/**
 * After a Delete removed this resource's keys: when no key of this stack is
 * left on the user, the owner tag (and with it the handler's permission to
 * touch the user) goes too. A key of this stack is one its secret names as
 * AWSCURRENT: the replacement after a `serial` change, or, after a switch to
 * a key source, the source key until that resource goes. The key a
 * key-source resource reads is not this stack's to keep tagged. When the
 * secret cannot be read, any remaining key keeps the tag.
 *
 * IAM is asked only when the secret cannot answer: a current key this Delete
 * just removed (the usual case) leaves nothing of this stack on the user.
 * @param {import('./model').Issued} issued
 * @param {import('./model').OwnerTag} ownerTag
 * @param {{ primaryGone: boolean, currentKey?: string }} released what findGeneration saw
 * @param {Set<string>} deleted keys this Delete removed or found gone
 * @param {string[] | undefined} remaining the user's keys, when already listed
 * @param {AwsPort} aws
 */
async function releaseUser(issued, ownerTag, released, deleted, remaining, aws) {
  try {
    let ours;
    if (released.primaryGone) {
      ours = remaining ?? (await aws.listAccessKeys(issued.userName)).map((k) => k.accessKeyId);
    } else {
      const current = released.currentKey;
      const mayBeOurs = current !== undefined && !deleted.has(current) && !(issued.mode === 'source' && current === issued.accessKeyId);
      // Whether the current key is this user's (a change of user moved it to another) only IAM can say.
      ours = mayBeOurs ? (await aws.listAccessKeys(issued.userName)).filter((k) => k.accessKeyId === current) : [];
    }
    if (ours.length === 0) await aws.untagUser(issued.userName, ownerTag);
  } catch (e) {
    warn(`could not remove tag ${ownerTag.key} from IAM user '${issued.userName}' (harmless: it only lets this stack's handler manage its keys): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * @param {unknown} rawProperties
 * @param {string} physicalId
 * @param {AwsPort} aws
 * @returns {Promise<Outcome>}
 */
async function onDelete(rawProperties, physicalId, aws) {
  const issued = parsePhysicalId(physicalId);
  const outcome = { physicalResourceId: physicalId, data: {} };
  if (!issued) return outcome; // e.g. the id a failed Create reported: nothing was left behind
  let request;
  try {
    request = parseRequest(rawProperties);
  } catch {
    request = undefined;
  }
  // The physical id's key is CloudFormation's record, deleted first; keys
  // only the secrets name must be vouched for by the versions that name them.
  const keys = new Set(issued.mode === 'key' ? [issued.accessKeyId] : []);
  /** @type {Awaited<ReturnType<typeof findGeneration>>} */
  const released = request ? await findGeneration(request, issued.fingerprint, aws) : { claims: [], labelled: [], primaryGone: true };
  if (issued.mode === 'key') {
    await aws.deleteAccessKey(issued.userName, issued.accessKeyId);
    const { retire, refused } = await vouchedKeys(issued.userName, released.claims.filter((c) => !keys.has(c.accessKeyId)), aws);
    for (const { accessKeyId, why } of refused) {
      warn(`IAM user '${issued.userName}': access key ${accessKeyId}, named in a secret of this resource, is not deleted: ${why}. If this stack issued it, delete it: aws iam delete-access-key --user-name ${issued.userName} --access-key-id ${accessKeyId}`);
    }
    for (const key of retire) {
      keys.add(key);
      await aws.deleteAccessKey(issued.userName, key);
    }
  }
  await releaseLabels(released.labelled, issued.fingerprint, aws);
  /** @type {string[] | undefined} */
  let remaining;
  if (request && released.primaryGone) {
    remaining = (await aws.listAccessKeys(issued.userName).catch(() => undefined))?.map((k) => k.accessKeyId);
    if (issued.mode === 'key') warnOfUnknownRotatedKey(issued, request, keys, remaining);
  }
  if (request?.ownerTag) await releaseUser(issued, request.ownerTag, released, keys, remaining, aws);
  return outcome;
}

/**
 * The primary secret is gone: a rotation may have made a key that only that
 * secret named (the current key after a rotation, while the one this
 * resource issued stayed valid until the next). Which of the user's other
 * keys that is cannot be proven, so none is deleted; any key this Delete did
 * not remove is named in a warning, with what to check.
 * @param {import('./model').Issued} issued
 * @param {Request} request
 * @param {Set<string>} deleted
 * @param {string[] | undefined} remaining undefined when the keys could not be listed
 */
function warnOfUnknownRotatedKey(issued, request, deleted, remaining) {
  const others = remaining?.filter((k) => !deleted.has(k));
  if (others && others.length === 0) return;
  const which = others ? `still has ${others.join(', ')}` : 'may still have keys';
  const tag = request.ownerTag ? `; it keeps tag ${request.ownerTag.key} while it does (aws iam untag-user --user-name ${issued.userName} --tag-keys ${request.ownerTag.key})` : '';
  warn(`secret ${request.targets[0].secretArn} was deleted before this resource, so a rotation may have replaced access key ${issued.accessKeyId} with a key only that secret named. IAM user '${issued.userName}' ${which}${tag}; delete the one this stack issued: aws iam list-access-keys --user-name ${issued.userName}; aws iam delete-access-key --user-name ${issued.userName} --access-key-id <id>`);
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
 * Creates (or reads) a key, writes every target, and undoes both on failure.
 * @param {Request} request
 * @param {Map<string, Record<string, string[]>>} versions from preflight
 * @param {AwsPort} aws
 * @param {{ updating: boolean, newUser: boolean, tokens?: string[] }} options newUser: no key of this
 *   resource was on the user before (a Create, or a changed user); tokens: version id for each target's write
 * @returns {Promise<Outcome>}
 */
async function issue(request, versions, aws, { updating, newUser, tokens }) {
  const fp = fingerprint(request);
  await claimUser(request, aws);
  /** @type {ObtainedKey | undefined} */
  let key;
  try {
    key = await obtainKey(request, aws, updating);
    await writeCredentials(request, key, generationLabel(fp), versions, aws, tokens);
  } catch (e) {
    await unissue(request, key, newUser, aws.compensating());
    throw e;
  }
  return {
    physicalResourceId: formatPhysicalId({ mode: request.source ? 'source' : 'key', userName: request.userName, accessKeyId: key.accessKeyId, fingerprint: fp }),
    data: { AccessKeyId: key.accessKeyId },
  };
}

/**
 * Undoes issue() after a failure: deletes the key it created and, for a user
 * new to this resource, removes the owner tag again (no key of this stack is
 * on that user: one SesSmtpUser per user and stack). Whatever cannot be
 * undone is recorded for the Reason.
 * @param {Request} request
 * @param {ObtainedKey | undefined} key
 * @param {boolean} newUser
 * @param {AwsPort} undo the compensating port
 */
async function unissue(request, key, newUser, undo) {
  if (key?.created) {
    const deleted = await undo.deleteAccessKey(request.userName, key.accessKeyId).then(() => true, (cleanup) => {
      warn(`could not delete access key ${key.accessKeyId} of IAM user '${request.userName}' after a failure: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`);
      undo.leftBehind({ kind: 'key', userName: request.userName, accessKeyId: key.accessKeyId });
      return false;
    });
    if (!deleted) return; // the tag must stay while our key does
  }
  if (newUser && request.ownerTag && !request.source && !undo.leftovers.some((l) => l.kind === 'key' && l.userName === request.userName)) {
    await undo.untagUser(request.userName, request.ownerTag).catch((cleanup) => warn(`could not remove tag ${request.ownerTag?.key} from IAM user '${request.userName}': ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`));
  }
}

/**
 * @param {Request} request
 * @param {AwsPort} aws
 * @param {boolean} updating
 * @returns {Promise<ObtainedKey>}
 */
async function obtainKey(request, aws, updating) {
  if (request.source) {
    const key = await readSourceKey(request.source, aws);
    await assertKeyOfUser(request, key.accessKeyId, aws);
    return { ...key, created: false };
  }
  try {
    return { ...(await aws.createAccessKey(request.userName, { updating })), created: true };
  } catch (e) {
    // IAM refused (no key was made) because the user holds 2 keys: if one of
    // them is the grace key a rotation left valid, it is ours to retire.
    if (!(e instanceof UserFacingError && e.awsName === 'LimitExceeded') || !(await retireGraceKey(request, aws))) throw e;
    return { ...(await aws.createAccessKey(request.userName, { updating })), created: true };
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

/**
 * Makes the credentials the current value of every target, labelled with the
 * generation label. A new version is written with the label only and then
 * AWSCURRENT is moved to it (UpdateSecretVersionStage keeps the other
 * versions' labels, which restore and delete rely on). If one target fails,
 * the targets already switched get their previous version back, so no secret
 * is left pointing at a key that is about to be deleted.
 * @param {Request} request
 * @param {{ accessKeyId: string, secretAccessKey: string, created?: boolean }} key created: this handler made it
 * @param {string} label
 * @param {Map<string, Record<string, string[]>>} versions from preflight
 * @param {AwsPort} aws
 * @param {string[]} [tokens] version id for each target's new version
 */
async function writeCredentials(request, key, label, versions, aws, tokens) {
  /** @type {Array<{ secretArn: string, previous?: string }>} */
  const touched = [];
  try {
    for (const [index, target] of request.targets.entries()) {
      const secretString = renderSecret(key.accessKeyId, deriveSmtpPassword(key.secretAccessKey, target.region), target, key.created === true);
      const current = versionWithStage(versions.get(target.secretArn), CURRENT);
      // Recorded before the call: a write that succeeds on the server but not
      // on the client must still be undone.
      touched.push({ secretArn: target.secretArn, previous: current });
      if (!current) {
        // First value of an empty secret: it becomes current directly.
        await aws.putSecretValue(target.secretArn, secretString, [CURRENT, label], tokens?.[index]);
        continue;
      }
      const versionId = await aws.putSecretValue(target.secretArn, secretString, [label], tokens?.[index]);
      await aws.moveStage(target.secretArn, CURRENT, { moveTo: versionId, removeFrom: current });
    }
  } catch (e) {
    await undoWrites(touched, key.accessKeyId, label, aws.compensating());
    throw e;
  }
}

/**
 * Takes back what this attempt wrote, judging by what each secret holds now
 * rather than by which calls returned: AWSCURRENT goes back where it was (for
 * a secret whose first value it was, to a value without credentials) and the
 * label comes off. A version holding another key (a concurrent delivery's)
 * is left alone.
 * @param {Array<{ secretArn: string, previous?: string }>} touched
 * @param {string} accessKeyId the key this attempt wrote
 * @param {string} label
 * @param {AwsPort} undo
 */
async function undoWrites(touched, accessKeyId, label, undo) {
  for (const { secretArn, previous } of touched) {
    try {
      const stages = await undo.versionStages(secretArn);
      const ours = async (/** @type {string | undefined} */ versionId) => versionId !== undefined && versionId !== previous
        && usernameOf(await undo.getSecretString(secretArn, { versionId })) === accessKeyId;
      const labelled = versionWithStage(stages, label);
      if (await ours(labelled)) await undo.moveStage(secretArn, label, { removeFrom: labelled });
      const current = versionWithStage(stages, CURRENT);
      if (await ours(current)) await withdrawCurrent(secretArn, /** @type {string} */ (current), undo, previous);
    } catch (e) {
      warn(`could not restore the previous value of ${secretArn}: ${e instanceof Error ? e.message : String(e)}`);
      undo.leftBehind({ kind: 'secret', secretArn });
    }
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

/**
 * Finds the keys a generation holds in its secrets (its live key, and a
 * rotation's pending key while the generation is current) and the versions
 * that carry its label. Reads only: the labels come off after the keys are
 * gone (releaseLabels), so a Delete that fails in between finds them again.
 * @param {Request} request
 * @param {string} fp
 * @param {AwsPort} aws
 * @returns {Promise<{ claims: import('./provenance').Claim[], labelled: Array<{ secretArn: string, versionId: string }>, primaryGone: boolean, currentKey?: string }>}
 *   claims: the versions that name this generation's keys; labelled: the versions with its label; primaryGone: the
 *   primary secret no longer exists (or could not be read); currentKey: the key its AWSCURRENT names
 */
async function findGeneration(request, fp, aws) {
  const label = generationLabel(fp);
  /** @type {import('./provenance').Claim[]} */
  const claims = [];
  /** @type {Array<{ secretArn: string, versionId: string }>} */
  const labelled = [];
  let primaryGone = false;
  /** @type {string | undefined} */
  let currentKey;
  for (const [index, target] of request.targets.entries()) {
    try {
      const versions = await aws.versionStages(target.secretArn);
      if (!versions && index === 0) primaryGone = true;
      const versionId = versionWithStage(versions, label);
      const labelIsCurrent = Boolean(versionId && versions?.[versionId].includes(CURRENT));
      // Read once when this generation is current (the usual case).
      if (versions && index === 0 && !labelIsCurrent) currentKey = usernameOf(await aws.getSecretString(target.secretArn, { stage: CURRENT }));
      if (!versions || !versionId) continue;
      if (index === 0) {
        const liveClaim = await claimOf(target.secretArn, versionId, aws);
        const live = liveClaim?.accessKeyId;
        if (labelIsCurrent) currentKey = live;
        if (liveClaim) claims.push(liveClaim);
        // While this generation is current, a rotation's keys are its own
        // too: the pending key of one in progress, and the grace key of the
        // last one (valid until the next rotation).
        if (versions[versionId].includes(CURRENT)) {
          for (const label of [PENDING, GRACE]) {
            const other = versionWithStage(versions, label);
            if (!other || other === versionId) continue;
            const otherClaim = await claimOf(target.secretArn, other, aws);
            if (otherClaim && otherClaim.accessKeyId !== live) claims.push(otherClaim);
          }
        }
      }
      labelled.push({ secretArn: target.secretArn, versionId });
    } catch (e) {
      // Keep what was found: the keys are what must not be orphaned.
      warn(`could not inspect ${target.secretArn} while deleting; keys found so far are still deleted: ${e instanceof Error ? e.message : String(e)}`);
      if (index === 0) primaryGone = true; // unknown: treat every remaining key as possibly ours
    }
  }
  return { claims, labelled, primaryGone, currentKey };
}

/**
 * Takes a deleted generation's label off its versions.
 * @param {Array<{ secretArn: string, versionId: string }>} labelled
 * @param {string} fp
 * @param {AwsPort} aws
 */
async function releaseLabels(labelled, fp, aws) {
  for (const { secretArn, versionId } of labelled) {
    try {
      await aws.moveStage(secretArn, generationLabel(fp), { removeFrom: versionId });
    } catch (e) {
      warn(`could not remove label ${generationLabel(fp)} from ${secretArn} (harmless: its keys are deleted): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

module.exports = {
  onCreate, onUpdate, onDelete,
  preflight, issue, obtainKey, readSourceKey, writeCredentials,
  CURRENT, PENDING, PREVIOUS, GRACE,
};
