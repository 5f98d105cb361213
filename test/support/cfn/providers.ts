/**
 * Which provider makes each resource type real. A type not listed here stops
 * the deployment before anything happens, so no test silently skips a resource.
 */
import { customResourceProvider } from './custom-resource';
import { managedPolicyProvider, policyProvider, roleProvider } from './iam-providers';
import { ResourceProvider } from './provider';
import {
  eventRuleProvider, functionProvider, kmsKeyProvider, logGroupProvider, permissionProvider, ssmParameterProvider,
} from './recorded-providers';
import { resourcePolicyProvider, rotationScheduleProvider, secretProvider } from './secret-providers';

const PROVIDERS: Readonly<Record<string, ResourceProvider>> = {
  'AWS::IAM::Role': roleProvider,
  'AWS::IAM::Policy': policyProvider,
  'AWS::IAM::ManagedPolicy': managedPolicyProvider,
  'AWS::SecretsManager::Secret': secretProvider,
  'AWS::SecretsManager::ResourcePolicy': resourcePolicyProvider,
  'AWS::SecretsManager::RotationSchedule': rotationScheduleProvider,
  'AWS::Logs::LogGroup': logGroupProvider,
  'AWS::Lambda::Function': functionProvider,
  'AWS::Lambda::Permission': permissionProvider,
  'AWS::Events::Rule': eventRuleProvider,
  'AWS::KMS::Key': kmsKeyProvider,
  'AWS::SSM::Parameter': ssmParameterProvider,
};

export function providerFor(type: string, logicalId: string): ResourceProvider {
  if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') return customResourceProvider;
  const provider = PROVIDERS[type];
  if (!provider) {
    throw new Error(`${logicalId}: the CloudFormation emulator has no provider for ${type}; add one in test/support/cfn/providers.ts`);
  }
  return provider;
}
