/**
 * Runs AWS's cfn-lint over a synthesized template. A missing cfn-lint fails
 * the test with the install hint; it never skips.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { PYTHON_HINT, testPython } from './prerequisites';

export const CFN_LINT_HINT = PYTHON_HINT;

/** cfn-lint's console script, run by the Python the tests use (its exit code is cfn-lint's). */
const RUN_CFN_LINT = 'import sys; from cfnlint.runner import main; sys.exit(main())';

/** cfn-lint's exit status and everything it printed, for `toEqual({ status: 0, output: '' })`. */
export function cfnLint(template: Template, name = 'template'): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-lint-'));
  try {
    const file = path.join(dir, `${name}.template.json`);
    fs.writeFileSync(file, JSON.stringify(template.toJSON(), undefined, 1));
    const lint = spawnSync(testPython(), ['-c', RUN_CFN_LINT, file], {
      encoding: 'utf8',
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 50_000,
    });
    // ENOENT: no such Python; 127: a pyenv shim without one; 1 with this message: no cfn-lint in it.
    if ((lint.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || lint.status === 127
      || /ModuleNotFoundError: No module named 'cfnlint/.test(lint.stderr ?? '')) {
      throw new Error(`${CFN_LINT_HINT}\n(${lint.error?.message ?? lint.stderr.trim()})`);
    }
    if (lint.error) throw lint.error;
    return { status: lint.status, output: `${lint.stdout}${lint.stderr}`.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
