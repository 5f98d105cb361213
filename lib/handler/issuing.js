// @ts-check
'use strict';
/**
 * Issuing credentials for one CloudFormation operation, however many
 * deliveries of it arrive (Lambda's at-least-once invocation, Lambda's
 * retries, an invoker's copies), and whatever CloudFormation does meanwhile.
 *
 * The delivery whose claim write succeeds (journal.js) holds the operation:
 * it tags the user, creates the key (within CREATE_BUDGET_MS of its claim,
 * settle.js), and writes every target as AWSCURRENT under the credential ids
 * the claim fixes, the primary last. Any other delivery of the operation
 * waits and answers what the holder achieved; it never creates a key.
 *
 * A write refused because its id is taken by a fence means a later request
 * of this resource found the operation over (cancelled, timed out, failed):
 * the holder withdraws what it wrote and deletes its key, and fails. Whatever
 * it could not undo stays named by the journal, for settle.js.
 *
 * @typedef {import('./model').Request} Request
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ physicalResourceId: string, data: Record<string, string> }} Outcome
 * @typedef {import('./obtain-key').ObtainedKey} ObtainedKey
 * @typedef {{ operationId?: string, lifetimeMs?: number }} Delivery
 */
const { deriveSmtpPassword } = require('./smtp-password');
const { UserFacingError, fingerprint, generationLabel, formatPhysicalId, renderSecret, usernameOf } = require('./model');
const { versionWithStage } = require('./aws');
const { warn } = require('./log');
const { obtainKey, readSourceKey } = require('./obtain-key');
const { claimOf, vouchedKeys, CLOCK_SKEW_MS } = require('./provenance');
const { claimIdOf, claimValue, credentialIdsOf, entryKind, isClaimId, writeOnce } = require('./journal');
const { settle, recordedKeys, reread, CREATE_BUDGET_MS } = require('./settle');

const CURRENT = 'AWSCURRENT';
/** How often a waiting delivery looks at the holder's progress: first after POLL_MS, then less often, up to MAX_POLL_MS. */
const POLL_MS = 2_000;
const MAX_POLL_MS = 30_000;
/** Lambda's longest run, when the invocation cannot tell its own (15 minutes). */
const MAX_LAMBDA_LIFETIME_MS = 900_000;

/**
 * Issues credentials for the operation, once.
 * @param {Request} request
 * @param {Map<string, Record<string, string[]>>} stages from preflight
 * @param {Delivery} delivery the operation (from CloudFormation's log) and this invocation's lifetime
 * @param {AwsPort} aws
 * @param {{ updating: boolean, newUser: boolean }} options newUser: no key of this resource was on the user before
 * @returns {Promise<Outcome>}
 */
async function issueOnce(request, stages, delivery, aws, options) {
  // A key source's key is read and checked before anything is written: a bad source changes nothing.
  const sourced = request.source ? await obtainKey(request, aws, options.updating) : undefined;
  if (!delivery.operationId) return issue(request, stages, aws, { ...options, sourced });
  const claimId = claimIdOf(delivery.operationId);
  const label = generationLabel(fingerprint(request));
  const primary = request.targets[0].secretArn;
  if (!(await writeOnce(aws, primary, claimId, claimValue(request.userName), [label]))) return waitForHolder(request, claimId, label, delivery, aws);
  return issue(request, stages, aws, { ...options, claimId, createBy: aws.now() + CREATE_BUDGET_MS, sourced });
}

/**
 * Creates (or reads) a key, writes every target, and undoes both on failure.
 * @param {Request} request
 * @param {Map<string, Record<string, string[]>>} stages from preflight
 * @param {AwsPort} aws
 * @param {{ updating: boolean, newUser: boolean, claimId?: string, createBy?: number, sourced?: ObtainedKey }} options
 *   sourced: the key source's key, read already
 * @returns {Promise<Outcome>}
 */
