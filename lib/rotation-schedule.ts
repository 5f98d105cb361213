import { CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { REGISTRATION_METADATA_KEY, RotationRegistration } from './contract';
import type { SmtpCredentialsHandler } from './smtp-credentials-handler';

/** @internal */
export interface RotationScheduleOptions {
  readonly every: Duration;
  /** The primary secret: Secrets Manager rotates it and the handler writes every region with it. */
  readonly primary: secretsmanager.Secret;
  /** The other regions' secrets. */
  readonly others: secretsmanager.ISecret[];
  /** What the rotation may touch: the same user, targets and source the custom resource has (the primary's target without its own ARN). */
  readonly registration: RotationRegistration;
  readonly credentials: CustomResource;
}

/**
 * Native rotation of one SesSmtpUser's secrets, served by the stack's
 * handler. A rotation event names only the secret, so the deployment writes
 * what the rotation may touch (the registration) into the primary secret's
 * template Metadata, which only a stack update can change; the handler reads
 * it back with DescribeStackResource, for the logical id CloudFormation's
 * reserved tag on the secret names.
 *
 * Its resources are children of the SesSmtpUser (their logical ids do not
 * depend on this file).
 *
 * @internal
 */
export function scheduleRotation(scope: Construct, handler: SmtpCredentialsHandler, options: RotationScheduleOptions): void {
  const stack = Stack.of(scope);
  const scheduleExpression = rotationRate(scope, options.every);
  (options.primary.node.defaultChild as secretsmanager.CfnSecret).addMetadata(REGISTRATION_METADATA_KEY, options.registration);
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
  // Rotation starts from credentials that exist and a function it may invoke.
  schedule.node.addDependency(options.credentials, permission);
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
