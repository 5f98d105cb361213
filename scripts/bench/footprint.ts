/**
 * Template footprint and users per stack: resources for 1, 10 and 100 users,
 * fixed overhead and per user, the users that fit CloudFormation's
 * 500-resource limit, and the users at which the handler role's policies
 * break an IAM quota. Synthesizes in this process; nothing here is timed.
 */
import { SIZES, quietly, round, tmpDir } from './common';
import { CFN_RESOURCE_LIMIT, IAM_ROLE_POLICY_LIMIT } from './limits';
import { CfnResource, CfnTemplate } from './resolver';
import { RolePolicies, handlerRolePolicies } from './role-policies';
import { BENCH_STACK_NAME, StackKind, buildApp } from './stacks';

export interface Synthesized { template: CfnTemplate; outdir: string }

/** Synthesizes in this process (footprint, policy size and assets; not timed). */
async function synthInProcess(kind: StackKind, users: number, noResourceLimit = false): Promise<Synthesized> {
  const outdir = tmpDir(`${kind}-${users}${noResourceLimit ? '-unlimited' : ''}`);
  return quietly(async () => {
    const { app } = await buildApp(kind, users, outdir, { noResourceLimit });
    const assembly = app.synth();
    return { template: assembly.getStackByName(BENCH_STACK_NAME).template as CfnTemplate, outdir };
  });
}

/** CDK's version-reporting resource is not part of any construct. */
function constructResources(template: CfnTemplate): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type !== 'AWS::CDK::Metadata');
}

function countByType(template: CfnTemplate): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, r] of constructResources(template)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return counts;
}

/** Overflow managed policies aws-cdk-lib split off a role's default policy. */
function overflowPolicies(template: CfnTemplate): number {
  return Object.entries(template.Resources).filter(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && /OverflowPolicy\d/.test(id)).length;
}

export interface Footprint {
  resources: Record<number, number>;
  overflowPolicies: Record<number, number>;
  byType: Record<number, Record<string, number>>;
  /** Resource types of the fixed overhead, with counts. */
  fixedByType: Record<string, number>;
  /** Resources the second user adds. */
  marginalPerUser: number;
  /** Slope over 1..100 users, overflow policies included. */
  averagePerUser: number;
  /** Resources with one user minus the marginal per-user count. */
  fixedOverhead: number;
  /** Whether resources(n) = fixed + perUser × n holds at 10 and 100 users. */
  linear: boolean;
  maxUsersUnder500: number;
  verified500: { atMax: number; atMaxPlusOne: number };
  rolePolicy: {
    role: string;
    inlineCharacters: Record<number, number>;
    managedPolicies: Record<number, number>;
    totalCharacters: Record<number, number>;
    perUserCharacters: number;
    fixedCharacters: number;
    /** Users at which all permissions in one inline policy would pass 10,240 (no CDK split). */
    totalExceeds10240At: number;
    /** Largest user count whose handler role satisfies every IAM quota. */
    maxUsersWithinIam: number;
    atMax: RolePolicies;
    /** Undefined where one more user is over CloudFormation's 500 resources. */
    atMaxPlusOne: RolePolicies | undefined;
  };
  realisticMaxUsers: number;
  bindingBound: string;
  createsUsers: boolean;
}

/** Largest n in [lo, hi] with ok(n), assuming ok is true up to some point and false after. */
async function largestOk(lo: number, hi: number, ok: (n: number) => Promise<boolean>): Promise<number> {
  if (!(await ok(lo))) return lo - 1;
  while (await ok(hi)) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await ok(mid)) lo = mid; else hi = mid;
  }
  return lo;
}

/** Largest n with ok(n), walking from a close guess (ok true up to some point, false after). */
async function largestOkNear(guess: number, ok: (n: number) => Promise<boolean>): Promise<number> {
  let n = Math.max(1, guess);
  if (await ok(n)) {
    while (await ok(n + 1)) n++;
    return n;
  }
  while (n > 1 && !(await ok(n - 1))) n--;
  return n - 1;
}

