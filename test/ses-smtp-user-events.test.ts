/**
 * What an operator wires alarms and automation to: the rotation events
 * (onRotated, onRotationFailed), the handler's metrics, and the ISesSmtpUser
 * interface. Event patterns are checked against Secrets Manager's event
 * shape with moto's EventBridge pattern matcher.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AccessKeySource, ISesSmtpUser, SesSmtpUser, SesSmtpUserProps } from '../lib';
import { warn } from '../lib/handler/aws';
import { createHandler } from '../lib/handler/dispatch';
import { matchesEventPattern } from './support/event-pattern';
import { errorOf, logicalIdOf, resourceCounts } from './support/templates';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:SmtpSecret-AbCdEf`;
const OTHER_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:OtherSecret-GhIjKl`;

function newStack(app = new App()): Stack {
  return new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
}

function smtpUser(stack: Stack, id: string, userName: string, props: Partial<SesSmtpUserProps> = {}): SesSmtpUser {
  return new SesSmtpUser(stack, id, { user: iam.User.fromUserName(stack, `${id}User`, userName), ...props });
}

/**
 * A Secrets Manager rotation event as EventBridge delivers it from CloudTrail
 * (shape of a public RotationFailed record: detail-type "AWS Service Event via
 * CloudTrail", the secret's ARN in detail.additionalEventData.SecretId).
 */
function rotationEvent(eventName: string, secretArn = SECRET_ARN): Record<string, unknown> {
  return {
    version: '0',
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.secretsmanager',
    account: ACCOUNT,
    region: REGION,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { accountId: ACCOUNT, invokedBy: 'secretsmanager.amazonaws.com' },
      eventSource: 'secretsmanager.amazonaws.com',
      eventName,
      awsRegion: REGION,
      requestParameters: null,
      responseElements: null,
      additionalEventData: { SecretId: secretArn },
      eventType: 'AwsServiceEvent',
    },
  };
}

/** The rule's pattern as deployed, with the primary secret's Ref replaced by SECRET_ARN. */
function deployedPattern(stack: Stack, smtp: SesSmtpUser, rule: events.Rule): unknown {
  const pattern = Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, rule)].Properties.EventPattern;
  return JSON.parse(JSON.stringify(pattern).split(JSON.stringify({ Ref: logicalIdOf(stack, smtp.secret) })).join(JSON.stringify(SECRET_ARN)));
}

const ROTATION_EVENTS = ['RotationStarted', 'RotationSucceeded', 'RotationFailed', 'RotationAbandoned', 'TestRotationStarted', 'TestRotationSucceeded', 'TestRotationFailed'];

describe('SesSmtpUser events', () => {
  describe('onRotationFailed', () => {
    test('matches a failed, abandoned or failed-test rotation of the primary secret, and nothing else', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30), additionalRegions: ['us-east-1'] });
      const rule = smtp.onRotationFailed('RotationFailed');

      const pattern = deployedPattern(stack, smtp, rule);
      const matched = matchesEventPattern(pattern, ROTATION_EVENTS.map((name) => rotationEvent(name)));
      expect(Object.fromEntries(ROTATION_EVENTS.map((name, i) => [name, matched[i]]))).toEqual({
        RotationStarted: false,
        RotationSucceeded: false,
        RotationFailed: true,
        RotationAbandoned: true,
        TestRotationStarted: false,
        TestRotationSucceeded: false,
        TestRotationFailed: true,
      });
      expect(matchesEventPattern(pattern, [rotationEvent('RotationFailed', OTHER_SECRET_ARN)])).toEqual([false]);
    });

    test('sends to the given target', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30) });
      const target: events.IRuleTarget = { bind: () => ({ arn: 'arn:aws:sns:eu-west-1:111122223333:mail-alerts' }) };

      const rule = smtp.onRotationFailed('RotationFailed', { target, description: 'page the platform team' });

      const properties = Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, rule)].Properties;
      expect(properties.Description).toBe('page the platform team');
      expect(properties.Targets).toEqual([expect.objectContaining({ Arn: 'arn:aws:sns:eu-west-1:111122223333:mail-alerts' })]);
    });

    test('adds one rule and nothing else, only when called', () => {
      const quiet = newStack();
      smtpUser(quiet, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30) });
      const alerting = newStack();
      smtpUser(alerting, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30) }).onRotationFailed('RotationFailed');

      const before = resourceCounts(Template.fromStack(quiet));
      expect(before['AWS::Events::Rule']).toBeUndefined();
      expect(resourceCounts(Template.fromStack(alerting))).toEqual({ ...before, 'AWS::Events::Rule': 1 });
    });

    test('throws a clear error without rotateEvery', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail');

      expect(errorOf(() => smtp.onRotationFailed('RotationFailed'))).toMatch(/onRotationFailed needs rotateEvery.*metricHandlerErrors/);
    });
  });

  describe('onRotated', () => {
    test('matches only a successful rotation of the primary secret', () => {
      const stack = newStack();
      const smtp = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30) });
      const rule = smtp.onRotated('Rotated');

      const pattern = deployedPattern(stack, smtp, rule);
      const matched = matchesEventPattern(pattern, [...ROTATION_EVENTS.map((name) => rotationEvent(name)), rotationEvent('RotationSucceeded', OTHER_SECRET_ARN)]);
      expect(matched).toEqual([false, true, false, false, false, false, false, false]);
    });
  });
});

