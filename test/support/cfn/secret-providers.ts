/**
 * AWS::SecretsManager::Secret, AWS::SecretsManager::ResourcePolicy and
 * AWS::SecretsManager::RotationSchedule in moto, as CloudFormation manages them.
 */
import { randomBytes } from 'node:crypto';
import {
  CancelRotateSecretCommand, CreateSecretCommand, DeleteResourcePolicyCommand, DeleteSecretCommand, PutResourcePolicyCommand,
  PutSecretValueCommand, RotationRulesType, TagResourceCommand, UntagResourceCommand, UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { testRotationConfiguration } from '../rotation-configuration';
import {
  Properties, ProviderContext, ProvisionError, ResourceProvider, documentJson, ignoringNotFound, optionalString, randomSuffix, sameValue,
} from './provider';

interface Tag { Key: string; Value: string }

function tags(props: Properties): Tag[] {
  const value = props.Tags ?? [];
  if (!Array.isArray(value)) throw new Error(`Tags must be a list, got ${JSON.stringify(value)}`);
  return value as Tag[];
}

/**
 * The first value CloudFormation gives a secret: SecretString as written, a
 * generated one for GenerateSecretString, or none at all (an empty secret,
 * as the AWS::SecretsManager::Secret documentation says).
 */
function initialValue(props: Properties): string | undefined {
  const explicit = optionalString(props, 'SecretString');
  if (explicit !== undefined) return explicit;
  const generate = props.GenerateSecretString as { SecretStringTemplate?: string; GenerateStringKey?: string } | undefined;
  if (!generate) return undefined;
  const generated = randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, 'x');
  if (generate.SecretStringTemplate && generate.GenerateStringKey) {
    return JSON.stringify({ ...JSON.parse(generate.SecretStringTemplate), [generate.GenerateStringKey]: generated });
  }
  return generated;
}

export const secretProvider: ResourceProvider = {
  replaceOn: ['Name'],
  async create(props, context) {
    if (props.ReplicaRegions !== undefined) throw new Error(`${context.logicalId}: ReplicaRegions are not supported by the emulator`);
    const out = await context.secrets.send(new CreateSecretCommand({
      Name: optionalString(props, 'Name') ?? `${context.logicalId}-${randomSuffix(12)}`,
      Description: optionalString(props, 'Description'),
      KmsKeyId: optionalString(props, 'KmsKeyId'),
      // CloudFormation adds its reserved tags to what it creates; no principal can set or change them.
      Tags: [
        ...tags(props),
        { Key: 'aws:cloudformation:stack-name', Value: context.stackName },
        { Key: 'aws:cloudformation:logical-id', Value: context.logicalId },
        { Key: 'aws:cloudformation:stack-id', Value: context.stackId },
      ],
      SecretString: initialValue(props),
    }));
    // Ref of a secret is its ARN, which is also its physical id.
    return { physicalId: out.ARN!, attributes: { Id: out.ARN! } };
  },
  async update(oldProps, newProps, current, context) {
    if (newProps.ReplicaRegions !== undefined) throw new Error(`${context.logicalId}: ReplicaRegions are not supported by the emulator`);
    const arn = current.physicalId;
    if (oldProps.Description !== newProps.Description || oldProps.KmsKeyId !== newProps.KmsKeyId) {
      await context.secrets.send(new UpdateSecretCommand({
        SecretId: arn, Description: optionalString(newProps, 'Description') ?? '', KmsKeyId: optionalString(newProps, 'KmsKeyId'),
      }));
    }
    if (!sameValue(oldProps.SecretString, newProps.SecretString) && newProps.SecretString !== undefined) {
      await context.secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: optionalString(newProps, 'SecretString') }));
    }
    if (!sameValue(tags(oldProps), tags(newProps))) {
      const removed = tags(oldProps).filter((t) => !tags(newProps).some((n) => n.Key === t.Key)).map((t) => t.Key);
      if (removed.length > 0) await context.secrets.send(new UntagResourceCommand({ SecretId: arn, TagKeys: removed }));
      if (tags(newProps).length > 0) await context.secrets.send(new TagResourceCommand({ SecretId: arn, Tags: tags(newProps) }));
    }
    return current;
  },
  async delete(_props, arn, context) {
    try {
      await context.secrets.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    }
  },
};

