/**
 * A quiet test run: the test environment (support/test-environment.js) drops
 * the AWS SDK's Node.js version warning in the test file's own process, and
 * nothing else; child processes are untouched.
 */
import { spawnSync } from 'node:child_process';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { withoutSdkNodeVersionWarning } = require('./support/test-environment') as {
  withoutSdkNodeVersionWarning: (emit: (...args: unknown[]) => void) => (...args: unknown[]) => void;
};

const SDK_WARNING = 'NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after the first week of January 2027\nwill require node >=22.';

describe('the test environment\'s warnings', () => {
  test('drops the SDK\'s Node.js version warning and passes every other warning on unchanged', () => {
    const emitted: unknown[][] = [];
    const emit = withoutSdkNodeVersionWarning((...args) => { emitted.push(args); });

    emit(SDK_WARNING);
    emit(new Error(SDK_WARNING));
    emit('a deprecation', 'DeprecationWarning', 'DEP0005');
    emit(new Error('something else'));

    expect(emitted).toEqual([['a deprecation', 'DeprecationWarning', 'DEP0005'], [new Error('something else')]]);
  });

  test('is what a test file\'s process.emitWarning is, so an SDK client made here prints nothing', () => {
    expect(process.emitWarning.name).toBe('emitWarningExceptSdkNodeVersion');
    expect(() => new SecretsManagerClient({ region: 'eu-west-1' })).not.toThrow();
  });

  test('leaves child processes alone: an SDK client there still warns on Node.js 20', () => {
    const child = spawnSync(process.execPath, ['-e', "new (require('@aws-sdk/client-secrets-manager').SecretsManagerClient)({ region: 'eu-west-1' })"], {
      encoding: 'utf8', env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true' },
    });

    expect(child.status).toBe(0);
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) expect(child.stderr).toContain('NodeVersionSupportWarning');
    else expect(child.stderr).not.toContain('NodeVersionSupportWarning');
  });
});
