// @ts-check
'use strict';
/**
 * The handler's AWS I/O: the few IAM and Secrets Manager calls it makes,
 * each translated into a plain result or a UserFacingError. Clients are
 * injected so tests can point them at moto (AWS_ENDPOINT_URL) or a mock.
 */
const {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  ListAccessKeysCommand,
  TagUserCommand,
  UntagUserCommand,
} = require('@aws-sdk/client-iam');
const { DescribeStackEventsCommand, DescribeStackResourceCommand } = require('@aws-sdk/client-cloudformation');
const { LookupEventsCommand } = require('@aws-sdk/client-cloudtrail');
const {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} = require('@aws-sdk/client-secrets-manager');
const { UserFacingError, explainAwsError, quotaExceeded } = require('./model');
const { RetryPolicy } = require('./retry');
const { REAL_CLOCK } = require('./clock');
const { retireUnrecordedKeys } = require('./key-origin');

const { warn } = require('./log');

/** @param {unknown} e @param {...string} names */
function isError(e, ...names) {
  return names.includes(/** @type {{ name?: string }} */ (e)?.name ?? '');
}

/**
 * Whether AWS answered with a definite refusal (a parsed 4xx error): then the
 * call did nothing. A 5xx, an unparsable answer or a network failure leaves
 * the outcome unknown.
 * @param {unknown} e
 */
function isDefiniteRefusal(e) {
  return /** @type {{ $fault?: string }} */ (e)?.$fault === 'client';
}

/**
 * The retry policy of forward progress (retry.js): backoff with full jitter
 * until the work deadline. Access denied is repeated after 2, 4 and 8 s
 * (IAM is eventually consistent: right after CloudFormation adds a user or
 * secret to the handler's role policy, a call may still be denied).
 */
const WORK_RETRY = new RetryPolicy();
/** Undo uses the same backoff until the undo deadline, but does not wait out access denied. */
const UNDO_RETRY = new RetryPolicy({ deniedRetries: 0 });

/**
 * @param {{ retry?: import('./retry').RetryOptions, accessDeniedRetryMs?: number[], undoing?: boolean, clock?: import('./clock').Clock }} options
 * @returns {RetryPolicy}
 */
function retryPolicy({ retry, accessDeniedRetryMs, undoing, clock }) {
  if (!retry && !accessDeniedRetryMs && (!clock || clock === REAL_CLOCK)) return undoing ? UNDO_RETRY : WORK_RETRY;
  const denied = undoing ? { deniedRetries: 0 }
    : accessDeniedRetryMs ? { deniedRetries: accessDeniedRetryMs.length, deniedBaseMs: accessDeniedRetryMs[0] } : {};
  return new RetryPolicy({ ...(clock ? { sleep: clock.sleep } : {}), ...retry, ...denied });
}

/**
 * @typedef {{ arn?: string, stages: Record<string, string[]>, tags: Record<string, string>, rotationEnabled: boolean, rotationLambdaArn?: string }} DescribedSecret
 * @typedef {{ EventId?: string, LogicalResourceId?: string, PhysicalResourceId?: string, ResourceType?: string, ResourceStatus?: string, ResourceStatusReason?: string, ResourceProperties?: string, Timestamp?: Date, HookType?: string }} StackEvent
 * @typedef {{ LogicalResourceId?: string, PhysicalResourceId?: string, ResourceType?: string, ResourceStatus?: string, Metadata?: string, LastUpdatedTimestamp?: Date }} StackResource
 */

/**
 * What undoing a failed request could not undo, for a Reason that tells the truth.
 * @typedef {{ kind: 'key', userName: string, accessKeyId?: string } | { kind: 'secret', secretArn: string }} Leftover
 */

