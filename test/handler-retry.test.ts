/**
 * The one retry policy (lib/handler/retry.js), on a fake clock: pauses are
 * recorded instead of waited, and the random source is injected, so every
 * assertion is about decisions, none about time.
 */
import { RESPONSE_MARGIN_MS, startDeadlines } from '../lib/handler/deadline';
import { RetryPolicy, classify } from '../lib/handler/retry';
import { awsError, networkError } from './support/aws-errors';

/** A policy whose sleeps return at once and are recorded; `onSleep` may end the deadline. */
function fakeClock(options: ConstructorParameters<typeof RetryPolicy>[0] = {}, onSleep?: (pauses: number[]) => void) {
  const pauses: number[] = [];
  const policy = new RetryPolicy({
    random: () => 0.999999,
    ...options,
    sleep: async (ms: number) => {
      pauses.push(ms);
      onSleep?.(pauses);
    },
  });
  return { policy, pauses };
}

/** An attempt that fails with `errors` in turn, then succeeds. */
function failing(...errors: Error[]) {
  let calls = 0;
  const attempt = async () => {
    calls++;
    if (calls <= errors.length) throw errors[calls - 1];
    return 'done';
  };
  return { attempt, calls: () => calls };
}

const throttled = () => awsError('Throttling', 'Rate exceeded');

describe('classify', () => {
  test.each([
    ['a parsed Throttling answer', throttled(), 'throttled'],
    ['a Secrets Manager ThrottlingException', awsError('ThrottlingException', 'Rate exceeded'), 'throttled'],
    ['a 500 InternalFailure', awsError('InternalFailure', 'oops', 500), 'ambiguous'],
    ['a 503 ServiceUnavailable', awsError('ServiceUnavailable', 'later', 503), 'ambiguous'],
    ['a reset connection', networkError('ECONNRESET'), 'ambiguous'],
    ['a request timeout', Object.assign(new Error('no answer'), { name: 'TimeoutError' }), 'ambiguous'],
    ['access denied', awsError('AccessDenied', 'no'), 'denied'],
    ['a refusal (LimitExceeded)', awsError('LimitExceeded', 'two keys'), 'final'],
    ['an unparsable answer', new SyntaxError('Unexpected end of JSON input'), 'final'],
    ['an answer the SDK could not read (it carries $metadata)', Object.assign(new Error('Deserialization error'), { $metadata: { httpStatusCode: 200 } }), 'unparsable'],
    ['an error of our own', new Error('bug'), 'final'],
  ].map(([what, error, kind]) => [`${what} is ${kind}`, error, kind] as const))('%s', (_title, error, kind) => {
    expect(classify(error)).toBe(kind);
  });
});