async function issue(request, stages, aws, { updating, newUser, claimId, createBy, sourced }) {
  const fp = fingerprint(request);
  const label = generationLabel(fp);
  if (request.ownerTag && !request.source) await aws.tagUser(request.userName, request.ownerTag);
  /** @type {ObtainedKey | undefined} */
  let key;
  try {
    key = sourced ?? await obtainKey(request, aws, updating, createBy, async () => recordedKeys(request, await reread(request, aws), aws));
    await writeCredentials(request, key, label, stages, aws, claimId ? credentialIdsOf(claimId, request) : undefined);
  } catch (e) {
    await unissue(request, key, newUser, { claimId, label }, aws.compensating());
    throw e;
  }
  return {
    physicalResourceId: formatPhysicalId({ mode: request.source ? 'source' : 'key', userName: request.userName, accessKeyId: key.accessKeyId, fingerprint: fp }),
    data: { AccessKeyId: key.accessKeyId },
  };
}

/**
 * Makes the credentials the current value of every target, with the
 * generation label, in one write each (AWSCURRENT moves to the new version,
 * AWSPREVIOUS to the one it leaves, which keeps its own labels). The other
 * regions first, the primary last: the primary's write moves the generation
 * label off the claim. If one write fails, those done are taken back.
 * @param {Request} request
 * @param {{ accessKeyId: string, secretAccessKey: string, created?: boolean }} key created: this handler made it
 * @param {string} label
 * @param {Map<string, Record<string, string[]>>} stages from preflight
 * @param {AwsPort} aws
 * @param {string[]} [ids] the credential ids the claim fixes, one per target (none: fresh ids)
 */
