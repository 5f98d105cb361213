/**
 * The lifecycle simulation: fast-check generates what CloudFormation,
 * Secrets Manager, Lambda, invokers, people and AWS's faults do (commands.ts)
 * and in which order the deliveries' AWS calls go (its scheduler); each run
 * plays that against the real handler and moto, drains it (every request
 * answered or timed out, every delivery ended, one Lambda lifetime more) and
 * checks the invariant (invariant.ts). A failing run is shrunk and printed
 * with its seed, its commands and the order of its AWS calls.
 */
import fc from 'fast-check';
import type { Scheduler } from 'fast-check';
import { CloudFormationRecords } from '../cfn-records';
import { CloudTrailRecords } from '../cloudtrail-records';
import { ResponseServer } from '../cloudformation';
import { Moto, startMoto } from '../moto';
import { COMMANDS, SimCommand } from './commands';
import { violations } from './invariant';
import { LAMBDA_TIMEOUT_MS } from './runtime';
import { SimServices, SimWorld, shortKey, simServices } from './world';

export interface SimulationOptions {
  readonly numRuns: number;
  readonly seed: number;
  /** Most commands in one run. */
  readonly maxCommands?: number;
  /** Replays the run at this path (fast-check's `path` of a failure) instead of exploring. */
  readonly path?: string;
  /** Called after each run with its number (progress). */
  readonly onRun?: (run: number) => void;
}

export interface Simulation {
  readonly services: SimServices;
  stop(): Promise<void>;
}

export async function startSimulation(): Promise<Simulation> {
  const moto: Moto = await startMoto();
  const server = new ResponseServer();
  await server.start();
  const records = new CloudFormationRecords();
  await records.start();
  const trail = new CloudTrailRecords();
  await trail.start();
  const services = simServices(moto, server, records, trail);
  return {
    services,
    async stop() {
      services.iam.destroy();
      services.secrets.destroy();
      services.handlerCloudFormation.destroy();
      services.handlerCloudTrail.destroy();
      await server.stop();
      await records.stop();
      await trail.stop();
      await moto.stop();
    },
  };
}

/** Collects what the handler logs during a run (for the check that no secret reaches a log line). */
function captureOutput(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const levels = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = levels.map((level) => console[level]);
  for (const level of levels) console[level] = (...args: unknown[]) => { lines.push(args.map(String).join(' ')); };
  return { lines, restore: () => levels.forEach((level, i) => { console[level] = saved[i]; }) };
}

/**
 * Plays the world until nothing is left to happen (no AWS call waiting, no
 * timer, CloudFormation not waiting), or, with `until`, until the clock
 * reaches it: time moves only from one timer to the next, and every delivery
 * runs in between, as in the real world.
 */
export async function drain(world: SimWorld, scheduler: Scheduler, until?: number): Promise<void> {
  for (let guard = 0; guard < 20_000; guard++) {
    await world.runtime.quiescent();
    if (scheduler.count() > 0) {
      await scheduler.waitNext(1);
      continue;
    }
    world.stack.finishStackOperation();
    await world.runtime.quiescent();
    if (scheduler.count() > 0) continue;
    const next = world.time.nextTimerAt();
    if (next === undefined || (until !== undefined && next > until)) {
      if (until !== undefined) world.time.advanceTo(until);
      return;
    }
    world.time.advanceTo(next);
  }
  throw new Error('simulation: the world did not come to rest within 20,000 steps');
}

let current: SimWorld | undefined;

/** fast-check's scheduler runs each released task, then waits until the deliveries reach their next point. */
const scheduler = fc.scheduler({
  act: async (f) => {
    await f();
    await current?.runtime.quiescent();
  },
});

export interface RunResult {
  readonly violations: string[];
  readonly world: SimWorld;
  readonly regions: number;
  /** The handler's log lines (names and key ids only). */
  readonly warnings: string[];
}

