/**
 * Runs AWS's cfn-lint over a synthesized template. A missing cfn-lint fails
 * the test with the install hint; it never skips.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';

export const CFN_LINT_HINT = "cfn-lint is required for this test: pip install cfn-lint (Python 3.9+), so that 'cfn-lint' is on PATH.";

/** cfn-lint's exit status and everything it printed, for `toEqual({ status: 0, output: '' })`. */
export function cfnLint(template: Template, name = 'template'): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-lint-'));
  try {
    const file = path.join(dir, `${name}.template.json`);
    fs.writeFileSync(file, JSON.stringify(template.toJSON(), undefined, 1));
    const lint = spawnSync('cfn-lint', [file], {
      encoding: 'utf8',
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 50_000,
    });
    // ENOENT: not on PATH; 127: a pyenv shim for a Python that lacks it.
    if ((lint.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || lint.status === 127) {
      throw new Error(`${CFN_LINT_HINT}\n(${lint.error?.message ?? lint.stderr.trim()})`);
    }
    if (lint.error) throw lint.error;
    return { status: lint.status, output: `${lint.stdout}${lint.stderr}`.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
