// @ts-check
'use strict';
/**
 * The one retry policy of every AWS call (AwsPort.send): exponential backoff
 * with full jitter (each pause uniform in [0, min(cap, base * 2^n))), so
 * instances throttled together do not retry in lockstep, for as long as the
 * deadline's AbortSignal allows, not a fixed number of times. Repeated:
 * - a parsed "slow down" answer: nothing was done, so any call, even
 *   CreateAccessKey;
 * - a 5xx or a lost connection: it may have taken effect, so idempotent calls
 *   only (the caller of CreateAccessKey reconciles instead);
 * - access denied, a few times (IAM propagates a new policy slowly);
 * - an answer the SDK could not parse (it carries the HTTP exchange's
 *   $metadata, but no parsed fault), a few times and for idempotent calls
 *   only: under load a service or the path to it can garble one answer.
 * Nothing else. Out of time, the last failure is thrown, so the Reason names it.
 */

/** Refusals that say "not now" rather than "no": nothing was done. */
const THROTTLED = ['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown'];
/** Connection-level failures Node reports: no answer arrived, the outcome is unknown. */
const NETWORK_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'];
/** The SDK's names for a request that got no answer in time. */
const TIMEOUT_NAMES = ['TimeoutError', 'RequestTimeout', 'RequestTimeoutException'];
const DENIED = ['AccessDenied', 'AccessDeniedException'];

/**
 * @typedef {'throttled' | 'ambiguous' | 'denied' | 'unparsable' | 'final'} FailureKind
 *   throttled: refused before acting; ambiguous: may have acted (5xx, no answer);
 *   denied: access denied; unparsable: an answer arrived that the SDK could not read;
 *   final: an answer that repeating will not change
 */

/**
 * @param {unknown} e
 * @returns {FailureKind}
 */
function classify(e) {
  const err = /** @type {{ name?: string, code?: string, $fault?: string, $metadata?: { httpStatusCode?: number }, $retryable?: { throttling?: boolean } }} */ (e ?? {});
  const name = err.name ?? '';
  if (THROTTLED.includes(name) || err.$retryable?.throttling) return 'throttled';
  if (DENIED.includes(name)) return 'denied';
  const status = err.$metadata?.httpStatusCode ?? 0;
  if (err.$fault === 'server' || status >= 500) return 'ambiguous';
  if (err.$fault === 'client') return 'final';
  if (NETWORK_CODES.includes(err.code ?? '') || TIMEOUT_NAMES.includes(name)) return 'ambiguous';
  if (err.$metadata !== undefined) return 'unparsable';
  return 'final';
}

/**
 * A pause that ends early (without an error) when the signal fires.
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
function pause(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * @typedef {{
 *   baseMs?: number, capMs?: number, deniedRetries?: number, deniedBaseMs?: number, unparsableRetries?: number, maxAttempts?: number,
 *   random?: () => number, sleep?: (ms: number, signal?: AbortSignal) => Promise<void>,
 * }} RetryOptions maxAttempts: optional (tests keep failure paths short with it); random, sleep: a fake clock
 */

class RetryPolicy {
  /** @param {RetryOptions} [options] */
  constructor(options = {}) {
    this.baseMs = options.baseMs ?? 250;
    this.capMs = options.capMs ?? 10_000;
    this.deniedRetries = options.deniedRetries ?? 3;
    this.deniedBaseMs = options.deniedBaseMs ?? 2_000;
    this.unparsableRetries = options.unparsableRetries ?? 3;
    this.maxAttempts = options.maxAttempts ?? Infinity;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? pause;
  }

  /**
   * The pause before retry number `retry` (0 for the first retry): full jitter.
   * @param {number} retry
   */
  backoff(retry) {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(retry, 30));
    return Math.floor(this.random() * ceiling);
  }

  /**
   * Whether to repeat after this failure, and after which pause.
   * @param {FailureKind} kind
   * @param {{ retries: number, denied: number, unparsable?: number, idempotent: boolean }} state
   * @returns {number | undefined} the pause in ms, or undefined to give up
   */
  nextPause(kind, { retries, denied, unparsable = 0, idempotent }) {
    if (retries + 1 >= this.maxAttempts) return undefined;
    if (kind === 'throttled' || (kind === 'ambiguous' && idempotent)) return this.backoff(retries);
    if (kind === 'denied' && denied < this.deniedRetries) return this.deniedBaseMs * 2 ** denied;
    if (kind === 'unparsable' && idempotent && unparsable < this.unparsableRetries) return this.backoff(retries);
    return undefined;
  }

  /**
   * Runs `attempt` until it succeeds, fails for good, or the signal fires.
   * @template T
   * @param {() => Promise<T>} attempt
   * @param {{ signal?: AbortSignal, idempotent?: boolean, deniedFinal?: boolean }} [options] idempotent: false for calls
   *   that must not be repeated after an ambiguous failure; deniedFinal: access denied is an answer, not IAM
   *   propagating a new policy
   * @returns {Promise<T>}
   */
  async run(attempt, { signal, idempotent = true, deniedFinal = false } = {}) {
    let retries = 0;
    let denied = 0;
    let unparsable = 0;
    for (;;) {
      try {
        return await attempt();
      } catch (e) {
        if (signal?.aborted) throw e;
        const kind = classify(e);
        const wait = kind === 'denied' && deniedFinal ? undefined : this.nextPause(kind, { retries, denied, unparsable, idempotent });
        if (wait === undefined) throw e;
        retries++;
        if (kind === 'denied') denied++;
        if (kind === 'unparsable') unparsable++;
        await this.sleep(wait, signal);
        if (signal?.aborted) throw e; // out of time: the failure that kept us waiting is the reason
      }
    }
  }
}

module.exports = { RetryPolicy, classify, pause, THROTTLED };
