/**
 * What every measurement of `npm run bench` shares: the run's configuration
 * (sizes, run counts, the peer's location), one temporary directory, logging
 * to stderr, medians and rounding, silencing CDK's console output, markdown
 * tables and the environment of child processes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_REGION } from './stacks';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** Timed synth runs per kind and size (BENCH_RUNS). */
export const RUNS = positiveInt(process.env.BENCH_RUNS, 15);
/** Cold imports per handler (BENCH_IMPORT_RUNS). */
export const IMPORT_RUNS = positiveInt(process.env.BENCH_IMPORT_RUNS, 15);
export const SIZES = [1, 10, 100] as const;
export const SYNTH_SIZES = [1, 100] as const;
export const PEER_PACKAGE = '@pepperize/cdk-ses-smtp-credentials';
export const PEER_HANDLER_DIR = path.join(ROOT, 'node_modules', PEER_PACKAGE, 'assets', 'provider', 'credentials-handler.lambda');

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** One temporary directory for the whole run; run.ts removes it at the end. */
export const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-bench-'));
let tmpCounter = 0;
export function tmpDir(label: string): string {
  const dir = path.join(tmpRoot, `${label}-${++tmpCounter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function log(message: string): void {
  process.stderr.write(`[bench ${process.uptime().toFixed(1)} s] ${message}\n`);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `work` with console output and stderr swallowed (CDK warnings about the peer, validation reports). */
export async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error, write: process.stderr.write };
  const noop = () => undefined;
  console.log = console.info = console.warn = console.error = noop;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await work();
  } finally {
    Object.assign(console, { log: saved.log, info: saved.info, warn: saved.warn, error: saved.error });
    process.stderr.write = saved.write;
  }
}

export function kb(bytes: number): string {
  return `${round(bytes / 1024, 1)} KB`;
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** The environment of every child process: no instance metadata probes, this repository's node_modules. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_PATH: path.join(ROOT, 'node_modules'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: BENCH_REGION,
    ...extra,
  };
}

