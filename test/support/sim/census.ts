/**
 * Which of the known lifecycle defects a failing run shows (issue 22's cases
 * 1 to 7), told apart by what happened in the run and what broke. A run
 * may show several. Used by `npm run simulate -- --census` to report how
 * many runs it takes the simulation to find each.
 */
import type { RunResult } from './simulation';

export interface KnownCase {
  readonly id: string;
  readonly title: string;
  matches(result: RunResult): boolean;
}

const broke = (result: RunResult, rule: string) => result.violations.some((v) => v.startsWith(`${rule}:`));
const happened = (result: RunResult, ...marks: string[]) => marks.every((m) => result.world.marks.has(m));

export const KNOWN_CASES: readonly KnownCase[] = [
  { id: '1', title: 'a cancelled Create leaves its key', matches: (r) => broke(r, '1') && happened(r, 'cancel-create') },
  { id: '2', title: 'a Create whose answer was lost leaves its key', matches: (r) => broke(r, '1') && happened(r, 'answers-lost-create', 'timeout-create') },
  { id: '3', title: 'a cancelled Update leaves the secret on a key CloudFormation does not know', matches: (r) => (broke(r, '2') || broke(r, '3')) && happened(r, 'cancel-update') },
  { id: '4', title: 'a rotation overlapping the stack delete leaves a key', matches: (r) => broke(r, '1') && happened(r, 'rotation', 'stack-delete') },
  { id: '5', title: 'a cleanup Delete that fails leaves a key for ever', matches: (r) => broke(r, '1') && (happened(r, 'failed-cleanup') || happened(r, 'timeout-cleanup')) },
  { id: '6', title: 'copies of a genuine delivery race it and leave a key', matches: (r) => (broke(r, '1') || broke(r, '2')) && (happened(r, 'copies-create') || happened(r, 'copies-update')) },
  { id: '7', title: 'the reconciliation after an ambiguous CreateAccessKey deletes a key someone else made', matches: (r) => broke(r, '5') && happened(r, 'lost-create-answer') },
];
