/**
 * The handler role's permissions, resolved and sized as IAM sizes them, and
 * the first IAM quota they break.
 */
import { IAM_LIMITS } from './limits';
import { CfnResource, CfnTemplate, Resolver } from './resolver';

export interface RolePolicies {
  role: string;
  /** Non-whitespace characters of all inline policies of the role, resolved. */
  inlineCharacters: number;
  /** Customer managed policies attached to the role (CDK's OverflowPolicyN), resolved. */
  managed: Array<{ id: string; characters: number; statements: string[] }>;
  /** Inline and managed together: what one inline policy would have to hold without CDK's split. */
  totalCharacters: number;
  /** The first IAM quota the role breaks, if any. */
  violation?: string;
}

function policyCharacters(resolver: Resolver, document: unknown): number {
  return JSON.stringify(resolver.resolve(document)).replace(/\s/g, '').length;
}

function statementSummary(document: unknown): string[] {
  const statements = ((document as { Statement?: Array<{ Action?: string | string[]; Resource?: unknown }> }).Statement ?? []);
  return statements.map((st) => {
    const actions = ([] as string[]).concat(st.Action ?? []);
    const resources = Array.isArray(st.Resource) ? st.Resource.length : 1;
    return `${actions[0]}${actions.length > 1 ? ` +${actions.length - 1}` : ''} on ${resources} ARN${resources === 1 ? '' : 's'}`;
  });
}

/**
 * The role of the function that issues access keys (the one with a policy
 * allowing iam:CreateAccessKey) and the resolved size of every policy on it,
 * measured as IAM measures it: non-whitespace characters. aws-cdk-lib moves
 * whole statements of a large default policy into customer managed
 * "OverflowPolicy" resources, so both IAM quotas matter: 10,240 for the
 * role's inline policies together, 6,144 for each managed policy.
 */
export function handlerRolePolicies(template: CfnTemplate): RolePolicies {
  const resolver = new Resolver(template);
  const roleRefs = (r: CfnResource) => ((r.Properties?.Roles ?? []) as Array<{ Ref?: string }>).map((x) => x.Ref).filter((x): x is string => !!x);
  const grants = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy');
  const keyGrant = grants.find(([, r]) => JSON.stringify(r.Properties?.PolicyDocument).includes('iam:CreateAccessKey') && roleRefs(r).length > 0);
  if (!keyGrant) throw new Error('no role policy allows iam:CreateAccessKey');
  const role = roleRefs(keyGrant[1])[0];
  const onRole = grants.filter(([, r]) => roleRefs(r).includes(role));
  const inlineDocs: unknown[] = onRole.filter(([, r]) => r.Type === 'AWS::IAM::Policy').map(([, r]) => r.Properties!.PolicyDocument);
  for (const inline of (template.Resources[role].Properties?.Policies ?? []) as Array<{ PolicyDocument: unknown }>) inlineDocs.push(inline.PolicyDocument);
  const inlineCharacters = inlineDocs.reduce<number>((sum, doc) => sum + policyCharacters(resolver, doc), 0);
  const managed = onRole.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy').map(([id, r]) => ({
    id, characters: policyCharacters(resolver, r.Properties!.PolicyDocument), statements: statementSummary(r.Properties!.PolicyDocument),
  }));
  const attachedManaged = managed.length + ((template.Resources[role].Properties?.ManagedPolicyArns ?? []) as unknown[]).length;
  let violation: string | undefined;
  if (inlineCharacters > IAM_LIMITS.roleInlineAggregate) {
    violation = `inline policies ${inlineCharacters} > ${IAM_LIMITS.roleInlineAggregate} chars`;
  } else if (managed.some((m) => m.characters > IAM_LIMITS.managedPolicy)) {
    const m = managed.find((x) => x.characters > IAM_LIMITS.managedPolicy)!;
    violation = `managed ${m.id} (${m.statements.join('; ')}) ${m.characters} > ${IAM_LIMITS.managedPolicy} chars`;
  } else if (attachedManaged > IAM_LIMITS.managedPoliciesPerRole) {
    violation = `${attachedManaged} managed policies > ${IAM_LIMITS.managedPoliciesPerRole} per role`;
  }
  return {
    role, inlineCharacters, managed, violation,
    totalCharacters: inlineCharacters + managed.reduce((sum, m) => sum + m.characters, 0),
  };
}

/** One line for the report: the inline and managed sizes with their statements. */
export function describePolicies(p: RolePolicies): string {
  return `inline ${p.inlineCharacters}${p.managed.map((m) => `, managed ${m.characters} (${m.statements.join('; ')})`).join('')}`;
}

