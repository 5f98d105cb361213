/** Small helpers for reading synthesized templates in construct tests. */
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** CloudFormation allows a scalar where a list is expected; this reads both as a list. */
export function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

export function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The message of the error `fn` throws (fails the test if it throws none). */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error, but none was thrown');
}

/** Resource counts by type, without the CDKMetadata resource. */
export function resourceCounts(template: Template): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of Object.values(template.toJSON().Resources as Record<string, { Type: string }>)) {
    if (resource.Type === 'AWS::CDK::Metadata') continue;
    counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
  }
  return counts;
}