/** Plays one run: set up, the commands (interleaved by the scheduler), drain, one Lambda lifetime, the invariant. */
export async function runOnce(sim: Simulation, s: Scheduler, commands: Iterable<SimCommand>, regions: number): Promise<RunResult> {
  const world = new SimWorld(sim.services, s, regions);
  current = world;
  await world.setUp();
  const output = captureOutput();
  const answersBefore = sim.services.server.raw.length;
  try {
    await fc.asyncModelRun(() => ({ model: {}, real: world }), commands);
    await drain(world, s);
    // A stack in UPDATE_ROLLBACK_FAILED (its rollback Update never answered) waits for an operator, and
    // CloudFormation has sent no request since: the promise starts once every request has been answered.
    // The operator does what CloudFormation asks, continue-update-rollback.
    if (world.stack.continueUpdateRollback() === 'continue-update-rollback') world.journal.push('> the operator: continue-update-rollback');
    await drain(world, s);
    // One Lambda lifetime later: whatever was still to come back has come back.
    await drain(world, s, world.time.now() + LAMBDA_TIMEOUT_MS + 60_000);
    await drain(world, s);
    const found = await violations(world, sim.services, { logs: output.lines, answers: sim.services.server.raw.slice(answersBefore) });
    return { violations: found, world, regions, warnings: output.lines };
  } finally {
    output.restore();
    sim.services.clockOffsetMs = world.time.offset;
    current = undefined;
  }
}

/** What a failing run says: the violations, what happened, how each delivery ended. */
export function describeRun({ violations: found, world, regions, warnings }: RunResult): string {
  const deliveries = world.runtime.deliveries.map((d) => `  ${d}: ${d.outcome ?? d.state}`).join('\n');
  const keys = [...world.handlerKeys.entries()].map(([id, { userName }]) => `${shortKey(id)}=${id} (${userName})`).join(', ');
  return `${found.length > 0 ? `invariant broken (${regions} region${regions > 1 ? 's' : ''}):\n- ${found.join('\n- ')}` : `invariant kept (${regions} region${regions > 1 ? 's' : ''})`}\n`
    + `what happened:\n  ${world.journal.join('\n  ')}\ndeliveries:\n${deliveries}\nthe handler's keys: ${keys || 'none'}\n`
    + `the handler's log:\n  ${warnings.map((w) => w.slice(0, 500)).join('\n  ') || 'none'}`;
}

const commandsArbitrary = (maxCommands = 10) => fc.commands(COMMANDS, { maxCommands });
const regionsArbitrary = fc.constantFrom(1, 2);

export function lifecycleProperty(sim: Simulation, options: Pick<SimulationOptions, 'maxCommands' | 'onRun'> = {}) {
  let run = 0;
  return fc.asyncProperty(scheduler, commandsArbitrary(options.maxCommands), regionsArbitrary, async (s, commands, regions) => {
    const result = await runOnce(sim, s, commands, regions);
    options.onRun?.(++run);
    if (process.env.SIM_DEBUG) process.stderr.write(`--- run ${run}\n${describeRun(result)}\n`);
    if (result.violations.length > 0) throw new Error(describeRun(result));
  });
}

/**
 * Plays `numRuns` runs without stopping or shrinking, and hands each
 * result to `inspect` (a census of which defects show up, and how soon).
 */
export async function census(sim: Simulation, options: SimulationOptions, inspect: (run: number, result: RunResult) => void): Promise<void> {
  const samples = fc.sample(fc.tuple(scheduler, commandsArbitrary(options.maxCommands), regionsArbitrary), { numRuns: options.numRuns, seed: options.seed });
  for (const [run, [s, commands, regions]] of samples.entries()) {
    inspect(run + 1, await runOnce(sim, s, commands, regions));
    options.onRun?.(run + 1);
  }
}

/** Runs the simulation; resolves with fast-check's details (failed, counterexample, shrunk report). */
export async function simulate(sim: Simulation, options: SimulationOptions): Promise<fc.RunDetails<[Scheduler, Iterable<unknown>, number]>> {
  return fc.check(lifecycleProperty(sim, options), {
    numRuns: options.numRuns,
    seed: options.seed,
    // Replays one run (the path fast-check printed), without shrinking further.
    ...(options.path ? { path: options.path, endOnFailure: true } : {}),
  }) as Promise<fc.RunDetails<[Scheduler, Iterable<unknown>, number]>>;
}
