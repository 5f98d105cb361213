// @ts-check
'use strict';
/**
 * CloudFormation custom resource plumbing: run the lifecycle step under a
 * deadline, then always answer the pre-signed ResponseURL. Nothing here may
 * throw to Lambda: an unanswered request keeps a stack waiting for an hour,
 * and Lambda's retry of a failed async invocation would issue a second key.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{
 *   RequestType: 'Create' | 'Update' | 'Delete', ResponseURL: string, StackId: string, RequestId: string,
 *   LogicalResourceId: string, PhysicalResourceId?: string, ResourceType?: string,
 *   ResourceProperties?: unknown, OldResourceProperties?: unknown,
 * }} CloudFormationEvent
 * @typedef {{ getRemainingTimeInMillis(): number }} LambdaContext
 * @typedef {{ Status: 'SUCCESS' | 'FAILED', Reason?: string, PhysicalResourceId: string, StackId: string, RequestId: string, LogicalResourceId: string, Data?: Record<string, string> }} CloudFormationResponse
 */
const https = require('node:https');
const { onCreate, onUpdate, onDelete, settleEnded } = require('./lifecycle');
const { UserFacingError, failedCreatePhysicalId, quotableMessage } = require('./model');
const { Refused, isCloudFormationResponseUrl, verifyCloudFormationRequest } = require('./authority');
const { warn } = require('./aws');
const { startDeadlines, RESPONSE_MARGIN_MS } = require('./deadline');
const { REAL_CLOCK } = require('./clock');

/** CloudFormation rejects response bodies over 4096 bytes. */
const MAX_BODY_BYTES = 4096;
/** Reasons are kept short for people; the byte limit is enforced separately. */
const MAX_REASON = 1500;

/**
 * @param {CloudFormationEvent} event
 * @param {LambdaContext} context
 * @param {(signal: AbortSignal, undoSignal: AbortSignal) => AwsPort} portFor
 * @param {import('./authority').Self} self the function's own stack, owner tag key and region
 * @param {{ clock?: import('./clock').Clock }} [options] clock: the time the handler goes by (real in Lambda)
 * @returns {Promise<(CloudFormationResponse & { settleLater?: string }) | undefined>} what was sent (tests read it; it holds
 *   no secret), with settleLater when something is left to settle that Lambda's retry of this event can finish (the
 *   entry point then fails the invocation, after the answer); undefined when nothing was sent: the ResponseURL is not
 *   CloudFormation's, or the request's operation had ended and only what it left was settled
 */
