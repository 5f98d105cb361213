/**
 * The snapshot of test/integ.ses-smtp-user.ts (the app of the real-account
 * check, docs/real-account-check.md), written and read without an AWS account.
 *
 * The app is synthesized the same way by the offline test, by
 * `npm run integ:snapshot` and by the real-account check before it deploys:
 * run from test/ with aws-cdk-lib's currently recommended feature flags as
 * context (see synthContext). The snapshot keeps the cloud assembly without
 * the staged assets: manifest.json, the stack templates, their asset
 * manifests and metadata.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cxapi from 'aws-cdk-lib/cx-api';

const TEST_DIR = path.join(__dirname, '..');
export const INTEG_APP = path.join(TEST_DIR, 'integ.ses-smtp-user.ts');
/** Where the snapshot of `integ.ses-smtp-user.ts` is checked in (integ-runner's naming). */
export const SNAPSHOT_DIR = `${INTEG_APP}.snapshot`;

/**
 * The context of every synth of the app (the one integ-runner's toolkit
 * gives): the recommended flags, no path or asset metadata (their keys
 * absent), no version reporting, bundling for every stack; and, as the CLI
 * does outside --debug, no creation stack traces, which would put this
 * machine's paths into the snapshot.
 */
export function synthContext(): Record<string, unknown> {
  const context: Record<string, unknown> = {
    ...cxapi.CURRENTLY_RECOMMENDED_FLAGS,
    'aws:cdk:disable-version-reporting': true,
    [cxapi.BUNDLING_STACKS]: ['**'],
    [cxapi.DISABLE_METADATA_STACK_TRACE]: true,
    [cxapi.DISABLE_CREATION_STACK_TRACES]: true,
  };
  delete context[cxapi.TARGET_PARTITIONS];
  return context;
}

/** Synthesizes the integ app into `outdir` (a new directory). */
export function synthIntegApp(outdir: string): void {
  const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.basename(INTEG_APP)], {
    cwd: TEST_DIR,
    env: {
      ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(synthContext()),
      // ts-node keeps a compile cache of TypeScript's compiler, by default in the temporary
      // directory, where it would outlive the test file: keep it with the other caches instead.
      V8_COMPILE_CACHE_CACHE_DIR: path.join(TEST_DIR, '..', 'node_modules', '.cache', 'v8-compile-cache'),
    },
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    throw new Error(`synth of ${path.basename(INTEG_APP)} failed (exit ${run.status}):\n${run.stderr}`);
  }
}

/** Staged assets and their zip cache: a fresh synth stages them again before any deploy. */
function isAsset(name: string): boolean {
  return name.startsWith('asset.') || name === '.cache';
}

/** Rewrites the checked-in snapshot from a fresh synth. */
export function writeSnapshot(): string[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-snapshot-'));
  try {
    synthIntegApp(tmp);
    fs.rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
    fs.mkdirSync(SNAPSHOT_DIR);
    const kept = fs.readdirSync(tmp).filter((name) => !isAsset(name)).sort();
    // Acknowledgements carry the stack trace of their call; keep the paths in it relative.
    const root = `${path.dirname(TEST_DIR)}${path.sep}`;
    for (const name of kept) {
      const text = fs.readFileSync(path.join(tmp, name), 'utf8');
      fs.writeFileSync(path.join(SNAPSHOT_DIR, name), text.split(root).join(''));
    }
    return kept;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The stack templates of a cloud assembly, by artifact id. */
export function readTemplates(assemblyDir: string): Record<string, unknown> {
  const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8'));
  const templates: Record<string, unknown> = {};
  for (const [id, artifact] of Object.entries<{ type: string; properties?: { templateFile?: string } }>(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    templates[id] = JSON.parse(fs.readFileSync(path.join(assemblyDir, artifact.properties.templateFile), 'utf8'));
  }
  return templates;
}

/**
 * The stacks whose template in `assemblyDir` differs from the checked-in
 * snapshot (asset hashes included, so a changed handler shows), and the
 * stacks only one of them has.
 */
export function staleStacks(assemblyDir: string, snapshotDir = SNAPSHOT_DIR): string[] {
  const fresh = readTemplates(assemblyDir);
  const checkedIn = fs.existsSync(path.join(snapshotDir, 'manifest.json')) ? readTemplates(snapshotDir) : {};
  const ids = [...new Set([...Object.keys(fresh), ...Object.keys(checkedIn)])].sort();
  return ids.filter((id) => JSON.stringify(fresh[id]) !== JSON.stringify(checkedIn[id]));
}
