/**
 * The sample organisation rollout (bin/org-rollout.ts): a self-contained mail
 * stack and the service-managed StackSet that deploys it to an OU. Both
 * synthesize without an account, and both are clean under cfn-lint and
 * cdk-nag's AwsSolutions pack. The mail template deploys and deletes in the
 * CloudFormation emulator with only its parameter defaults, as a StackSet
 * instance of an account that joined the OU would.
 */
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CONVENTIONAL_SMTP_USER, OrgMailStack } from '../bin/org-mail-stack';
import { OrgMailRolloutStack } from '../bin/org-rollout-stack';
import { bundleHandler } from '../lib/inline-handler';
import { CloudFormationEmulator } from './support/cfn-emulator';
import { awsSolutionsFindingsOf } from './support/cdk-nag';
import { cfnLint } from './support/cfn-lint';
import { inlineCodeOf } from './support/inline-handler';
import { accessKeysOf, leftovers } from './support/key-audit';
import { motoClientConfig, startMoto } from './support/moto';
import { readmeBlock } from './support/readme';

function build(app: App): { mail: OrgMailStack; rollout: OrgMailRolloutStack } {
  return {
    mail: new OrgMailStack(app, 'OrgMail', { smtpRegion: 'eu-west-1' }),
    rollout: new OrgMailRolloutStack(app, 'OrgMailRollout', { regions: ['eu-west-1'] }),
  };
}

describe('the README\'s synth command for the rollout', () => {
  test('writes both templates with no account or credentials', () => {
    const command = readmeBlock('org-rollout-synth').text.trim();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'org-rollout-'));
    try {
      // The block as written, with the output redirected into this test's own folder.
      execSync(`${command} -o ${out}`, {
        cwd: path.join(__dirname, '..'), stdio: 'pipe', timeout: 180_000,
        env: {
          ...process.env, AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '',
          // ts-node's compile cache goes with the project's other caches, not into this test's temporary folder.
          V8_COMPILE_CACHE_CACHE_DIR: path.join(__dirname, '..', 'node_modules', '.cache', 'v8-compile-cache'),
        },
      });
      expect(fs.readdirSync(out).filter((f) => f.endsWith('.template.json')).sort()).toEqual(['OrgMail.template.json', 'OrgMailRollout.template.json']);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('the sample organisation rollout', () => {
  const app = new App();
  const { mail, rollout } = build(app);
  const mailTemplate = Template.fromStack(mail);
  const rolloutTemplate = Template.fromStack(rollout);

  test('the mail template is self-contained: inline handler, no bootstrap, only parameters with defaults', () => {
    const json = mailTemplate.toJSON();

    expect(mail.account).toMatch(/^\$\{Token/);
    expect(Object.keys(json).sort()).toEqual(['Description', 'Outputs', 'Parameters', 'Resources']);
    expect(JSON.stringify(json)).not.toMatch(/cdk-hnb659fds|BootstrapVersion|S3Bucket|Fn::ImportValue/);
    expect(Object.values(json.Parameters as Record<string, { Default?: string }>).every((p) => p.Default !== undefined)).toBe(true);
    expect(inlineCodeOf(json)).toBe(bundleHandler(path.join(__dirname, '..', 'lib', 'handler')));
    mailTemplate.hasResourceProperties('Custom::SesSmtpCredentials', { UserName: { Ref: 'SmtpUserName' } });
  });

  test('the StackSet is service-managed, deploys to the OUs automatically and removes instances of accounts that leave', () => {
    rolloutTemplate.hasResourceProperties('AWS::CloudFormation::StackSet', {
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_IAM'],
      TemplateURL: { Ref: 'MailTemplateUrl' },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: { Ref: 'TargetOrganizationalUnitIds' } }, Regions: ['eu-west-1'] }],
    });
  });

  test('the StackSet passes only parameters the mail template declares', () => {
    const [stackSet] = Object.values(rolloutTemplate.findResources('AWS::CloudFormation::StackSet'));
    const passed = (stackSet.Properties.Parameters as Array<{ ParameterKey: string }>).map((p) => p.ParameterKey);

    expect(passed.length).toBeGreaterThan(0);
    expect(Object.keys(mailTemplate.toJSON().Parameters)).toEqual(expect.arrayContaining(passed));
  });

  test('cfn-lint finds nothing in either template', () => {
    expect({ mail: cfnLint(mailTemplate, 'OrgMail'), rollout: cfnLint(rolloutTemplate, 'OrgMailRollout') })
      .toEqual({ mail: { status: 0, output: '' }, rollout: { status: 0, output: '' } });
  });

  test('cdk-nag AwsSolutions finds nothing in either stack', () => {
    expect(awsSolutionsFindingsOf((nagApp) => { build(nagApp); })).toEqual([]);
  });

  test('an account joining the OU: the mail template deploys with its defaults, then its removal leaves no key and no secret', async () => {
    const moto = await startMoto({ enforceIam: true });
    const adminIam = new IAMClient(motoClientConfig(moto, 'us-east-1'));
    const adminSecrets = new SecretsManagerClient(motoClientConfig(moto));
    const emulator = new CloudFormationEmulator({ endpoint: moto.endpoint, stackName: 'StackSet-ses-smtp-credentials-0f1e2d3c' });
    try {
      await adminIam.send(new CreateUserCommand({ UserName: CONVENTIONAL_SMTP_USER }));

      const create = await emulator.deploy(mailTemplate.toJSON());
      expect({ status: create.status, failed: create.events.filter((e) => e.status === 'FAILED') }).toEqual({ status: 'CREATE_COMPLETE', failed: [] });
      expect(await accessKeysOf(adminIam, CONVENTIONAL_SMTP_USER)).toHaveLength(1);

      expect((await emulator.destroy()).status).toBe('DELETE_COMPLETE');
      expect(await leftovers(adminIam, adminSecrets, [CONVENTIONAL_SMTP_USER])).toEqual({ keys: [], userPolicies: [], ownerTags: [], secretNames: [], roles: [] });
      expect(new Set(emulator.handlerCodeRuns)).toEqual(new Set(['inline']));
    } finally {
      await emulator.close();
      adminIam.destroy();
      adminSecrets.destroy();
      await moto.stop();
    }
  });
});
