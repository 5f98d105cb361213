// @ts-check
'use strict';
/**
 * Who may make the handler act. Anyone with lambda:InvokeFunction can hand the
 * function any event, so no event field is believed. Before any work function
 * runs, each kind of event is checked against the service that owns the record,
 * and the work functions get only what was verified:
 *
 * - CloudFormation requests: the StackId is the function's own stack (from its
 *   configuration), and CloudFormation's own log of that stack shows this very
 *   operation in progress: the resource type, the status that goes with the
 *   request type, the physical id, and the properties CloudFormation sent.
 *   A Delete's properties must also be the ones its physical id was issued
 *   for (the fingerprint in the id).
 * - Rotation steps: Secrets Manager reports rotation enabled with this function,
 *   the token's version staged AWSPENDING, and a secret that CloudFormation
 *   created in this stack (its reserved aws:cloudformation tags, which nobody
 *   can write). What the rotation may touch is that secret's template Metadata,
 *   read back through CloudFormation.
 * - Key-source syncs: the event names only a resource; what it may touch is
 *   that custom resource's template Metadata, bound by the fingerprint in the
 *   physical id it issued. A forged sync can only cause what a real one does.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {import('./model').Request} Request
 * @typedef {{ stackId: string, ownerTagKey?: string, functionName?: string, region?: string, functionLogicalId?: string, roleArn?: string, verification?: 'ENFORCE' | 'AUDIT' }} Self
 *   verification: RequestVerification of the construct (SES_SMTP_REQUEST_VERIFICATION): AUDIT logs what the checks of
 *   CloudFormation's records would refuse, and acts
 *   the function's own configuration: its stack, its stack's owner tag key, its name, its region, its logical id, its role
 */
const { UserFacingError, fingerprint, parsePhysicalId, parseRequest } = require('./model');
const { readOperations, operationIdOf, loggedProperties, outcomeOf, uuidOf } = require('./stack-log');
const { StackEventCache } = require('./event-cache');
const { warn } = require('./log');
const { REGISTRATION_METADATA_KEY, STACK_ID_TAG, LOGICAL_ID_TAG, CUSTOM_RESOURCE_TYPE } = require('./tags');
const { responseBucketHosts } = require('./partitions');

const SECRET_TYPE = 'AWS::SecretsManager::Secret';
/** How CloudFormation's log names this resource's type: its own, or, for a cleanup phase's Delete, the generic one. */
const CUSTOM_RESOURCE_TYPES = [CUSTOM_RESOURCE_TYPE, 'AWS::CloudFormation::CustomResource'];
/** The status CloudFormation logs for a resource before it sends each request type. */
const IN_PROGRESS = Object.freeze({ Create: 'CREATE_IN_PROGRESS', Update: 'UPDATE_IN_PROGRESS', Delete: 'DELETE_IN_PROGRESS' });
/**
 * The properties the handler acts on (lib/contract.ts). CloudFormation's own
 * (ServiceToken, ServiceTimeout) are left out of the comparison: how it logs
 * those is not the handler's concern.
 */
const CONTRACT_FIELDS = ['UserName', 'Targets', 'Serial', 'Source', 'OwnerTag'];
/** A just-logged event may take a moment to show in DescribeStackEvents. */
const RECORD_LAG_RETRY_MS = [1_000, 2_000];
/**
 * How long after CloudFormation last touched a resource a delivery for it may
 * still arrive: Lambda retries an invocation that failed after 1 and 2
 * minutes (asynchronous invocation), and each run lasts up to 15 minutes.
 */
const RECENT_MS = 20 * 60_000;

/** A request that CloudFormation or Secrets Manager did not send, or that does not match their record. */
class Refused extends UserFacingError {
  /** @param {string} message */
  constructor(message) {
    super(`Refused: ${message}. Nothing was changed.`);
    this.name = 'Refused';
  }
}

/** @param {NodeJS.ProcessEnv} [env] */
function selfFromEnvironment(env = process.env) {
  return {
    stackId: env.SES_SMTP_STACK_ID ?? '',
    ownerTagKey: env.SES_SMTP_OWNER_TAG_KEY,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    region: env.AWS_REGION,
    functionLogicalId: env.SES_SMTP_FUNCTION_LOGICAL_ID,
    roleArn: env.SES_SMTP_ROLE_ARN,
    verification: env.SES_SMTP_REQUEST_VERIFICATION === 'AUDIT' ? /** @type {const} */ ('AUDIT') : /** @type {const} */ ('ENFORCE'),
  };
}

