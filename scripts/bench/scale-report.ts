/**
 * The scale matrix of `npm run bench` (scale.ts for each run): which users
 * and IAM rates, in which order, and the markdown section that reports them.
 */
import { log, table } from './common';
import { ScaleKind, ScaleResult, scaleRun, startScaleBench } from './scale';

export type { ScaleResult };

/** BENCH_SCALE_N, e.g. "20,60,164". */
export const SCALE_USERS = list(process.env.BENCH_SCALE_N, '20,60,164').map(Number);
/** BENCH_SCALE_RATES, e.g. "unlimited,10,2" (IAM calls per second). */
export const SCALE_RATES = list(process.env.BENCH_SCALE_RATES, 'unlimited,10,2').map((r) => (r === 'unlimited' ? null : Number(r)));
/** BENCH_SCALE_CONCURRENCY, e.g. "unlimited,10": requests in flight at once (a reserved concurrency); default all at once. */
export const SCALE_CONCURRENCY = list(process.env.BENCH_SCALE_CONCURRENCY, 'unlimited').map((c) => (c === 'unlimited' ? null : Number(c)));
/**
 * The read-limited deployment, ours only: N users with IAM at this rate and CloudFormation's reads at that
 * rate (CloudFormation publishes no limit; 5/s is the issue's assumption), all at once and 10 at a time.
 * BENCH_SCALE_READS="164,2,5" (users, IAM calls/s, CloudFormation reads/s); "none" skips it.
 */
export const SCALE_READS = process.env.BENCH_SCALE_READS === 'none' ? undefined
  : list(process.env.BENCH_SCALE_READS, '164,2,5').map(Number) as [number, number, number];

function list(value: string | undefined, fallback: string): string[] {
  const items = (value ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (item !== 'unlimited' && !(Number(item) > 0)) throw new Error(`bench: '${item}' is not a positive number`);
  return items;
}

export async function scaleMatrix(): Promise<ScaleResult[]> {
  log(`scale: N = ${SCALE_USERS.join(', ')}; IAM calls/s = ${SCALE_RATES.map((r) => r ?? 'unlimited').join(', ')}; ours and the peer`);
  const bench = await startScaleBench();
  const results: ScaleResult[] = [];
  try {
    for (const users of SCALE_USERS) {
      for (const rate of SCALE_RATES) {
        for (const concurrency of SCALE_CONCURRENCY) {
          for (const kind of ['peer', 'ours'] as ScaleKind[]) results.push(await scaleRun(bench, kind, users, rate, concurrency));
        }
      }
    }
    if (SCALE_READS) {
      const [users, iamRate, cfnRate] = SCALE_READS;
      for (const concurrency of [null, 10]) results.push(await scaleRun(bench, 'ours', users, iamRate, concurrency, cfnRate));
    }
  } finally {
    await bench.stop();
  }
  return results;
}

/** The least time the phase's IAM calls need at the IAM rate: every accepted call, none throttled. */
function iamMinimum(r: ScaleResult, phase: ScaleResult['create']): number {
  return (phase.iamPerRequest * phase.requests) / (r.iamRate ?? Infinity);
}

export function scaleSection(results: ScaleResult[]): string {
  const row = (r: ScaleResult) => [
    r.kind, r.users, r.iamRate === null ? 'unlimited' : `${r.iamRate}/s`, r.cfnRate === null ? 'unlimited' : `${r.cfnRate}/s`, r.concurrency ?? 'all',
    `${r.create.succeeded}/${r.create.requests}`, `${r.create.wallSeconds} s`,
    `${r.create.iamPerRequest} + ${r.create.iamThrottledPerRequest} throttled / ${r.create.secretsPerRequest}`,
    `${r.create.cfnReadsPerRequest} + ${r.create.cfnThrottledPerRequest} throttled`,
    `${r.delete.succeeded}/${r.delete.requests}`, `${r.delete.wallSeconds} s`,
    `${r.delete.iamPerRequest} + ${r.delete.iamThrottledPerRequest} throttled / ${r.delete.secretsPerRequest}`,
    `${r.delete.cfnReadsPerRequest} + ${r.delete.cfnThrottledPerRequest} throttled`,
    r.iamRate === null ? 'n/a' : `${(r.create.wallSeconds / iamMinimum(r, r.create)).toFixed(2)} / ${(r.delete.wallSeconds / iamMinimum(r, r.delete)).toFixed(2)}`,
    r.usersWithTwoKeys, r.keysLeft, r.ownerTagsLeft,
  ];
  const reasons = results.flatMap((r) => [...r.create.failures.map((f) => `${r.kind} N=${r.users} ${r.iamRate ?? 'unlimited'}/s Create: ${f}`), ...r.delete.failures.map((f) => `${r.kind} N=${r.users} ${r.iamRate ?? 'unlimited'}/s Delete: ${f}`)]);
  return `## Under IAM throttling (N custom resources at once, then N Deletes; IAM token bucket in the fault proxy)\n\n${table(
    ['handler', 'N', 'IAM rate', 'CloudFormation reads', 'at a time', 'Create ok', 'Create wall', 'calls per Create: IAM + throttled / Secrets Manager', 'CloudFormation reads per Create', 'Delete ok', 'Delete wall', 'calls per Delete: IAM + throttled / Secrets Manager', 'CloudFormation reads per Delete', 'wall / IAM minimum (Create / Delete)', 'users with 2 keys', 'keys left after Delete', 'owner tags left'],
    results.map(row),
  )}\n\nOurs: the real CloudFormation entry with a 15-minute Lambda lifetime and the handler's retry policy. Peer: its handler as its Provider framework calls it (SDK v2, its default retries); its Delete does nothing by design, so its keys stay. A throttled call is refused before it reaches moto and takes no token.${reasons.length ? `\n\nFailure reasons (first of each kind):\n${reasons.map((r) => `- ${r}`).join('\n')}` : ''}`;
}
