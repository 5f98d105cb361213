// @ts-check
'use strict';
/**
 * Secrets Manager native rotation of SMTP credentials, and re-deriving when
 * the IAM automation's key source changes.
 *
 * Authority: a rotation event names only the secret and a token, and anyone
 * who may invoke the function can send one. authority.js verifies the step
 * with Secrets Manager (rotation enabled with this function, the token staged
 * AWSPENDING, a secret this stack's CloudFormation created) and reads what the
 * rotation may touch (user, every region's secret, key source, hosts and
 * ports) from the secret's template Metadata through CloudFormation.
 *
 * The contract (as AWS's own rotation functions keep it): the version of the
 * event's ClientRequestToken must carry AWSPENDING (Secrets Manager stages it
 * before it invokes createSecret); a version that is already AWSCURRENT means
 * this rotation finished, and any step for it succeeds without a change.
 *
 * Two keys alternate, so consumers never see an outage:
 * - createSecret: first retires the previous rotation's key (AWSPREVIOUS of
 *   the primary, still valid until now) and any key an earlier failed
 *   rotation left in an AWSPENDING version; then a new key (or the source's
 *   current key), its passwords written as AWSPENDING into every region's
 *   secret. Resumable: a complete pending version for this token is kept.
 * - setSecret: nothing; an IAM key is live as soon as it exists.
 * - testSecret: checks what can be checked without the internet: every region
 *   has complete fields for the same key, the key is active, the password has
 *   the SMTP v4 shape. Secrets Manager's test of the rotation configuration
 *   (testSecret alone, on a copy of the current value) checks the current
 *   credentials of every region instead.
 * - finishSecret: AWSCURRENT (and the generation label) move to the new
 *   version in every region, the primary last. The previous key stays valid,
 *   as AWSPREVIOUS (labelled GRACE), until the next rotation's createSecret.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {import('./model').Request} Request
 * @typedef {{ Step: string, SecretId: string, ClientRequestToken: string }} RotationEvent
 */
const { verifyRotation, verifyKeySourceSync } = require('./authority');
const {
  UserFacingError, SECRET_FIELDS, fingerprint, generationLabel, isGenerationLabel, parseSecretDocument, renderSecret, usernameOf,
} = require('./model');
const { versionWithStage, warn } = require('./aws');
const { CURRENT, preflight } = require('./lifecycle');
const { GRACE, obtainKey } = require('./obtain-key');
const { writeCredentials } = require('./issuing');
const { DELETED_LABEL, entryKind } = require('./journal');
const { retireUnrecordedKeys } = require('./key-origin');
const { ROTATION_CREATE_BUDGET_MS, recordedKeys, reread, retireClaims } = require('./settle');

const PENDING = 'AWSPENDING';
const { deriveSmtpPassword } = require('./smtp-password');
const { claimOf, vouchedKeys } = require('./provenance');

/** The four steps, in the order Secrets Manager calls them. */
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/**
 * @param {RotationEvent} event
 * @param {AwsPort} aws
 * @param {import('./authority').Self} self the function's own stack and name
 * @returns {Promise<string | void>} an outcome for the log line
 */
async function rotate(event, aws, self) {
  const { Step: step, SecretId: secretId, ClientRequestToken: token } = event;
  if (!STEPS.includes(step)) throw new UserFacingError(`unknown rotation step '${String(step)}'`);
  const { request, labels } = await verifyRotation(event, self, aws);
  if (labels.includes(CURRENT)) return 'already current'; // this rotation finished: a retry or a late step
  if (!labels.includes(PENDING)) {
    throw new UserFacingError(`${step}: version ${token} of secret ${secretId} is neither AWSPENDING nor AWSCURRENT (labels: ${labels.join(', ') || 'none'}), so it belongs to no rotation in progress. Nothing was changed.`);
  }
  switch (step) {
    case 'createSecret': return createSecret(self.ownerTagKey ? { ...request, ownerTag: { key: self.ownerTagKey, value: self.stackId } } : request, token, aws);
    case 'testSecret': return testSecret(request, token, aws);
    case 'finishSecret': return finishSecret(request, token, aws);
    default: return undefined; // setSecret: an IAM key is live as soon as it exists
  }
}

/**
 * @param {Request} request
 * @param {string} token
 * @param {AwsPort} aws
 */
