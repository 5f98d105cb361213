// @ts-check
'use strict';
/**
 * The two deadlines of one invocation: forward progress stops early enough
 * to undo what was made, and undoing stops early enough to answer.
 *
 * @typedef {{ getRemainingTimeInMillis(): number }} LambdaContext
 */
const { REAL_CLOCK } = require('./clock');

/** Forward progress stops at least this long before the Lambda's deadline. */
const RESPONSE_MARGIN_MS = 30_000;
/**
 * …and, in a long invocation, this share of its lifetime before it: undoing
 * meets the same IAM throttling as the work did (every call retried until the
 * undo deadline), so a 15-minute run keeps 3 minutes for it, a 2-minute run 30 s.
 */
const UNDO_SHARE = 0.2;
/** Undoing stops this long before the deadline, so the answer always has time to go out. */
const ANSWER_MARGIN_MS = 8_000;

/**
 * Starts both timers; call stop() when the work is done.
 * @param {LambdaContext} context
 * @param {import('./clock').Clock} [clock]
 * @returns {{ remaining: number, budget: number, work: AbortSignal, undo: AbortSignal, stop(): void }}
 *   remaining: the invocation's time left at the start (its lifetime); budget: ms until `work` aborts
 */
function startDeadlines(context, clock = REAL_CLOCK) {
  const remaining = context.getRemainingTimeInMillis();
  const budget = Math.max(1_000, remaining - Math.max(RESPONSE_MARGIN_MS, Math.round(remaining * UNDO_SHARE)));
  const work = new AbortController();
  const undo = new AbortController();
  const timers = [
    clock.timer(() => work.abort(), budget),
    clock.timer(() => undo.abort(), Math.max(budget, remaining - ANSWER_MARGIN_MS)),
  ];
  return { remaining, budget, work: work.signal, undo: undo.signal, stop: () => timers.forEach((cancel) => cancel()) };
}

module.exports = { startDeadlines, RESPONSE_MARGIN_MS, ANSWER_MARGIN_MS, UNDO_SHARE };