/**
 * What an operator whose account's CloudFormation logs differently from
 * every source this handler was built on can do, named in every refusal
 * that rests on CloudFormation's log or records.
 */
const AUDIT_HINT = 'If CloudFormation did send this request and this account logs it differently, set requestVerification: '
  + 'RequestVerification.AUDIT on the SesSmtpUsers of this stack, deploy, and report the WARN lines it logs (docs/security.md, "Audit mode")';

/**
 * A check of CloudFormation's records failed. Under
 * RequestVerification.ENFORCE (the default) that is a refusal; under AUDIT
 * the handler logs what it would have refused, as a WARN line, and acts.
 * @param {Self} self
 * @param {string} why
 */
function refuseOrAudit(self, why) {
  if (self.verification !== 'AUDIT') throw new Refused(`${why}. ${AUDIT_HINT}`);
  warn(`requestVerification AUDIT: acting on a request the check of CloudFormation's records would refuse: ${why}. Report this (docs/security.md, "Audit mode")`);
}

/**
 * Whether a ResponseURL is a pre-signed https URL of CloudFormation's response
 * bucket in the function's own region, under one of the host names S3 gives
 * that bucket in the region's partition (partitions.js, responseBucketHosts:
 * every partition the SDK's partition data knows). Anything else gets no
 * request at all.
 * @param {unknown} url
 * @param {string | undefined} region the function's region
 */
function isCloudFormationResponseUrl(url, region) {
  if (typeof url !== 'string') return false;
  let target;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.protocol !== 'https:' || target.port !== '' || target.username !== '' || target.password !== '') return false;
  return responseBucketHosts(region).includes(target.hostname);
}

/**
 * What the check of a CloudFormation request hands the work: nothing from the
 * event that CloudFormation's log did not vouch for.
 * @typedef {{
 *   mode: 'act' | 'settle',
 *   operationId: string,
 *   properties: unknown,
 *   previous?: { operationId: string, outcome: 'in-progress' | 'complete' | 'failed', physicalId: string, action: string, properties: unknown },
 *   resourceGoes?: boolean,
 *   holds?: string,
 * }} VerifiedRequest
 *   mode: act, the operation is in progress; settle, it ended (a late delivery: Lambda's retry): only
 *   finish what it left, never issue. properties: what to act on (undefined: a Delete acts on its physical
 *   id alone). previous: the resource's operation before this one, when the log shows it close by.
 *   For a Delete, what the log already says of it, so that CloudFormation's record of the resource need
 *   not be read: resourceGoes, the stack itself is being deleted (the stack's own DELETE_IN_PROGRESS
 *   "User Initiated" begins the stack operation this Delete is part of); holds, the physical id the
 *   resource's update just before this Delete completed with, when it is another id (a cleanup).
 */

/**
 * Checks a CloudFormation request against CloudFormation's own record of the
 * stack before anything is done for it.
 *
 * Everything the work needs comes back from here, not from the event: the
 * properties (for a Delete, only when they are the ones its physical id was
 * issued for, or the ones the operation it rolls back was sent) and the
 * operation's id. That id, not the event's RequestId, keys the journal every
 * delivery writes (journal.js): it is derived from the event CloudFormation
 * logged when the operation began, so every delivery that reaches the
 * handler while that operation runs, however made up its RequestId, counts
 * as the same request and issues nothing of its own.
 *
 * A request whose operation CloudFormation has already ended (a delivery
 * Lambda retried after the answer, or one that ran too late) is handed on
 * to settle what that operation left, never to issue.
 * @param {import('./cloudformation').CloudFormationEvent} event
 * @param {Self} self
 * @param {AwsPort} aws
 * @returns {Promise<VerifiedRequest>}
 */
