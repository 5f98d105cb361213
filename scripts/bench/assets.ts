/**
 * Lambda asset sizes: the bytes of every zip asset a synthesized stack
 * stages, raw and zipped as it is uploaded.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { tmpDir } from './common';
import { BENCH_STACK_NAME } from './stacks';

export interface AssetSize { displayName: string; files: number; rawBytes: number; zipBytes: number }

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}

export /** Whether the zip CLI is there; otherwise zipSize estimates with zlib. */
const HAS_ZIP = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;

/** Size of the directory zipped (zip -9 -X), as it is uploaded; a zlib estimate without the zip CLI. */
function zipSize(dir: string): number {
  if (HAS_ZIP) {
    const out = path.join(tmpDir('zip'), 'asset.zip');
    const r = spawnSync('zip', ['-q', '-r', '-9', '-X', out, '.'], { cwd: dir });
    if (r.status === 0) return fs.statSync(out).size;
  }
  // local header (30) + central directory entry (46) + name twice, end record (22)
  return listFiles(dir).reduce((sum, file) => {
    const name = Buffer.byteLength(path.relative(dir, file));
    return sum + zlib.deflateRawSync(fs.readFileSync(file), { level: 9 }).length + 76 + 2 * name;
  }, 22);
}

export function assetSize(dir: string, displayName: string): AssetSize {
  const files = listFiles(dir);
  return {
    displayName,
    files: files.length,
    rawBytes: files.reduce((sum, f) => sum + fs.statSync(f).size, 0),
    zipBytes: zipSize(dir),
  };
}

/** The Lambda (zip) assets of a synthesized stack, from its asset manifest. */
export function lambdaAssets(outdir: string): AssetSize[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${BENCH_STACK_NAME}.assets.json`), 'utf8')) as {
    files: Record<string, { displayName?: string; source: { path: string; packaging?: string } }>;
  };
  return Object.values(manifest.files)
    .filter((f) => f.source.packaging === 'zip')
    .map((f) => assetSize(path.join(outdir, f.source.path), f.displayName ?? f.source.path));
}

