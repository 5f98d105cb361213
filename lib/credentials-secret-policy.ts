import { DefaultStackSynthesizer, Fn, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { safeQuote } from './safe-quote';

/**
 * Who may do what to a credentials secret, enforced by three Deny statements
 * of the secret's resource policy. A Deny in a resource policy wins over any
 * Allow of an identity policy (a PowerUser's `secretsmanager:*`), and
 * Secrets Manager replicates a secret's resource policy to its replicas
 * (Secrets Manager User Guide, "Replicate AWS Secrets Manager secrets across
 * Regions": "Secrets Manager replicates the encrypted secret data and
 * metadata such as tags and resource policies").
 *
 * Principals are matched on `aws:PrincipalArn` with `ArnNotLike` (IAM User
 * Guide, "AWS JSON policy elements: NotPrincipal", recommends that over a
 * Deny with NotPrincipal): for a role session it is the role's ARN, for the
 * root user `arn:<partition>:iam::<account>:root`.
 *
 * @internal
 */
export interface SecretAccess {
  /** The stack's handler role: the only principal that writes values and moves labels. */
  readonly handlerRoleArn: string;
  /** `aws:PrincipalArn` patterns that may do everything (break-glass). */
  readonly breakGlass: readonly string[];
  /** `aws:PrincipalArn` patterns CloudFormation deploys the stack with. */
  readonly deployers: readonly string[];
  /** The account's root user (`arn:<partition>:iam::<account>:root`). */
  readonly rootUser: string;
  /** Grantees' `aws:PrincipalArn`s (read when the policy is synthesized); undefined: reads are not restricted. */
  readonly readers?: () => string[];
}

/**
 * Actions that write a value or move a staging label, which is all a
 * handler decision rests on. The handler role alone does these (and
 * break-glass principals). CloudFormation never does for these secrets: they
 * have no `SecretString` or `GenerateSecretString`, and no
 * `SecretTargetAttachment`. (`UpdateSecret` also writes a value when it
 * carries `SecretString`; it has no condition key for that, so it is in
 * {@link MANAGED_ONLY}, which only deployments and break-glass may call.)
 *
 * @internal
 */
export const WRITE_ACTIONS = ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'];

/** Reading a value. `BatchGetSecretValue` needs `GetSecretValue` on each secret (its API reference). @internal */
export const READ_ACTIONS = ['secretsmanager:GetSecretValue'];

/**
 * What everyone may do: read metadata (no value), and tag. Tags of ours are
 * not trusted by anything: the handler's role trusts only CloudFormation's
 * reserved `aws:cloudformation:stack-id` tag, which no principal can set.
 * Every other action on the secret, including ones AWS adds later, falls
 * under the third statement: only deployments and break-glass may call it.
 * That covers `UpdateSecret` (a new value, the KMS key), `RotateSecret` and
 * `CancelRotateSecret` (the rotation function and schedule),
 * `DeleteSecret` / `RestoreSecret`, `PutResourcePolicy` /
 * `DeleteResourcePolicy` (this policy itself), and replication
 * (`ReplicateSecretToRegions`, `RemoveRegionsFromReplication`,
 * `StopReplicationToReplica`); the list of actions is the Service
 * Authorization Reference, "Actions defined by AWS Secrets Manager".
 *
 * @internal
 */
export const OPEN_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:ListSecretVersionIds',
  'secretsmanager:GetResourcePolicy',
  'secretsmanager:ValidateResourcePolicy',
  'secretsmanager:TagResource',
  'secretsmanager:UntagResource',
];

/** Names of the roles the deployment paths of docs/scp.md deploy with (StackSets, CfCT, CDK). @internal */
export const DEPLOYMENT_ROLE_NAMES = [
  'cdk-*-cfn-exec-role-*',
  'AWSCloudFormationStackSetExecutionRole',
  'stacksets-exec-*',
  'AWSControlTowerExecution',
];

/** Sids of the three statements, the names the documentation and the tests use. @internal */
export const STATEMENT_IDS = {
  writes: 'OnlyTheHandlerWritesValuesAndLabels',
  reads: 'OnlyGranteesReadValues',
  managed: 'OnlyDeploymentsManageTheSecret',
} as const;