async function verifyCloudFormationRequest(event, self, aws) {
  if (!self.stackId) throw new Refused('the function has no SES_SMTP_STACK_ID in its configuration, so it cannot tell its own stack');
  if (event.StackId !== self.stackId) throw new Refused(`the request names stack ${String(event.StackId)}, not this function's stack ${self.stackId}`);
  const expected = IN_PROGRESS[event.RequestType];
  if (!expected) throw new Refused(`unknown RequestType '${String(event.RequestType)}'`);
  if (typeof event.LogicalResourceId !== 'string' || event.LogicalResourceId.length === 0) throw new Refused('the request names no LogicalResourceId');
  assertOwnerTag(event.ResourceProperties, self);

  const logicalId = event.LogicalResourceId;
  // What this container read of the log before; the lag retries below read only what is newer.
  const cache = aws.options.eventCache ?? new StackEventCache();
  const worthReading = () => resourceMayBeInFlight(self.stackId, logicalId, aws);
  for (let attempt = 0; ; attempt++) {
    const { current, previous, stopped, stackAction } = await readOperations(self.stackId, logicalId, aws, {
      predecessor: event.RequestType !== 'Create', cache, worthReading: attempt === 0 ? worthReading : undefined,
      // A Delete of an id the handler never issued gets its properties only from the operation before it.
      pastStackStart: event.RequestType === 'Delete' && !parsePhysicalId(String(event.PhysicalResourceId)),
    });
    if (stopped) {
      refuseOrAudit(self, `CloudFormation is not working on ${logicalId} of stack ${self.stackId}: the stack has no such resource, or none of its operations ran in the last ${Math.round(RECENT_MS / 60_000)} minutes`);
      return unverified(event, self);
    }
    const mismatch = describeMismatch(event, expected, current);
    const idOf = (/** @type {import('./stack-log').LoggedOperation} */ op) => operationIdOf(self.stackId, logicalId, op);
    const before = previous && {
      operationId: idOf(previous), outcome: outcomeOf(previous), physicalId: previous.physicalId, action: previous.action, properties: loggedProperties(previous),
    };
    if (!mismatch && current) {
      return {
        mode: 'act', operationId: idOf(current), properties: propertiesToActOn(event, before?.properties), previous: before,
        ...(event.RequestType === 'Delete' ? deleteContext(event, previous, stackAction) : {}),
      };
    }
    // The operation ended: a late delivery of it may only finish what it left.
    const ended = [current, previous].find((op) => op?.end && !describeMismatch(event, expected, { ...op, end: undefined }));
    if (ended) {
      return { mode: 'settle', operationId: idOf(ended), properties: propertiesToActOn(event, ended === current ? before?.properties : undefined) };
    }
    const pause = RECORD_LAG_RETRY_MS[attempt];
    if (pause === undefined || aws.signal?.aborted) {
      refuseOrAudit(self, String(mismatch));
      return unverified(event, self);
    }
    await aws.sleep(pause);
  }
}

/**
 * What CloudFormation's log says of a Delete it is working on: whether the
 * whole stack goes, or which physical id an update just before it left the
 * resource with (the Delete then cleans up the id it replaced).
 * @param {import('./cloudformation').CloudFormationEvent} event a Delete whose operation the log shows in progress (for its physical id)
 * @param {import('./stack-log').LoggedOperation | undefined} previous
 * @param {string | undefined} stackAction
 * @returns {{ resourceGoes?: boolean, holds?: string }}
 */
function deleteContext(event, previous, stackAction) {
  if (stackAction === 'DELETE') return { resourceGoes: true };
  const end = previous?.action === 'UPDATE' ? previous.end : undefined;
  const held = end && String(end.ResourceStatus) === 'UPDATE_COMPLETE' ? end.PhysicalResourceId : undefined;
  return held && held !== event.PhysicalResourceId ? { holds: held } : {};
}

/**
 * Under audit: what the request itself says, with an operation id of its
 * own RequestId (its copies share it; a made-up copy with another RequestId
 * is an operation of its own, which is what audit mode gives up).
 * @param {import('./cloudformation').CloudFormationEvent} event
 * @param {Self} self
 * @returns {VerifiedRequest}
 */
function unverified(event, self) {
  return { mode: 'act', operationId: uuidOf(`${self.stackId}|${String(event.LogicalResourceId)}|request|${String(event.RequestId)}`), properties: event.ResourceProperties };
}

/**
 * Whether CloudFormation is working on the resource, or was lately (a late
 * delivery of an operation that ended may still settle what it left): one
 * DescribeStackResource, asked only when the newest page of the stack's
 * events shows nothing of the resource, so that a made-up request costs two
 * reads instead of the whole recent log.
 * @param {string} stackId
 * @param {string} logicalId
 * @param {AwsPort} aws
 */
