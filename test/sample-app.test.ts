import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MailAppStack } from '../bin/mail-app-stack';

const INSTALL_HINT = "cfn-lint is required for this test: pip install cfn-lint (Python 3.9+), so that 'cfn-lint' is on PATH.";

describe('the sample MailAppStack', () => {
  let workDir: string;

  beforeEach(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-sample-'));
  });

  afterEach(() => {
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('synthesizes a template that cfn-lint accepts without any finding', () => {
    const app = new App();
    const stack = new MailAppStack(app, 'LegacyMailApp', {
      smtpUserName: 'legacy-mail-relay',
      env: { region: 'eu-west-1' },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::SesSmtpCredentials', { UserName: 'legacy-mail-relay' });
    const file = path.join(workDir, 'LegacyMailApp.template.json');
    fs.writeFileSync(file, JSON.stringify(template.toJSON(), undefined, 1));

    const lint = spawnSync('cfn-lint', [file], {
      encoding: 'utf8',
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 50_000,
    });

    // ENOENT: not on PATH; 127: a pyenv shim for a Python that lacks it.
    if ((lint.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || lint.status === 127) {
      throw new Error(`${INSTALL_HINT}\n(${lint.error?.message ?? lint.stderr.trim()})`);
    }
    expect(lint.error).toBeUndefined();
    expect({ status: lint.status, output: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });
});
