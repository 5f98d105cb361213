import { ArnFormat, CfnResource, CustomResource, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { KeySourceChangedEvent, REGISTRATION_METADATA_KEY, SmtpCredentialsProperties } from './contract';
import type { SmtpCredentialsHandler } from './smtp-credentials-handler';

/**
 * EventBridge rule: when the IAM automation writes the key source secret,
 * the handler re-derives. The rule matches only events about that secret;
 * the handler checks again and ignores any other. A child of the SesSmtpUser
 * (`KeySourceChanged`).
 *
 * The event names only the custom resource. What a sync may touch is that
 * resource's template Metadata (its properties, registered here), which the
 * handler reads back through CloudFormation: anyone may invoke the function,
 * but only a stack update can change what a sync does.
 *
 * The derived secrets change exactly when the source does, so their rotation
 * is the source's: cdk-nag's SMG4 (no rotation schedule) is acknowledged on
 * them with that reason, and stays on the source secret, where it belongs.
 *
 * @internal
 */
export function followKeySource(
  scope: Construct, handler: SmtpCredentialsHandler, credentials: CustomResource, properties: SmtpCredentialsProperties,
  source: secretsmanager.ISecret, derived: secretsmanager.ISecret[],
): events.Rule {
  const resource = credentials.node.defaultChild as CfnResource;
  resource.addMetadata(REGISTRATION_METADATA_KEY, properties);
  for (const secret of derived) {
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: `Derived from the access key in the IAM automation's secret (keySource of ${scope.node.path}), which rotates that key; `
        + 'an EventBridge rule re-derives this secret whenever the source changes. Rotate the source secret.',
    });
  }
  const input: KeySourceChangedEvent = { SesSmtpSync: { LogicalResourceId: Stack.of(scope).getLogicalId(resource) } };
  return new events.Rule(scope, 'KeySourceChanged', {
    description: `Re-derive SES SMTP credentials when the key source of ${scope.node.path} changes`,
    eventPattern: {
      source: ['aws.secretsmanager'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['PutSecretValue', 'UpdateSecret', 'UpdateSecretVersionStage', 'RotationSucceeded'],
        ...secretIdFilter(source),
      },
    },
    targets: [new targets.LambdaFunction(handler.function, {
      event: events.RuleTargetInput.fromObject({ ...input, detail: events.EventField.fromPath('$.detail') }),
      retryAttempts: 2,
    })],
  });
}

/**
 * API calls name the secret (by ARN, partial ARN or name) in
 * requestParameters.secretId, RotationSucceeded in additionalEventData.SecretId.
 * - ARN known at synth time: the ARN without its random suffix (prefix) or the name.
 * - ARN a token (a secret of this stack, `fromSecretNameV2`): by prefix on the
 *   partial ARN and on the name, both resolved by CloudFormation. A prefix on
 *   the name also matches longer names; the handler compares exactly.
 */
function secretIdFilter(source: secretsmanager.ISecret): Record<string, unknown> {
  const arn = source.secretFullArn ?? source.secretArn;
  let ids: unknown[];
  if (!Token.isUnresolved(arn)) {
    const partialArn = source.secretFullArn ? arn.replace(/-[A-Za-z0-9]{6}$/, '') : arn;
    const name = partialArn.slice(partialArn.indexOf(':secret:') + ':secret:'.length);
    ids = [{ prefix: partialArn }, name];
  } else {
    const partialArn = Stack.of(source).formatArn({
      service: 'secretsmanager', resource: 'secret', resourceName: source.secretName, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    ids = [{ prefix: partialArn }, { prefix: source.secretName }];
  }
  return {
    $or: [
      { requestParameters: { secretId: ids } },
      { additionalEventData: { SecretId: ids } },
    ],
  };
}