async function handleCloudFormationEvent(event, context, portFor, self, { clock = REAL_CLOCK } = {}) {
  if (!isCloudFormationResponseUrl(event.ResponseURL, self.region)) {
    const why = `its ResponseURL (host ${hostOf(event.ResponseURL)}) is not an https URL of CloudFormation's response bucket in ${String(self.region)}`;
    if (self.verification !== 'AUDIT' || !String(event.ResponseURL).startsWith('https://')) {
      // Not sent by CloudFormation: no work, and no request to wherever it points.
      warn(`refused a ${String(event.RequestType)} request for ${String(event.LogicalResourceId)}: ${why}; nothing was changed and no answer was sent. If CloudFormation did send it (a response bucket host this handler does not know), requestVerification: RequestVerification.AUDIT lets it through while you report it (docs/security.md, "Audit mode")`);
      return undefined;
    }
    warn(`requestVerification AUDIT: acting on a ${String(event.RequestType)} request for ${String(event.LogicalResourceId)} although ${why}. Report this (docs/security.md, "Audit mode")`);
  }
  const deadlines = startDeadlines(context, clock);
  /** @type {CloudFormationResponse} */
  let response;
  /** @type {string | undefined} */
  let settleLater;
  const aws = portFor(deadlines.work, deadlines.undo);
  try {
    const verified = await verifyCloudFormationRequest(event, self, aws);
    if (verified.mode === 'settle') {
      // CloudFormation ended this operation: no answer is waited for; finish what it left.
      const pending = await settleEnded(event.RequestType, verified.properties, String(event.PhysicalResourceId), aws, delivery(event, verified, self, deadlines.remaining));
      const left = pending.map((p) => p.why).join('; ');
      console.log(JSON.stringify({ requestType: event.RequestType, logicalResourceId: event.LogicalResourceId, settled: pending.length === 0, ...(left ? { pending: left } : {}) }));
      return left ? { settleLater: left, Status: 'SUCCESS', PhysicalResourceId: String(event.PhysicalResourceId), StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId } : undefined;
    }
    const outcome = await run(event, verified, aws, deadlines.remaining, self);
    response = reply(event, 'SUCCESS', outcome.physicalResourceId, undefined, outcome.data);
    if (outcome.pending && outcome.pending.length > 0) settleLater = outcome.pending.map((p) => p.why).join('; ');
  } catch (e) {
    if (e instanceof Refused) warn(`${String(event.RequestType)} of ${String(event.LogicalResourceId)}: ${e.message}`);
    const timedOut = deadlines.work.aborted;
    const what = timedOut ? `Timed out after ${Math.round(deadlines.budget / 1000)} s (${describe(e)}).` : describe(e);
    response = reply(event, 'FAILED', physicalIdAfterFailure(event), `${what}${e instanceof Refused ? '' : undoneSentence(aws.leftovers, timedOut)}`);
  } finally {
    deadlines.stop();
  }
  console.log(JSON.stringify({
    requestType: event.RequestType, logicalResourceId: event.LogicalResourceId,
    physicalResourceId: response.PhysicalResourceId, status: response.Status, reason: response.Reason,
  }));
  try {
    await send(event.ResponseURL, response, context, clock);
  } catch (e) {
    console.error(JSON.stringify({ level: 'ERROR', message: `could not answer CloudFormation: ${describe(e)}` }));
  }
  return settleLater ? { ...response, settleLater } : response;
}

/**
 * What the lifecycle functions know of the delivery: the operation (from
 * CloudFormation's log), the one before it, this invocation's lifetime, and
 * the function's own stack and the resource's logical id.
 * @param {CloudFormationEvent} event
 * @param {import('./authority').VerifiedRequest} verified
 * @param {import('./authority').Self} self
 * @param {number} lifetimeMs
 */
function delivery(event, verified, self, lifetimeMs) {
  return {
    operationId: verified.operationId, previous: verified.previous, lifetimeMs, self, logicalId: event.LogicalResourceId,
    resourceGoes: verified.resourceGoes, holds: verified.holds,
  };
}

/** @param {unknown} url the host of a URL, for a log line (never the URL: a pre-signed one is a credential) */
function hostOf(url) {
  try {
    return new URL(String(url)).host || 'none';
  } catch {
    return 'none (not a URL)';
  }
}

/**
 * What a failed request left behind, named with the command that removes it,
 * or (after a timeout) that nothing was left. Never claims more than was done.
 * @param {import('./aws').Leftover[]} leftovers
 * @param {boolean} timedOut
 */
function undoneSentence(leftovers, timedOut) {
  if (leftovers.length === 0) return timedOut ? ' Whatever this request had created was undone.' : '';
  const items = leftovers.map((left) => {
    if (left.kind === 'secret') return `secret ${left.secretArn} may still hold the new credentials as AWSCURRENT (aws secretsmanager describe-secret --secret-id ${left.secretArn})`;
    return left.accessKeyId
      ? `access key ${left.accessKeyId} of IAM user '${left.userName}' still exists (aws iam delete-access-key --user-name ${left.userName} --access-key-id ${left.accessKeyId})`
      : `IAM user '${left.userName}' may hold a key this request created (aws iam list-access-keys --user-name ${left.userName})`;
  });
  return ` Not undone: ${items.join('; ')}.`;
}

/**
 * @param {CloudFormationEvent} event
 * @param {import('./authority').VerifiedRequest} verified what the check against CloudFormation's record returned
 * @param {AwsPort} aws
 * @param {number} lifetimeMs how long this invocation may run (the Lambda's timeout), for telling a dead delivery from a running one
 * @param {import('./authority').Self} self
 */
