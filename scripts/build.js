#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * `npm run build` (also `npm run jsii`, and `prepack`): the package as users
 * install it, in dist/, and its jsii assembly, `.jsii` (+ `.jsii.gz`).
 *
 * - jsii compiles lib/*.ts into dist/ (.js + .d.ts) and writes `.jsii`, which
 *   jsii-pacmak, jsii-docgen and Construct Hub read. The npm package is the
 *   jsii package: there is one build, so the tarball `npm pack` makes and the
 *   one `jsii-pacmak --targets js` makes hold the same files.
 * - jsii's strict compiler settings reject `allowJs`, so jsii compiles with the
 *   tsconfig it generates, tsconfig.jsii.json (git-ignored), not ours.
 * - The Lambda handler (lib/handler/*.js) is plain JavaScript, which jsii does
 *   not emit: it is copied byte for byte, so the
 *   asset that deploys is the code the tests ran. The handler's hand-written
 *   .d.ts files come along because dist/index.d.ts and dist/contract.d.ts
 *   re-export from them; the Lambda asset leaves them out (`exclude: *.ts`).
 *
 * dist/ is emptied first, so nothing stale (an old layout, an old incremental
 * build) can reach the tarball; the assembly too, so a failed build leaves none.
 * Only the folders jsii-pacmak writes into dist/ (its `jsii.outdir`) stay: the
 * `files` field in package.json keeps them out of the tarball.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
/** Folder under lib/ → file endings copied verbatim into the same folder under dist/. */
const VERBATIM = { handler: ['.js', '.d.ts'] };
/** What jsii-pacmak writes into dist/: one folder per target language. */
const PACMAK_OUTPUT = new Set(['js', 'python', 'java', 'dotnet', 'go']);

for (const name of fs.existsSync(DIST) ? fs.readdirSync(DIST) : []) {
  if (!PACMAK_OUTPUT.has(name)) fs.rmSync(path.join(DIST, name), { recursive: true, force: true });
}
for (const name of ['.jsii', '.jsii.gz']) fs.rmSync(path.join(ROOT, name), { force: true });

// JSII6 asks for the aws-cdk-lib devDependency to equal the lowest version the
// peer range allows (2.269.0). We develop and test with a newer one, and
// test/package.test.ts installs the tarball into an app on that lowest version
// and synthesizes it there, which is the check JSII6 stands in for.
const jsii = spawnSync(process.execPath, [
  require.resolve('jsii/bin/jsii'), '--generate-tsconfig', 'tsconfig.jsii.json', '--silence-warnings', 'JSII6', '--fail-on-warnings',
  // `.jsii` becomes a pointer to `.jsii.gz`: most of the assembly is the
  // dependency closure (aws-cdk-lib's submodules), which compresses tenfold.
  '--compress-assembly',
  // jsii reports on stdout; `npm pack --json` (which runs this as prepack)
  // must print nothing there but its JSON, so the report goes to stderr.
], { cwd: ROOT, stdio: ['inherit', process.stderr, 'inherit'] });
if (jsii.status !== 0) process.exit(jsii.status ?? 1);
fs.rmSync(path.join(DIST, 'tsconfig.tsbuildinfo'), { force: true });

for (const [folder, endings] of Object.entries(VERBATIM)) {
  const from = path.join(ROOT, 'lib', folder);
  const to = path.join(DIST, folder);
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    if (endings.some((ending) => name.endsWith(ending))) fs.copyFileSync(path.join(from, name), path.join(to, name));
  }
}
