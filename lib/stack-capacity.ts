import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

/**
 * aws-cdk-lib's own limit on resources per stack (CloudFormation allows 500),
 * which the context key `@aws-cdk/core:stackResourceLimit` changes and 0
 * turns off. aws-cdk-lib checks it only when it writes the template, after
 * validation, and its error names resource types, not SesSmtpUsers.
 */
const STACK_RESOURCE_LIMIT_CONTEXT = '@aws-cdk/core:stackResourceLimit';
const DEFAULT_STACK_RESOURCE_LIMIT = 500;

/** The resources a stack's SesSmtpUsers cost, measured in its construct tree. */
export interface SesSmtpFootprint {
  /** SesSmtpUsers in the stack. */
  readonly users: number;
  /** Resources the stack writes into its template. */
  readonly total: number;
  /** Resources not made by a SesSmtpUser or the shared handler. */
  readonly other: number;
  /** The shared handler's resources that do not grow with users (role, its policy, log group, function). */
  readonly fixed: number;
  /** Resources each SesSmtpUser adds on average (policy, secret, custom resource, and rules and permissions where configured). */
  readonly perUser: number;
  /** Managed policies aws-cdk-lib split off the handler role's growing policy. */
  readonly overflowPolicies: number;
  /** The credentials secrets' resource policies among the per-user resources. */
  readonly secretPolicies: number;
}

/**
 * Validation errors for a stack whose SesSmtpUsers take it past the resource
 * limit: the same first sentence as aws-cdk-lib's error (so tools that read
 * it still do), then how many SesSmtpUsers fit in such a stack, and the fix.
 * Runs at validation, after aspects (aws-cdk-lib splits the handler role's
 * policy into overflow policies in an aspect) and before aws-cdk-lib's check.
 *
 * @internal
 */
export function stackCapacityErrors(stack: Stack, users: readonly IConstruct[], handler: IConstruct | undefined): string[] {
  const limit = resourceLimit(stack);
  if (limit <= 0 || users.length === 0) return [];
  const footprint = measureFootprint(stack, users, handler);
  if (footprint.total <= limit) return [];
  const fit = usersThatFit(footprint, limit);
  const overflow = footprint.overflowPolicies > 0
    ? `, and ${footprint.overflowPolicies} managed policies aws-cdk-lib split off the handler role's policy, which names every user`
    : '';
  const measured = `Number of resources in stack '${stack.node.path}': ${footprint.total} is greater than allowed maximum of ${limit}. `
    + `Its ${footprint.users} SesSmtpUsers take ${footprint.total - footprint.other} of them: `
    + `${footprint.fixed} for the stack's shared handler, ${round(footprint.perUser)} per SesSmtpUser${overflow}; `
    + `other resources take ${footprint.other}.`;
  if (fit === 0) {
    return [`${measured} They leave no room for a SesSmtpUser: move the SesSmtpUsers to a stack of their own, `
      + `where about ${usersThatFit({ ...footprint, other: 0 }, limit)} fit.`];
  }
  const stacks = Math.ceil(footprint.users / fit);
  const perStack = Math.ceil(footprint.users / stacks);
  return [`${measured} About ${fit} SesSmtpUsers fit in one stack like this. `
    + `Split them across stacks (for example ${stacks} stacks of ${perStack}); each stack gets its own handler.${withoutSecretPolicies(footprint, limit)}`];
}

/**
 * The other way out, when the secrets' resource policies are part of the
 * cost: how many fit without them, and what that gives up.
 */
function withoutSecretPolicies(footprint: SesSmtpFootprint, limit: number): string {
  if (footprint.secretPolicies === 0) return '';
  const without = usersThatFit({ ...footprint, perUser: footprint.perUser - footprint.secretPolicies / footprint.users, secretPolicies: 0 }, limit);
  return ` The credentials secrets' resource policies take ${footprint.secretPolicies} of the resources: without them (secretResourcePolicy: false) `
    + `about ${without} fit, but any principal allowed secretsmanager:* reads and writes the secrets (docs/security.md, "Who can write the secrets").`;
}

/**
 * Counts what the template will hold. Each resource counts under the first
 * of these that holds it: a SesSmtpUser, the handler's overflow policies or
 * per-user permissions (rule and rotation targets, which aws-cdk-lib puts
 * under the function), the rest of the handler, anything else.
 *
 * @internal
 */
export function measureFootprint(stack: Stack, users: readonly IConstruct[], handler: IConstruct | undefined): SesSmtpFootprint {
  const userSet = new Set<IConstruct>(users);
  let total = 0; let other = 0; let fixed = 0; let perUserTotal = 0; let overflowPolicies = 0; let secretPolicies = 0;
  for (const resource of stack.node.findAll()) {
    if (!(resource instanceof CfnResource) || Stack.of(resource) !== stack || !SynthesisProbe.synthesizes(resource)) continue;
    total++;
    const scopes = resource.node.scopes;
    if (scopes.some((scope) => userSet.has(scope))) {
      perUserTotal++;
      if (resource.cfnResourceType === 'AWS::SecretsManager::ResourcePolicy') secretPolicies++;
    } else if (handler && scopes.includes(handler)) {
      if (scopes.some((scope) => scope instanceof iam.ManagedPolicy)) overflowPolicies++;
      else if (resource instanceof lambda.CfnPermission) perUserTotal++;
      else fixed++;
    } else {
      other++;
    }
  }
  return { users: users.length, total, other, fixed, perUser: perUserTotal / users.length, overflowPolicies, secretPolicies };
}

/**
 * The most SesSmtpUsers configured like these that stay within `limit`:
 * the largest k with other + fixed + perUser·k + overflow(k) ≤ limit, where
 * overflow(k) scales the overflow policies measured at the stack's own user
 * count (they grow with the number of user ARNs in the handler role's
 * policy), rounded down as aws-cdk-lib fills each one before it adds the next.
 *
 * @internal
 */
export function usersThatFit(footprint: SesSmtpFootprint, limit: number): number {
  const cost = (k: number) => footprint.other + footprint.fixed + footprint.perUser * k
    + Math.floor(footprint.overflowPolicies * k / footprint.users);
  let k = Math.max(0, Math.floor((limit - footprint.other - footprint.fixed) / footprint.perUser));
  while (k > 0 && cost(k) > limit) k--;
  while (cost(k + 1) <= limit) k++;
  return k;
}

function resourceLimit(stack: Stack): number {
  const context = stack.node.tryGetContext(STACK_RESOURCE_LIMIT_CONTEXT);
  return context !== undefined ? parseInt(String(context), 10) : DEFAULT_STACK_RESOURCE_LIMIT;
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/**
 * Asks a resource whether it goes into the template, as aws-cdk-lib does
 * when it writes one (an `iam.Policy` with no statements, for example, does
 * not). `shouldSynthesize` is protected; a subclass may call it.
 */
abstract class SynthesisProbe extends CfnResource {
  public static synthesizes(resource: CfnResource): boolean {
    return (resource as SynthesisProbe).shouldSynthesize();
  }
}