class AwsPort {
  /**
   * @param {{ send: Function }} iam an IAMClient
   * @param {{ send: Function }} secrets a SecretsManagerClient
   * @param {AbortSignal} [signal] aborts forward progress when the deadline passes
   * @param {{ retry?: import('./retry').RetryOptions, accessDeniedRetryMs?: number[], undoSignal?: AbortSignal, leftovers?: Leftover[], cloudformation?: { send: Function }, cloudtrail?: { send: Function }, undoing?: boolean, self?: import('./authority').Self, clock?: import('./clock').Clock, eventCache?: import('./event-cache').StackEventCache }} [options]
   *   retry: tunes the retry policy (tests, the bench); accessDeniedRetryMs: shorthand for how often
   *   and after which first pause access denied is repeated ([] never);
   *   undoSignal: the later deadline by which undoing must stop, so CloudFormation still gets its answer in time;
   *   cloudformation: a CloudFormationClient, for CloudFormation's own record of the stack (authority.js);
   *   cloudtrail: a CloudTrailClient in the partition's IAM region, for who created a key (key-origin.js);
   *   self: the function's own stack and logical id, from its configuration (handlerUpdatedAt);
   *   clock: the time the handler goes by (the real one, but in the lifecycle simulation);
   *   eventCache: the stack events this container has read already (event-cache.js)
   */
  constructor(iam, secrets, signal, options = {}) {
    this.iam = iam;
    this.secrets = secrets;
    this.signal = signal;
    this.options = options;
    /** @type {Leftover[]} shared with the compensating port */
    this.leftovers = options.leftovers ?? [];
    this.clock = options.clock ?? REAL_CLOCK;
    this.retry = retryPolicy(options);
    /** @type {Promise<number | undefined> | undefined} */
    this.updatedAt = undefined;
    /**
     * Values of versions already read in this invocation, by ARN and version id. A version's
     * content never changes (Secrets Manager refuses a second write of a version id with other
     * content), so a value once read is the value; a version not written yet is never kept.
     * @type {Map<string, string>}
     */
    this.versionValues = new Map();
    /** @type {Map<string, string | undefined>} each secret described in this invocation → its rotation function */
    this.rotationFunctions = new Map();
  }

  /**
   * Whether a rotation may be configured for a secret: false only when this
   * invocation described it and it named no rotation function (a secret
   * Secrets Manager was never asked to rotate: RotateSecret sets one).
   * @param {string} secretArn
   */
  mayRotate(secretArn) {
    return !this.rotationFunctions.has(secretArn) || this.rotationFunctions.get(secretArn) !== undefined;
  }

  /**
   * The same clients for undoing work after a failure or timeout: the same
   * backoff, bounded by a deadline of its own (undoSignal) that ends before
   * the Lambda's, and no waiting out access denied.
   */
  compensating() {
    return new AwsPort(this.iam, this.secrets, this.options.undoSignal, {
      retry: this.options.retry, leftovers: this.leftovers, cloudformation: this.options.cloudformation, undoing: true, self: this.options.self,
      clock: this.options.clock, cloudtrail: this.options.cloudtrail, eventCache: this.options.eventCache,
    });
  }

  /**
   * Records what could not be undone (a key, a secret), for the Reason.
   * @param {Leftover} leftover
   */
  leftBehind(leftover) {
    this.leftovers.push(leftover);
  }

  /**
   * Sends a command under the retry policy (retry.js), until it succeeds,
   * fails for good, or this port's deadline passes.
   * @param {{ send: Function }} client
   * @param {unknown} command
   * @param {{ abortable?: boolean, idempotent?: boolean, deniedFinal?: boolean }} [options] abortable: false for calls whose
   *   effect must be known (a key IAM created must reach us to be cleaned up);
   *   idempotent: false for calls that must not be repeated after an ambiguous failure (CreateAccessKey);
   *   deniedFinal: access denied is the answer (a condition on a tag the resource may not carry)
   */
  async send(client, command, { abortable = true, idempotent = true, deniedFinal = false } = {}) {
    this.throwIfOutOfTime();
    return this.retry.run(() => {
      this.throwIfOutOfTime();
      return client.send(command, this.signal && abortable ? { abortSignal: this.signal } : {});
    }, { signal: this.signal, idempotent, deniedFinal });
  }

  throwIfOutOfTime() {
    if (this.signal?.aborted) {
      const e = new Error('the handler ran out of time before this step');
      e.name = 'TimeoutError';
      throw e;
    }
  }