async function createSecret(request, token, aws) {
  const createBy = aws.now() + ROTATION_CREATE_BUDGET_MS;
  if (await pendingComplete(request, token, aws)) return 'resumed'; // a retry after createSecret succeeded
  const primary = request.targets[0].secretArn;
  await endStaleAttempt(request, token, aws);
  // The Delete of the resource fences the secret before it looks for a rotation in flight (settle.js).
  if (versionWithStage(await aws.versionStages(primary), DELETED_LABEL)
    || entryKind(await aws.getSecretString(primary, { versionId: token })) === 'fence') {
    throw new UserFacingError(`createSecret: ${primary} belongs to a resource CloudFormation is deleting (the Delete fenced it); nothing was created.`);
  }
  const currentKey = usernameOf(await aws.getSecretString(primary, { stage: CURRENT }));
  if (!request.source) await makeRoomForOneKey(request, currentKey, token, aws);
  // The user carries the stack's owner tag before it gets a key, so that the
  // handler may delete that key later (its role may delete only keys of tagged users).
  if (!request.source && request.ownerTag) await aws.tagUser(request.userName, request.ownerTag);
  const key = await obtainKey(request, aws, true, createBy, async () => recordedKeys(request, await reread(request, aws), aws));
  /** @type {Array<{ secretArn: string, versionId?: string, token?: string }>} */
  const written = [];
  try {
    // The other regions first, under fresh version ids (a retry can write them
    // again); the primary last, under Secrets Manager's token: a version for
    // the token on the primary means every region was written.
    for (const target of [...request.targets.slice(1), request.targets[0]]) {
      const value = renderSecret(key.accessKeyId, deriveSmtpPassword(key.secretAccessKey, target.region), target, key.created, request.userName);
      const isPrimary = target === request.targets[0];
      /** @type {{ secretArn: string, versionId?: string, token?: string }} */
      const entry = { secretArn: target.secretArn, token: isPrimary ? token : undefined };
      written.push(entry);
      entry.versionId = await aws.putSecretValue(target.secretArn, value, [PENDING], entry.token);
    }
  } catch (e) {
    const problems = await undoCreateSecret(request, key, written, aws.compensating());
    if (problems.length === 0) throw e;
    for (const problem of problems) warn(`rotation of ${primary}: ${problem}`);
    throw new UserFacingError(`${describeFailure(e)} Undoing createSecret also failed: ${problems.join(' ')}`);
  }
  return undefined;
}

/**
 * The token's version already holds credentials that cannot complete this
 * rotation: an earlier attempt wrote them for other properties (a rotation
 * that began while CloudFormation deployed a change of user, which it then
 * rolled back), or for a key the user no longer has. A version's value never
 * changes, so this rotation cannot finish: its key is retired (if the version
 * vouches for it), AWSPENDING comes off, so that the next RotateSecret starts
 * afresh, and the step fails saying so.
 * @param {Request} request
 * @param {string} token
 * @param {AwsPort} aws
 */
async function endStaleAttempt(request, token, aws) {
  const primary = request.targets[0].secretArn;
  const value = await aws.getSecretString(primary, { versionId: token });
  if (entryKind(value) !== 'value') return;
  const written = await claimOf(primary, token, aws);
  const claims = /** @type {import('./provenance').Claim[]} */ (written ? [written] : []);
  for (const target of request.targets.slice(1)) {
    const pending = versionWithStage(await aws.versionStages(target.secretArn), PENDING);
    const claim = pending && await claimOf(target.secretArn, pending, aws);
    if (claim && claim.accessKeyId === written?.accessKeyId) claims.push(claim);
  }
  if (!request.source) await retireClaims(request, claims, new Set(), 'which an earlier attempt of this rotation created for properties CloudFormation has since rolled back', aws);
  for (const claim of claims) await aws.moveStage(claim.secretArn, PENDING, { removeFrom: claim.versionId });
  if (claims.length === 0) await aws.moveStage(primary, PENDING, { removeFrom: token });
  throw new UserFacingError(`createSecret: this rotation's pending version of ${primary} was written for ${written?.userName ? `IAM user '${written.userName}'` : 'other properties'}, not for the ones registered now; it cannot be completed. Its key was retired and the rotation ended; the next rotation starts afresh.`);
}

/**
 * Takes back a failed createSecret: the new key, then the AWSPENDING labels
 * that name it. Labels stay where the key could not be deleted: they are what
 * lets the next rotation prove the key is ours and delete it.
 * @param {Request} request
 * @param {import('./obtain-key').ObtainedKey} key
 * @param {Array<{ secretArn: string, versionId?: string, token?: string }>} written
 * @param {AwsPort} undo
 * @returns {Promise<string[]>} what could not be undone, as sentences (names and ids only)
 */