/**
 * The three Deny statements of a credentials secret's resource policy.
 * `readers` is produced when the template is written, so grants made after
 * the construct was created count.
 *
 * @internal
 */
export function secretAccessStatements(access: SecretAccess): iam.PolicyStatement[] {
  const principalNotIn = (arns: () => string[]) => ({ ArnNotLike: { 'aws:PrincipalArn': producedList(arns) } });
  const statements = [
    new iam.PolicyStatement({
      sid: STATEMENT_IDS.writes,
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      actions: WRITE_ACTIONS,
      resources: ['*'],
      conditions: principalNotIn(() => [access.handlerRoleArn, ...access.breakGlass]),
    }),
    new iam.PolicyStatement({
      sid: STATEMENT_IDS.managed,
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      notActions: [...OPEN_ACTIONS, ...READ_ACTIONS, ...WRITE_ACTIONS],
      resources: ['*'],
      conditions: principalNotIn(() => [...access.deployers, ...access.breakGlass, access.rootUser]),
    }),
  ];
  if (access.readers) {
    const readers = access.readers;
    statements.push(new iam.PolicyStatement({
      sid: STATEMENT_IDS.reads,
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      actions: READ_ACTIONS,
      resources: ['*'],
      conditions: {
        ...principalNotIn(() => [access.handlerRoleArn, ...readers(), ...access.breakGlass, ...access.deployers]),
        // A service principal reaches the secret only through an Allow of this policy, which only grantRead adds.
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
      },
    }));
  }
  return statements;
}

/** A list that is produced when the policy is written, without duplicates. */
function producedList(produce: () => string[]): string[] {
  return Lazy.list({ produce: () => [...new Set(produce())] });
}

/**
 * Who deploys the stack, as `aws:PrincipalArn` patterns: the roles of the
 * deployment paths in docs/scp.md (CDK's execution roles of any qualifier,
 * StackSets' and CfCT's execution roles), whatever
 * the synthesizer, since one template may be deployed by `cdk deploy` and by
 * a StackSet alike; and a `DefaultStackSynthesizer`'s own CloudFormation
 * execution role when it is not one of those. `callerDeploys` is true for
 * synthesizers that deploy with the caller's own credentials
 * (`CliCredentialsStackSynthesizer`, `LegacyStackSynthesizer`), whom
 * nobody can know at synth time.
 *
 * @internal
 */
export function defaultDeployers(stack: Stack): { deployers: string[]; callerDeploys: boolean } {
  const deployers = DEPLOYMENT_ROLE_NAMES.map(deploymentRolePattern);
  // A nested stack is deployed by CloudFormation with its root stack's deployment.
  let root = stack;
  while (root.nestedStackParent) root = root.nestedStackParent;
  const synthesizer = root.synthesizer;
  if (synthesizer instanceof DefaultStackSynthesizer) {
    const executionRole = synthesizer.cloudFormationExecutionRoleArn;
    const name = /:role\/(?:.*\/)?([^/]+)$/.exec(executionRole)?.[1] ?? '';
    // `${AWS::Partition}`, `${AWS::AccountId}` and `${AWS::Region}` are CloudFormation's own pseudo parameters.
    if (!/^cdk-.*-cfn-exec-role-/.test(name)) deployers.unshift(Fn.sub(executionRole));
    return { deployers, callerDeploys: false };
  }
  return { deployers, callerDeploys: true };
}

/**
 * `arn:*:iam::*:role/<name>`, as docs/scp.md writes them: any partition and
 * account. Exempting a role of another account from a Deny grants it
 * nothing (cross-account access also needs an Allow in this policy, which
 * only `grantRead` adds), and the short literal keeps the template small.
 *
 * @internal
 */
export function deploymentRolePattern(name: string): string {
  return `arn:*:iam::*:role/${name}`;
}

/** `arn:*:iam::<account>:root`, the `aws:PrincipalArn` of the account's root user. @internal */
export function rootUserArn(stack: Stack): string {
  return `arn:*:iam::${stack.account}:root`;
}

