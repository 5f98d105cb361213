/**
 * Resource types that the scenarios need to exist in the stack but not in
 * moto (nothing under test calls them): they get the physical ids and
 * attributes CloudFormation would give them, and nothing else happens.
 *
 * AWS::KMS::Key is here too: @aws-sdk/client-kms is not installed, and moto
 * does not check KmsKeyId on CreateSecret.
 */
import { randomUUID } from 'node:crypto';
import { Properties, ProviderContext, Provisioned, ResourceProvider, generatedName, optionalString, randomSuffix } from './provider';

function recorded(
  make: (props: Properties, context: ProviderContext) => Provisioned,
  replaceOn: readonly string[] = [],
): ResourceProvider {
  return {
    replaceOn,
    create: async (props, context) => make(props, context),
    update: async (_old, _new, current) => current,
    delete: async () => undefined,
  };
}

export const logGroupProvider = recorded((props, context) => {
  const name = optionalString(props, 'LogGroupName') ?? generatedName(context.stackName, context.logicalId, 512);
  return { physicalId: name, attributes: { Arn: `arn:aws:logs:${context.region}:${context.accountId}:log-group:${name}:*` } };
}, ['LogGroupName']);

/** Ref is the function name; the engine reads its Role and Timeout so custom resources run under them. */
export const functionProvider = recorded((props, context) => {
  const name = optionalString(props, 'FunctionName') ?? generatedName(context.stackName, context.logicalId, 64);
  return { physicalId: name, attributes: { Arn: `arn:aws:lambda:${context.region}:${context.accountId}:function:${name}` } };
}, ['FunctionName']);

export const permissionProvider = recorded((_props, context) => ({
  physicalId: `${context.stackName}-${context.logicalId}-${randomSuffix(12)}`, attributes: {},
}));

export const eventRuleProvider = recorded((props, context) => {
  const name = optionalString(props, 'Name') ?? generatedName(context.stackName, context.logicalId, 64);
  return { physicalId: name, attributes: { Arn: `arn:aws:events:${context.region}:${context.accountId}:rule/${name}` } };
}, ['Name']);

export const kmsKeyProvider = recorded((_props, context) => {
  const keyId = randomUUID();
  return { physicalId: keyId, attributes: { Arn: `arn:aws:kms:${context.region}:${context.accountId}:key/${keyId}`, KeyId: keyId } };
});

/** Ref is the parameter's name. Rotation, the only reader, is driven by the handler tests, not through the emulator. */
export const ssmParameterProvider = recorded((props, context) => {
  const name = optionalString(props, 'Name') ?? generatedName(context.stackName, context.logicalId, 128);
  return { physicalId: name, attributes: { Type: optionalString(props, 'Type') ?? 'String', Value: optionalString(props, 'Value') ?? '' } };
}, ['Name']);