export async function footprint(kind: StackKind): Promise<{ result: Footprint; templates: Map<number, Synthesized> }> {
  const cache = new Map<number, Synthesized>();
  const synth = async (n: number) => {
    let s = cache.get(n);
    if (!s) { s = await synthInProcess(kind, n); cache.set(n, s); }
    return s;
  };
  const count = async (n: number) => {
    try {
      return constructResources((await synth(n)).template).length;
    } catch (e) {
      // aws-cdk-lib itself refuses to synthesize a stack over 500 resources.
      const over = /Number of resources in stack '[^']*': (\d+) is greater than allowed maximum/.exec(String((e as Error).message));
      if (over) return Number(over[1]);
      throw e;
    }
  };
  const policies = async (n: number) => handlerRolePolicies((await synth(n)).template);
  /** The same where aws-cdk-lib would refuse the stack (over 500 resources): policy sizes grow on past that limit. */
  const policiesPastTheLimit = async (n: number) => handlerRolePolicies((await synthInProcess(kind, n, true)).template);
  /** The handler role's policies, or undefined where aws-cdk-lib refuses the stack (over 500 resources). */
  const policiesIfSynthesizable = async (n: number) => {
    try {
      return await policies(n);
    } catch (e) {
      if (/Number of resources in stack/.test(String((e as Error).message))) return undefined;
      throw e;
    }
  };

  const resources: Record<number, number> = {};
  const overflow: Record<number, number> = {};
  const byType: Record<number, Record<string, number>> = {};
  const inlineCharacters: Record<number, number> = {};
  const managedPolicies: Record<number, number> = {};
  const totalCharacters: Record<number, number> = {};
  for (const n of SIZES) {
    const { template } = await synth(n);
    resources[n] = constructResources(template).length;
    overflow[n] = overflowPolicies(template);
    byType[n] = countByType(template);
    const p = handlerRolePolicies(template);
    inlineCharacters[n] = p.inlineCharacters;
    managedPolicies[n] = p.managed.length;
    totalCharacters[n] = p.totalCharacters;
  }
  const marginalPerUser = (await count(2)) - resources[1];
  // resources(n) = fixed + perUser × n for small n, per type: fixed = 2 × c(1) − c(2)
  const byType2 = countByType((await synth(2)).template);
  const fixedByType = Object.fromEntries(Object.keys(byType[1])
    .map((t) => [t, 2 * byType[1][t] - (byType2[t] ?? 0)] as const).filter(([, c]) => c > 0));
  const fixedOverhead = resources[1] - marginalPerUser;
  const averagePerUser = round((resources[100] - resources[1]) / 99, 3);
  const linear = [10, 100].every((n) => resources[n] === fixedOverhead + marginalPerUser * n);

  const maxUsersUnder500 = await largestOkNear(Math.floor((CFN_RESOURCE_LIMIT - fixedOverhead) / marginalPerUser), async (n) => (await count(n)) <= CFN_RESOURCE_LIMIT);
  const verified500 = { atMax: await count(maxUsersUnder500), atMaxPlusOne: await count(maxUsersUnder500 + 1) };

  const perUserCharacters = round((totalCharacters[100] - totalCharacters[1]) / 99, 2);
  const fixedCharacters = round(totalCharacters[1] - perUserCharacters, 2);
  const totalExceeds10240At = 1 + await largestOkNear(Math.floor((IAM_ROLE_POLICY_LIMIT - fixedCharacters) / perUserCharacters),
    async (n) => (await policiesPastTheLimit(n)).totalCharacters <= IAM_ROLE_POLICY_LIMIT);
  // A stack aws-cdk-lib refuses to synthesize (over 500 resources) is not within the limits either.
  const maxUsersWithinIam = await largestOk(1, 32, async (n) => {
    const p = await policiesIfSynthesizable(n);
    return p !== undefined && p.violation === undefined;
  });

  const realisticMaxUsers = Math.min(maxUsersUnder500, maxUsersWithinIam);
  const templates = new Map(SIZES.map((n) => [n, cache.get(n)!] as const));
  return {
    templates,
    result: {
      resources, overflowPolicies: overflow, byType, fixedByType, marginalPerUser, averagePerUser, fixedOverhead, linear, maxUsersUnder500, verified500,
      rolePolicy: {
        role: (await policies(1)).role, inlineCharacters, managedPolicies, totalCharacters, perUserCharacters, fixedCharacters,
        totalExceeds10240At, maxUsersWithinIam, atMax: await policies(maxUsersWithinIam), atMaxPlusOne: await policiesIfSynthesizable(maxUsersWithinIam + 1),
      },
      realisticMaxUsers,
      bindingBound: maxUsersWithinIam < maxUsersUnder500
        ? `IAM: ${(await policies(maxUsersWithinIam + 1)).violation} at ${maxUsersWithinIam + 1} users`
        : `CloudFormation: ${verified500.atMaxPlusOne} resources at ${maxUsersUnder500 + 1} users`,
      createsUsers: (byType[1]['AWS::IAM::User'] ?? 0) > 0,
    },
  };
}