  /** @param {number} ms a pause that ends early when the deadline passes */
  sleep(ms) {
    return this.clock.sleep(ms, this.signal);
  }

  /** @returns {number} the time now, epoch milliseconds */
  now() {
    return this.clock.now();
  }

  /**
   * @param {string} userName
   * @param {{ updating?: boolean, createBy?: number, recorded?: () => Promise<Set<string>> }} [options] createBy: epoch
   *   ms after which no attempt starts (what settles an abandoned claim counts on it, settle.js); recorded: the keys
   *   records name, never taken for one an unanswered call made
   * @returns {Promise<{ accessKeyId: string, secretAccessKey: string }>}
   */
  async createAccessKey(userName, { updating = false, createBy = Infinity, recorded = async () => new Set() } = {}) {
    for (let retries = 0; ; retries++) {
      const startedAt = this.now();
      if (startedAt > createBy) {
        throw new UserFacingError(`Creating an access key for IAM user '${userName}' did not succeed within the time a request may take for it (IAM was slow); nothing was created. Deploy again.`);
      }
      try {
        // Not aborted mid-flight: a key IAM created must not be lost on the way
        // back. Repeated by send() only after a parsed Throttling answer (IAM did
        // nothing), never after a 5xx or a lost connection (retry.js).
        const out = await this.send(this.iam, new CreateAccessKeyCommand({ UserName: userName }), { abortable: false, idempotent: false });
        return { accessKeyId: out.AccessKey.AccessKeyId, secretAccessKey: out.AccessKey.SecretAccessKey };
      } catch (e) {
        if (isError(e, 'LimitExceededException', 'LimitExceeded')) throw quotaExceeded(userName, updating);
        const failure = () => new UserFacingError(explainAwsError(e, `creating an access key for IAM user '${userName}'`));
        if (isDefiniteRefusal(e)) throw failure();
        // A 5xx, an unparsable answer or a lost connection: IAM may have made a
        // key whose secret never reached us. CloudTrail says whether this
        // handler's role made one since the call began (a key a person made
        // at the same moment is left alone); it is deleted, and IAM is asked
        // again under the same policy and deadline as any other call.
        if (!(await this.removeUnansweredKey(userName, startedAt, recorded))) throw failure();
        const pause = this.retry.nextPause('ambiguous', { retries, denied: 0, idempotent: true });
        if (pause === undefined || this.signal?.aborted) throw failure();
        await this.sleep(pause);
        if (this.signal?.aborted) throw failure();
      }
    }
  }

  /**
   * After a CreateAccessKey whose outcome is unknown: deletes the key this
   * handler's role made since `since`, by CloudTrail's record, waiting for
   * that record while there is time.
   * @param {string} userName
   * @param {number} since epoch milliseconds when the call began
   * @param {() => Promise<Set<string>>} recorded the keys records name (never taken for the call's)
   * @returns {Promise<boolean>} whether it is settled: no key of that call is left
   */
  async removeUnansweredKey(userName, since, recorded) {
    const undo = this.compensating();
    for (;;) {
      let undecided;
      try {
        ({ undecided } = await retireUnrecordedKeys(userName, [{ from: since, to: undo.now() }], await recorded(), undo));
      } catch (e) {
        warn(`could not check IAM user '${userName}' for a key created by a failed call: ${e instanceof Error ? e.message : String(e)}; check with: aws iam list-access-keys --user-name ${userName}`);
        undo.leftBehind({ kind: 'key', userName });
        return false;
      }
      if (undecided.length === 0) return true;
      if (undo.signal?.aborted) {
        for (const accessKeyId of undecided) undo.leftBehind({ kind: 'key', userName, accessKeyId });
        return false;
      }
      await undo.sleep(UNANSWERED_KEY_POLL_MS);
    }
  }

