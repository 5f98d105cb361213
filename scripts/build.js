#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * `npm run build` (and `prepack`): the package as users install it, in dist/.
 *
 * - tsc compiles lib/*.ts with tsconfig.build.json into dist/ (.js + .d.ts).
 * - The Lambda handler (lib/handler/*.js) is plain JavaScript: it is copied
 *   byte for byte, so the asset that deploys is the
 *   code the tests ran, not tsc's reprint of it. The handler's hand-written
 *   .d.ts files come along because dist/index.d.ts and dist/contract.d.ts
 *   re-export from them; the Lambda asset leaves them out (`exclude: *.ts`).
 *
 * dist/ is emptied first, so nothing stale (an old layout, a root `tsc` run
 * that also compiled test/) can reach the tarball.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
/** Folder under lib/ → file endings copied verbatim into the same folder under dist/. */
const VERBATIM = { handler: ['.js', '.d.ts'] };

fs.rmSync(DIST, { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

for (const [folder, endings] of Object.entries(VERBATIM)) {
  const from = path.join(ROOT, 'lib', folder);
  const to = path.join(DIST, folder);
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    if (endings.some((ending) => name.endsWith(ending))) fs.copyFileSync(path.join(from, name), path.join(to, name));
  }
}