describe('SesSmtpUser metrics', () => {
  test('metricHandlerErrors is the Errors metric of the stack\'s one handler function, and adds no resource', () => {
    const twoUsers = (stack: Stack) => [
      smtpUser(stack, 'SmtpA', 'mail-a'),
      smtpUser(stack, 'SmtpB', 'mail-b', { keySource: AccessKeySource.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Source', 'iam-automation/mail-b')) }),
    ];
    const before = resourceCounts(Template.fromStack((() => { const s = newStack(); twoUsers(s); return s; })()));
    const stack = newStack();
    const [a, b] = twoUsers(stack);

    const metric = a.metricHandlerErrors();
    new cloudwatch.Alarm(stack, 'Alarm', { metric, threshold: 1, evaluationPeriods: 1 });

    const template = Template.fromStack(stack);
    expect(resourceCounts(template)).toEqual({ ...before, 'AWS::CloudWatch::Alarm': 1 });
    const functionId = Object.keys(template.findResources('AWS::Lambda::Function'))[0];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Statistic: 'Sum',
      Period: 300,
    });
    expect(stack.resolve(b.metricHandlerErrors().dimensions)).toEqual(stack.resolve(metric.dimensions));
  });

  test('metricHandlerFailuresAndWarnings counts FAILED, WARN and ERROR lines of the handler\'s log group with one metric filter per stack', () => {
    const stack = newStack();
    const a = smtpUser(stack, 'SmtpA', 'mail-a');
    const b = smtpUser(stack, 'SmtpB', 'mail-b');

    const metric = a.metricHandlerFailuresAndWarnings();
    b.metricHandlerFailuresAndWarnings({ period: Duration.minutes(1) });
    a.metricHandlerFailuresAndWarnings();
    metric.createAlarm(stack, 'Alarm', { threshold: 1, evaluationPeriods: 1 });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Logs::MetricFilter', 1);
    const logGroupId = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroupId },
      FilterPattern: '{ ($.status = "FAILED") || ($.level = "WARN") || ($.level = "ERROR") }',
      MetricTransformations: [{ MetricNamespace: 'SesSmtpCredentials/S', MetricName: 'FailuresAndWarnings', MetricValue: '1', DefaultValue: 0 }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'SesSmtpCredentials/S', MetricName: 'FailuresAndWarnings', Statistic: 'Sum', Period: 300 });
  });

  test('the filter reads fields the handler really writes: a failed step\'s line has status FAILED, a warning level WARN', async () => {
    // CloudWatch Logs' JSON filter `$.status = "FAILED"` selects a line whose top-level field
    // status is FAILED. No local tool evaluates CloudWatch Logs filter patterns (moto does not), so
    // this checks the handler's side of that contract with the handler's own code.
    const lines: unknown[] = [];
    const capture = (line: unknown) => { lines.push(JSON.parse(String(line))); };
    const error = jest.spyOn(console, 'error').mockImplementation(capture);
    const warning = jest.spyOn(console, 'warn').mockImplementation(capture);
    try {
      // The step is checked before any AWS call, so the port is never used.
      const handler = createHandler(() => ({}) as never, { stackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/S/1', ownerTagKey: 'k' });
      const context = { getRemainingTimeInMillis: () => 60_000 };
      await expect(handler({ Step: 'notAStep', SecretId: SECRET_ARN, ClientRequestToken: 't' }, context as never)).rejects.toThrow(/unknown rotation step/);
      warn('deleting access key AKIAIOSFODNN7EXAMPLE of IAM user \'legacy-mail\', left by an earlier rotation');
    } finally {
      error.mockRestore();
      warning.mockRestore();
    }

    expect(lines).toEqual([
      expect.objectContaining({ rotationStep: 'notAStep', status: 'FAILED' }),
      expect.objectContaining({ level: 'WARN' }),
    ]);
  });

  test('no metric filter without a call', () => {
    const stack = newStack();
    smtpUser(stack, 'Smtp', 'legacy-mail').metricHandlerErrors();

    Template.fromStack(stack).resourceCountIs('AWS::Logs::MetricFilter', 0);
  });
});

describe('ISesSmtpUser', () => {
  test('is what SesSmtpUser offers consumers: the secrets, the grant, the events and the metrics', () => {
    const stack = newStack();
    const smtp: ISesSmtpUser = smtpUser(stack, 'Smtp', 'legacy-mail', { rotateEvery: Duration.days(30), additionalRegions: ['us-east-1'] });
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });

    smtp.grantRead(role);
    smtp.onRotated('Rotated');
    smtp.onRotationFailed('Failed');

    expect(smtp.regions).toEqual([REGION, 'us-east-1']);
    expect(smtp.secretForRegion(REGION)).toBe(smtp.secret);
    expect(stack.resolve(smtp.accessKeyId)).toEqual({ 'Fn::GetAtt': [expect.any(String), 'AccessKeyId'] });
    expect(smtp.metricHandlerErrors().metricName).toBe('Errors');
  });
});
