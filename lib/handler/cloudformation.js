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
const http = require('node:http');
const https = require('node:https');
const { onCreate, onUpdate, onDelete } = require('./lifecycle');
const { UserFacingError, failedCreatePhysicalId } = require('./model');

/**
 * Time kept back from the Lambda timeout to undo work (a few calls of at most
 * 8 s each with the handler's client settings) and answer CloudFormation.
 */
const RESPONSE_MARGIN_MS = 30_000;
/** CloudFormation rejects response bodies over 4 KiB; keep the reason well under it. */
const MAX_REASON = 1500;

/**
 * @param {CloudFormationEvent} event
 * @param {LambdaContext} context
 * @param {(signal: AbortSignal) => AwsPort} portFor
 * @returns {Promise<CloudFormationResponse>} what was sent (tests read it; it holds no secret)
 */
async function handleCloudFormationEvent(event, context, portFor) {
  const budget = Math.max(1_000, context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), budget);
  /** @type {CloudFormationResponse} */
  let response;
  try {
    const aws = portFor(controller.signal);
    const outcome = await run(event, aws);
    response = reply(event, 'SUCCESS', outcome.physicalResourceId, undefined, outcome.data);
  } catch (e) {
    const reason = controller.signal.aborted
      ? `Timed out after ${Math.round(budget / 1000)} s (${describe(e)}); whatever this request had created was undone.`
      : describe(e);
    response = reply(event, 'FAILED', physicalIdAfterFailure(event), reason);
  } finally {
    clearTimeout(timer);
  }
  console.log(JSON.stringify({
    requestType: event.RequestType, logicalResourceId: event.LogicalResourceId,
    physicalResourceId: response.PhysicalResourceId, status: response.Status, reason: response.Reason,
  }));
  try {
    await send(event.ResponseURL, response, context);
  } catch (e) {
    console.error(JSON.stringify({ level: 'ERROR', message: `could not answer CloudFormation: ${describe(e)}` }));
  }
  return response;
}

/** @param {CloudFormationEvent} event @param {AwsPort} aws */
function run(event, aws) {
  switch (event.RequestType) {
    case 'Create': return onCreate(event.ResourceProperties, aws, event.RequestId);
    case 'Update': return onUpdate(event.ResourceProperties, String(event.PhysicalResourceId), aws, event.RequestId);
    case 'Delete': return onDelete(event.ResourceProperties, String(event.PhysicalResourceId), aws);
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
 * Only our own messages and AWS error names reach CloudFormation, never a stack trace or a value.
 * @param {unknown} e
 */
function describe(e) {
  if (e instanceof UserFacingError) return e.message;
  const err = /** @type {{ name?: string, message?: string }} */ (e ?? {});
  return `${err.name ?? 'Error'}: ${err.message ?? 'unexpected failure'}`;
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
  if (reason) response.Reason = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
  if (data && Object.keys(data).length > 0) response.Data = data;
  return response;
}

/**
 * PUTs the response to the pre-signed URL, retrying transient failures for as
 * long as the Lambda has time left.
 * @param {string} url
 * @param {CloudFormationResponse} response
 * @param {LambdaContext} context
 */
async function send(url, response, context, attempts = 3) {
  const body = JSON.stringify(response);
  for (let attempt = 1; ; attempt++) {
    const timeLeft = context.getRemainingTimeInMillis() - 1_000;
    try {
      await put(url, body, Math.max(1_000, Math.min(10_000, timeLeft)));
      return;
    } catch (e) {
      if (attempt >= attempts || timeLeft < 3_000) throw e;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/** @param {string} url @param {string} body @param {number} timeoutMs @returns {Promise<void>} */
function put(url, body, timeoutMs) {
  const target = new URL(url);
  const transport = target.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const request = transport.request(target, {
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

module.exports = { handleCloudFormationEvent, describe, RESPONSE_MARGIN_MS };
