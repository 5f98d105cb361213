// @ts-check
'use strict';
/**
 * Secrets Manager native rotation of SMTP credentials, and re-deriving when
 * the IAM automation's key source changes.
 *
 * Rotation (one key at a time, never more than two on the user):
 * - createSecret: a new key (or the source's current key), its passwords
 *   written as AWSPENDING into every region's secret. Resumable: a version
 *   that already holds a value for this token is left as it is.
 * - setSecret: nothing; an IAM key is live as soon as it exists.
 * - testSecret: checks what can be checked without the internet: every region
 *   has complete fields for the same key, the key is active, the password has
 *   the SMTP v4 shape.
 * - finishSecret: AWSCURRENT (and the generation label) move to the new
 *   version in every region, then the previous key is deleted.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {import('./model').Request} Request
 * @typedef {{ Step: string, SecretId: string, ClientRequestToken: string }} RotationEvent
 */
const { ROTATION_TAGS } = require('./tags');
const {
  UserFacingError, SECRET_FIELDS, fingerprint, generationLabel, isGenerationLabel, parseRequest, parseSecretDocument, renderSecret, usernameOf,
} = require('./model');
const { versionWithStage } = require('./aws');
const { CURRENT, PENDING, PREVIOUS, obtainKey, preflight, writeCredentials } = require('./lifecycle');
const { deriveSmtpPassword } = require('./smtp-password');

/**
 * @param {RotationEvent} event
 * @param {AwsPort} aws
 */
async function rotate(event, aws) {
  const { Step: step, SecretId: secretId, ClientRequestToken: token } = event;
  if (typeof token !== 'string' || token.length === 0) throw new UserFacingError('rotation event without ClientRequestToken');
  const described = await aws.describeSecret(secretId);
  if (!described) throw new UserFacingError(`Secret ${secretId} does not exist or is scheduled for deletion`);
  const request = await requestFromTags(secretId, described.tags, aws);
  switch (step) {
    case 'createSecret': return createSecret(request, described.stages, token, aws);
    case 'setSecret': return undefined;
    case 'testSecret': return testSecret(request, token, aws);
    case 'finishSecret': return finishSecret(request, token, aws);
    default: throw new UserFacingError(`unknown rotation step '${String(step)}'`);
  }
}

/**
 * Rebuilds the request the custom resource made from the primary secret's tags
 * and each region's current value (host and port).
 * @param {string} secretId
 * @param {Record<string, string>} tags
 * @param {AwsPort} aws
 * @returns {Promise<Request>}
 */
async function requestFromTags(secretId, tags, aws) {
  const userName = tags[ROTATION_TAGS.USER_NAME];
  const secrets = Object.entries(tags)
    .filter(([key]) => key.startsWith(ROTATION_TAGS.SECRET_PREFIX))
    .map(([key, value]) => ({ region: key.slice(ROTATION_TAGS.SECRET_PREFIX.length), arn: value === 'self' ? secretId : value }));
  if (!userName || secrets.length === 0) {
    throw new UserFacingError(`Secret ${secretId} lacks the ${ROTATION_TAGS.USER_NAME} and ${ROTATION_TAGS.SECRET_PREFIX}<region> tags SesSmtpUser sets; rotate only secrets a SesSmtpUser created with rotateEvery`);
  }
  // The rotated secret is the primary target; the others follow in tag order.
  secrets.sort((a, b) => Number(!sameSecret(secretId, a.arn)) - Number(!sameSecret(secretId, b.arn)));
  const Targets = [];
  for (const { region, arn } of secrets) {
    const current = parseSecretDocument(await aws.getSecretString(arn, { stage: CURRENT }));
    if (!current || typeof current.host !== 'string') {
      throw new UserFacingError(`Secret ${arn} has no current SMTP credentials to rotate; deploy the stack first`);
    }
    Targets.push({ Region: region, Host: current.host, Port: String(current.port), SecretArn: arn });
  }
  /** @type {Record<string, unknown>} */
  const raw = { UserName: userName, Targets };
  if (tags[ROTATION_TAGS.SOURCE]) {
    raw.Source = {
      SecretArn: tags[ROTATION_TAGS.SOURCE],
      AccessKeyIdField: tags[ROTATION_TAGS.SOURCE_ID_FIELD],
      SecretAccessKeyField: tags[ROTATION_TAGS.SOURCE_KEY_FIELD],
      AccessKeyId: tags[ROTATION_TAGS.SOURCE_KEY_ID],
    };
  }
  return parseRequest(raw);
}

