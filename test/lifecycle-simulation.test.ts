/**
 * The lifecycle, explored: fast-check generates what CloudFormation, Secrets
 * Manager, Lambda, invokers, people and faults do, and the order of every
 * delivery's AWS calls; each run plays it against the real handler and moto
 * and checks the invariant (test/support/sim/). CI runs a fixed seed;
 * `npm run simulate -- --runs 5000` explores further.
 */
import fc from 'fast-check';
import { Simulation, simulate, startSimulation } from './support/sim/simulation';

const RUNS = Number(process.env.SIM_RUNS ?? 100);
const SEED = Number(process.env.SIM_SEED ?? 20261207);

let sim: Simulation;

beforeAll(async () => {
  sim = await startSimulation();
});

afterAll(async () => {
  await sim?.stop();
});

describe('the handler\'s lifecycle, explored by simulation', () => {
  test(`no orphaned key, no stray secret value, no lost tag in ${RUNS} runs (seed ${SEED})`, async () => {
    const started = Date.now();
    const details = await simulate(sim, { numRuns: RUNS, seed: SEED, path: process.env.SIM_PATH, onRun: (run) => { if (run % 25 === 0) process.stderr.write(`simulation: ${run} runs, ${Math.round((Date.now() - started) / 1000)} s\n`); } });
    if (details.failed) throw new Error(`${fc.defaultReportMessage(details) ?? "the simulation failed"}\n\n${String((details.errorInstance as Error)?.message ?? details.errorInstance)}`);
  }, 3_600_000);
});
