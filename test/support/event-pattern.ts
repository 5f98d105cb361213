/**
 * Whether EventBridge would deliver an event to a rule, judged by moto's
 * implementation of EventBridge's pattern language (moto.events.models.
 * EventPattern: exact values, prefix, $or, nesting), not by a matcher written
 * for these tests. No AWS call: moto is used as a library.
 */
import { spawnSync } from 'node:child_process';
import { PYTHON_HINT, testPython } from './prerequisites';

const MATCHER = [
  'import json, sys',
  'from moto.events.models import EventPattern',
  'request = json.load(sys.stdin)',
  'pattern = EventPattern.load(json.dumps(request["pattern"]))',
  'print(json.dumps([pattern.matches_event(event) for event in request["events"]]))',
].join('\n');

/** For each event, whether `pattern` matches it. */
export function matchesEventPattern(pattern: unknown, events: unknown[]): boolean[] {
  const result = spawnSync(testPython(), ['-c', MATCHER], { input: JSON.stringify({ pattern, events }), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`moto's event pattern matcher failed (${PYTHON_HINT}): ${result.stderr}`);
  return JSON.parse(result.stdout) as boolean[];
}