/**
 * @param {Request} request
 * @param {Record<string, string[]>} stages of the primary secret
 * @param {string} token
 * @param {AwsPort} aws
 */
async function createSecret(request, stages, token, aws) {
  const primary = request.targets[0].secretArn;
  if (stages[token]?.includes(CURRENT)) return; // this rotation already finished
  if (await pendingComplete(request, token, aws)) return; // resumed after createSecret
  const currentKey = usernameOf(await aws.getSecretString(primary, { stage: CURRENT }));
  if (!request.source) {
    await clearRoomForOneKey(request, stages, currentKey, aws);
  }
  const key = await obtainKey(request, aws, true);
  /** @type {Array<{ secretArn: string, versionId?: string }>} */
  const written = [];
  try {
    // The other regions first, under fresh version ids (a retry can write them
    // again); the primary last, under Secrets Manager's token: a version for
    // the token on the primary means every region was written.
    for (const target of [...request.targets.slice(1), request.targets[0]]) {
      const value = renderSecret(key.accessKeyId, deriveSmtpPassword(key.secretAccessKey, target.region), target);
      const isPrimary = target === request.targets[0];
      const entry = { secretArn: target.secretArn, versionId: isPrimary ? token : undefined };
      written.push(entry);
      entry.versionId = await aws.putSecretValue(target.secretArn, value, [PENDING], isPrimary ? token : undefined);
    }
  } catch (e) {
    const undo = aws.compensating();
    for (const { secretArn, versionId } of written) {
      if (versionId) await undo.moveStage(secretArn, PENDING, { removeFrom: versionId }).catch(() => undefined);
    }
    if (key.created) await undo.deleteAccessKey(request.userName, key.accessKeyId).catch(() => undefined);
    throw e;
  }
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
 * A rotation needs one free key slot. A key left by an abandoned rotation (in
 * our AWSPENDING version) is ours and is deleted; any other key belongs to
 * someone else, and rotation stops rather than exceed IAM's quota.
 * @param {Request} request
 * @param {Record<string, string[]>} stages
 * @param {string | undefined} currentKey
 * @param {AwsPort} aws
 */
async function clearRoomForOneKey(request, stages, currentKey, aws) {
  const others = (await aws.listAccessKeys(request.userName)).filter((k) => k.accessKeyId !== currentKey);
  if (others.length === 0) return;
  const pendingVersion = versionWithStage(stages, PENDING);
  const abandoned = pendingVersion
    ? usernameOf(await aws.getSecretString(request.targets[0].secretArn, { versionId: pendingVersion }))
    : undefined;
  for (const other of others) {
    if (other.accessKeyId === abandoned) {
      await aws.deleteAccessKey(request.userName, other.accessKeyId);
    } else {
      throw new UserFacingError(`Cannot rotate: IAM user '${request.userName}' has another access key (${other.accessKeyId}) besides the one in this secret (${currentKey ?? 'none'}), and rotation needs a second key; IAM allows 2 per user. Nothing was changed. Remove the other key or stop rotating this secret.`);
    }
  }
}

/**
 * @param {Request} request
 * @param {string} token
 * @param {AwsPort} aws
 */
async function testSecret(request, token, aws) {
  /** @type {unknown} */
  let accessKeyId;
  for (const target of request.targets) {
    const versionId = pendingVersion(request, target, await aws.versionStages(target.secretArn), token);
    const doc = versionId ? parseSecretDocument(await aws.getSecretString(target.secretArn, { versionId })) : undefined;
    if (!doc) throw new UserFacingError(`testSecret: ${target.secretArn} has no pending value for this rotation`);
    const missing = SECRET_FIELDS.filter((field) => doc[field] === undefined || doc[field] === '');
    if (missing.length > 0) throw new UserFacingError(`testSecret: ${target.secretArn} lacks ${missing.join(', ')}`);
    if (doc.region !== target.region) throw new UserFacingError(`testSecret: ${target.secretArn} is for ${String(doc.region)}, expected ${target.region}`);
    const password = Buffer.from(String(doc.password), 'base64');
    if (password.length !== 33 || password[0] !== 0x04) throw new UserFacingError(`testSecret: the password in ${target.secretArn} is not an SES SMTP v4 password`);
    if (accessKeyId !== undefined && doc.username !== accessKeyId) throw new UserFacingError('testSecret: the regions hold different keys');
    accessKeyId = doc.username;
  }
  if (!request.source) {
    const active = (await aws.listAccessKeys(request.userName)).some((k) => k.accessKeyId === accessKeyId && k.status === 'Active');
    if (!active) throw new UserFacingError(`testSecret: key ${String(accessKeyId)} is not an active key of IAM user '${request.userName}'`);
  }
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
  for (const target of request.targets) {
    const stages = await aws.versionStages(target.secretArn) ?? {};
    const current = versionWithStage(stages, CURRENT);
    const pending = pendingVersion(request, target, stages, token);
    if (current === pending) continue;
    if (!pending) {
      // Finished here by an earlier attempt (its AWSPENDING already cleared)?
      if (usernameOf(await aws.getSecretString(target.secretArn, { stage: CURRENT })) === newKey) continue;
      throw new UserFacingError(`finishSecret: ${target.secretArn} has no pending value for this rotation`);
    }
    await aws.moveStage(target.secretArn, CURRENT, { moveTo: pending, removeFrom: current });
    for (const label of (current ? stages[current] : []).filter(isGenerationLabel)) {
      await aws.moveStage(target.secretArn, label, { moveTo: pending, removeFrom: current });
    }
    await aws.moveStage(target.secretArn, PENDING, { removeFrom: pending });
  }
  if (request.source) return;
  // Secrets Manager put AWSPREVIOUS on the version AWSCURRENT left, so this
  // also finds the old key when finishSecret is retried after a failure.
  const previousKey = usernameOf(await aws.getSecretString(primary, { stage: PREVIOUS }));
  if (previousKey && previousKey !== newKey) {
    await aws.deleteAccessKey(request.userName, previousKey);
  }
}

/**
 * The IAM automation changed the key source: write the new key's passwords.
 * @param {import('../contract').KeySourceChangedEvent} event
 * @param {AwsPort} aws
 * @returns {Promise<'updated' | 'unchanged' | 'ignored'>}
 */
async function onKeySourceChanged(event, aws) {
  const request = parseRequest(event.SesSmtpSync);
  if (!request.source) throw new UserFacingError('SesSmtpSync event for a SesSmtpUser without a key source');
  // API calls name the secret in requestParameters; RotationSucceeded in additionalEventData.
  const changed = event.detail?.requestParameters?.secretId ?? event.detail?.additionalEventData?.SecretId;
  if (changed !== undefined && !sameSecret(changed, request.source.secretArn)) return 'ignored';
  const versions = await preflight(request, aws);
  const key = await obtainKey(request, aws, false);
  let upToDate = true;
  for (const target of request.targets) {
    upToDate &&= usernameOf(await aws.getSecretString(target.secretArn, { stage: CURRENT })) === key.accessKeyId;
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
