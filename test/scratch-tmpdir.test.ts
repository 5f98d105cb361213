/**
 * Tests leave nothing in the machine's temporary directory: each test file
 * runs with a private TMPDIR that is removed when it ends, and leftovers other
 * than aws-cdk-lib's default outdirs fail the file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { closeScratch, openScratch, PREFIX } from './support/scratch-tmpdir';

describe('a test file\'s temporary directory', () => {
  test('is private to the file: os.tmpdir(), aws-cdk-lib\'s default outdir and child processes all use it', () => {
    const mine = os.tmpdir();
    const app = new App();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("os").tmpdir())'], { encoding: 'utf8' });

    expect(path.basename(mine)).toMatch(new RegExp(`^${PREFIX}`));
    expect(path.dirname(fs.realpathSync(app.outdir))).toBe(fs.realpathSync(mine));
    expect(child.stdout).toBe(mine);
  });

  test('closing removes it with everything in it, and names what was left besides cdk.out directories', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'parent-'));
    try {
      const dir = openScratch(parent);
      fs.mkdirSync(path.join(dir, 'cdk.outAbC123'));
      fs.mkdirSync(path.join(dir, 'smtp-out-x1Y2z3'));
      fs.writeFileSync(path.join(dir, 'stray.json'), '{}');

      const leftovers = closeScratch(dir);

      expect(leftovers).toEqual(['smtp-out-x1Y2z3', 'stray.json']);
      expect(fs.readdirSync(parent)).toEqual([]);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  test('closing a directory holding only aws-cdk-lib outdirs reports nothing', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'parent-'));
    try {
      const dir = openScratch(parent);
      fs.mkdirSync(path.join(dir, 'cdk.outQwErTy'));

      expect(closeScratch(dir)).toEqual([]);
      expect(fs.existsSync(dir)).toBe(false);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  test('can be traversed by other users (Postfix\'s unprivileged processes)', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'parent-'));
    try {
      const dir = openScratch(parent);

      expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
      closeScratch(dir);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });
});