/**
 * The `aws:PrincipalArn`s a principal is matched by: roles, users and
 * `iam.ArnPrincipal`s of role or user ARNs (`*` allowed). Services are
 * returned apart (reads by a granted service pass through
 * `aws:PrincipalIsAWSService`). Anything that names no role or user (an
 * account, an organization, a federated or any principal) is an error that
 * names the prop: `aws:PrincipalArn` is never an account, so such a grant
 * would be denied.
 *
 * A role or user of another stack (not a nested stack of this one, nor its
 * parent) is an error too: its ARN is known only when that stack is deployed,
 * so naming it here would make this stack depend on that one, which depends
 * on this one through the grant's own identity policy.
 *
 * @internal
 */
export function principalArns(principal: iam.IPrincipal, scope: IConstruct, what: string): { arns: string[]; services: string[] } {
  const arns: string[] = [];
  const services: string[] = [];
  if (principal instanceof iam.Group) {
    throw new Error(`[${scope.node.path}] ${what} names the group ${describe(principal)}; aws:PrincipalArn is the ARN of a role or user, never of a `
      + 'group, so the secrets\' resource policy would deny its members while the grant looked made. Grant the members\' roles or users, or set '
      + 'restrictReadsToGrantees: false on the SesSmtpUser to leave reads to identity policies.');
  }
  if (principal instanceof iam.AccountPrincipal) {
    throw new Error(`[${scope.node.path}] ${what} names an account (${describe(principal)}); the secrets' resource policy matches principals by `
      + 'aws:PrincipalArn, which is a role\'s or a user\'s ARN, never an account\'s, so it would be denied. Name the roles or users instead, '
      + 'for example iam.Role.fromRoleArn(this, \'Reader\', \'arn:aws:iam::111122223333:role/mail-relay\').');
  }
  const json = principal.policyFragment.principalJson;
  for (const [kind, values] of Object.entries(json)) {
    if (kind === 'Service') {
      services.push(describe(principal));
      continue;
    }
    if (kind !== 'AWS') {
      throw new Error(`[${scope.node.path}] ${what} names a ${kind} principal (${describe(principal)}), which the secrets' resource policy cannot `
        + 'name by aws:PrincipalArn. Name the IAM role those identities assume instead.');
    }
    for (const arn of values) {
      if (Token.isUnresolved(arn)) {
        checkSameStack(principal, scope, what);
      } else if (!/^arn:[^:]+:iam::[^:]*:(role|user)\/./.test(arn)) {
        throw new Error(`[${scope.node.path}] ${what} names ${safeQuote(arn)}, which is not the ARN of an IAM role or user. The secrets' resource `
          + 'policy matches aws:PrincipalArn, the ARN of the role (not of its session) or of the user. Give a role or user, or '
          + 'new iam.ArnPrincipal(\'arn:aws:iam::111122223333:role/name\') (a * in the name is allowed).');
      }
      arns.push(arn);
    }
  }
  return { arns, services };
}

function checkSameStack(principal: iam.IPrincipal, scope: IConstruct, what: string): void {
  const owner = (principal as Partial<IConstruct>).node ? Stack.of(principal as unknown as IConstruct) : undefined;
  const ours = Stack.of(scope);
  if (!owner || owner === ours || isAncestor(owner, ours) || isAncestor(ours, owner)) return;
  throw new Error(`[${scope.node.path}] ${what} names ${describe(principal)} of stack '${owner.node.path}', whose ARN is known only once that stack `
    + `is deployed. The secrets' resource policy (stack '${ours.node.path}') lets only the principals it names read them, so it would `
    + `depend on '${owner.node.path}', which depends on '${ours.node.path}' through the grant: a cycle. Either give the role a fixed name and `
    + `grant it by ARN from stack '${ours.node.path}' (smtp.grantRead(iam.Role.fromRoleArn(this, 'Reader', 'arn:aws:iam::<account>:role/<name>', `
    + '{ mutable: false }))), which lets it read through the resource policy alone; or set restrictReadsToGrantees: false on the SesSmtpUser.');
}

/** Whether `ancestor` is `stack` or a stack `stack` is nested in. */
function isAncestor(ancestor: Stack, stack: Stack): boolean {
  for (let s: Stack | undefined = stack; s; s = s.nestedStackParent) {
    if (s === ancestor) return true;
  }
  return false;
}

function describe(principal: iam.IPrincipal): string {
  const node = (principal as Partial<IConstruct>).node;
  return node ? node.path : principal.toString();
}