async function resourceMayBeInFlight(stackId, logicalId, aws) {
  const resource = await aws.stackResource(stackId, logicalId);
  if (!resource) return false;
  if (/_IN_PROGRESS$/.test(String(resource.ResourceStatus))) return true;
  const updated = resource.LastUpdatedTimestamp ? new Date(resource.LastUpdatedTimestamp).getTime() : undefined;
  return updated === undefined || aws.now() - updated < RECENT_MS;
}

/**
 * What in CloudFormation's record of the resource's newest operation does not
 * match the request, or undefined when it matches.
 * @param {import('./cloudformation').CloudFormationEvent} event
 * @param {string} expected
 * @param {import('./stack-log').LoggedOperation | undefined} operation
 */
function describeMismatch(event, expected, operation) {
  const resource = `resource ${event.LogicalResourceId} of stack ${event.StackId}`;
  const record = operation?.end ?? operation?.events[0];
  if (!operation || !record) return `CloudFormation's log shows no operation on ${resource}`;
  if (!CUSTOM_RESOURCE_TYPES.includes(String(record.ResourceType))) return `CloudFormation's log shows ${resource} as a ${String(record.ResourceType)}, not a ${CUSTOM_RESOURCE_TYPE}`;
  if (record.ResourceStatus !== expected) return `CloudFormation's log shows ${resource} as ${String(record.ResourceStatus)}, while a ${event.RequestType} needs ${expected}`;
  if (event.RequestType !== 'Create' && operation.physicalId !== event.PhysicalResourceId) {
    return `CloudFormation's log shows ${expected} for physical id ${String(operation.physicalId)} of ${resource}, not for ${String(event.PhysicalResourceId)}`;
  }
  // A Delete's properties are bound by its physical id instead (propertiesToActOn): which
  // properties CloudFormation logs with a cleanup's DELETE_IN_PROGRESS is not documented.
  if (event.RequestType !== 'Delete') {
    const recorded = loggedProperties(operation);
    if (recorded === undefined) return `CloudFormation's log of ${resource} holds no readable properties`;
    if (!sameProperties(contractOf(recorded), contractOf(event.ResourceProperties))) {
      return `the request's properties are not the ones CloudFormation logged for ${resource}`;
    }
  }
  return undefined;
}

/**
 * The contract fields of a resource's properties (absent ones left out).
 * @param {unknown} properties
 * @returns {Record<string, unknown>}
 */
function contractOf(properties) {
  const all = /** @type {Record<string, unknown>} */ (properties && typeof properties === 'object' ? properties : {});
  return Object.fromEntries(CONTRACT_FIELDS.filter((field) => all[field] !== undefined).map((field) => [field, all[field]]));
}

/**
 * CloudFormation passes custom resources every scalar as a string, while its
 * event log keeps the template's types; anything else must be equal.
 * @param {unknown} a
 * @param {unknown} b
 * @returns {boolean}
 */
function sameProperties(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameProperties(item, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i]
      && sameProperties(/** @type {Record<string, unknown>} */ (a)[k], /** @type {Record<string, unknown>} */ (b)[k]));
  }
  const scalar = (/** @type {unknown} */ v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v);
  return scalar(a) === scalar(b);
}

/**
 * The owner tag the handler sets is the stack's own, whatever a request says.
 * @param {unknown} properties
 * @param {Self} self
 */
function assertOwnerTag(properties, self) {
  const tag = /** @type {{ OwnerTag?: { Key?: unknown, Value?: unknown } } | undefined} */ (properties)?.OwnerTag;
  if (tag === undefined) return;
  if (tag?.Key !== self.ownerTagKey || tag?.Value !== self.stackId) {
    throw new Refused(`the request's OwnerTag is not this stack's (${String(self.ownerTagKey)} = ${self.stackId})`);
  }
}

/**
 * What a request may act on. A Create's or an Update's properties are the ones
 * CloudFormation logged (describeMismatch checked them). A Delete's are only
 * when they are the ones its physical id was issued for (the fingerprint in
 * the id), or, for an id this handler never issued (the one CloudFormation
 * made up for a Create that never answered, or a failed Create's), the ones
 * CloudFormation sent the operation it rolls back: then it settles what that
 * operation left. Otherwise a Delete acts on its physical id alone, and says so.
 * @param {import('./cloudformation').CloudFormationEvent} event
 * @param {unknown} previousProperties the properties CloudFormation logged for the resource's operation before this one
 * @returns {unknown} the properties to act on, or undefined
 */