/**
 * A secret's resource policy. moto stores it and does not evaluate it
 * (test/scp.test.ts and test/credentials-secret-policy.test.ts evaluate such
 * policies with an IAM policy simulator instead).
 */
export const resourcePolicyProvider: ResourceProvider = {
  replaceOn: ['SecretId'],
  async create(props, context) {
    const secretId = optionalString(props, 'SecretId');
    if (!secretId) throw new Error(`${context.logicalId}: SecretId is required`);
    await context.secrets.send(new PutResourcePolicyCommand({ SecretId: secretId, ResourcePolicy: documentJson(props.ResourcePolicy) }));
    // Ref (and Id) of a resource policy is the secret's ARN.
    return { physicalId: secretId, attributes: { Id: secretId } };
  },
  async update(_oldProps, newProps, current, context) {
    await context.secrets.send(new PutResourcePolicyCommand({ SecretId: current.physicalId, ResourcePolicy: documentJson(newProps.ResourcePolicy) }));
    return current;
  },
  async delete(_props, arn, context) {
    await ignoringNotFound(() => context.secrets.send(new DeleteResourcePolicyCommand({ SecretId: arn })));
  },
};

/**
 * Sets a secret's rotation configuration with a Lambda rotation function of
 * the stack. RotateImmediatelyOnUpdate false (the construct's choice) makes
 * Secrets Manager test the configuration by running the function's
 * testSecret, on create and on every change (rotation-configuration.ts); a
 * failed test fails the resource. A rotation that starts at once
 * (RotateImmediatelyOnUpdate true, CloudFormation's default) and hosted
 * rotation functions are not played: the emulator refuses them rather than
 * pass them silently.
 */
async function configureRotation(props: Properties, context: ProviderContext): Promise<string> {
  const secretId = optionalString(props, 'SecretId');
  const rotationLambdaArn = optionalString(props, 'RotationLambdaARN');
  if (!secretId || !rotationLambdaArn || props.HostedRotationLambda !== undefined) {
    throw new Error(`${context.logicalId}: the emulator plays rotation schedules with a SecretId and a RotationLambdaARN of the stack only`);
  }
  if (props.RotateImmediatelyOnUpdate !== false && props.RotateImmediatelyOnUpdate !== 'false') {
    throw new Error(`${context.logicalId}: the emulator plays RotateImmediatelyOnUpdate: false only (Secrets Manager's configuration test), got ${JSON.stringify(props.RotateImmediatelyOnUpdate)}`);
  }
  const { failure } = await testRotationConfiguration({
    secrets: context.secrets,
    secretId,
    rotationLambdaArn,
    rotationRules: (props.RotationRules ?? {}) as RotationRulesType,
    invoke: (event) => context.customResources.invoke(context, rotationLambdaArn, event),
  });
  // Ref of a rotation schedule is the secret's ARN, which is also its physical id.
  if (failure) throw new ProvisionError(`Secrets Manager's test of the rotation configuration failed: ${failure.message}`, secretId);
  return secretId;
}

export const rotationScheduleProvider: ResourceProvider = {
  replaceOn: ['SecretId'],
  async create(props, context) {
    return { physicalId: await configureRotation(props, context), attributes: {} };
  },
  async update(_oldProps, newProps, current, context) {
    await configureRotation(newProps, context);
    return current;
  },
  async delete(_props, arn, context) {
    // Turns rotation off; the secret stays (CancelRotateSecret).
    await ignoringNotFound(() => context.secrets.send(new CancelRotateSecretCommand({ SecretId: arn })));
  },
};
