import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SesSmtpUser, SesSmtpUserProps } from '../lib';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
/** File aws-cdk-lib's validation writes into the cloud assembly (cx-api VALIDATION_REPORT_FILE). */
const REPORT_FILE = 'validation-report.json';

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
}

/**
 * Synthesizes a stack with one SesSmtpUser under cdk-nag's AwsSolutions pack
 * (cdk-nag 3: a native validation plugin) and returns its findings as
 * `<rule id> @ <construct path>`, sorted.
 *
 * With findings, aws-cdk-lib's `app.synth()` throws (the message is the report
 * or "Validation failed", depending on how the app runs) and leaves the report
 * in the assembly as validation-report.json.
 */
function awsSolutionsFindings(props: (stack: Stack) => Partial<SesSmtpUserProps>): string[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-nag-'));
  const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, 'Nag', { env: { account: ACCOUNT, region: REGION } });
    new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', 'legacy-mail'), ...props(stack) });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    const reportPath = path.join(outdir, REPORT_FILE);
    try {
      app.synth();
    } catch (error) {
      // A failed validation is expected; any other synth error is not.
      if (!fs.existsSync(reportPath)) throw error;
    }

    expect(fs.existsSync(reportPath)).toBe(true);
    const report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as ValidationReport;
    return report.pluginReports
      .filter((plugin) => plugin.pluginName === 'AwsSolutions')
      .flatMap((plugin) => plugin.violations)
      .flatMap((violation) => violation.violatingConstructs.map((c) => `${violation.ruleName} @ ${c.constructPath}`))
      .sort();
  } finally {
    printed.mockRestore();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('SesSmtpUser under cdk-nag AwsSolutions', () => {
  test('with only a user, reports just the unrotated secret and the send policy on identity/* of the account', () => {
    const findings = awsSolutionsFindings(() => ({}));

    expect(findings).toEqual([
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:${REGION}:${ACCOUNT}:identity/*] @ Nag/Smtp/SendPolicy/Resource`,
      'AwsSolutions-SMG4 @ Nag/Smtp/Secret/Resource',
    ]);
  });

  test('with identities and allowed From addresses, reports just the unrotated secret', () => {
    const findings = awsSolutionsFindings((stack) => ({
      identities: [new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') })],
      allowedFromAddresses: ['noreply@example.com'],
    }));

    expect(findings).toEqual(['AwsSolutions-SMG4 @ Nag/Smtp/Secret/Resource']);
  });
});