function propertiesToActOn(event, previousProperties) {
  if (event.RequestType !== 'Delete') return event.ResourceProperties;
  const issued = parsePhysicalId(event.PhysicalResourceId);
  if (!issued) {
    return previousProperties !== undefined && sameProperties(contractOf(previousProperties), contractOf(event.ResourceProperties))
      ? event.ResourceProperties : undefined;
  }
  let request;
  try {
    request = parseRequest(event.ResourceProperties);
  } catch {
    return undefined; // unreadable properties: the Delete acts on the physical id alone
  }
  if (fingerprint(request) === issued.fingerprint) return event.ResourceProperties;
  warn(`Delete of ${String(event.LogicalResourceId)}: its properties are not the ones physical id ${String(event.PhysicalResourceId)} was issued for, so they are ignored; only the key that id names is deleted, and no secret is touched`);
  return undefined;
}

/**
 * Checks a rotation step with Secrets Manager and CloudFormation, and returns
 * what the rotation may touch.
 * @param {{ SecretId?: unknown, ClientRequestToken?: unknown }} event
 * @param {Self} self
 * @param {AwsPort} aws
 * @returns {Promise<{ request: Request, labels: string[] }>} the registration, and the token version's labels
 */
async function verifyRotation(event, self, aws) {
  const secretId = String(event.SecretId);
  const token = event.ClientRequestToken;
  if (typeof token !== 'string' || token.length === 0) throw new Refused('the rotation step has no ClientRequestToken');
  const described = await aws.describeSecret(secretId);
  if (!described?.arn) throw new Refused(`secret ${secretId} does not exist or is scheduled for deletion`);
  assertCreatedByStack(described, self);
  if (!described.rotationEnabled || functionNameOf(described.rotationLambdaArn) !== self.functionName) {
    throw new Refused(`Secrets Manager does not rotate secret ${described.arn} with this function (rotation ${described.rotationEnabled ? `uses ${String(described.rotationLambdaArn)}` : 'is off'})`);
  }
  const labels = described.stages[token];
  if (!labels) throw new Refused(`secret ${described.arn} has no version ${token}; Secrets Manager stages AWSPENDING on a rotation's token before it invokes any step`);
  const registration = await metadataOf(self.stackId, described.tags[LOGICAL_ID_TAG], SECRET_TYPE, described.arn, aws);
  if (!registration) throw new Refused(`secret ${described.arn} is not registered for rotation in its template Metadata`);
  const raw = /** @type {{ Targets?: Array<Record<string, unknown>>, Resource?: unknown }} */ (registration);
  let request;
  try {
    // The primary's own ARN cannot be in its Metadata (a reference to itself); it is the verified ARN.
    const { Resource: _resource, ...properties } = raw;
    request = parseRequest({ ...properties, Targets: (raw.Targets ?? []).map((t, i) => (i === 0 ? { ...t, SecretArn: described.arn } : t)) });
  } catch (e) {
    throw new Refused(`the rotation registration of ${described.arn} is not valid (${e instanceof Error ? e.message : 'unreadable'})`);
  }
  if (typeof raw.Resource === 'string') await assertResourceSettled(self, raw.Resource, request, aws);
  return { request, labels };
}

/**
 * A rotation acts for the custom resource the registration names, and only
 * while CloudFormation is not working on it and holds it for the same user:
 * during a deployment the secret's Metadata may already name the properties
 * being deployed, which CloudFormation may yet roll back.
 * @param {Self} self
 * @param {string} logicalId
 * @param {Request} request
 * @param {AwsPort} aws
 */
