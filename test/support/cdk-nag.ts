/**
 * cdk-nag's AwsSolutions pack over a stack with one SesSmtpUser. cdk-nag 3 is
 * a native validation plugin: with findings, app.synth() throws and leaves
 * validation-report.json in the assembly, which is read here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SesSmtpUser, SesSmtpUserProps } from '../../lib';

/** File aws-cdk-lib's validation writes into the cloud assembly (cx-api VALIDATION_REPORT_FILE). */
const REPORT_FILE = 'validation-report.json';

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
}

/**
 * Synthesizes stack 'Nag' (account 111122223333, eu-west-1) with SesSmtpUser
 * 'Smtp' for user 'legacy-mail' and returns the AwsSolutions findings as
 * `<rule id> @ <construct path>`, sorted.
 */
export function awsSolutionsFindings(props: (stack: Stack) => Partial<SesSmtpUserProps>): string[] {
  return awsSolutionsFindingsOf((app) => {
    const stack = new Stack(app, 'Nag', { env: { account: '111122223333', region: 'eu-west-1' } });
    new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', 'legacy-mail'), ...props(stack) });
  });
}

/** The AwsSolutions findings over every stack `build` adds to a fresh app, as `<rule id> @ <construct path>`, sorted. */
export function awsSolutionsFindingsOf(build: (app: App) => void): string[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-nag-'));
  const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const app = new App({ outdir });
    build(app);
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