async function undoCreateSecret(request, key, written, undo) {
  /** @type {string[]} */
  const problems = [];
  if (key.created) {
    try {
      await undo.deleteAccessKey(request.userName, key.accessKeyId);
    } catch (e) {
      const named = await pendingVersionWritten(written, key.accessKeyId, undo);
      const remove = `aws iam delete-access-key --user-name ${request.userName} --access-key-id ${key.accessKeyId}`;
      problems.push(`The new access key ${key.accessKeyId} of IAM user '${request.userName}' could not be deleted (${describeFailure(e)}). `
        + (named === true ? 'It stays named in an AWSPENDING version, so the next rotation deletes it.'
          : named === false ? `No secret names it, so the next rotation cannot prove it is ours and refuses until it is gone: ${remove}`
            : `Whether an AWSPENDING version names it could not be checked; if the next rotation refuses, delete it: ${remove}`));
      return problems;
    }
  }
  for (const { secretArn, versionId } of written) {
    // The primary's version is the token's: Secrets Manager's, kept as the rotation's record.
    if (!versionId || secretArn === request.targets[0].secretArn) continue;
    await undo.moveStage(secretArn, PENDING, { removeFrom: versionId }).catch((e) => {
      problems.push(`AWSPENDING could not be removed from version ${versionId} of ${secretArn} (${describeFailure(e)}); it names a deleted key, and the next rotation replaces it.`);
    });
  }
  return problems;
}

/**
 * Whether createSecret wrote an AWSPENDING version naming the key before it
 * failed: a write that returned did; the primary's, under the rotation's
 * token, may have taken effect although it failed (a 5xx, a lost answer), so
 * Secrets Manager is asked. The token's version is AWSPENDING from the start
 * (Secrets Manager stages it, empty, before createSecret), so what counts is
 * whether it holds the key. Other targets' versions get ids only when their
 * write returns.
 * @param {Array<{ secretArn: string, versionId?: string, token?: string }>} written
 * @param {string} accessKeyId
 * @param {AwsPort} undo
 * @returns {Promise<boolean | undefined>} undefined when it could not be checked
 */
async function pendingVersionWritten(written, accessKeyId, undo) {
  if (written.some((w) => w.versionId !== undefined)) return true;
  const primary = written.find((w) => w.token !== undefined);
  if (!primary?.token) return false;
  try {
    return usernameOf(await undo.getSecretString(primary.secretArn, { versionId: primary.token })) === accessKeyId;
  } catch {
    return undefined;
  }
}

/**
 * A failure's safe description (UserFacingError messages are written to be
 * shown; anything else only by name).
 * @param {unknown} e
 */
function describeFailure(e) {
  if (e instanceof UserFacingError) return e.message;
  return /** @type {{ name?: string }} */ (e)?.name ?? 'Error';
}

/**
 * The version holding this rotation's pending value in a target: the token on
 * the primary, the AWSPENDING version elsewhere.
 * @param {Request} request
 * @param {import('./model').Target} target
 * @param {Record<string, string[]> | undefined} stages
 * @param {string} token
 */
function pendingVersion(request, target, stages, token) {
  if (target === request.targets[0]) return stages?.[token] ? token : undefined;
  return versionWithStage(stages, PENDING);
}

/**
 * Whether createSecret already ran to completion for this token: every region
 * holds an AWSPENDING version for it with one and the same key, and (for keys
 * we create) that key still exists.
 * @param {Request} request
 * @param {string} token
 * @param {AwsPort} aws
 */
async function pendingComplete(request, token, aws) {
  /** @type {string | undefined} */
  let accessKeyId;
  for (const target of request.targets) {
    const stages = await aws.versionStages(target.secretArn);
    const versionId = pendingVersion(request, target, stages, token);
    if (!versionId || !stages?.[versionId]?.includes(PENDING)) return false;
    const username = usernameOf(await aws.getSecretString(target.secretArn, { versionId }));
    if (!username || (accessKeyId !== undefined && username !== accessKeyId)) return false;
    accessKeyId = username;
  }
  if (request.source) return true;
  return (await aws.listAccessKeys(request.userName)).some((k) => k.accessKeyId === accessKeyId && k.status === 'Active');
}

