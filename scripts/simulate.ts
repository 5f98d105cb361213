/**
 * npm run simulate -- [--runs N] [--seed S] [--census [--examples]]
 *
 * Explores the handler's lifecycle with the simulation the test suite runs
 * (test/lifecycle-simulation.test.ts, 100 runs of a fixed seed), as long as
 * you like. Without --census it stops at the first run that breaks the
 * invariant and prints it, shrunk, with its seed. With --census it plays
 * every run, and reports how many runs it took to find each of the known
 * defects (test/support/sim/census.ts) and how often each showed.
 */
import fc from 'fast-check';
import { KNOWN_CASES } from '../test/support/sim/census';
import { census, describeRun, simulate, startSimulation } from '../test/support/sim/simulation';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main(): Promise<void> {
  const numRuns = option('runs', 5000);
  const seed = option('seed', 20261207);
  const sim = await startSimulation();
  const started = Date.now();
  const progress = (run: number) => {
    if (run % 100 === 0) process.stderr.write(`simulation: ${run} runs, ${Math.round((Date.now() - started) / 1000)} s\n`);
  };
  try {
    if (process.argv.includes('--census')) {
      const first = new Map<string, number>();
      const examples = new Map<string, string>();
      const count = new Map<string, number>();
      let failing = 0;
      let firstFailure: string | undefined;
      await census(sim, { numRuns, seed, onRun: progress }, (run, result) => {
        if (result.violations.length === 0) return;
        failing++;
        firstFailure ??= `run ${run}:\n${describeRun(result)}`;
        for (const known of KNOWN_CASES) {
          if (!known.matches(result)) continue;
          if (!first.has(known.id)) {
            first.set(known.id, run);
            examples.set(known.id, describeRun(result));
          }
          count.set(known.id, (count.get(known.id) ?? 0) + 1);
        }
      });
      console.log(`census of ${numRuns} runs (seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s): ${failing} broke the invariant`);
      for (const known of KNOWN_CASES) {
        const at = first.get(known.id);
        console.log(`  case ${known.id} (${known.title}): ${at === undefined ? 'not found' : `first in run ${at}, in ${count.get(known.id)} runs`}`);
      }
      if (firstFailure) console.log(`\nthe first failing run, ${firstFailure}`);
      if (process.argv.includes('--examples')) {
        for (const known of KNOWN_CASES) {
          if (examples.has(known.id)) console.log(`\n=== case ${known.id}, first in run ${first.get(known.id)}:\n${examples.get(known.id)}`);
        }
      }
      process.exitCode = failing > 0 ? 1 : 0;
      return;
    }
    const details = await simulate(sim, { numRuns, seed, onRun: progress });
    if (details.failed) {
      console.log(fc.defaultReportMessage(details));
      console.log(`\n${String((details.errorInstance as Error)?.message ?? details.errorInstance)}`);
      process.exitCode = 1;
      return;
    }
    console.log(`${numRuns} runs (seed ${seed}) kept the invariant, in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    await sim.stop();
  }
}

void main();
