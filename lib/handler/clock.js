// @ts-check
'use strict';
/**
 * Time as the handler sees it. In Lambda it is the real clock; the lifecycle
 * simulation (test/support/sim/) hands the handler a virtual one, so that
 * deadlines, backoff and "has that delivery outlived its Lambda?" play out
 * in the order its scheduler chooses, without waiting in real time.
 *
 * @typedef {{
 *   now(): number,
 *   sleep(ms: number, signal?: AbortSignal): Promise<void>,
 *   timer(fire: () => void, ms: number): () => void,
 * }} Clock
 *   now: epoch milliseconds; sleep: a pause that ends early (without an error) when the signal fires;
 *   timer: calls `fire` once after `ms`, returns what cancels it
 */
const { pause } = require('./retry');

/** @type {Clock} */
const REAL_CLOCK = Object.freeze({
  now: () => Date.now(),
  sleep: pause,
  timer: (fire, ms) => {
    const handle = setTimeout(fire, ms);
    return () => clearTimeout(handle);
  },
});

module.exports = { REAL_CLOCK };