async function writeCredentials(request, key, label, stages, aws, ids) {
  /** @type {Array<{ secretArn: string, versionId?: string, previous?: string }>} */
  const touched = [];
  try {
    for (const index of [...request.targets.keys()].slice(1).concat(0)) {
      const target = request.targets[index];
      const value = renderSecret(key.accessKeyId, deriveSmtpPassword(key.secretAccessKey, target.region), target, key.created === true, request.userName);
      // Recorded before the call: a write that succeeds on the server but not
      // on the client must still be undone.
      const entry = { secretArn: target.secretArn, versionId: ids?.[index], previous: versionWithStage(stages.get(target.secretArn), CURRENT) };
      touched.push(entry);
      if (!ids) {
        entry.versionId = await aws.putSecretValue(target.secretArn, value, [CURRENT, label]);
      } else if (!(await writeOnce(aws, target.secretArn, ids[index], value, [CURRENT, label]))) {
        throw new UserFacingError(`This request's operation is over: a later request of this resource fenced the credentials of ${target.secretArn} (CloudFormation cancelled the operation, gave up waiting, or another delivery failed). This delivery withdrew what it wrote and deleted its key.`);
      }
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
 * generation label comes off. A version holding another key is left alone.
 * @param {Array<{ secretArn: string, versionId?: string, previous?: string }>} touched
 * @param {string} accessKeyId the key this attempt wrote
 * @param {string} label
 * @param {AwsPort} undo
 */
async function undoWrites(touched, accessKeyId, label, undo) {
  for (const { secretArn, versionId, previous } of [...touched].reverse()) {
    try {
      const stages = await undo.versionStages(secretArn);
      const mine = versionId ?? versionWithStage(stages, label);
      if (!mine || !stages?.[mine] || usernameOf(await undo.getSecretString(secretArn, { versionId: mine })) !== accessKeyId) continue;
      if (stages[mine].includes(CURRENT)) {
        if (previous && previous !== mine && stages[previous] && !isClaimId(previous)) await undo.moveStage(secretArn, CURRENT, { moveTo: previous, removeFrom: mine });
        else await undo.putSecretValue(secretArn, '{}', [CURRENT]);
      }
      if (stages[mine].includes(label)) await undo.moveStage(secretArn, label, { removeFrom: mine });
    } catch (e) {
      warn(`could not restore the previous value of ${secretArn}: ${e instanceof Error ? e.message : String(e)}`);
      undo.leftBehind({ kind: 'secret', secretArn });
    }
  }
}

/**
 * Undoes issue() after a failure: deletes the key it created; then, for a
 * user new to this resource, removes the owner tag again, and releases the
 * claim (its generation label comes off: settled). Whatever cannot be undone
 * is recorded for the Reason, and the claim stays, for settle.js.
 * @param {Request} request
 * @param {ObtainedKey | undefined} key
 * @param {boolean} newUser
 * @param {{ claimId?: string, label: string }} claim
 * @param {AwsPort} undo the compensating port
 */
async function unissue(request, key, newUser, claim, undo) {
  if (key?.created) {
    const deleted = await undo.deleteAccessKey(request.userName, key.accessKeyId).then(() => true, (cleanup) => {
      warn(`could not delete access key ${key.accessKeyId} of IAM user '${request.userName}' after a failure: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`);
      undo.leftBehind({ kind: 'key', userName: request.userName, accessKeyId: key.accessKeyId });
      return false;
    });
    if (!deleted) return; // the tag and the claim must stay while our key does
  }
  if (undo.leftovers.some((l) => l.kind === 'key' && l.userName === request.userName)) return;
  if (claim.claimId) {
    const primary = request.targets[0].secretArn;
    const labels = (await undo.versionStages(primary).catch(() => undefined))?.[claim.claimId];
    if (labels?.includes(claim.label)) {
      await undo.moveStage(primary, claim.label, { removeFrom: claim.claimId }).catch((e) => warn(`could not release claim ${claim.claimId} of ${primary}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  if (newUser && request.ownerTag && !request.source) {
    await undo.untagUser(request.userName, request.ownerTag).catch((cleanup) => warn(`could not remove tag ${request.ownerTag?.key} from IAM user '${request.userName}': ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`));
  }
}

/**
 * Another delivery holds this operation: answer what it achieves, or, once it
 * cannot be running any more without having finished, settle what it left.
 * @param {Request} request
 * @param {string} claimId
 * @param {string} label
 * @param {Delivery} delivery
 * @param {AwsPort} aws
 * @returns {Promise<Outcome>}
 */
async function waitForHolder(request, claimId, label, delivery, aws) {
  const primary = request.targets[0].secretArn;
  const [primaryId] = credentialIdsOf(claimId, request).slice(0, 1);
  const lifetimeMs = delivery.lifetimeMs ?? MAX_LAMBDA_LIFETIME_MS;
  /**
   * One look at the holder's progress.
   * @param {AwsPort} port
   * @returns {Promise<{ outcome: Outcome } | { claimed: number }>}
   */
  const look = async (port) => {
    const stages = await port.versionStages(primary);
    if (stages?.[primaryId]) {
      const value = await port.getSecretString(primary, { versionId: primaryId });
      const accessKeyId = usernameOf(value);
      if (entryKind(value) === 'value' && accessKeyId) {
        // The holder's write, or someone's who read the operation's ids from the stack's events: only a
        // value that vouches for its key is answered as the resource's key (a later Delete deletes it).
        const why = await whyNotHolders(request, primary, primaryId, claimId, accessKeyId, port);
        if (why === undefined) {
          return { outcome: {
            physicalResourceId: formatPhysicalId({ mode: request.source ? 'source' : 'key', userName: request.userName, accessKeyId, fingerprint: fingerprint(request) }),
            data: { AccessKeyId: accessKeyId },
          } };
        }
        if (why) throw new UserFacingError(`Secret ${primary} names access key ${accessKeyId} (${why}); this handler did not write it. This delivery issued nothing and deleted nothing; CloudFormation rolls back. Find out who wrote version ${primaryId} of the secret, then deploy again.`);
      }
      throw new UserFacingError(`Another delivery of this request (${delivery.operationId}) could not complete it (its credentials were withdrawn or fenced); this delivery issued nothing. CloudFormation rolls back; deploy again.`);
    }
    if (!stages?.[claimId]?.includes(label)) {
      throw new UserFacingError(`Another delivery of this request (${delivery.operationId}) failed and undid what it wrote; this delivery issued nothing. CloudFormation rolls back; deploy again.`);
    }
    const claimed = (await port.versionDates(primary)).get(claimId) ?? port.now();
    if (port.now() - claimed > lifetimeMs) {
      // The holder cannot be running: settle what it left, as a later request would.
      await settle({ request, stages: new Map([[primary, stages]]), fences: [] }, port);
      throw new UserFacingError(`An earlier delivery of this request (${delivery.operationId}) stopped before it finished; what it left was settled, and this delivery issued nothing. CloudFormation rolls back; deploy again.`);
    }
    return { claimed };
  };
  // Waiting goes on past the work deadline, until the undo deadline: the
  // holder's outcome may come only then.
  let port = aws;
  const canWaitLonger = () => port === aws && aws.signal?.aborted && aws.options.undoSignal && !aws.options.undoSignal.aborted;
  /** @type {number | undefined} */
  let claimed;
  const stillHeld = () => new UserFacingError(`Another delivery of this request (${delivery.operationId}) holds it and may still be running${claimed === undefined ? '' : ` until ${new Date(claimed + lifetimeMs).toISOString()}`}; this delivery issued nothing. Whatever that delivery leaves, the next request of this resource settles.`);
  for (let round = 0; ; round++) {
    let seen;
    try {
      seen = await look(port);
    } catch (e) {
      if (!port.signal?.aborted || e instanceof UserFacingError && !/Timed out|ran out of time/.test(e.message)) throw e;
      if (!canWaitLonger()) throw stillHeld();
      port = aws.compensating();
      continue;
    }
    if ('outcome' in seen) return seen.outcome;
    claimed = seen.claimed;
    if (port.signal?.aborted) {
      if (!canWaitLonger()) throw stillHeld();
      port = aws.compensating();
      continue;
    }
    // Looks again at the latest when the holder can no longer be running.
    await port.sleep(Math.max(POLL_MS, Math.min(MAX_POLL_MS, POLL_MS * 2 ** round, claimed + lifetimeMs + POLL_MS - port.now())));
  }
}

/**
 * Whether the credentials written under the operation's primary id are the
 * holder's: a key source's key (as the source holds it now), or a key of the
 * user created after the claim, whose version vouches for it (provenance.js).
 * @param {Request} request
 * @param {string} primary
 * @param {string} primaryId
 * @param {string} claimId
 * @param {string} accessKeyId
 * @param {AwsPort} aws
 * @returns {Promise<string | undefined>} why not (undefined: the holder's; '': the key is gone, withdrawn by its holder)
 */
async function whyNotHolders(request, primary, primaryId, claimId, accessKeyId, aws) {
  if (request.source) {
    const { accessKeyId: sourced } = await readSourceKey(request.source, aws);
    return sourced === accessKeyId ? undefined : `the key source holds ${sourced}`;
  }
  const keys = await aws.listAccessKeys(request.userName);
  const key = keys.find((k) => k.accessKeyId === accessKeyId);
  if (!key || key.status !== 'Active') return '';
  const claimed = (await aws.versionDates(primary)).get(claimId);
  if (claimed === undefined || key.createdAt === undefined || key.createdAt < claimed - CLOCK_SKEW_MS) {
    return `IAM created it before this operation claimed the secret${key.createdAt ? ` (${new Date(key.createdAt).toISOString()})` : ''}`;
  }
  const claim = await claimOf(primary, primaryId, aws);
  const { refused } = await vouchedKeys(request.userName, claim ? [claim] : [], aws, keys);
  return refused[0]?.why;
}

module.exports = { issueOnce, issue, writeCredentials, undoWrites };
