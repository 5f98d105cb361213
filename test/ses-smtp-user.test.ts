import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { App, CfnParameter, Environment, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { SesSmtpUser, SesSmtpUserProps } from '../lib';
import { asList, errorOf, logicalIdOf, resourceCounts } from './support/templates';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const CR_TYPE = 'Custom::SesSmtpCredentials';

/** A stack in a concrete environment; `null` for a region-agnostic one. */
function newStack(env: Environment | null = { account: ACCOUNT, region: REGION }, app = new App()): Stack {
  return new Stack(app, 'S', env === null ? {} : { env });
}

/** A SesSmtpUser for an existing IAM user of the given name. */
function smtpUser(stack: Stack, id: string, userName: string, props: Partial<SesSmtpUserProps> = {}): SesSmtpUser {
  return new SesSmtpUser(stack, id, { user: iam.User.fromUserName(stack, `${id}User`, userName), ...props });
}

/** `arn:<partition>:<rest>` as the template writes it. */
function partitionArn(rest: string): unknown {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${rest}`]] };
}

interface Statement {
  Action: string | string[];
  Effect: string;
  Resource: unknown;
  Condition?: unknown;
}


/** Statements of the AWS::IAM::Policy resources whose properties match `filter`. */
function policyStatements(template: Template, filter: Record<string, unknown>): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy', { Properties: filter }))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}



/** The handler role's logical id (the one role the construct creates). */
function handlerRoleId(template: Template): string {
  const roles = Object.keys(template.findResources('AWS::IAM::Role', {
    Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] } },
  }));
  expect(roles).toHaveLength(1);
  return roles[0];
}

/** Every statement of the inline policies attached to the handler role. */
function handlerStatements(template: Template): Statement[] {
  return policyStatements(template, { Roles: [{ Ref: handlerRoleId(template) }] });
}

function statementWithAction(statements: Statement[], action: string): Statement[] {
  return statements.filter((s) => asList(s.Action).includes(action));
}


function directorySize(dir: string): { bytes: number; entries: string[] } {
  let bytes = 0;
  const entries: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    entries.push(path.relative(dir, full));
    if (entry.isDirectory()) {
      const inner = directorySize(full);
      bytes += inner.bytes;
      entries.push(...inner.entries.map((e) => path.join(entry.name, e)));
    } else {
      bytes += fs.statSync(full).size;
    }
  }
  return { bytes, entries };
}

describe('SesSmtpUser', () => {
  describe('with only a user', () => {
    test('creates one secret that starts empty: no generated and no literal value', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SecretsManager::Secret', 1);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.absent(),
        SecretString: Match.absent(),
      });
    });

    test('asks the handler for credentials of the user for the SMTP endpoint of the stack region on port 587', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail');

      const template = Template.fromStack(stack);
      template.resourceCountIs(CR_TYPE, 1);
      template.hasResourceProperties(CR_TYPE, {
        UserName: 'legacy-mail',
        Targets: [{
          Region: REGION,
          Host: `email-smtp.${REGION}.amazonaws.com`,
          Port: '587',
          SecretArn: { Ref: logicalIdOf(stack, smtp.secret) },
        }],
        ServiceTimeout: '3600',
        Serial: Match.absent(),
      });
    });

    test('attaches to the user a policy that allows only ses:SendRawEmail from identities of its account and region', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      const template = Template.fromStack(stack);
      const userPolicies = template.findResources('AWS::IAM::Policy', { Properties: { Users: ['legacy-mail'] } });
      expect(Object.keys(userPolicies)).toHaveLength(1);
      const statements = policyStatements(template, { Users: ['legacy-mail'] });
      expect(statements).toEqual([{
        Action: 'ses:SendRawEmail',
        Effect: 'Allow',
        Resource: partitionArn(`ses:${REGION}:${ACCOUNT}:identity/*`),
      }]);
    });

    test('never grants the user anything on every resource', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      const statements = policyStatements(Template.fromStack(stack), { Users: ['legacy-mail'] });
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(asList(statement.Resource)).not.toContain('*');
        expect(asList(statement.Action)).not.toContain('*');
        expect(asList(statement.Action)).not.toContain('ses:*');
      }
    });

    test('gives no warning in a region with a known SMTP endpoint', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
      Annotations.fromStack(stack).hasNoError('*', Match.anyValue());
    });

    test('exposes the access key id as the custom resource attribute AccessKeyId', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail');

      const [crId] = Object.keys(Template.fromStack(stack).findResources(CR_TYPE));
      expect(stack.resolve(smtp.accessKeyId)).toEqual({ 'Fn::GetAtt': [crId, 'AccessKeyId'] });
    });
  });

  describe('sending permissions', () => {
    test('limits sending to the given SES identities', () => {
      const stack = newStack();
      const identity = new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') });
      smtpUser(stack, 'Smtp', 'legacy-mail', { identities: [identity] });

      const statements = policyStatements(Template.fromStack(stack), { Users: ['legacy-mail'] });
      expect(statements).toEqual([{
        Action: 'ses:SendRawEmail',
        Effect: 'Allow',
        Resource: stack.resolve(identity.emailIdentityArn),
      }]);
      expect(JSON.stringify(statements)).not.toContain('identity/*');
    });

    test('combines identities with identity ARNs defined elsewhere', () => {
      const stack = newStack();
      const identity = new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') });
      const external = `arn:aws:ses:${REGION}:444455556666:identity/example.org`;
      smtpUser(stack, 'Smtp', 'legacy-mail', { identities: [identity], identityArns: [external] });

      const [statement] = policyStatements(Template.fromStack(stack), { Users: ['legacy-mail'] });
      expect(statement.Resource).toEqual([stack.resolve(identity.emailIdentityArn), external]);
    });

    test('limits the From address with the ses:FromAddress condition', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { allowedFromAddresses: ['*@example.com', 'alerts@example.org'] });

      Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
        Users: ['legacy-mail'],
        PolicyDocument: {
          Statement: [Match.objectLike({
            Action: 'ses:SendRawEmail',
            Condition: { StringLike: { 'ses:FromAddress': ['*@example.com', 'alerts@example.org'] } },
          })],
        },
      });
    });

    test('puts no From condition on the policy when no addresses are given', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      const [statement] = policyStatements(Template.fromStack(stack), { Users: ['legacy-mail'] });
      expect(statement.Condition).toBeUndefined();
    });

    test('rejects an empty list of allowed From addresses', () => {
      const stack = newStack();

      expect(() => smtpUser(stack, 'Smtp', 'legacy-mail', { allowedFromAddresses: [] }))
        .toThrow(/allowedFromAddresses is empty/);
    });

    test('allows the identities of every served region by default', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1'] });

      const [statement] = policyStatements(Template.fromStack(stack), { Users: ['legacy-mail'] });
      expect(statement.Resource).toEqual([
        partitionArn(`ses:${REGION}:${ACCOUNT}:identity/*`),
        partitionArn(`ses:us-east-1:${ACCOUNT}:identity/*`),
      ]);
    });
  });

  describe('the credentials handler', () => {
    function stackWithThreeUsers() {
      const stack = newStack();
      const users = ['mail-a', 'mail-b', 'mail-c'].map((name, i) => smtpUser(stack, `Smtp${i}`, name));
      return { stack, users, template: Template.fromStack(stack) };
    }

    test('is one Lambda function per stack, shared by every SesSmtpUser in it', () => {
      const { template } = stackWithThreeUsers();

      template.resourceCountIs('AWS::Lambda::Function', 1);
      const [functionId] = Object.keys(template.findResources('AWS::Lambda::Function'));
      const tokens = Object.values(template.findResources(CR_TYPE)).map((cr) => cr.Properties.ServiceToken);
      expect(tokens).toEqual([1, 2, 3].map(() => ({ 'Fn::GetAtt': [functionId, 'Arn'] })));
    });

    const OWNER_KEY = 'SesSmtpCredentials:eu-west-1/S';
    const STACK_ID = { Ref: 'AWS::StackId' };

    test('may create access keys of, and set its owner tag on, exactly the registered users', () => {
      const { stack, users, template } = stackWithThreeUsers();

      const keyStatements = statementWithAction(handlerStatements(template), 'iam:CreateAccessKey');
      expect(keyStatements).toHaveLength(1);
      expect(asList(keyStatements[0].Action).sort()).toEqual(['iam:CreateAccessKey', 'iam:TagUser']);
      const expected = users.map((u) => stack.resolve(u.user.userArn));
      expect(asList(keyStatements[0].Resource)).toHaveLength(3);
      expect(asList(keyStatements[0].Resource)).toEqual(expect.arrayContaining(expected));
      expect(expected).toContainEqual(partitionArn(`iam::${ACCOUNT}:user/mail-b`));
      // TagUser may set only the owner tag, and only to this stack's id.
      expect(keyStatements[0].Condition).toEqual({
        'ForAllValues:StringEquals': { 'aws:TagKeys': [OWNER_KEY] },
        StringEqualsIfExists: { [`aws:RequestTag/${OWNER_KEY}`]: STACK_ID },
      });
    });

    test('may list and delete access keys, and remove the owner tag, only of users that carry this stack\'s owner tag', () => {
      const { template } = stackWithThreeUsers();

      const deleters = statementWithAction(handlerStatements(template), 'iam:DeleteAccessKey');
      expect(deleters).toHaveLength(1);
      expect(asList(deleters[0].Action).sort()).toEqual(['iam:DeleteAccessKey', 'iam:ListAccessKeys', 'iam:UntagUser']);
      expect(deleters[0].Resource).toEqual(partitionArn(`iam::${ACCOUNT}:user/*`));
      expect(deleters[0].Condition).toEqual({
        StringEquals: { [`aws:ResourceTag/${OWNER_KEY}`]: STACK_ID },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [OWNER_KEY] },
      });
    });

    test('may read, write and relabel only secrets CloudFormation created in this stack (its reserved stack-id tag), and read only this stack\'s records', () => {
      const { template } = stackWithThreeUsers();

      const secretStatements = statementWithAction(handlerStatements(template), 'secretsmanager:PutSecretValue');
      expect(secretStatements).toHaveLength(1);
      expect(asList(secretStatements[0].Action).sort()).toEqual([
        'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
      ]);
      expect(secretStatements[0].Resource).toEqual(partitionArn(`secretsmanager:${REGION}:${ACCOUNT}:secret:*`));
      expect(secretStatements[0].Condition).toEqual({ StringEquals: { 'aws:ResourceTag/aws:cloudformation:stack-id': STACK_ID } });
      // Our own tag would prove nothing (anyone with TagResource can write it): the secrets carry none.
      for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
        expect(secret.Properties.Tags).toBeUndefined();
      }
      const readers = statementWithAction(handlerStatements(template), 'cloudformation:DescribeStackEvents');
      expect(readers).toEqual([{ Effect: 'Allow', Action: ['cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResource'], Resource: STACK_ID }]);
    });

    test('knows its own stack and owner tag from its configuration, not from events', () => {
      const { template } = stackWithThreeUsers();

      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { SES_SMTP_STACK_ID: STACK_ID, SES_SMTP_OWNER_TAG_KEY: OWNER_KEY } },
      });
    });

    test('passes the owner tag to every custom resource', () => {
      const { template } = stackWithThreeUsers();

      for (const cr of Object.values(template.findResources(CR_TYPE))) {
        expect(cr.Properties.OwnerTag).toEqual({ Key: OWNER_KEY, Value: STACK_ID });
      }
    });

    test('uses a hashed owner tag key when the readable one would pass IAM\'s 128 characters', () => {
      const app = new App();
      const stack = new Stack(app, 'S'.repeat(110), { env: { account: ACCOUNT, region: REGION } });
      smtpUser(stack, 'Smtp', 'mail-a');

      const [cr] = Object.values(Template.fromStack(stack).findResources(CR_TYPE));
      expect(cr.Properties.OwnerTag.Key).toMatch(/^SesSmtpCredentials:[0-9a-f]{32}$/);
    });

    test('has no permission on every resource but CloudTrail\'s read-only event history, and no managed policy', () => {
      const { template } = stackWithThreeUsers();

      const statements = handlerStatements(template);
      expect(statements.length).toBeGreaterThanOrEqual(3);
      // LookupEvents has no resource-level permissions: '*' is the only resource it can name.
      const everywhere = statements.filter((statement) => asList(statement.Resource).includes('*'));
      expect(everywhere.map((statement) => statement.Action)).toEqual(['cloudtrail:LookupEvents']);
      for (const statement of statements.filter((s) => !everywhere.includes(s))) {
        expect(asList(statement.Resource)).not.toContain('*');
        // A wildcard in a resource name is bounded by the owner tag.
        if (JSON.stringify(statement.Resource).includes('/*') || JSON.stringify(statement.Resource).includes(':secret:*')) {
          expect(JSON.stringify(statement.Condition)).toContain('aws:ResourceTag/');
        }
      }
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }),
        ManagedPolicyArns: Match.absent(),
      });
    });

    test('logs only to its own log group, which has a retention period', () => {
      const { template } = stackWithThreeUsers();

      const logGroups = Object.keys(template.findResources('AWS::Logs::LogGroup'));
      expect(logGroups).toHaveLength(1);
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
      template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroups[0] } } });
      const logStatements = handlerStatements(template).filter((s) => asList(s.Action).some((a) => a.startsWith('logs:')));
      expect(logStatements.length).toBeGreaterThan(0);
      for (const statement of logStatements) {
        expect(statement.Resource).toEqual({ 'Fn::GetAtt': [logGroups[0], 'Arn'] });
      }
    });

    test('knows its own stack and its own logical id from its configuration, not from events', () => {
      const { template } = stackWithThreeUsers();

      const [[logicalId, fn]] = Object.entries(template.findResources('AWS::Lambda::Function'));
      expect(fn.Properties.Environment.Variables).toEqual(expect.objectContaining({
        SES_SMTP_STACK_ID: { Ref: 'AWS::StackId' },
        SES_SMTP_FUNCTION_LOGICAL_ID: logicalId,
      }));
    });

    test('runs on Node.js 24', () => {
      const { template } = stackWithThreeUsers();

      template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x' });
    });

    test('runs up to 15 minutes, and CloudFormation waits long enough for three such runs and Lambda\'s pauses between them', () => {
      const { template } = stackWithThreeUsers();

      const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
      const timeouts = Object.values(template.findResources(CR_TYPE)).map((r) => Number(r.Properties.ServiceTimeout));
      expect(fn.Properties.Timeout).toBe(900);
      expect(new Set(timeouts)).toEqual(new Set([3600]));
      expect(3 * fn.Properties.Timeout + 180).toBeLessThanOrEqual(timeouts[0]);
    });

    test('ships a small code bundle without node_modules', () => {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-asset-'));
      try {
        const app = new App({ outdir });
        const stack = newStack(undefined, app);
        smtpUser(stack, 'Smtp', 'legacy-mail');

        const assembly = app.synth();
        const template = assembly.getStackArtifact(stack.artifactId).template;
        const fn = Object.values(template.Resources as Record<string, { Type: string; Properties: { Code: { S3Key: string } } }>)
          .find((r) => r.Type === 'AWS::Lambda::Function')!;
        const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
        const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'));
        const source = manifest.files[hash].source;
        expect(source.packaging).toBe('zip');
        const bundle = directorySize(path.join(assembly.directory, source.path));

        expect(bundle.entries).toContain('index.js');
        expect(bundle.entries.filter((e) => e.split(path.sep).includes('node_modules'))).toEqual([]);
        expect(bundle.entries.filter((e) => !e.endsWith('.js'))).toEqual([]); // no .ts, .d.ts or maps
        // The deployed artefact is compressed: a bundled AWS SDK would be megabytes.
        const compressed = bundle.entries.reduce((sum, entry) =>
          sum + zlib.deflateRawSync(fs.readFileSync(path.join(assembly.directory, source.path, entry)), { level: 9 }).length, 0);
        // 80 KB: the handler's own files (about 72 KB with the authority checks, the retry policy, the partition
        // table and the convergence machinery: journal, settle, CloudTrail provenance) with room, far below any bundled SDK.
        expect(compressed).toBeLessThan(80 * 1024);
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }
    });
  });

  describe('resources per user', () => {
    function countsFor(users: number) {
      const stack = newStack();
      for (let i = 0; i < users; i++) smtpUser(stack, `Smtp${i}`, `mail-${i}`);
      return resourceCounts(Template.fromStack(stack));
    }

    test('costs a fixed handler overhead plus exactly a policy, a secret, its resource policy and a custom resource per user', () => {
      const one = countsFor(1);
      const two = countsFor(2);
      const five = countsFor(5);

      const perUser = { 'AWS::IAM::Policy': 1, 'AWS::SecretsManager::Secret': 1, [CR_TYPE]: 1 };
      const expected = (n: number) => ({
        // the handler: role, its inline policy, log group, function
        'AWS::IAM::Role': 1,
        'AWS::Lambda::Function': 1,
        'AWS::Logs::LogGroup': 1,
        'AWS::IAM::Policy': 1 + n * perUser['AWS::IAM::Policy'],
        'AWS::SecretsManager::Secret': n,
        'AWS::SecretsManager::ResourcePolicy': n,
        [CR_TYPE]: n,
      });
      expect(one).toEqual(expected(1));
      expect(two).toEqual(expected(2));
      expect(five).toEqual(expected(5));
      const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
      expect(total(two) - total(one)).toBe(4);
      expect(total(five) - total(one)).toBe(16);
    });
  });

  describe('encryption', () => {
    test('encrypts the secret with the given key and lets the handler use that key only', () => {
      const stack = newStack();
      const key = new kms.Key(stack, 'Key');
      const other = new kms.Key(stack, 'OtherKey');
      smtpUser(stack, 'Smtp', 'legacy-mail', { encryptionKey: key });

      const template = Template.fromStack(stack);
      const keyArn = { 'Fn::GetAtt': [logicalIdOf(stack, key), 'Arn'] };
      template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
      const kmsStatements = handlerStatements(template).filter((s) => asList(s.Action).some((a) => a.startsWith('kms:')));
      expect(kmsStatements.length).toBeGreaterThan(0);
      for (const statement of kmsStatements) {
        expect(statement.Resource).toEqual(keyArn);
      }
      // Exactly what Secrets Manager needs on the handler's behalf: Decrypt to read, GenerateDataKey to write.
      expect(kmsStatements.flatMap((s) => asList(s.Action)).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(JSON.stringify(handlerStatements(template))).not.toContain(logicalIdOf(stack, other));
    });

    test('gives the handler no KMS permission when the AWS managed key is used', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.absent() });
      const kmsActions = handlerStatements(template).flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('kms:'));
      expect(kmsActions).toEqual([]);
    });
  });

  describe('region validation', () => {
    test('rejects a region documented to have no SMTP endpoint, naming it and the valid regions', () => {
      const stack = newStack({ account: ACCOUNT, region: 'af-south-1' });

      const message = errorOf(() => smtpUser(stack, 'Smtp', 'legacy-mail'));
      expect(message).toMatch(/SMTP in region 'af-south-1'/);
      expect(message).toMatch(/Choose one of: .*us-east-1.*eu-west-1/);
    });

    test('rejects such a region given as the region prop or as an additional region', () => {
      expect(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', { region: 'me-south-1' })).toThrow(/'me-south-1'/);
      expect(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', { additionalRegions: ['ap-southeast-3'] })).toThrow(/'ap-southeast-3'/);
    });

    test('warns about a real region the endpoint table does not know, and still synthesizes', () => {
      const stack = newStack({ account: ACCOUNT, region: 'eu-central-2' });
      smtpUser(stack, 'Smtp', 'legacy-mail');

      Annotations.fromStack(stack).hasWarning('/S/Smtp', Match.stringLikeRegexp("region 'eu-central-2'"));
      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [Match.objectLike({ Region: 'eu-central-2', Host: 'email-smtp.eu-central-2.amazonaws.com' })],
      });
    });

    test('warns about a real region the table does not know given as the region prop', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { region: 'ca-west-1' });

      Annotations.fromStack(stack).hasWarning('/S/Smtp', Match.stringLikeRegexp('ca-west-1'));
      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [Match.objectLike({ Region: 'ca-west-1', Host: 'email-smtp.ca-west-1.amazonaws.com' })],
      });
    });

    test('rejects a typo that is no AWS region, naming it, the closest region and the fix', () => {
      const message = errorOf(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', { additionalRegions: ['eu-wset-1'] }));

      expect(message).toMatch(/region 'eu-wset-1' is unknown/);
      expect(message).toMatch(/Did you mean 'eu-west-1'\?/);
      expect(message).toMatch(/smtpHosts: \{ 'eu-wset-1': 'email-smtp\.eu-wset-1\.amazonaws\.com' \}/);
    });

    test('rejects an unknown region named as the stack region', () => {
      expect(() => smtpUser(newStack({ account: ACCOUNT, region: 'ap-east-9' }), 'Smtp', 'legacy-mail'))
        .toThrow(/region 'ap-east-9' is unknown: .*Did you mean 'ap-east-1' or 'ap-east-2'\?/);
    });

    test.each([
      ['EU-WEST-1', /Did you mean 'eu-west-1'\?/],
      ['eu_west_1', /Did you mean 'eu-west-1'\?/],
      ['Ireland', /'Ireland' is not an AWS region name/],
      ['xx-north-9', /'xx-north-9' is not an AWS region name/],
    ])('rejects %s, which has no partition\'s region form, even with smtpHosts', (region, expected) => {
      const message = errorOf(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', {
        additionalRegions: [region], smtpHosts: { [region]: 'smtp.example.net' },
      }));

      expect(message).toMatch(/is not an AWS region name/);
      expect(message).toMatch(expected);
    });

    test('takes a region only aws-cdk-lib\'s region list knows as real: a warning, not an error', () => {
      const regions = jest.spyOn(RegionInfo, 'regions', 'get').mockReturnValue([...RegionInfo.regions, RegionInfo.get('eu-south-9')]);
      try {
        const stack = newStack();
        smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['eu-south-9'] });

        Annotations.fromStack(stack).hasWarning('/S/Smtp', Match.stringLikeRegexp("does not know region 'eu-south-9'"));
      } finally {
        regions.mockRestore();
      }
    });

    test('accepts an unknown region that smtpHosts vouches for, without error or warning', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['eu-west-9'], smtpHosts: { 'eu-west-9': 'email-smtp.eu-west-9.amazonaws.com' } });

      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [Match.objectLike({ Region: REGION }), Match.objectLike({ Region: 'eu-west-9', Host: 'email-smtp.eu-west-9.amazonaws.com' })],
      });
    });

    test('rejects a region of another partition than the stack\'s, even with smtpHosts', () => {
      const message = errorOf(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', {
        additionalRegions: ['us-gov-west-1'], smtpHosts: { 'us-gov-west-1': 'email-smtp.us-gov-west-1.amazonaws.com' },
      }));

      expect(message).toMatch(/region 'us-gov-west-1' is in partition aws-us-gov, but this stack deploys to eu-west-1 in aws/);
      expect(message).toMatch(/an IAM access key works only in its own partition/);
    });

    test('leaves unresolved regions to deploy time', () => {
      const stack = newStack();
      const region = new CfnParameter(stack, 'SmtpRegion').valueAsString;
      smtpUser(stack, 'Smtp', 'legacy-mail', { region });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [Match.objectLike({ Region: { Ref: 'SmtpRegion' }, Host: { 'Fn::Join': ['', ['email-smtp.', { Ref: 'SmtpRegion' }, '.', { Ref: 'AWS::URLSuffix' }]] } })],
      });
    });

    test('serves both GovCloud regions from a GovCloud stack, and refuses a commercial one there', () => {
      const stack = newStack({ account: ACCOUNT, region: 'us-gov-west-1' });
      smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['us-gov-east-1'] });

      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [
          Match.objectLike({ Region: 'us-gov-west-1', Host: 'email-smtp.us-gov-west-1.amazonaws.com' }),
          Match.objectLike({ Region: 'us-gov-east-1', Host: 'email-smtp.us-gov-east-1.amazonaws.com' }),
        ],
      });
      expect(() => smtpUser(newStack({ account: ACCOUNT, region: 'us-gov-west-1' }), 'Smtp', 'legacy-mail', { additionalRegions: ['eu-west-1'] }))
        .toThrow(/region 'eu-west-1' is in partition aws, but this stack deploys to us-gov-west-1 in aws-us-gov.*choose one of: us-gov-west-1, us-gov-east-1/);
    });

    test('uses smtpHosts instead of the table: no error for a region without endpoint, no warning for an unknown one', () => {
      const stack = newStack({ account: ACCOUNT, region: 'af-south-1' });
      smtpUser(stack, 'Smtp', 'legacy-mail', {
        additionalRegions: ['eu-central-2'],
        smtpHosts: { 'af-south-1': 'smtp.af.example.net', 'eu-central-2': 'email-smtp.eu-central-2.amazonaws.com' },
      });

      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [
          Match.objectLike({ Region: 'af-south-1', Host: 'smtp.af.example.net' }),
          Match.objectLike({ Region: 'eu-central-2', Host: 'email-smtp.eu-central-2.amazonaws.com' }),
        ],
      });
    });

    test('overrides the host of a known region with smtpHosts', () => {
      const stack = newStack({ account: ACCOUNT, region: 'us-east-1' });
      smtpUser(stack, 'Smtp', 'legacy-mail', { smtpHosts: { 'us-east-1': 'email-smtp-fips.us-east-1.amazonaws.com' } });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [Match.objectLike({ Region: 'us-east-1', Host: 'email-smtp-fips.us-east-1.amazonaws.com' })],
      });
    });

    test('warns in a region-agnostic stack and resolves the host at deploy time', () => {
      const stack = newStack(null);
      smtpUser(stack, 'Smtp', 'legacy-mail');

      Annotations.fromStack(stack).hasWarning('/S/Smtp', Match.stringLikeRegexp('deploy-time region'));
      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Targets: [Match.objectLike({
          Region: { Ref: 'AWS::Region' },
          Host: { 'Fn::Join': ['', ['email-smtp.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] },
        })],
      });
    });

    test('rejects a region listed twice', () => {
      expect(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', { additionalRegions: [REGION] }))
        .toThrow(/'eu-west-1' is listed twice/);
      expect(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1', 'us-east-1'] }))
        .toThrow(/'us-east-1' is listed twice/);
    });

    test('rejects an smtpHosts entry for a region it does not serve', () => {
      expect(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', { smtpHosts: { 'us-west-2': 'email-smtp.us-west-2.amazonaws.com' } }))
        .toThrow(/smtpHosts names region 'us-west-2'/);
    });
  });

  describe('port', () => {
    test('rejects a port SES SMTP does not listen on, naming the valid ports', () => {
      expect(() => smtpUser(newStack(), 'Smtp', 'legacy-mail', { port: 2525 }))
        .toThrow(/port 2525 .*25, 465, 587, 2465, 2587/);
    });

    test('writes the TLS wrapper port 465 into the target', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { port: 465 });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, { Targets: [Match.objectLike({ Port: '465' })] });
    });
  });

  describe('additional regions', () => {
    test('keeps the credentials of each region in a secret of its own, all issued by one custom resource', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1'] });

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      template.resourceCountIs(CR_TYPE, 1);
      template.hasResourceProperties(CR_TYPE, {
        Targets: [
          { Region: REGION, Host: `email-smtp.${REGION}.amazonaws.com`, Port: '587', SecretArn: { Ref: logicalIdOf(stack, smtp.secretForRegion(REGION)) } },
          { Region: 'us-east-1', Host: 'email-smtp.us-east-1.amazonaws.com', Port: '587', SecretArn: { Ref: logicalIdOf(stack, smtp.secretForRegion('us-east-1')) } },
        ],
      });
      expect(smtp.regions).toEqual([REGION, 'us-east-1']);
    });

    test('returns a distinct secret per region, the primary one being `secret`', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1'] });

      expect(smtp.secretForRegion(REGION)).toBe(smtp.secret);
      expect(smtp.secretForRegion('us-east-1')).not.toBe(smtp.secret);
      expect(stack.resolve(smtp.secretForRegion('us-east-1').secretArn)).not.toEqual(stack.resolve(smtp.secret.secretArn));
    });

    test('refuses to return a secret for a region it does not serve', () => {
      const smtp = smtpUser(newStack(), 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1'] });

      expect(() => smtp.secretForRegion('unknown')).toThrow(/no SMTP credentials for region 'unknown'/);
    });

    test('names the secret of an additional region after the primary secret', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1'], secretName: 'app/smtp' });

      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'app/smtp' });
      template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'app/smtp/us-east-1' });
    });
  });

  describe('one SesSmtpUser per IAM user', () => {
    test('rejects a second SesSmtpUser for the same user in a stack, citing the limit of two keys', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      expect(() => smtpUser(stack, 'Smtp2', 'legacy-mail')).toThrow(/'legacy-mail'.*two per user/);
    });

    test('accepts a user name that is known only at deploy time', () => {
      const stack = newStack();
      const userName = ssm.StringParameter.valueForStringParameter(stack, '/iam/smtp-user-name');
      new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', userName) });

      const template = Template.fromStack(stack);
      const [parameterId] = Object.keys(template.toJSON().Parameters).filter((p) => p.startsWith('SsmParameterValue'));
      template.hasResourceProperties(CR_TYPE, { UserName: { Ref: parameterId } });
      template.hasResourceProperties('AWS::IAM::Policy', { Users: [{ Ref: parameterId }] });
    });
  });

  describe('access and lifecycle', () => {
    test('grantRead lets a role read the secret of every region', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1'] });
      const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });

      smtp.grantRead(role);

      const statements = policyStatements(Template.fromStack(stack), { Roles: [{ Ref: logicalIdOf(stack, role) }] });
      const readable = statementWithAction(statements, 'secretsmanager:GetSecretValue').flatMap((s) => asList(s.Resource));
      expect(readable).toEqual(expect.arrayContaining([
        { Ref: logicalIdOf(stack, smtp.secretForRegion(REGION)) },
        { Ref: logicalIdOf(stack, smtp.secretForRegion('us-east-1')) },
      ]));
      expect(readable).toHaveLength(2);
    });

    test('passes serial to the custom resource so that changing it re-issues the credentials', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { serial: '2026-11' });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, { Serial: '2026-11' });
    });

    test('deletes the secret with the stack by default', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      Template.fromStack(stack).hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
    });

    test('retains every secret when asked to', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: ['us-east-1'], removalPolicy: RemovalPolicy.RETAIN });

      const secrets = Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'));
      expect(secrets.map((s) => s.DeletionPolicy)).toEqual(['Retain', 'Retain']);
    });

    test('never writes a secret access key into the template', () => {
      const stack = newStack();
      const key = new kms.Key(stack, 'Key');
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', {
        additionalRegions: ['us-east-1'], encryptionKey: key, serial: '1', allowedFromAddresses: ['*@example.com'],
      });
      smtp.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }));

      const json = JSON.stringify(Template.fromStack(stack).toJSON());
      expect(json).toContain(CR_TYPE);
      expect(json).not.toMatch(/SecretAccessKey/i);
    });
  });
});

describe('SesSmtpUser in a large stack', () => {
  test('the handler role names every user in CreateAccessKey statements of at most 30 ARNs, and no secret by name', () => {
    const stack = newStack();
    const users = Array.from({ length: 70 }, (_, i) => `smtp-user-${String(i).padStart(3, '0')}`);
    users.forEach((name, i) => smtpUser(stack, `Smtp${i}`, name));

    const template = Template.fromStack(stack);
    const statements = [
      ...Object.values(template.findResources('AWS::IAM::Policy')),
      ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
    ].flatMap((r) => asList(r.Properties.PolicyDocument.Statement) as Statement[]);
    const keyStatements = statements.filter((s) => asList(s.Action).includes('iam:CreateAccessKey'));

    for (const s of keyStatements) expect(asList(s.Resource).length).toBeLessThanOrEqual(30);
    const namedUsers = JSON.stringify(keyStatements);
    for (const name of users) expect(namedUsers).toContain(`:user/${name}"`);
    const secretStatements = statements.filter((s) => asList(s.Action).includes('secretsmanager:PutSecretValue'));
    expect(secretStatements.flatMap((s) => asList(s.Resource))).toHaveLength(1);
  });

  test('the function depends on every policy of its role, the OverflowPolicies aws-cdk-lib splits off included', () => {
    const stack = newStack();
    // Long user names make the role policy outgrow IAM's inline limit.
    Array.from({ length: 120 }, (_, i) => `${'a-very-long-legacy-application-mail-relay-user-name-for-smtp'}-${String(i).padStart(3, '0')}`)
      .forEach((name, i) => smtpUser(stack, `Smtp${i}`, name));

    const template = Template.fromStack(stack);
    const overflow = Object.keys(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(overflow.length).toBeGreaterThan(0);
    const rolePolicies = Object.keys(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: handlerRoleId(template) }] } }));
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    expect([...fn.DependsOn].sort()).toEqual([...rolePolicies, ...overflow].sort());
  });
});
