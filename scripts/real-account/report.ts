/**
 * The real-account check's verdict and summary, from what its steps found:
 * PASSED only when no step, record or teardown found anything and a delivery
 * was in flight when CloudFormation cancelled it; INCONCLUSIVE when nothing
 * was found but nothing was in flight; FAILED otherwise.
 */
import { Assumption, StepReport } from './scenario';
import { TeardownResult } from './teardown';

export const EXIT = { passed: 0, failed: 1, notRun: 2, inconclusive: 3 } as const;

export type Verdict = 'PASSED' | 'FAILED' | 'INCONCLUSIVE';

export interface RunOutcome {
  readonly steps: StepReport[];
  readonly assumptions: Assumption[];
  /** A delivery was running when CloudFormation cancelled it. */
  readonly exercised: boolean;
  /** Why the steps stopped early, if they did. */
  readonly failure?: string;
  readonly teardown: TeardownResult;
}

/** Something was found before the teardown: the handler's log group is then kept for reading. */
export function foundBeforeTeardown(outcome: Omit<RunOutcome, 'teardown'>): boolean {
  return outcome.failure !== undefined || outcome.steps.some((s) => s.findings.length > 0) || outcome.assumptions.some((a) => a.contradictedBy.length > 0);
}

export function verdictOf(outcome: RunOutcome): { verdict: Verdict; exitCode: number } {
  if (foundBeforeTeardown(outcome) || outcome.teardown.findings.length > 0) return { verdict: 'FAILED', exitCode: EXIT.failed };
  return outcome.exercised ? { verdict: 'PASSED', exitCode: EXIT.passed } : { verdict: 'INCONCLUSIVE', exitCode: EXIT.inconclusive };
}

/** The summary printed at the end: each step with its findings (✗) and notes (·), each trusted record, the teardown. */
export function summaryOf(title: string, outcome: RunOutcome): string {
  const out: string[] = [`${title}: ${verdictOf(outcome).verdict}`];
  if (outcome.failure) out.push(outcome.failure);
  for (const step of outcome.steps) {
    out.push(`  ${step.name.padEnd(16)} ${String(step.stackStatus ?? '').padEnd(26)} ${step.findings.length ? `${step.findings.length} finding(s)` : 'ok'}`);
    for (const f of step.findings) out.push(`      ✗ ${f}`);
    for (const n of step.notes) out.push(`      · ${n}`);
  }
  out.push('  What stays trusted:');
  for (const a of outcome.assumptions) {
    const state = a.contradictedBy.length ? 'CONTRADICTED' : a.confirmedBy.length ? 'confirmed' : 'not exercised';
    out.push(`    [${state}] ${a.text}`);
    for (const by of [...a.contradictedBy, ...a.confirmedBy]) out.push(`        ${by}`);
  }
  for (const f of outcome.teardown.findings) out.push(`  ✗ teardown: ${f}`);
  for (const n of outcome.teardown.notes) out.push(`  · teardown: ${n}`);
  return out.join('\n');
}
