// @ts-check
'use strict';
/**
 * Routes the three kinds of events the one handler function receives:
 * CloudFormation custom resource requests, Secrets Manager rotation steps,
 * and key-source changes from EventBridge.
 *
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {import('./cloudformation').LambdaContext} LambdaContext
 */
const { handleCloudFormationEvent, describe } = require('./cloudformation');
const { startDeadlines } = require('./deadline');
const { rotate, onKeySourceChanged } = require('./rotation');
const { selfFromEnvironment } = require('./authority');
const { REAL_CLOCK } = require('./clock');

/**
 * @param {(signal: AbortSignal, undoSignal: AbortSignal) => AwsPort} portFor
 * @param {import('./authority').Self} [self] the function's own configuration (its environment in Lambda)
 * @param {{ clock?: import('./clock').Clock }} [options] clock: the time the handler goes by (real in Lambda)
 * @returns {(event: any, context: LambdaContext) => Promise<void>}
 */
function createHandler(portFor, self = selfFromEnvironment(), { clock = REAL_CLOCK } = {}) {
  return async (event, context) => {
    if (event && typeof event.RequestType === 'string') {
      const sent = await handleCloudFormationEvent(event, context, portFor, self, { clock });
      // CloudFormation has its answer; what is left to settle, Lambda's retry of this event finishes.
      if (sent?.settleLater) throw new Error(`answered CloudFormation; left to settle, on Lambda's retry of this event: ${sent.settleLater}`);
      return;
    }
    if (event && typeof event.Step === 'string') {
      await logged({ rotationStep: event.Step, secretId: event.SecretId }, () => withDeadline(context, clock, (signal, undoSignal) => rotate(event, portFor(signal, undoSignal), self)));
      return;
    }
    if (event && event.SesSmtpSync) {
      await logged({ keySourceChanged: event.detail?.eventName ?? 'unknown' }, () => withDeadline(context, clock, (signal, undoSignal) => onKeySourceChanged(event, portFor(signal, undoSignal), self)));
      return;
    }
    throw new Error('unrecognised event: expected a CloudFormation request, a Secrets Manager rotation step or a SesSmtpSync event');
  };
}

/**
 * Runs work with an abort signal that fires while there is still time to undo
 * what it made, and a later one by which undoing must stop.
 * @template T
 * @param {LambdaContext} context
 * @param {import('./clock').Clock} clock
 * @param {(signal: AbortSignal, undoSignal: AbortSignal) => Promise<T>} work
 * @returns {Promise<T>}
 */
async function withDeadline(context, clock, work) {
  const deadlines = startDeadlines(context, clock);
  try {
    return await work(deadlines.work, deadlines.undo);
  } finally {
    deadlines.stop();
  }
}

/**
 * Runs a step and logs its outcome. A failure is re-thrown with only its safe
 * description, so Secrets Manager (or EventBridge) sees the step fail and retries.
 * @param {Record<string, unknown>} what
 * @param {() => Promise<unknown>} step
 */
async function logged(what, step) {
  try {
    const outcome = await step();
    console.log(JSON.stringify({ ...what, status: 'SUCCESS', ...(typeof outcome === 'string' ? { outcome } : {}) }));
  } catch (e) {
    const reason = describe(e);
    console.error(JSON.stringify({ ...what, status: 'FAILED', reason }));
    throw new Error(reason);
  }
}

module.exports = { createHandler };