async function assertResourceSettled(self, logicalId, request, aws) {
  const resource = await aws.stackResource(self.stackId, logicalId);
  const status = String(resource?.ResourceStatus);
  // Gone (rolled back, deleted) is CloudFormation's last word, not a reading of its log that an account might
  // make differently: refused in AUDIT too, since no Delete will come for a key made now.
  if (!resource || status.startsWith('DELETE_')) {
    throw new Refused(`${logicalId} is ${resource ? status : 'not a resource of this stack'}; a rotation of a resource CloudFormation deleted never runs`);
  }
  if (!CUSTOM_RESOURCE_TYPES.includes(String(resource.ResourceType)) || !/^(CREATE|UPDATE)_COMPLETE$/.test(status)) {
    refuseOrAudit(self, `${logicalId} is ${status}; a rotation waits until CloudFormation has finished with it`);
    return;
  }
  const issued = parsePhysicalId(resource.PhysicalResourceId);
  if (!issued || issued.userName.toLowerCase() !== request.userName.toLowerCase()) {
    refuseOrAudit(self, `the rotation registration names IAM user '${request.userName}', but CloudFormation holds ${logicalId} as ${String(resource.PhysicalResourceId)}; a rotation waits until they agree`);
  }
}

/**
 * Checks a key-source sync against CloudFormation and returns what it may touch.
 * @param {{ SesSmtpSync?: { LogicalResourceId?: unknown } }} event
 * @param {Self} self
 * @param {AwsPort} aws
 * @returns {Promise<Request>}
 */
async function verifyKeySourceSync(event, self, aws) {
  const logicalId = event.SesSmtpSync?.LogicalResourceId;
  if (typeof logicalId !== 'string' || logicalId.length === 0) throw new Refused('the sync event names no LogicalResourceId');
  if (!self.stackId) throw new Refused('the function has no SES_SMTP_STACK_ID in its configuration');
  const resource = await aws.stackResource(self.stackId, logicalId);
  if (!resource || resource.ResourceType !== CUSTOM_RESOURCE_TYPE) throw new Refused(`stack ${self.stackId} has no ${CUSTOM_RESOURCE_TYPE} ${logicalId}`);
  if (resource.ResourceStatus !== 'CREATE_COMPLETE' && resource.ResourceStatus !== 'UPDATE_COMPLETE') {
    refuseOrAudit(self, `${logicalId} is ${String(resource.ResourceStatus)}; a sync waits until CloudFormation has finished with it`);
  }
  const registration = parseMetadata(resource.Metadata);
  let request;
  try {
    request = parseRequest(registration);
  } catch {
    throw new Refused(`${logicalId} has no valid key-source registration in its template Metadata`);
  }
  const issued = parsePhysicalId(resource.PhysicalResourceId);
  if (!request.source || issued?.mode !== 'source' || issued.fingerprint !== fingerprint(request)) {
    throw new Refused(`the key-source registration of ${logicalId} is not the one its physical id ${String(resource.PhysicalResourceId)} was issued for`);
  }
  return request;
}

/**
 * @param {import('./aws').DescribedSecret} described
 * @param {Self} self
 */
function assertCreatedByStack(described, self) {
  const stack = described.tags[STACK_ID_TAG];
  if (!self.stackId || stack !== self.stackId) {
    throw new Refused(`secret ${String(described.arn)} was not created by this function's stack ${self.stackId} (its ${STACK_ID_TAG} tag: ${stack ?? 'none'})`);
  }
}

/**
 * The registration in a resource's template Metadata, when CloudFormation
 * reports that resource with that type and physical id.
 * @param {string} stackId
 * @param {string | undefined} logicalId
 * @param {string} type
 * @param {string} physicalId
 * @param {AwsPort} aws
 */
async function metadataOf(stackId, logicalId, type, physicalId, aws) {
  if (!logicalId) return undefined;
  const resource = await aws.stackResource(stackId, logicalId);
  if (!resource || resource.ResourceType !== type || resource.PhysicalResourceId !== physicalId) return undefined;
  return parseMetadata(resource.Metadata);
}

/** @param {string | undefined} metadata @returns {unknown} */
function parseMetadata(metadata) {
  try {
    return JSON.parse(metadata ?? '{}')?.[REGISTRATION_METADATA_KEY];
  } catch {
    return undefined;
  }
}

/** @param {string | undefined} arn a Lambda function ARN, possibly qualified, or a name */
function functionNameOf(arn) {
  if (!arn) return undefined;
  const parts = arn.split(':');
  const at = parts.indexOf('function');
  return at >= 0 ? parts[at + 1] : arn;
}

module.exports = {
  Refused,
  refuseOrAudit,
  selfFromEnvironment,
  isCloudFormationResponseUrl,
  verifyCloudFormationRequest,
  verifyRotation,
  verifyKeySourceSync,
  sameProperties,
};