/**
 * A rotation needs one free key slot. Keys our own secrets name besides the
 * current one are ours: the previous rotation's key (the primary's version
 * labelled GRACE, kept valid until now) and a key an earlier, failed rotation left
 * in an AWSPENDING version. They are deleted, if the version that names them
 * vouches for them (provenance.js): anyone who may write the secret could
 * write a version naming another key of the user. Any other key belongs to
 * someone else, and rotation stops, before changing anything, rather than
 * exceed IAM's quota.
 * @param {Request} request
 * @param {string | undefined} currentKey
 * @param {string} token the rotation's token (its version's creation is when the rotation began)
 * @param {AwsPort} aws
 */
async function makeRoomForOneKey(request, currentKey, token, aws) {
  let keys = await aws.listAccessKeys(request.userName);
  let others = keys.filter((k) => k.accessKeyId !== currentKey);
  if (others.length === 0) return;
  const claims = (await keysOurSecretsName(request, aws)).filter((c) => c.accessKeyId !== currentKey);
  const { retire, refused } = await vouchedKeys(request.userName, claims, aws, keys);
  let foreign = others.filter((k) => !retire.includes(k.accessKeyId));
  if (foreign.length > 0) {
    // An earlier attempt of this rotation (Secrets Manager retries the whole
    // rotation after a failed step) may have died between creating its key
    // and recording it: CloudTrail says which key this handler's role created
    // since the rotation began (key-origin.js).
    const began = (await aws.versionDates(request.targets[0].secretArn)).get(token);
    const named = await recordedKeys(request, await reread(request, aws), aws);
    if (currentKey) named.add(currentKey);
    /** @type {{ retired: string[] }} */
    const { retired } = began === undefined ? { retired: [] }
      : await retireUnrecordedKeys(request.userName, [{ from: began, to: aws.now() }], named, aws);
    if (retired.length > 0) {
      keys = keys.filter((k) => !retired.includes(k.accessKeyId));
      others = others.filter((k) => !retired.includes(k.accessKeyId));
      foreign = foreign.filter((k) => !retired.includes(k.accessKeyId));
    }
  }
  if (foreign.length > 0) {
    const unvouched = refused.filter((r) => foreign.some((k) => k.accessKeyId === r.accessKeyId)).map((r) => ` Key ${r.accessKeyId}: ${r.why}.`).join('');
    throw new UserFacingError(`Cannot rotate: IAM user '${request.userName}' has another access key (${foreign.map((k) => k.accessKeyId).join(', ')}) besides the one in this secret (${currentKey ?? 'none'}), and rotation needs a second key; IAM allows 2 per user. Nothing was changed.${unvouched} Remove the other key or stop rotating this secret.`);
  }
  for (const other of others) {
    const claim = claims.find((c) => c.accessKeyId === other.accessKeyId);
    if (claim?.label !== GRACE) warn(`rotation of ${request.targets[0].secretArn}: deleting access key ${other.accessKeyId} of IAM user '${request.userName}', left by an earlier rotation that did not finish (named in ${PENDING} of ${claim?.secretArn})`);
    await aws.deleteAccessKey(request.userName, other.accessKeyId);
  }
}

/**
 * The versions of the registered secrets that name a key and are not
 * current: the grace version of the primary, and AWSPENDING of every target.
 * @param {Request} request
 * @param {AwsPort} aws
 * @returns {Promise<Array<import('./provenance').Claim & { label: string }>>}
 */
async function keysOurSecretsName(request, aws) {
  const claims = [];
  for (const [index, target] of request.targets.entries()) {
    const stages = await aws.versionStages(target.secretArn);
    for (const label of index === 0 ? [GRACE, PENDING] : [PENDING]) {
      const versionId = versionWithStage(stages, label);
      if (!versionId || stages?.[versionId]?.includes(CURRENT)) continue;
      const claim = await claimOf(target.secretArn, versionId, aws);
      if (claim) claims.push({ ...claim, label });
    }
  }
  return claims;
}

/**
 * testSecret serves two callers.
 *
 * A rotation in progress: createSecret wrote the new key's passwords into
 * every region (the primary under the token, the others as AWSPENDING).
 * Every region must hold complete fields for one and the same key, and the
 * key must be active.
 *
 * Secrets Manager's test of the rotation configuration (RotateSecret with
 * RotateImmediately false, which the construct's RotationSchedule sets): it
 * runs testSecret alone, on an AWSPENDING version it creates on the primary
 * and removes afterwards (RotateSecret API reference). That version holds the
 * current value, not a new key, and no other region has a pending value for
 * it. Then the current credentials are tested instead, in every region: what
 * a rotation will start from, read with the function's own permissions.
 *
 * @param {Request} request
 * @param {string} token
 * @param {AwsPort} aws
 * @returns {Promise<string | undefined>} an outcome for the log line
 */