function run(event, verified, aws, lifetimeMs, self) {
  // Every delivery during one operation writes under ids derived from the operation, not from its own RequestId.
  const context = delivery(event, verified, self, lifetimeMs);
  switch (event.RequestType) {
    case 'Create': return onCreate(verified.properties, aws, context);
    case 'Update': return onUpdate(verified.properties, String(event.PhysicalResourceId), aws, context);
    case 'Delete': return onDelete(verified.properties, String(event.PhysicalResourceId), aws, context);
    default: throw new UserFacingError(`unknown RequestType '${String(/** @type {{RequestType?: unknown}} */ (event).RequestType)}'`);
  }
}

/**
 * A failed Update or Delete keeps its id; a failed Create gets one that names no key.
 * @param {CloudFormationEvent} event
 */
function physicalIdAfterFailure(event) {
  return event.RequestType === 'Create' || !event.PhysicalResourceId
    ? failedCreatePhysicalId(event.RequestId)
    : event.PhysicalResourceId;
}

/**
 * Only our own messages, AWS error names and messages AWS wrote reach
 * CloudFormation, never a stack trace or a value.
 * @param {unknown} e
 */
function describe(e) {
  if (e instanceof UserFacingError) return e.message;
  const err = /** @type {{ name?: string, message?: string }} */ (e ?? {});
  return `${err.name ?? 'Error'}: ${quotableMessage(e) ? err.message : 'unexpected failure (details withheld: they may quote a response)'}`;
}

/**
 * @param {CloudFormationEvent} event
 * @param {'SUCCESS' | 'FAILED'} status
 * @param {string} physicalResourceId
 * @param {string} [reason]
 * @param {Record<string, string>} [data]
 * @returns {CloudFormationResponse}
 */
function reply(event, status, physicalResourceId, reason, data) {
  /** @type {CloudFormationResponse} */
  const response = {
    Status: status,
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  if (data && Object.keys(data).length > 0) response.Data = data;
  if (reason) response.Reason = fitReason(response, reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason);
  return response;
}

/**
 * Shortens the reason until the whole body is within CloudFormation's 4096
 * bytes, counted in UTF-8 bytes after JSON escaping, never splitting a character.
 * @param {CloudFormationResponse} response
 * @param {string} reason
 */
function fitReason(response, reason) {
  let chars = Array.from(reason);
  for (;;) {
    const candidate = chars.join('');
    const excess = Buffer.byteLength(JSON.stringify({ ...response, Reason: candidate })) - MAX_BODY_BYTES;
    if (excess <= 0) return candidate;
    if (chars.length <= 1) return '';
    chars = [...chars.slice(0, Math.max(0, chars.length - excess - 1)), '…'];
  }
}

/**
 * PUTs the response to the pre-signed URL, retrying transient failures for as
 * long as the Lambda has time left.
 * @param {string} url
 * @param {CloudFormationResponse} response
 * @param {LambdaContext} context
 * @param {import('./clock').Clock} clock
 */
async function send(url, response, context, clock, attempts = 3) {
  const body = JSON.stringify(response);
  for (let attempt = 1; ; attempt++) {
    const timeLeft = context.getRemainingTimeInMillis() - 1_000;
    try {
      await put(url, body, Math.max(1_000, Math.min(10_000, timeLeft)));
      return;
    } catch (e) {
      if (attempt >= attempts || timeLeft < 3_000) throw e;
      await clock.sleep(500 * attempt);
    }
  }
}

/** @param {string} url @param {string} body @param {number} timeoutMs @returns {Promise<void>} */
function put(url, body, timeoutMs) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = https.request(target, {
      method: 'PUT',
      headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      timeout: timeoutMs,
    }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`ResponseURL answered HTTP ${res.statusCode}`))));
    });
    request.on('timeout', () => request.destroy(new Error(`ResponseURL did not answer in ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

module.exports = { handleCloudFormationEvent, describe, RESPONSE_MARGIN_MS, MAX_BODY_BYTES };