describe('RetryPolicy', () => {
  test('backs off exponentially with full jitter: each pause is random below min(cap, base * 2^n)', () => {
    const draws = [0, 0.5, 0.999999, 0.25, 0.999999, 0.999999, 0.999999];
    const policy = new RetryPolicy({ baseMs: 100, capMs: 1_000, random: () => draws.shift()! });

    const pauses = [0, 1, 2, 3, 4, 5, 30].map((n) => policy.backoff(n));

    expect(pauses).toEqual([0, 100, 399, 200, 999, 999, 999]);
  });

  test('repeats a throttled call for as long as the deadline allows, not a fixed number of times', async () => {
    const { policy, pauses } = fakeClock({ baseMs: 100, capMs: 1_000 });
    const errors = Array.from({ length: 40 }, throttled);
    const { attempt, calls } = failing(...errors);

    await expect(policy.run(attempt, { signal: new AbortController().signal })).resolves.toBe('done');

    expect(calls()).toBe(41);
    expect(pauses).toHaveLength(40);
    expect(Math.max(...pauses)).toBeLessThan(1_000);
  });

  test('stops when the deadline passes and throws the failure that kept it waiting', async () => {
    const deadline = new AbortController();
    const { policy, pauses } = fakeClock({}, (p) => { if (p.length === 3) deadline.abort(); });
    const { attempt, calls } = failing(...Array.from({ length: 100 }, throttled));

    await expect(policy.run(attempt, { signal: deadline.signal })).rejects.toMatchObject({ name: 'Throttling' });

    expect(calls()).toBe(3);
    expect(pauses).toHaveLength(3);
  });

  test('repeats a non-idempotent call after a parsed Throttling answer (nothing was done)', async () => {
    const { policy } = fakeClock();
    const { attempt, calls } = failing(throttled(), throttled());

    await expect(policy.run(attempt, { idempotent: false })).resolves.toBe('done');
    expect(calls()).toBe(3);
  });

  test.each([
    ['a 5xx', awsError('InternalFailure', 'oops', 500)],
    ['a reset connection', networkError('ECONNRESET')],
  ])('never repeats a non-idempotent call after %s (it may have taken effect)', async (_what, error) => {
    const { policy, pauses } = fakeClock();
    const { attempt, calls } = failing(error);

    await expect(policy.run(attempt, { idempotent: false })).rejects.toBe(error);
    expect(calls()).toBe(1);
    expect(pauses).toEqual([]);
  });

  test.each([
    ['a 5xx', awsError('InternalFailure', 'oops', 500)],
    ['a reset connection', networkError('ECONNRESET')],
  ])('repeats an idempotent call after %s', async (_what, error) => {
    const { policy } = fakeClock();
    const { attempt, calls } = failing(error, error);

    await expect(policy.run(attempt)).resolves.toBe('done');
    expect(calls()).toBe(3);
  });

  test('never repeats a refusal or an unparsable answer', async () => {
    const { policy, pauses } = fakeClock();
    for (const error of [awsError('LimitExceeded', 'two keys'), new SyntaxError('bad JSON')]) {
      const { attempt, calls } = failing(error);
      await expect(policy.run(attempt)).rejects.toBe(error);
      expect(calls()).toBe(1);
    }
    expect(pauses).toEqual([]);
  });

  test('repeats an idempotent call a few times after an answer the SDK could not read, never a non-idempotent one', async () => {
    const garbled = () => Object.assign(new Error('Deserialization error'), { $metadata: { httpStatusCode: 200 } });
    const { policy } = fakeClock();
    const twice = failing(garbled(), garbled());
    await expect(policy.run(twice.attempt)).resolves.toBe('done');
    expect(twice.calls()).toBe(3);

    const always = failing(garbled(), garbled(), garbled(), garbled(), garbled());
    await expect(policy.run(always.attempt)).rejects.toThrow('Deserialization error');
    expect(always.calls()).toBe(4); // the first answer and 3 repeats

    const createKey = failing(garbled());
    await expect(policy.run(createKey.attempt, { idempotent: false })).rejects.toThrow('Deserialization error');
    expect(createKey.calls()).toBe(1);
  });

  test('waits out access denied a bounded number of times, doubling from its first pause', async () => {
    const { policy, pauses } = fakeClock({ deniedRetries: 3, deniedBaseMs: 2_000 });
    const denied = () => awsError('AccessDenied', 'not yet');
    const { attempt, calls } = failing(denied(), denied(), denied(), denied());

    await expect(policy.run(attempt)).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(calls()).toBe(4);
    expect(pauses).toEqual([2_000, 4_000, 8_000]);
  });

  test('an optional attempt cap ends the retries early (tests use it to keep failure paths short)', async () => {
    const { policy } = fakeClock({ maxAttempts: 4 });
    const { attempt, calls } = failing(...Array.from({ length: 10 }, throttled));

    await expect(policy.run(attempt)).rejects.toMatchObject({ name: 'Throttling' });
    expect(calls()).toBe(4);
  });
});

describe('the deadlines retries are bounded by', () => {
  test.each([
    [120_000, 90_000],
    [RESPONSE_MARGIN_MS + 1_000, 1_000],
    [900_000, 720_000],
  ])('an invocation with %i ms left works for %i ms, keeping the rest for undoing and answering', (remaining, budget) => {
    const deadlines = startDeadlines({ getRemainingTimeInMillis: () => remaining });
    deadlines.stop();

    expect(deadlines.budget).toBe(budget);
  });
});