async function testSecret(request, token, aws) {
  if (await isConfigurationTest(request, token, aws)) {
    await testCurrentCredentials(request, aws);
    return 'configuration test';
  }
  /** @type {unknown} */
  let accessKeyId;
  for (const target of request.targets) {
    const versionId = pendingVersion(request, target, await aws.versionStages(target.secretArn), token);
    const doc = versionId ? parseSecretDocument(await aws.getSecretString(target.secretArn, { versionId })) : undefined;
    if (!doc) throw new UserFacingError(`testSecret: ${target.secretArn} has no pending value for this rotation`);
    const problem = credentialsProblem(target, doc);
    if (problem) throw new UserFacingError(`testSecret: ${problem}`);
    if (accessKeyId !== undefined && doc.username !== accessKeyId) throw new UserFacingError('testSecret: the regions hold different keys');
    accessKeyId = doc.username;
  }
  if (!request.source) {
    const active = (await aws.listAccessKeys(request.userName)).some((k) => k.accessKeyId === accessKeyId && k.status === 'Active');
    if (!active) throw new UserFacingError(`testSecret: key ${String(accessKeyId)} is not an active key of IAM user '${request.userName}'`);
  }
  return undefined;
}

/**
 * Whether this testSecret is Secrets Manager's test of the rotation
 * configuration: the token's version on the primary is a copy of its current
 * value, so createSecret wrote no new key under it. createSecret always
 * writes the key it chose into every other region first, so a key source's
 * unchanged key (which createSecret writes again, and which renders the same
 * value) still counts as a rotation when another region holds it as
 * AWSPENDING: a real rotation's pending values are always tested.
 * @param {Request} request
 * @param {string} token
 * @param {AwsPort} aws
 */
async function isConfigurationTest(request, token, aws) {
  const primary = request.targets[0].secretArn;
  const underTest = await aws.getSecretString(primary, { versionId: token });
  if (underTest === undefined || underTest !== await aws.getSecretString(primary, { stage: CURRENT })) return false;
  const key = usernameOf(underTest);
  for (const target of request.targets.slice(1)) {
    const pending = versionWithStage(await aws.versionStages(target.secretArn), PENDING);
    if (pending && usernameOf(await aws.getSecretString(target.secretArn, { versionId: pending })) === key) return false;
  }
  return true;
}

/**
 * The configuration test: every region's current value has complete fields
 * for its region, and (for keys this handler issues) names an active key of
 * the user. The regions may name different keys: between two steps of a
 * rotation that failed they do, and both keys still work.
 * @param {Request} request
 * @param {AwsPort} aws
 */
async function testCurrentCredentials(request, aws) {
  const step = 'testSecret (the configuration test)';
  /** @type {Map<string, string>} key → a secret that names it */
  const named = new Map();
  for (const target of request.targets) {
    const doc = parseSecretDocument(await aws.getSecretString(target.secretArn, { stage: CURRENT }));
    const problem = doc ? credentialsProblem(target, doc) : `${target.secretArn} has no current value`;
    if (problem || !doc) throw new UserFacingError(`${step}: ${problem}. ${REISSUE}`);
    named.set(String(doc.username), target.secretArn);
  }
  if (request.source) return;
  const keys = await aws.listAccessKeys(request.userName);
  for (const [accessKeyId, secretArn] of named) {
    if (!keys.some((k) => k.accessKeyId === accessKeyId && k.status === 'Active')) {
      throw new UserFacingError(`${step}: ${secretArn} names key ${accessKeyId}, which is not an active key of IAM user '${request.userName}'. ${REISSUE}`);
    }
  }
}

/** The way forward when the current credentials fail the configuration test. */
const REISSUE = 'A rotation would start from these credentials. Change the SesSmtpUser\'s serial, which writes fresh credentials into every region, and deploy again.';

/**
 * What is wrong with a credentials document, if anything: a field missing,
 * another region, or a password that is not an SMTP v4 one.
 * @param {import('./model').Target} target
 * @param {Record<string, unknown>} doc
 * @returns {string | undefined}
 */