  /**
   * Deletes a key; a key or user that is already gone counts as deleted.
   * @param {string} userName
   * @param {string} accessKeyId
   * @returns {Promise<boolean>} false when it was already gone
   */
  async deleteAccessKey(userName, accessKeyId) {
    try {
      await this.send(this.iam, new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
      return true;
    } catch (e) {
      if (isError(e, 'NoSuchEntityException', 'NoSuchEntity')) return false;
      throw new UserFacingError(`${explainAwsError(e, `deleting access key ${accessKeyId} of IAM user '${userName}'`)} The key still exists; delete it by hand: aws iam delete-access-key --user-name ${userName} --access-key-id ${accessKeyId}`);
    }
  }

  /**
   * @param {string} userName
   * @returns {Promise<Array<{ accessKeyId: string, status: string, createdAt?: number }>>}
   */
  async listAccessKeys(userName) {
    try {
      const out = await this.send(this.iam, new ListAccessKeysCommand({ UserName: userName }));
      return (out.AccessKeyMetadata ?? []).map((/** @type {{ AccessKeyId: string, Status: string, CreateDate?: Date }} */ k) => ({
        accessKeyId: k.AccessKeyId, status: k.Status, createdAt: k.CreateDate ? new Date(k.CreateDate).getTime() : undefined,
      }));
    } catch (e) {
      if (isError(e, 'NoSuchEntityException', 'NoSuchEntity')) return [];
      throw new UserFacingError(explainAwsError(e, `listing the access keys of IAM user '${userName}'`));
    }
  }

  /**
   * Marks the user as served by this stack (the owner tag), which is what lets
   * the handler list and delete its keys later.
   * @param {string} userName
   * @param {import('./model').OwnerTag} tag
   */
  async tagUser(userName, tag) {
    try {
      await this.send(this.iam, new TagUserCommand({ UserName: userName, Tags: [{ Key: tag.key, Value: tag.value }] }));
    } catch (e) {
      throw new UserFacingError(explainAwsError(e, `tagging IAM user '${userName}' with ${tag.key} (the handler may manage keys only of users with this tag)`));
    }
  }

  /**
   * Removes the owner tag; a user that is already gone counts as untagged.
   * @param {string} userName
   * @param {import('./model').OwnerTag} tag
   */
  async untagUser(userName, tag) {
    try {
      // The role may untag only a user that carries this stack's tag: denied means the tag is not there
      // (a Create that failed before tagging), which no retry changes.
      await this.send(this.iam, new UntagUserCommand({ UserName: userName, TagKeys: [tag.key] }), { deniedFinal: true });
    } catch (e) {
      if (isError(e, 'NoSuchEntityException', 'NoSuchEntity')) return;
      throw new UserFacingError(explainAwsError(e, `removing tag ${tag.key} from IAM user '${userName}'`));
    }
  }

  /**
   * @param {string} secretArn
   * @param {string} secretString
   * @param {string[]} stages
   * @param {string} [clientRequestToken]
   * @returns {Promise<string>} the new version id
   */
  async putSecretValue(secretArn, secretString, stages, clientRequestToken) {
    try {
      const out = await this.send(this.secrets, new PutSecretValueCommand({
        SecretId: secretArn, SecretString: secretString, VersionStages: stages, ClientRequestToken: clientRequestToken,
      }));
      return out.VersionId;
    } catch (e) {
      throw new UserFacingError(explainAwsError(e, `writing secret ${secretArn}`), /** @type {{ name?: string }} */ (e)?.name);
    }
  }

  /**
   * @param {string} secretArn
   * @returns {Promise<DescribedSecret | undefined>} undefined when the secret does not exist or is scheduled for deletion
   */
  async describeSecret(secretArn) {
    try {
      const out = await this.send(this.secrets, new DescribeSecretCommand({ SecretId: secretArn }));
      if (out.DeletedDate) return undefined;
      /** @type {Record<string, string>} */
      const tags = {};
      for (const tag of out.Tags ?? []) tags[tag.Key] = tag.Value;
      this.rotationFunctions.set(secretArn, out.RotationLambdaARN || undefined);
      return {
        arn: out.ARN, stages: out.VersionIdsToStages ?? {}, tags,
        rotationEnabled: out.RotationEnabled === true, rotationLambdaArn: out.RotationLambdaARN,
      };
    } catch (e) {
      if (isError(e, 'ResourceNotFoundException')) return undefined;
      throw new UserFacingError(explainAwsError(e, `describing secret ${secretArn}`));
    }
  }

  /**
   * @param {string} secretArn
   * @returns {Promise<Record<string, string[]> | undefined>} version id → staging labels,
   *   undefined when the secret does not exist or is scheduled for deletion
   */
  async versionStages(secretArn) {
    return (await this.describeSecret(secretArn))?.stages;
  }

  /**
   * When each version of a secret was created.
   * @param {string} secretArn
   * @returns {Promise<Map<string, number>>} version id → epoch milliseconds
   */
  async versionDates(secretArn) {
    try {
      /** @type {Map<string, number>} */
      const dates = new Map();
      let NextToken;
      do {
        // Versions without labels too: a Delete removes the generation label
        // before it asks when the version that carried it was written.
        const out = await this.send(this.secrets, new ListSecretVersionIdsCommand({ SecretId: secretArn, NextToken, IncludeDeprecated: true }));
        for (const v of out.Versions ?? []) if (v.CreatedDate) dates.set(v.VersionId, new Date(v.CreatedDate).getTime());
        NextToken = out.NextToken;
      } while (NextToken);
      return dates;
    } catch (e) {
      throw new UserFacingError(explainAwsError(e, `listing the versions of secret ${secretArn}`));
    }
  }

  /**
   * @param {string} secretArn
   * @param {{ versionId?: string, stage?: string }} which
   * @returns {Promise<string | undefined>} undefined when that version does not exist
   */
  async getSecretString(secretArn, { versionId, stage } = {}) {
    const known = versionId && !stage ? this.versionValues.get(`${secretArn}\n${versionId}`) : undefined;
    if (known !== undefined) return known;
    try {
      const out = await this.send(this.secrets, new GetSecretValueCommand({ SecretId: secretArn, VersionId: versionId, VersionStage: stage }));
      if (typeof out.SecretString === 'string' && out.VersionId) this.versionValues.set(`${secretArn}\n${out.VersionId}`, out.SecretString);
      return out.SecretString;
    } catch (e) {
      if (isError(e, 'ResourceNotFoundException')) return undefined;
      throw new UserFacingError(explainAwsError(e, `reading secret ${secretArn}`));
    }
  }

  /**
   * One page of a stack's events, newest first (CloudFormation's own log).
   * @param {string} stackId
   * @param {string} [nextToken]
   * @returns {Promise<{ events: StackEvent[], nextToken?: string }>}
   */
  async stackEvents(stackId, nextToken) {
    try {
      const out = await this.send(this.cloudFormation(), new DescribeStackEventsCommand({ StackName: stackId, NextToken: nextToken }));
      return { events: out.StackEvents ?? [], nextToken: out.NextToken };
    } catch (e) {
      throw new UserFacingError(explainAwsError(e, `reading the events of stack ${stackId}`));
    }
  }

  /**
   * CloudFormation's record of one resource of a stack.
   * @param {string} stackId
   * @param {string} logicalId
   * @returns {Promise<StackResource | undefined>} undefined when the stack has no such resource
   */
  async stackResource(stackId, logicalId) {
    try {
      const out = await this.send(this.cloudFormation(), new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }));
      return out.StackResourceDetail;
    } catch (e) {
      // CloudFormation answers a resource it does not know with a ValidationError.
      if (isError(e, 'ValidationError') && /does not exist/i.test(String(/** @type {Error} */ (e).message))) return undefined;
      throw new UserFacingError(explainAwsError(e, `describing resource ${logicalId} of stack ${stackId}`));
    }
  }

  /**
   * When CloudFormation last created or updated this handler function (its
   * LastUpdatedTimestamp): a deployment of this library's code. Values
   * written before it may come from an earlier version of the handler.
   * @returns {Promise<number | undefined>} undefined when the function's record is not known
   */
  handlerUpdatedAt() {
    const self = this.options.self;
    if (!self?.stackId || !self.functionLogicalId) return Promise.resolve(undefined);
    this.updatedAt ??= this.stackResource(self.stackId, self.functionLogicalId)
      .then((r) => (r?.LastUpdatedTimestamp ? new Date(r.LastUpdatedTimestamp).getTime() : undefined));
    return this.updatedAt;
  }

  /**
   * Who created each key of `userName` that CloudTrail shows a CreateAccessKey
   * event for in the window (key-origin.js): this handler's role (`ours`) or
   * anyone else. A key it shows no event for is not in the map. Nothing is
   * taken for ours when the function does not know its role
   * (SES_SMTP_ROLE_ARN).
   * @param {string} userName
   * @param {{ from: number, to: number }} window epoch ms
   * @returns {Promise<Map<string, { ours: boolean }>>}
   */
  async keyCreations(userName, { from, to }) {
    const roleArn = this.options.self?.roleArn;
    const client = this.options.cloudtrail;
    /** @type {Map<string, { ours: boolean }>} */
    const seen = new Map();
    if (!client) return seen;
    /** @type {string | undefined} */
    let NextToken;
    for (let page = 0; page < MAX_TRAIL_PAGES; page++) {
      let out;
      try {
        out = await this.send(client, new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateAccessKey' }],
          StartTime: new Date(from), EndTime: new Date(to), MaxResults: 50, NextToken,
        }));
      } catch (e) {
        throw new UserFacingError(explainAwsError(e, `looking up in CloudTrail who created access keys of IAM user '${userName}'`));
      }
      for (const event of out.Events ?? []) {
        const created = keyCreationOf(event.CloudTrailEvent, userName);
        if (created) seen.set(created.accessKeyId, { ours: roleArn !== undefined && created.roleArn === roleArn });
      }
      NextToken = out.NextToken;
      if (!NextToken) break;
    }
    return seen;
  }

  /** @returns {{ send: Function }} */
  cloudFormation() {
    if (!this.options.cloudformation) throw new UserFacingError('this handler was built without a CloudFormation client, so it cannot check who sent a request');
    return this.options.cloudformation;
  }

  /**
   * Moves (or with no target, removes) a staging label.
   * @param {string} secretArn
   * @param {string} stage
   * @param {{ moveTo?: string, removeFrom?: string }} versions
   */
  async moveStage(secretArn, stage, { moveTo, removeFrom }) {
    try {
      await this.send(this.secrets, new UpdateSecretVersionStageCommand({
        SecretId: secretArn, VersionStage: stage, MoveToVersionId: moveTo, RemoveFromVersionId: removeFrom,
      }));
    } catch (e) {
      throw new UserFacingError(explainAwsError(e, `moving staging label ${stage} of secret ${secretArn}`));
    }
  }
}

