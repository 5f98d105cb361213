/**
 * SesSmtpUser features beyond issuing a key: a key source owned by the IAM
 * automation (and following it with EventBridge), scheduled rotation with
 * Secrets Manager's native rotation, and replica regions. Synth-time checks
 * only: what the template says, what cdk-nag and cfn-lint say about it.
 */
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as events from 'aws-cdk-lib/aws-events';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { AccessKeySource, SesSmtpUser, SesSmtpUserProps } from '../lib';
import { REGISTRATION_METADATA_KEY } from '../lib/contract';
import { awsSolutionsFindings } from './support/cdk-nag';
import { cfnLint } from './support/cfn-lint';
import { asList, errorOf, logicalIdOf, resourceCounts } from './support/templates';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const OTHER_REGION = 'us-east-1';
const CR_TYPE = 'Custom::SesSmtpCredentials';
const SOURCE_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:iam-automation/legacy-mail-AbCdEf`;
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
/** The owner tag of stack 'S': what lets the handler manage a secret (or a user's keys). */

function newStack(app = new App()): Stack {
  return new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
}

/** A SesSmtpUser for an existing IAM user of the given name. */
function smtpUser(stack: Stack, id: string, userName: string, props: Partial<SesSmtpUserProps> = {}): SesSmtpUser {
  return new SesSmtpUser(stack, id, { user: iam.User.fromUserName(stack, `${id}User`, userName), ...props });
}

/** The automation's secret, defined in another stack and imported by its complete ARN. */
function importedSource(stack: Stack, id = 'Source', arn = SOURCE_ARN): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretCompleteArn(stack, id, arn);
}

/** The automation's secret defined in this stack, encrypted with a customer managed key. */
function sourceWithKey(stack: Stack): { secret: secretsmanager.Secret; key: kms.Key } {
  const key = new kms.Key(stack, 'SourceKey');
  return { key, secret: new secretsmanager.Secret(stack, 'SourceSecret', { encryptionKey: key }) };
}

interface Statement {
  Action: string | string[];
  Effect: string;
  Resource: unknown;
  Condition?: unknown;
}




/** The one logical id of the resources of `type` whose properties match `props`. */
function onlyId(template: Template, type: string, props: Record<string, unknown> = {}): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  expect(ids).toHaveLength(1);
  return ids[0];
}

function handlerFunctionArn(template: Template): unknown {
  return { 'Fn::GetAtt': [onlyId(template, 'AWS::Lambda::Function'), 'Arn'] };
}

/** Every statement of the inline policies attached to the handler role. */
function handlerStatements(template: Template): Statement[] {
  const roleId = onlyId(template, 'AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
  });
  return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

/** Statements whose resources include `resource`. */
function statementsOn(statements: Statement[], resource: unknown): Statement[] {
  const wanted = JSON.stringify(resource);
  return statements.filter((s) => asList(s.Resource).some((r) => JSON.stringify(r) === wanted));
}

/** Every policy statement anywhere in the template: IAM policies, key policies, resource policies. */
function everyStatement(value: unknown): Statement[] {
  if (Array.isArray(value)) return value.flatMap(everyStatement);
  if (value === null || typeof value !== 'object') return [];
  const object = value as Record<string, unknown>;
  const own = Array.isArray(object.Statement) && object.Version !== undefined ? object.Statement as Statement[] : [];
  return [...own, ...Object.values(object).flatMap(everyStatement)];
}

/** The tags of a resource as a key → value map. */
function tagsOf(resource: { [key: string]: unknown }): Record<string, unknown> {
  const tags = (resource.Properties as { Tags?: Array<{ Key: string; Value: unknown }> }).Tags ?? [];
  return Object.fromEntries(tags.map((tag) => [tag.Key, tag.Value]));
}


/** The AWS::Lambda::Permission resources for a service principal, by logical id. */
function permissionsFor(template: Template, principal: string): Record<string, unknown> {
  return template.findResources('AWS::Lambda::Permission', { Properties: { Principal: principal } });
}

describe('SesSmtpUser with a key source', () => {
  describe('the custom resource', () => {
    test('names the source secret and the default JSON fields', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        UserName: 'legacy-mail',
        Source: { SecretArn: SOURCE_ARN, AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' },
      });
    });

    test('references a source secret of the same stack by Ref', () => {
      const stack = newStack();
      const { secret } = sourceWithKey(stack);
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(secret) });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Source: { SecretArn: { Ref: logicalIdOf(stack, secret) }, AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' },
      });
    });

    test('passes custom JSON field names through', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', {
        keySource: AccessKeySource.fromSecret(importedSource(stack), {
          accessKeyIdField: 'aws_access_key_id', secretAccessKeyField: 'aws_secret_access_key',
        }),
      });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Source: { SecretArn: SOURCE_ARN, AccessKeyIdField: 'aws_access_key_id', SecretAccessKeyField: 'aws_secret_access_key' },
      });
    });

    test('passes the access key id of a plain-text source, and no field names', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromPlainTextSecret(importedSource(stack), KEY_ID) });

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, {
        Source: { SecretArn: SOURCE_ARN, AccessKeyId: KEY_ID, AccessKeyIdField: Match.absent(), SecretAccessKeyField: Match.absent() },
      });
    });

    test('has no Source without a key source', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      Template.fromStack(stack).hasResourceProperties(CR_TYPE, { Source: Match.absent() });
    });
  });

  describe('the handler role', () => {
    test('may only read the source secret: GetSecretValue, not DescribeSecret or PutSecretValue', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const onSource = statementsOn(handlerStatements(Template.fromStack(stack)), SOURCE_ARN);
      expect(onSource).toHaveLength(1);
      expect(onSource[0].Effect).toBe('Allow');
      expect(asList(onSource[0].Action)).toEqual(['secretsmanager:GetSecretValue']);
    });

    test('may only read a source secret of the same stack, and only decrypt it with its key', () => {
      const stack = newStack();
      const { secret, key } = sourceWithKey(stack);
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(secret) });

      const statements = handlerStatements(Template.fromStack(stack));
      const onSource = statementsOn(statements, { Ref: logicalIdOf(stack, secret) });
      expect(onSource.flatMap((s) => asList(s.Action))).toEqual(['secretsmanager:GetSecretValue']);
      const onKey = statementsOn(statements, { 'Fn::GetAtt': [logicalIdOf(stack, key), 'Arn'] });
      expect(onKey.flatMap((s) => asList(s.Action))).toEqual(['kms:Decrypt']);
    });

    test('gets no KMS permission for a source without a customer managed key', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const kmsActions = handlerStatements(Template.fromStack(stack)).flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('kms:'));
      expect(kmsActions).toEqual([]);
    });

    test('may only list the keys of a user with a key source: no CreateAccessKey, no TagUser', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const statements = handlerStatements(Template.fromStack(stack));
      const iamActions = statements.flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('iam:'));
      expect(iamActions).not.toContain('iam:CreateAccessKey');
      expect(iamActions).not.toContain('iam:TagUser');
      const onUser = statements.filter((s) => JSON.stringify(s.Resource).includes(':user/legacy-mail'));
      expect(onUser.flatMap((s) => asList(s.Action))).toEqual(['iam:ListAccessKeys']);
    });

    test('may manage the keys of a user without a key source, but not of the one with a key source', () => {
      const stack = newStack();
      const sourced = smtpUser(stack, 'Sourced', 'sourced-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });
      const owned = smtpUser(stack, 'Owned', 'owned-mail');

      const keyStatements = handlerStatements(Template.fromStack(stack)).filter((s) => asList(s.Action).includes('iam:CreateAccessKey'));
      expect(keyStatements).toHaveLength(1);
      expect(asList(keyStatements[0].Resource)).toEqual([stack.resolve(owned.user.userArn)]);
      expect(JSON.stringify(keyStatements)).not.toContain('sourced-mail');
      expect(stack.resolve(sourced.user.userArn)).not.toEqual(stack.resolve(owned.user.userArn));
    });

    test('still may write the credentials secret it derives into: a secret CloudFormation created in this stack', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const template = Template.fromStack(stack);
      const writers = handlerStatements(template).filter((s) => asList(s.Action).includes('secretsmanager:PutSecretValue'));
      expect(writers).toEqual([expect.objectContaining({ Condition: { StringEquals: { 'aws:ResourceTag/aws:cloudformation:stack-id': { Ref: 'AWS::StackId' } } } })]);
    });
  });

  describe('validation at synth time', () => {
    test('rejects a temporary (STS) access key id', () => {
      const stack = newStack();

      const message = errorOf(() => AccessKeySource.fromPlainTextSecret(importedSource(stack), 'ASIAIOSFODNN7EXAMPLE'));
      expect(message).toMatch(/'ASIAIOSFODNN7EXAMPLE' is a temporary \(STS\) access key id/);
    });

    test.each([
      ['too short', 'AKIA123'],
      ['lower case', 'akiaiosfodnn7example'],
      ['not an access key id at all', 'legacy-mail'],
    ])('rejects a malformed access key id (%s)', (_why, id) => {
      const stack = newStack();

      const message = errorOf(() => AccessKeySource.fromPlainTextSecret(importedSource(stack), id));
      expect(message).toContain(`'${id}' is not an IAM access key id`);
    });

    test('accepts an access key id known only at deploy time', () => {
      const stack = newStack();
      const keyId = ssm.StringParameter.valueForStringParameter(stack, '/iam/legacy-mail/access-key-id');

      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromPlainTextSecret(importedSource(stack), keyId) });

      const template = Template.fromStack(stack);
      const [parameterId] = Object.keys(template.toJSON().Parameters).filter((p) => p.startsWith('SsmParameterValue'));
      template.hasResourceProperties(CR_TYPE, { Source: { SecretArn: SOURCE_ARN, AccessKeyId: { Ref: parameterId } } });
    });

    test.each([
      ['an empty access key id field', { accessKeyIdField: '' }, /accessKeyIdField is empty/],
      ['a blank access key id field', { accessKeyIdField: '  ' }, /accessKeyIdField is empty/],
      ['an empty secret access key field', { secretAccessKeyField: '' }, /secretAccessKeyField is empty/],
      ['identical field names', { accessKeyIdField: 'key', secretAccessKeyField: 'key' }, /both 'key'; they must name different JSON fields/],
      ['a custom id field named like the default key field', { accessKeyIdField: 'SecretAccessKey' }, /both 'SecretAccessKey'/],
    ])('fromSecret rejects %s', (_why, fields, expected) => {
      const stack = newStack();

      expect(() => AccessKeySource.fromSecret(importedSource(stack), fields)).toThrow(expected);
    });
  });

  describe('following the source (followKeySource)', () => {
    test('by default, an EventBridge rule sends Secrets Manager changes of the source to the handler', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::Events::Rule', 1);
      template.hasResourceProperties('AWS::Events::Rule', {
        State: 'ENABLED',
        EventPattern: {
          source: ['aws.secretsmanager'],
          detail: Match.objectLike({ eventName: Match.arrayWith(['PutSecretValue', 'RotationSucceeded']) }),
        },
        Targets: [Match.objectLike({ Arn: handlerFunctionArn(template) })],
      });
    });

    test('sends a SesSmtpSync event that names only the custom resource, whose template Metadata registers user, targets and source', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const template = Template.fromStack(stack);
      const [rule] = Object.values(template.findResources('AWS::Events::Rule'));
      const [target] = rule.Properties.Targets;
      expect(target.InputTransformer.InputPathsMap).toEqual({ detail: '$.detail' });
      const crId = onlyId(template, CR_TYPE);
      const input = JSON.parse(String(target.InputTransformer.InputTemplate).replace('<detail>', 'null'));
      expect(input).toEqual({ SesSmtpSync: { LogicalResourceId: crId }, detail: null });
      const cr = template.toJSON().Resources[crId];
      const { ServiceToken: _token, ServiceTimeout: _timeout, ...properties } = cr.Properties;
      expect(cr.Metadata[REGISTRATION_METADATA_KEY]).toEqual(properties);
      expect(JSON.stringify(cr.Metadata)).toContain(SOURCE_ARN);
      expect(JSON.stringify(cr.Metadata)).toContain('legacy-mail');
    });

    test('lets EventBridge invoke the handler for that rule only', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const template = Template.fromStack(stack);
      const ruleId = onlyId(template, 'AWS::Events::Rule');
      expect(Object.keys(permissionsFor(template, 'events.amazonaws.com'))).toHaveLength(1);
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: handlerFunctionArn(template),
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      });
    });

    test('narrows the rule to events about the source secret, by ARN, partial ARN or name', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)) });

      const ids = [{ prefix: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:iam-automation/legacy-mail` }, 'iam-automation/legacy-mail'];
      Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          detail: {
            $or: [
              { requestParameters: { secretId: ids } },
              { additionalEventData: { SecretId: ids } },
            ],
          },
        },
      });
    });

    test.each([
      ['a source of the same stack', (stack: Stack) => new secretsmanager.Secret(stack, 'SameStackSource')],
      ['a source imported by name', (stack: Stack) => secretsmanager.Secret.fromSecretNameV2(stack, 'ByName', 'iam-automation/legacy-mail')],
    ])('narrows the rule to the source by name and partial-ARN prefix when its ARN is a token: %s', (_what, source) => {
      const stack = newStack();
      const secret = source(stack);
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(secret) });

      const [rule] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'));
      const detail = rule.Properties.EventPattern.detail;
      expect(detail.$or).toHaveLength(2);
      const ids = detail.$or[0].requestParameters.secretId;
      expect(detail.$or[1].additionalEventData.SecretId).toEqual(ids);
      expect(ids).toHaveLength(2);
      for (const id of ids) expect(Object.keys(id)).toEqual(['prefix']);
      expect(JSON.stringify(ids[0].prefix)).toContain(':secretsmanager:');
      expect(stack.resolve(ids[1].prefix)).toEqual(stack.resolve(secret.secretName));
    });

    test('creates no rule and no EventBridge permission with followKeySource: false', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { keySource: AccessKeySource.fromSecret(importedSource(stack)), followKeySource: false });

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::Events::Rule', 0);
      expect(permissionsFor(template, 'events.amazonaws.com')).toEqual({});
    });

    test('creates no rule without a key source', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      Template.fromStack(stack).resourceCountIs('AWS::Events::Rule', 0);
    });

    test('rejects followKeySource: true without a key source', () => {
      const stack = newStack();

      expect(() => smtpUser(stack, 'Smtp', 'legacy-mail', { followKeySource: true })).toThrow(/followKeySource needs keySource/);
    });
  });
});