function credentialsProblem(target, doc) {
  const missing = SECRET_FIELDS.filter((field) => doc[field] === undefined || doc[field] === '');
  if (missing.length > 0) return `${target.secretArn} lacks ${missing.join(', ')}`;
  if (doc.region !== target.region) return `${target.secretArn} is for ${String(doc.region)}, expected ${target.region}`;
  const password = Buffer.from(String(doc.password), 'base64');
  if (password.length !== 33 || password[0] !== 0x04) return `the password in ${target.secretArn} is not an SES SMTP v4 password`;
  return undefined;
}

/**
 * @param {Request} request
 * @param {string} token
 * @param {AwsPort} aws
 */
async function finishSecret(request, token, aws) {
  const primary = request.targets[0].secretArn;
  const newKey = usernameOf(await aws.getSecretString(primary, { versionId: token }));
  if (!newKey) throw new UserFacingError(`finishSecret: ${primary} has no value for this rotation`);
  // The other regions first, the primary last: AWSCURRENT on the token's
  // version is what tells a retry that every region is done.
  for (const target of [...request.targets.slice(1), request.targets[0]]) {
    const stages = await aws.versionStages(target.secretArn) ?? {};
    const current = versionWithStage(stages, CURRENT);
    const pending = pendingVersion(request, target, stages, token);
    if (!pending || current === pending) {
      // Finished here by an earlier attempt (its AWSPENDING already cleared)?
      if (usernameOf(await aws.getSecretString(target.secretArn, { stage: CURRENT })) === newKey) continue;
      throw new UserFacingError(`finishSecret: ${target.secretArn} has no pending value for this rotation`);
    }
    // The generation label before AWSCURRENT: once AWSCURRENT moved, a retry
    // of this step changes nothing, so the label must already be there.
    for (const label of (current ? stages[current] : []).filter(isGenerationLabel)) {
      await aws.moveStage(target.secretArn, label, { moveTo: pending, removeFrom: current });
    }
    const graceAt = versionWithStage(stages, GRACE);
    if (target === request.targets[0] && current && !request.source && graceAt !== current) {
      // The key leaving AWSCURRENT stays valid until the next rotation: the
      // label is what proves, then, that this construct created it.
      await aws.moveStage(target.secretArn, GRACE, { moveTo: current, removeFrom: graceAt });
    }
    await aws.moveStage(target.secretArn, CURRENT, { moveTo: pending, removeFrom: current });
    await aws.moveStage(target.secretArn, PENDING, { removeFrom: pending });
  }
  // The previous key stays valid (AWSPREVIOUS) until the next createSecret.
  return undefined;
}

/**
 * The IAM automation changed the key source: write the new key's passwords.
 * What the sync may touch is the custom resource's registration as
 * CloudFormation reports it (authority.js); the event only names the resource.
 * @param {import('../contract').KeySourceChangedEvent} event
 * @param {AwsPort} aws
 * @param {import('./authority').Self} self
 * @returns {Promise<'updated' | 'unchanged' | 'ignored'>}
 */
async function onKeySourceChanged(event, aws, self) {
  const request = await verifyKeySourceSync(event, self, aws);
  const source = /** @type {import('./model').KeySource} */ (request.source);
  // API calls name the secret in requestParameters; RotationSucceeded in additionalEventData.
  const changed = event.detail?.requestParameters?.secretId ?? event.detail?.additionalEventData?.SecretId;
  if (changed !== undefined && !sameSecret(changed, source.secretArn)) return 'ignored';
  const versions = await preflight(request, aws);
  const key = await obtainKey(request, aws, false);
  // The password, not only the key id: the automation may correct the
  // secret access key under the same id.
  let upToDate = true;
  for (const target of request.targets) {
    const current = parseSecretDocument(await aws.getSecretString(target.secretArn, { stage: CURRENT }));
    upToDate &&= current?.username === key.accessKeyId && current?.password === deriveSmtpPassword(key.secretAccessKey, target.region);
  }
  if (upToDate) return 'unchanged';
  await writeCredentials(request, key, generationLabel(fingerprint(request)), versions, aws);
  return 'updated';
}

/**
 * Whether two secret ids (names, partial or complete ARNs) name the same secret.
 * @param {string} a
 * @param {string} b
 */
function sameSecret(a, b) {
  const forms = (/** @type {string} */ id) => {
    const name = id.includes(':secret:') ? id.slice(id.indexOf(':secret:') + 8) : id;
    return [id, name, name.replace(/-[A-Za-z0-9]{6}$/, '')];
  };
  const fa = forms(a);
  return forms(b).some((f) => fa.includes(f));
}

module.exports = { rotate, onKeySourceChanged, sameSecret };