/** How often an unanswered CreateAccessKey is looked for in CloudTrail again. */
const UNANSWERED_KEY_POLL_MS = 30_000;
/** Pages of CreateAccessKey events read at most for one window (50 each). */
const MAX_TRAIL_PAGES = 10;

/**
 * The key a CloudTrail record says was created for the user, and the role of
 * the session that created it, if it is such a record (only ids are read;
 * CloudTrail never records a key's secret).
 * @param {string | undefined} record the event's CloudTrailEvent JSON
 * @param {string} userName
 * @returns {{ accessKeyId: string, roleArn?: string } | undefined}
 */
function keyCreationOf(record, userName) {
  let doc;
  try {
    doc = JSON.parse(record ?? '');
  } catch {
    return undefined;
  }
  if (doc?.eventSource !== 'iam.amazonaws.com' || doc?.eventName !== 'CreateAccessKey') return undefined;
  if (String(doc?.requestParameters?.userName ?? '').toLowerCase() !== userName.toLowerCase()) return undefined;
  const id = doc?.responseElements?.accessKey?.accessKeyId;
  if (typeof id !== 'string') return undefined;
  const role = doc?.userIdentity?.sessionContext?.sessionIssuer?.arn;
  return { accessKeyId: id, ...(typeof role === 'string' ? { roleArn: role } : {}) };
}

/**
 * @param {Record<string, string[]> | undefined} stages
 * @param {string} label
 * @returns {string | undefined} the version id carrying the label
 */
function versionWithStage(stages, label) {
  return Object.entries(stages ?? {}).find(([, labels]) => labels.includes(label))?.[0];
}

module.exports = { AwsPort, versionWithStage, isError, isDefiniteRefusal, warn };
