import { createHash } from 'node:crypto';
import { CustomResource, Duration, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { REGISTRATION_PREFIX, REGISTRATION_TAG, RotationRegistration } from './contract';
import type { SmtpCredentialsHandler } from './smtp-credentials-handler';

/** A 16-hex digest of a construct path. */
function pathHash(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 16);
}

/**
 * Where a stack's registrations live: `/ses-smtp-credentials/<hash of the
 * stack's path>/`. The handler role may read parameters under it, and only there.
 *
 * @internal
 */
export function registrationPath(stack: Stack): string {
  return `${REGISTRATION_PREFIX}${pathHash(stack.node.path)}/`;
}

/** @internal */
export interface RotationScheduleOptions {
  readonly every: Duration;
  /** The primary secret: Secrets Manager rotates it and the handler writes every region with it. */
  readonly primary: secretsmanager.Secret;
  /** The other regions' secrets. */
  readonly others: secretsmanager.ISecret[];
  /** What the rotation may touch: the same user, targets and source the custom resource has. */
  readonly registration: RotationRegistration;
  readonly credentials: CustomResource;
}

/**
 * Native rotation of one SesSmtpUser's secrets, served by the stack's
 * handler. A rotation event names only the secret, so the deployment writes
 * what the rotation may touch into an SSM parameter (the registration) that
 * only a deployment can change: the handler role may read it, not write it.
 * The primary secret carries the parameter's name as a hint; the handler
 * refuses unless the registration names that secret as its primary.
 *
 * Its resources are children of the SesSmtpUser (their logical ids do not
 * depend on this file).
 *
 * @internal
 */
export function scheduleRotation(scope: Construct, handler: SmtpCredentialsHandler, options: RotationScheduleOptions): void {
  const stack = Stack.of(scope);
  const scheduleExpression = rotationRate(scope, options.every);
  // A literal name: the parameter's value refers to the secret, so the
  // secret's tag cannot refer back to the parameter (a cycle).
  const parameterName = `${registrationPath(stack)}${pathHash(scope.node.path)}`;
  const parameter = new ssm.StringParameter(scope, 'RotationRegistration', {
    parameterName,
    description: `What a rotation of ${scope.node.path} may touch (ses-smtp-credentials); written only by deployments`,
    stringValue: stack.toJsonString(options.registration),
    tier: ssm.ParameterTier.STANDARD,
  });
  Tags.of(options.primary).add(REGISTRATION_TAG, parameterName);
  handler.readRegistrations();
  for (const secret of options.others) {
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: `Rotated together with the primary secret of ${scope.node.path}, whose rotation schedule writes every region's secret from one new key.`,
    });
  }
  const schedule = new secretsmanager.CfnRotationSchedule(scope, 'RotationSchedule', {
    secretId: options.primary.secretArn,
    rotationLambdaArn: handler.function.functionArn,
    rotationRules: { scheduleExpression },
    rotateImmediatelyOnUpdate: false,
  });
  // Secrets Manager may invoke the handler for this secret only (SourceArn).
  const permission = new lambda.CfnPermission(scope, 'RotationPermission', {
    action: 'lambda:InvokeFunction',
    functionName: handler.function.functionArn,
    principal: 'secretsmanager.amazonaws.com',
    sourceAccount: stack.account,
    sourceArn: options.primary.secretArn,
  });
  // Rotation starts from credentials that exist, a registration to read, and
  // a function it may invoke.
  schedule.node.addDependency(options.credentials, permission, parameter);
}

/**
 * An EventBridge rule for Secrets Manager's RotationSucceeded event of one
 * secret (a CloudTrail service event; its `additionalEventData.SecretId` is
 * the secret's ARN).
 *
 * @internal
 */
export function onRotationSucceeded(scope: Construct, id: string, secret: secretsmanager.ISecret, options: events.OnEventOptions): events.Rule {
  const rule = new events.Rule(scope, id, options);
  rule.addEventPattern({
    source: ['aws.secretsmanager'],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: ['RotationSucceeded'],
      additionalEventData: { SecretId: [secret.secretFullArn ?? secret.secretArn] },
    },
  });
  if (options.target) rule.addTarget(options.target);
  return rule;
}

/**
 * Secrets Manager's `rate(N days)` / `rate(N hours)` for a Duration, which
 * must be whole hours from 4 hours to 1000 days. A deploy-time (token)
 * Duration is passed through in its own unit, days or hours.
 */
function rotationRate(scope: Construct, every: Duration): string {
  if (every.isUnresolved()) {
    const unit = every.unitLabel();
    if (unit === 'days') return `rate(${every.toDays()} days)`;
    if (unit === 'hours') return `rate(${every.toHours()} hours)`;
    throw new Error(`[${scope.node.path}] a deploy-time rotateEvery must be given with Duration.days() or Duration.hours(), got one in ${unit}.`);
  }
  const hours = every.toHours({ integral: false });
  if (hours < 4 || hours > 24_000) {
    throw new Error(`[${scope.node.path}] rotateEvery must be between 4 hours and 1000 days (Secrets Manager's limits), got ${every.toHumanString()}.`);
  }
  if (!Number.isInteger(hours)) {
    throw new Error(`[${scope.node.path}] rotateEvery must be a whole number of hours (Secrets Manager schedules in hours or days), got ${every.toHumanString()}.`);
  }
  return hours % 24 === 0 ? `rate(${hours / 24} days)` : `rate(${hours} hours)`;
}