describe('SesSmtpUser with rotateEvery', () => {
  describe('the rotation schedule', () => {
    test('rotates the primary secret every 30 days with the handler, not immediately on update', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30), additionalRegions: [OTHER_REGION] });

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: { Ref: logicalIdOf(stack, smtp.secret) },
        RotationLambdaARN: handlerFunctionArn(template),
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
        RotateImmediatelyOnUpdate: false,
        HostedRotationLambda: Match.absent(),
      });
    });

    test.each([
      [Duration.hours(12), 'rate(12 hours)'],
      [Duration.hours(4), 'rate(4 hours)'],
      [Duration.hours(48), 'rate(2 days)'],
      [Duration.days(1000), 'rate(1000 days)'],
    ])('writes %s as %s', (every, expression) => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: every });

      Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: { ScheduleExpression: expression },
      });
    });

    test.each([
      [Duration.hours(3), '3 hours'],
      [Duration.minutes(30), '30 minutes'],
      [Duration.days(1001), '1001 days'],
    ])('rejects rotateEvery %s, naming the value and the limits', (every, named) => {
      const stack = newStack();

      const message = errorOf(() => smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: every }));
      expect(message).toContain('rotateEvery must be between 4 hours and 1000 days');
      expect(message).toContain(named);
    });

    test.each([
      ['days', (amount: number) => Duration.days(amount)],
      ['hours', (amount: number) => Duration.hours(amount)],
    ])('accepts a deploy-time number of %s and writes it into the rate expression', (unit, every) => {
      const stack = newStack();
      const amount = new CfnParameter(stack, 'RotationInterval', { type: 'Number', default: 30 });

      // Validation skips unresolved durations, so a token must reach the template intact.
      smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: every(amount.valueAsNumber) });

      const [schedule] = Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::RotationSchedule'));
      const expression = JSON.stringify(schedule.Properties.RotationRules.ScheduleExpression);
      expect(expression).toContain('rate(');
      expect(expression).toContain('{"Ref":"RotationInterval"}');
      expect(expression).toContain(` ${unit})`);
      expect(expression).not.toMatch(/e\+\d/);
    });

    test('rejects a rotateEvery that is not a whole number of hours instead of rounding it', () => {
      const stack = newStack();

      const message = errorOf(() => smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.minutes(241) }));
      expect(message).toContain('rotateEvery must be a whole number of hours');
      expect(message).toContain('got 4 hours 1 minute');
    });

    test('creates no rotation schedule and no Secrets Manager permission without rotateEvery', () => {
      const stack = newStack();
      smtpUser(stack, 'Smtp', 'legacy-mail');

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
      expect(permissionsFor(template, 'secretsmanager.amazonaws.com')).toEqual({});
    });

    test('starts only once the credentials exist and Secrets Manager may invoke the handler', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30) });

      const template = Template.fromStack(stack);
      const credentialsId = logicalIdOf(stack, smtp.node.findChild('Credentials'));
      expect(template.findResources(CR_TYPE)).toHaveProperty(credentialsId);
      const permissionId = onlyId(template, 'AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com' });
      const [schedule] = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'));
      expect(schedule.DependsOn).toEqual(expect.arrayContaining([credentialsId, permissionId]));
    });
  });

  describe('the Secrets Manager invoke permission', () => {
    test('is one per rotating secret, limited to that secret (SourceArn) and the stack account, so no other secret can be rotated through the handler', () => {
      const stack = newStack();
      const a = smtpUser(stack, 'SmtpA', 'mail-a', { rotateEvery: Duration.days(30) });
      const b = smtpUser(stack, 'SmtpB', 'mail-b', { rotateEvery: Duration.days(7) });

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
      expect(Object.keys(permissionsFor(template, 'secretsmanager.amazonaws.com'))).toHaveLength(2);
      for (const smtp of [a, b]) {
        template.hasResourceProperties('AWS::Lambda::Permission', {
          Action: 'lambda:InvokeFunction',
          Principal: 'secretsmanager.amazonaws.com',
          FunctionName: handlerFunctionArn(template),
          SourceAccount: ACCOUNT,
          SourceArn: { Ref: logicalIdOf(stack, smtp.secret) },
        });
        const permissionId = onlyId(template, 'AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com', SourceArn: { Ref: logicalIdOf(stack, smtp.secret) } });
        const scheduleId = onlyId(template, 'AWS::SecretsManager::RotationSchedule', { SecretId: { Ref: logicalIdOf(stack, smtp.secret) } });
        expect(template.toJSON().Resources[scheduleId].DependsOn).toContain(permissionId);
      }
    });
  });

  describe('the registration: what a rotation may touch, written by the deployment', () => {
    /** The primary secret's template Metadata registration, and the template. */
    function registration(stack: Stack, smtp: SesSmtpUser) {
      const template = Template.fromStack(stack);
      const secret = template.toJSON().Resources[logicalIdOf(stack, smtp.secret)];
      return { template, value: secret.Metadata?.[REGISTRATION_METADATA_KEY] };
    }

    test('is the primary secret\'s template Metadata: the user and every target, the primary without its own ARN, and no secret', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30), additionalRegions: [OTHER_REGION] });

      const { value } = registration(stack, smtp);
      expect(value).toEqual({
        UserName: 'legacy-mail',
        Targets: [
          { Region: REGION, Host: `email-smtp.${REGION}.amazonaws.com`, Port: '587' },
          { Region: OTHER_REGION, Host: `email-smtp.${OTHER_REGION}.amazonaws.com`, Port: '587', SecretArn: { Ref: logicalIdOf(stack, smtp.secretForRegion(OTHER_REGION)) } },
        ],
        Resource: logicalIdOf(stack, smtp.node.findChild('Credentials')),
      });
      expect(REGISTRATION_METADATA_KEY).toBe('SesSmtpCredentials:Registration');
    });

    test('names the same user and targets as the custom resource, the primary first, and no key source', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30), additionalRegions: [OTHER_REGION] });

      const { template, value } = registration(stack, smtp);
      const [credentials] = Object.values(template.findResources(CR_TYPE));
      const cr = credentials.Properties;
      expect(value.UserName).toEqual(cr.UserName);
      expect(value.Source).toBeUndefined();
      const { SecretArn: primaryArn, ...primary } = cr.Targets[0];
      expect(primaryArn).toEqual({ Ref: logicalIdOf(stack, smtp.secret) });
      expect(value.Targets).toEqual([primary, cr.Targets[1]]);
    });

    test('is written only with rotateEvery, and never as a resource or a tag', () => {
      const stack = newStack();
      const plain = smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: [OTHER_REGION], keySource: AccessKeySource.fromSecret(importedSource(stack)) });
      const rotating = smtpUser(stack, 'Rotating', 'rotating-mail', { rotateEvery: Duration.days(7) });

      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SSM::Parameter', 0);
      expect(registration(stack, plain).value).toBeUndefined();
      expect(registration(stack, rotating).value).toBeDefined();
      for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
        expect(tagsOf(secret)).toEqual({});
      }
      expect(handlerStatements(template).flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('ssm:'))).toEqual([]);
    });
  });

  describe('onRotated', () => {
    test('matches Secrets Manager\'s RotationSucceeded event for the primary secret, with the given target', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30), additionalRegions: [OTHER_REGION] });
      const target: events.IRuleTarget = { bind: () => ({ arn: 'arn:aws:sns:eu-west-1:111122223333:refresh' }) };

      const rule = smtp.onRotated('Rotated', { target, description: 'refresh consumers' });

      expect(rule).toBeInstanceOf(events.Rule);
      Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
        Description: 'refresh consumers',
        EventPattern: {
          source: ['aws.secretsmanager'],
          detail: {
            eventSource: ['secretsmanager.amazonaws.com'],
            eventName: ['RotationSucceeded'],
            additionalEventData: { SecretId: [{ Ref: logicalIdOf(stack, smtp.secret) }] },
          },
        },
        Targets: [Match.objectLike({ Arn: 'arn:aws:sns:eu-west-1:111122223333:refresh' })],
      });
    });

    test('throws a clear error without rotateEvery', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail');

      expect(() => smtp.onRotated('Rotated')).toThrow('onRotated needs rotateEvery');
    });
  });

  describe('permissions', () => {
    test('grant nothing on every resource and no GetRandomPassword (not CDK\'s addRotationSchedule)', () => {
      const stack = newStack();
      smtpUser(stack, 'SmtpA', 'mail-a', { rotateEvery: Duration.days(30), additionalRegions: [OTHER_REGION] });
      smtpUser(stack, 'SmtpB', 'mail-b', { rotateEvery: Duration.hours(12), replicaRegions: [{ region: 'eu-central-1' }] });
      smtpUser(stack, 'SmtpC', 'mail-c', { keySource: AccessKeySource.fromSecret(importedSource(stack)), replicaRegions: [{ region: 'eu-central-1' }] });

      const statements = everyStatement(Template.fromStack(stack).toJSON());
      expect(statements.length).toBeGreaterThanOrEqual(4);
      expect(statements.flatMap((s) => asList(s.Action))).not.toContain('secretsmanager:GetRandomPassword');
      // CloudTrail's event history alone: LookupEvents has no resource-level permissions. A secret's own
      // resource policy says "Resource": "*" for that secret only (its Deny statements: test/credentials-secret-policy.test.ts).
      const denies = (s: Statement) => (s as { Effect?: string }).Effect === 'Deny';
      for (const statement of statements.filter((s) => asList(s.Action).join() !== 'cloudtrail:LookupEvents' && !denies(s))) {
        expect(asList(statement.Resource)).not.toContain('*');
      }
    });

    test('let the handler rotate the secrets it manages, without any new kind of action', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30), additionalRegions: [OTHER_REGION] });

      const template = Template.fromStack(stack);
      const secrets = template.findResources('AWS::SecretsManager::Secret');
      for (const secret of [smtp.secret, smtp.secretForRegion(OTHER_REGION)]) {
        expect(secrets[logicalIdOf(stack, secret)]).toBeDefined();
      }
      const secretActions = handlerStatements(template).flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('secretsmanager:'));
      expect([...new Set(secretActions)].sort()).toEqual([
        'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
      ]);
    });
  });
});

