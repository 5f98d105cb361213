/**
 * Cold import: a fresh `node` that requires a handler entry, timed inside
 * the child, ours and the peer alternating.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { IMPORT_RUNS, ROOT, childEnv, median, round, tmpRoot } from './common';

export interface ImportCost { module: string; runs: number; medianMs: number; samplesMs: number[] }

export function coldImports(modules: Record<string, string>): Record<string, ImportCost> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(modules).map((k) => [k, []]));
  for (let i = 0; i < IMPORT_RUNS; i++) {
    for (const [name, file] of Object.entries(modules)) {
      const code = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
      const r = spawnSync(process.execPath, ['-e', code], { cwd: tmpRoot, env: childEnv(), encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
      samples[name].push(Number(r.stdout));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, {
    module: path.relative(ROOT, modules[name]), runs: s.length, medianMs: round(median(s), 1), samplesMs: s.map((v) => round(v, 1)),
  }]));
}

