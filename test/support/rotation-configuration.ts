/**
 * Secrets Manager's test of a rotation configuration, as the harness plays it.
 *
 * A rotation schedule set with RotateImmediately false (the construct's
 * RotationSchedule has RotateImmediatelyOnUpdate: false) does not rotate.
 * Instead "Secrets Manager tests the rotation configuration by running the
 * testSecret step of the Lambda rotation function. This test creates an
 * AWSPENDING version of the secret and then removes it" (RotateSecret API
 * reference, RotateImmediately; AWS::SecretsManager::RotationSchedule,
 * RotateImmediatelyOnUpdate). It runs when the schedule is created and each
 * time CloudFormation sets it again.
 *
 * Played here in three moves:
 * 1. RotateSecret with RotateImmediately false: moto (moto_fidelity.py)
 *    records the configuration and stages AWSPENDING on a new version, the
 *    token's, holding a copy of the current value;
 * 2. the function runs testSecret only, with the event Secrets Manager sends
 *    a rotation function: Step, SecretId (the secret's ARN),
 *    ClientRequestToken (the version's id) and RotationToken ("Rotation by
 *    Lambda function", Secrets Manager User Guide);
 * 3. the label comes off that version again. Whether AWS then also deletes
 *    the version is not documented; the harness leaves it, without labels
 *    (deprecated), which is the more the handler could misread.
 *
 * Not documented either: whether the schedule's creation waits for the test
 * and fails with it. The emulator fails the RotationSchedule when the test
 * fails (cfn/secret-providers.ts), so a deployment that passes here passes
 * whichever way AWS decides.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand, RotateSecretCommand, RotationRulesType, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';

/** The payload Secrets Manager invokes a rotation function with. */
export interface RotationStepEvent {
  readonly Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  /** Identifies the request's source; newer events carry it (Secrets Manager validates it for role-assuming rotation functions). */
  readonly RotationToken: string;
}

export interface ConfigurationTestOptions {
  /** Secrets Manager's own view (administrator credentials). */
  readonly secrets: SecretsManagerClient;
  readonly secretId: string;
  readonly rotationLambdaArn: string;
  readonly rotationRules: RotationRulesType;
  /** Runs the rotation function with one event, as Lambda does; rejects when the function fails. */
  readonly invoke: (event: RotationStepEvent) => Promise<void>;
  /** @default - a new UUID, as CloudFormation's call leaves it to the SDK */
  readonly token?: string;
}

export interface ConfigurationTestResult {
  /** The version id the test staged AWSPENDING on (and left without labels). */
  readonly token: string;
  /** What the function failed with, if it failed. */
  readonly failure?: Error;
}

/**
 * Sets the rotation configuration with RotateImmediately false and runs
 * Secrets Manager's test of it. The AWSPENDING label is removed whether the
 * step passed or failed.
 */
export async function testRotationConfiguration(options: ConfigurationTestOptions): Promise<ConfigurationTestResult> {
  const token = options.token ?? randomUUID();
  const started = await options.secrets.send(new RotateSecretCommand({
    SecretId: options.secretId,
    ClientRequestToken: token,
    RotationLambdaARN: options.rotationLambdaArn,
    RotationRules: options.rotationRules,
    RotateImmediately: false,
  }));
  let failure: Error | undefined;
  try {
    await options.invoke({ Step: 'testSecret', SecretId: started.ARN!, ClientRequestToken: token, RotationToken: randomUUID() });
  } catch (e) {
    failure = e as Error;
  }
  const stages = (await options.secrets.send(new DescribeSecretCommand({ SecretId: started.ARN! }))).VersionIdsToStages ?? {};
  if (stages[token]?.includes('AWSPENDING')) {
    await options.secrets.send(new UpdateSecretVersionStageCommand({
      SecretId: started.ARN!, VersionStage: 'AWSPENDING', RemoveFromVersionId: token,
    }));
  }
  return { token, failure };
}
