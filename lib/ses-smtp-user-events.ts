import * as events from 'aws-cdk-lib/aws-events';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * Secrets Manager's rotation events, which CloudTrail records as service
 * events (`detail-type` "AWS Service Event via CloudTrail") and EventBridge
 * delivers when the account records management events (a Landing Zone's
 * organisation trail does). The secret's ARN is in
 * `detail.additionalEventData.SecretId`.
 *
 * Sources: AWS Secrets Manager User Guide, "Logging AWS Secrets Manager events
 * with AWS CloudTrail" (RotationStarted, RotationSucceeded, RotationFailed,
 * RotationAbandoned) and "AWS CloudTrail entries for Secrets Manager", log
 * entries for rotation.
 */
const ROTATION_SUCCEEDED = ['RotationSucceeded'];

/**
 * A rotation that did not complete:
 * - RotationFailed: a step of the rotation function failed;
 * - RotationAbandoned: a new version was written while a rotation was under
 *   way, and Secrets Manager removed AWSPENDING to let later rotations run;
 * - TestRotationFailed: the test of the rotation configuration, which
 *   Secrets Manager runs when the schedule is created or changed without an
 *   immediate rotation (`rotateImmediatelyOnUpdate: false`), failed.
 */
const ROTATION_FAILED = ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'];

/** @internal */
export function onRotationSucceeded(scope: Construct, id: string, secret: secretsmanager.ISecret, options: events.OnEventOptions): events.Rule {
  return rotationRule(scope, id, secret, ROTATION_SUCCEEDED, options);
}

/** @internal */
export function onRotationFailed(scope: Construct, id: string, secret: secretsmanager.ISecret, options: events.OnEventOptions): events.Rule {
  return rotationRule(scope, id, secret, ROTATION_FAILED, options);
}

function rotationRule(scope: Construct, id: string, secret: secretsmanager.ISecret, eventNames: string[], options: events.OnEventOptions): events.Rule {
  const rule = new events.Rule(scope, id, options);
  rule.addEventPattern({
    source: ['aws.secretsmanager'],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: eventNames,
      additionalEventData: { SecretId: [secret.secretFullArn ?? secret.secretArn] },
    },
  });
  if (options.target) rule.addTarget(options.target);
  return rule;
}