describe('SesSmtpUser with replicaRegions', () => {
  test('replicates the secret of every SMTP region', () => {
    const stack = newStack();
    smtpUser(stack, 'Smtp', 'legacy-mail', {
      additionalRegions: [OTHER_REGION], replicaRegions: [{ region: 'eu-central-1' }, { region: 'eu-north-1' }],
    });

    const secrets = Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(secret.Properties.ReplicaRegions).toEqual([{ Region: 'eu-central-1' }, { Region: 'eu-north-1' }]);
    }
  });

  test('does not replicate by default', () => {
    const stack = newStack();
    smtpUser(stack, 'Smtp', 'legacy-mail', { additionalRegions: [OTHER_REGION] });

    for (const secret of Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'))) {
      expect(secret.Properties.ReplicaRegions).toBeUndefined();
    }
  });
});

describe('SesSmtpUser features under cdk-nag AwsSolutions', () => {
  test('with rotateEvery and named identities, reports nothing: every region\'s secret counts as rotated', () => {
    const findings = awsSolutionsFindings((stack) => ({
      identities: [new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') })],
      additionalRegions: [OTHER_REGION],
      rotateEvery: Duration.days(30),
    }));

    expect(findings).toEqual([]);
  });

  test('with a followed key source and named identities, reports nothing: the secrets change when the source does', () => {
    const findings = awsSolutionsFindings((stack) => ({
      identities: [new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') })],
      keySource: AccessKeySource.fromSecret(importedSource(stack)),
      additionalRegions: [OTHER_REGION],
    }));

    expect(findings).toEqual([]);
  });

  test('with a key source it does not follow, reports the secrets as unrotated', () => {
    const findings = awsSolutionsFindings((stack) => ({
      identities: [new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') })],
      keySource: AccessKeySource.fromSecret(importedSource(stack)),
      followKeySource: false,
    }));

    expect(findings).toEqual(['AwsSolutions-SMG4 @ Nag/Smtp/Secret/Resource']);
  });

  test('without rotation, reports the secret of every region as unrotated', () => {
    const findings = awsSolutionsFindings((stack) => ({
      identities: [new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.com') })],
      additionalRegions: [OTHER_REGION],
    }));

    expect(findings).toEqual([
      'AwsSolutions-SMG4 @ Nag/Smtp/Secret-us-east-1/Resource',
      'AwsSolutions-SMG4 @ Nag/Smtp/Secret/Resource',
    ]);
  });
});

describe('a stack with key sources, a rotating user and additionalRegions', () => {
  test('synthesizes a template that cfn-lint accepts without any finding', () => {
    const stack = newStack();
    const { secret } = sourceWithKey(stack);
    smtpUser(stack, 'Smtp', 'legacy-mail', {
      keySource: AccessKeySource.fromSecret(secret),
      additionalRegions: [OTHER_REGION],
      replicaRegions: [{ region: 'eu-central-1' }],
    });
    smtpUser(stack, 'Plain', 'plain-mail', {
      keySource: AccessKeySource.fromPlainTextSecret(importedSource(stack, 'PlainSource'), KEY_ID),
    });
    smtpUser(stack, 'Rotating', 'rotating-mail', {
      rotateEvery: Duration.hours(12),
      additionalRegions: [OTHER_REGION],
      replicaRegions: [{ region: 'eu-central-1' }],
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    template.resourceCountIs('AWS::Events::Rule', 2);
    expect(cfnLint(template, 'S')).toEqual({ status: 0, output: '' });
  });
});

describe('resources per user with the features', () => {
  /** Users with a key source each (default followKeySource), or rotating keys the handler issues. */
  function countsFor(users: number, rotate: boolean): Record<string, number> {
    const stack = newStack();
    for (let i = 0; i < users; i++) {
      smtpUser(stack, `Smtp${i}`, `mail-${i}`, rotate ? { rotateEvery: Duration.days(30) } : {
        keySource: AccessKeySource.fromSecret(importedSource(stack, `Source${i}`, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:iam-automation/mail-${i}-AbCdEf`)),
      });
    }
    return resourceCounts(Template.fromStack(stack));
  }

  /** The handler: role, its inline policy, log group, function. */
  const HANDLER = { 'AWS::IAM::Role': 1, 'AWS::IAM::Policy': 1, 'AWS::Logs::LogGroup': 1, 'AWS::Lambda::Function': 1 };

  /** With a followed key source, n users: the handler plus a policy, a secret and its resource policy, a custom resource, a rule and a permission each. */
  const followed = (n: number) => ({
    ...HANDLER,
    'AWS::IAM::Policy': HANDLER['AWS::IAM::Policy'] + n,
    'AWS::SecretsManager::Secret': n,
    'AWS::SecretsManager::ResourcePolicy': n,
    [CR_TYPE]: n,
    'AWS::Events::Rule': n,
    'AWS::Lambda::Permission': n,
  });

  test('with a followed key source: a policy, a secret and its resource policy, a custom resource, a rule and a permission per user', () => {
    expect(countsFor(1, false)).toEqual(followed(1));
    expect(countsFor(2, false)).toEqual(followed(2));
    expect(countsFor(5, false)).toEqual(followed(5));
  });

  test('with rotateEvery: a policy, a secret and its resource policy, a custom resource, a rotation schedule and a (secret-scoped) permission per user; the registration is Metadata, not a resource', () => {
    const expected = (n: number) => ({
      ...HANDLER,
      'AWS::IAM::Policy': HANDLER['AWS::IAM::Policy'] + n,
      'AWS::SecretsManager::Secret': n,
      'AWS::SecretsManager::ResourcePolicy': n,
      [CR_TYPE]: n,
      'AWS::Lambda::Permission': n,
      'AWS::SecretsManager::RotationSchedule': n,
    });

    expect(countsFor(1, true)).toEqual(expected(1));
    expect(countsFor(2, true)).toEqual(expected(2));
    expect(countsFor(5, true)).toEqual(expected(5));
  });
});
