/**
 * The credentials secrets' resource policy (lib/credentials-secret-policy.ts):
 * first as synthesized, then evaluated offline by the IAM policy simulator the
 * SCP tests use (@cloud-copilot/iam-simulate; docs/scp.md says why its
 * licence fits a test-only dependency), with the template's own policies:
 * the resource policy and the identity policies of the handler role and of a
 * grantee, resolved as CloudFormation would resolve them.
 *
 * Each caller gets the request context AWS documents for it; the simulator
 * fills in none (see test/scp.test.ts):
 * - aws:PrincipalArn is a role's ARN, not its session's (IAM User Guide,
 *   "AWS global condition context keys"); the root user's is
 *   `arn:aws:iam::<account>:root`.
 * - CloudFormation calls Secrets Manager with the credentials of the stack
 *   role, or of whoever deploys when there is none, in a forward access
 *   session that carries aws:CalledVia = cloudformation.amazonaws.com
 *   (CloudFormation User Guide, "Forward access sessions"). The policy does
 *   not rely on those keys; they are set to show that passing through
 *   CloudFormation gives a PowerUser nothing.
 * - Every credentials secret carries CloudFormation's reserved
 *   aws:cloudformation:stack-id tag, which the handler role's own policy
 *   requires.
 *
 * Not modelled, and so not claimed: that Secrets Manager replicates the
 * policy to replica secrets (its User Guide says it does), and what
 * CloudFormation's own handlers call beyond the actions listed here (a
 * deployment principal is exempt from everything but writing values, so any
 * call it makes passes, except PutSecretValue and UpdateSecretVersionStage).
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  App, BootstraplessSynthesizer, CliCredentialsStackSynthesizer, DefaultStackSynthesizer, NestedStack, RemovalPolicy, Stack, StackProps,
} from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AccessKeySource, SesSmtpUser, SesSmtpUserProps } from '../lib';
import { DEPLOYMENT_ROLE_NAMES, OPEN_ACTIONS, STATEMENT_IDS } from '../lib/credentials-secret-policy';
import { TemplateResource, resolve } from './support/cfn/intrinsics';
import { cfnLint } from './support/cfn-lint';
import { matchesEventPattern } from './support/event-pattern';
import { testPython } from './support/prerequisites';
import { errorOf } from './support/templates';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const STACK_NAME = 'Mail';
const STACK_ID = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK_NAME}/0f5a2b40-0000-11f0-8000-0a1b2c3d4e5f`;
const CLOUDFORMATION = 'cloudformation.amazonaws.com';

interface PolicyDocument { Version: string; Statement: Array<Record<string, unknown>> }

function newStack(props: StackProps = {}, app = new App()): Stack {
  return new Stack(app, STACK_NAME, { env: { account: ACCOUNT, region: REGION }, ...props });
}

function smtpUser(stack: Stack, props: Partial<SesSmtpUserProps> = {}, id = 'Smtp'): SesSmtpUser {
  return new SesSmtpUser(stack, id, { user: iam.User.fromUserName(stack, `${id}User`, 'legacy-mail'), ...props });
}

/** The resource policies of the stack, by the logical id of the secret they are attached to. */
function policiesBySecret(template: Template): Map<string, PolicyDocument> {
  const policies = new Map<string, PolicyDocument>();
  for (const policy of Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy'))) {
    policies.set(policy.Properties.SecretId.Ref, policy.Properties.ResourcePolicy);
  }
  return policies;
}

function statement(document: PolicyDocument, sid: string): Record<string, unknown> {
  const found = document.Statement.filter((s) => s.Sid === sid);
  expect(found).toHaveLength(1);
  return found[0];
}

/** aws:PrincipalArn values a statement's ArnNotLike exempts, as the template writes them. */
function exempted(document: PolicyDocument, sid: string): unknown[] {
  return (statement(document, sid).Condition as { ArnNotLike: { 'aws:PrincipalArn': unknown[] } }).ArnNotLike['aws:PrincipalArn'];
}

const getAtt = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const partitionArn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${rest}`]] });
/** The default deployment roles, as the template names them. */
const DEPLOYMENT_ROLES = DEPLOYMENT_ROLE_NAMES.map((name) => `arn:*:iam::*:role/${name}`);
const ROOT = `arn:*:iam::${ACCOUNT}:root`;

function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as import('aws-cdk-lib').CfnElement);
}

describe('the credentials secrets\' resource policy, as synthesized', () => {
  test('every region\'s secret has one, with the three statements, and the handler writes only once it is in place', () => {
    const stack = newStack();
    const smtp = smtpUser(stack, { additionalRegions: ['us-east-1'] });
    const template = Template.fromStack(stack);
    const policies = policiesBySecret(template);

    const secretIds = smtp.regions.map((region) => logicalIdOf(stack, smtp.secretForRegion(region)));
    expect([...policies.keys()].sort()).toEqual([...secretIds].sort());
    for (const document of policies.values()) {
      expect(document.Statement.map((s) => s.Sid).sort()).toEqual(Object.values(STATEMENT_IDS).sort());
      expect(document.Statement.every((s) => s.Effect === 'Deny' && s.Principal === '*')).toBe(true);
    }
    const policyIds = Object.keys(template.findResources('AWS::SecretsManager::ResourcePolicy'));
    const [credentials] = Object.values(template.findResources('Custom::SesSmtpCredentials'));
    expect(credentials.DependsOn).toEqual(expect.arrayContaining(policyIds));
  });

  test('only the handler role (and break-glass) may write values or move labels; nobody else, not even a deployment', () => {
    const stack = newStack();
    const smtp = smtpUser(stack, { breakGlassPrincipals: [new iam.ArnPrincipal(`arn:aws:iam::${ACCOUNT}:role/BreakGlass`)] });
    const document = policiesBySecret(Template.fromStack(stack)).get(logicalIdOf(stack, smtp.secret))!;

    expect(statement(document, STATEMENT_IDS.writes).Action).toEqual(['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']);
    expect(exempted(document, STATEMENT_IDS.writes)).toEqual([getAtt(handlerRoleId(stack)), `arn:aws:iam::${ACCOUNT}:role/BreakGlass`]);
  });

  test('everything but reading metadata and tagging is left to deployments, break-glass and the root user, even actions AWS adds later', () => {
    const stack = newStack();
    const smtp = smtpUser(stack);
    const document = policiesBySecret(Template.fromStack(stack)).get(logicalIdOf(stack, smtp.secret))!;
    const managed = statement(document, STATEMENT_IDS.managed);

    expect(managed.Action).toBeUndefined();
    expect(managed.NotAction).toEqual([...OPEN_ACTIONS, 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']);
    expect(exempted(document, STATEMENT_IDS.managed)).toEqual([...DEPLOYMENT_ROLES, ROOT]);
  });

  test('grantRead adds the grantee to the readers, on the construct and on a secret handed to another construct alike', () => {
    const stack = newStack();
    const smtp = smtpUser(stack, { additionalRegions: ['us-east-1'] });
    const app = new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const relay = new iam.Role(stack, 'RelayRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    smtp.grantRead(app);
    smtp.grantRead(app); // twice: named once
    smtp.secretForRegion('us-east-1').grantRead(relay); // as ecs.Secret.fromSecretsManager(secret) does
    const policies = policiesBySecret(Template.fromStack(stack));
    const readers = (region: string) => exempted(policies.get(logicalIdOf(stack, smtp.secretForRegion(region)))!, STATEMENT_IDS.reads);

    const handler = getAtt(handlerRoleId(stack));
    expect(readers(REGION)).toEqual([handler, getAtt(logicalIdOf(stack, app)), ...DEPLOYMENT_ROLES]);
    expect(readers('us-east-1')).toEqual([handler, getAtt(logicalIdOf(stack, app)), getAtt(logicalIdOf(stack, relay)), ...DEPLOYMENT_ROLES]);
  });

  test('a grantee in a nested stack is named through the nested stack\'s output', () => {
    const stack = newStack();
    const smtp = smtpUser(stack);
    const nested = new NestedStack(stack, 'Apps');
    smtp.grantRead(new iam.Role(nested, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }));
    const document = policiesBySecret(Template.fromStack(stack)).get(logicalIdOf(stack, smtp.secret))!;

    expect(exempted(document, STATEMENT_IDS.reads)).toContainEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Apps/), expect.stringMatching(/^Outputs\..*AppRole.*Arn$/)] });
  });

  test('a grantee of another stack is refused at grantRead, with the two ways out', () => {
    const app = new App();
    const mail = newStack({}, app);
    const smtp = smtpUser(mail);
    const apps = new Stack(app, 'Apps', { env: { account: ACCOUNT, region: REGION } });
    const role = new iam.Role(apps, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });

    const message = errorOf(() => smtp.grantRead(role));
    expect(message).toContain('grantRead names Apps/AppRole of stack \'Apps\'');
    expect(message).toContain('a cycle');
    expect(message).toContain('iam.Role.fromRoleArn(this, \'Reader\'');
    expect(message).toContain('restrictReadsToGrantees: false');
    // Nothing was granted half-way.
    expect(Template.fromStack(apps).findResources('AWS::IAM::Policy')).toEqual({});
  });

  test('with restrictReadsToGrantees: false, a grantee of another stack is granted as before, and reads are not restricted', () => {
    const app = new App();
    const mail = newStack({}, app);
    const smtp = smtpUser(mail, { restrictReadsToGrantees: false });
    const apps = new Stack(app, 'Apps', { env: { account: ACCOUNT, region: REGION } });
    smtp.grantRead(new iam.Role(apps, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }));
    const document = policiesBySecret(Template.fromStack(mail)).get(logicalIdOf(mail, smtp.secret))!;

    expect(document.Statement.map((s) => s.Sid)).toEqual([STATEMENT_IDS.writes, STATEMENT_IDS.managed]);
    app.synth();
  });

  test.each([
    ['an account', () => new iam.AccountRootPrincipal(), 'names an account'],
    ['any principal', () => new iam.AnyPrincipal(), 'is not the ARN of an IAM role or user'],
    ['a role session', () => new iam.ArnPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/App/i-0123`), 'is not the ARN of an IAM role or user'],
    ['federated users', () => new iam.FederatedPrincipal('cognito-identity.amazonaws.com', {}), 'names a Federated principal'],
  ])('grantRead to %s is refused: the policy matches roles and users only', (_what, principal, reason) => {
    const smtp = smtpUser(newStack());

    expect(errorOf(() => smtp.grantRead(principal()))).toContain(reason);
  });

  test('grantWrite is refused, naming breakGlassPrincipals', () => {
    const stack = newStack();
    const smtp = smtpUser(stack);

    expect(errorOf(() => smtp.secret.grantWrite(new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() }))))
      .toContain('only the stack\'s SesSmtpCredentials handler writes SMTP credentials secrets');
  });

  test('break-glass and deployment principals are checked at synth time, with the prop in the error', () => {
    expect(errorOf(() => smtpUser(newStack(), { breakGlassPrincipals: [new iam.AccountRootPrincipal()] }))).toContain('breakGlassPrincipals names an account');
    expect(errorOf(() => smtpUser(newStack(), { deploymentPrincipals: [new iam.ServicePrincipal('cloudformation.amazonaws.com')] })))
      .toContain('deploymentPrincipals names the service ServicePrincipal(cloudformation.amazonaws.com)');
  });

  test.each([
    ['the default synthesizer (cdk deploy, CDK Pipelines)', () => new DefaultStackSynthesizer()],
    ['a BootstraplessSynthesizer (StackSets, CfCT)', () => new BootstraplessSynthesizer()],
    ['a DefaultStackSynthesizer without the bootstrap rule (a template for StackSets too)', () => new DefaultStackSynthesizer({ generateBootstrapVersionRule: false })],
  ])('deployments with %s: the roles of docs/scp.md, and the template names no bootstrap qualifier', (_what, synthesizer) => {
    const stack = newStack({ synthesizer: synthesizer() });
    const smtp = smtpUser(stack);
    const document = policiesBySecret(Template.fromStack(stack)).get(logicalIdOf(stack, smtp.secret))!;
    const scp = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'docs', 'scp', 'deny-direct-invoke.json'), 'utf8'));

    expect(DEPLOYMENT_ROLES).toEqual(scp.Statement[0].Condition.ArnNotLike['aws:PrincipalArn']);
    expect(exempted(document, STATEMENT_IDS.managed)).toEqual([...DEPLOYMENT_ROLES, ROOT]);
    expect(JSON.stringify(document)).not.toContain('hnb659fds');
  });

  test('deployments: a DefaultStackSynthesizer\'s own execution role, when it is not a CDK bootstrap one', () => {
    const stack = newStack({ synthesizer: new DefaultStackSynthesizer({ cloudFormationExecutionRole: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/mail-deployer' }) });
    const smtp = smtpUser(stack);
    const document = policiesBySecret(Template.fromStack(stack)).get(logicalIdOf(stack, smtp.secret))!;

    expect(exempted(document, STATEMENT_IDS.managed)).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${ACCOUNT}:role/mail-deployer` }, ...DEPLOYMENT_ROLES, ROOT,
    ]);
  });

  test('deployments: named ones replace the default; a synthesizer that deploys with the caller\'s credentials warns without them', () => {
    const named = newStack();
    const smtp = smtpUser(named, { deploymentPrincipals: [iam.Role.fromRoleName(named, 'Launch', 'SCLaunchRole-Mail')] });
    const document = policiesBySecret(Template.fromStack(named)).get(logicalIdOf(named, smtp.secret))!;
    expect(exempted(document, STATEMENT_IDS.managed)).toEqual([partitionArn(`iam::${ACCOUNT}:role/SCLaunchRole-Mail`), ROOT]);

    const cli = newStack({ synthesizer: new CliCredentialsStackSynthesizer() });
    smtpUser(cli);
    expect(Annotations.fromStack(cli).findWarning('*', Match.stringLikeRegexp('Set deploymentPrincipals'))).toHaveLength(1);
    const quiet = newStack({ synthesizer: new CliCredentialsStackSynthesizer() });
    smtpUser(quiet, { deploymentPrincipals: [iam.Role.fromRoleName(quiet, 'Pipeline', 'mail-pipeline')] });
    expect(Annotations.fromStack(quiet).findWarning('*', Match.stringLikeRegexp('Set deploymentPrincipals'))).toHaveLength(0);
  });

  test('deployments of a nested stack are its root stack\'s: its synthesizer\'s execution role, and no warning', () => {
    const parent = newStack({ synthesizer: new DefaultStackSynthesizer({ cloudFormationExecutionRole: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/mail-deployer' }) });
    const nested = new NestedStack(parent, 'Mail');
    const smtp = smtpUser(nested);
    const document = policiesBySecret(Template.fromStack(nested)).get(logicalIdOf(nested, smtp.secret))!;

    expect(exempted(document, STATEMENT_IDS.managed)).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${ACCOUNT}:role/mail-deployer` }, ...DEPLOYMENT_ROLES, ROOT,
    ]);
    expect(Annotations.fromStack(parent).findWarning('*', Match.stringLikeRegexp('Set deploymentPrincipals'))).toHaveLength(0);
  });

  test('grantRead to a group is refused: aws:PrincipalArn is never a group\'s, so its members would be denied', () => {
    const stack = newStack();
    const smtp = smtpUser(stack);
    const group = new iam.Group(stack, 'Relays');

    expect(() => smtp.grantRead(group)).toThrow(/grantRead names the group .*Relays.*Grant the members' roles or users, or set restrictReadsToGrantees: false/);
  });

  test('a retained secret keeps its policy; replicas get it from Secrets Manager, not from another resource', () => {
    const stack = newStack();
    smtpUser(stack, { removalPolicy: RemovalPolicy.RETAIN, replicaRegions: [{ region: 'eu-central-1' }] });
    const template = Template.fromStack(stack);

    template.hasResource('AWS::SecretsManager::ResourcePolicy', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { ReplicaRegions: [{ Region: 'eu-central-1' }] });
  });

  test('costs one resource per secret: AWS::SecretsManager::Secret has no policy property (CloudFormation\'s schema, as cfn-lint ships it)', () => {
    const schema = spawnSync(testPython(), ['-c', [
      'from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as m',
      `print(" ".join(sorted(m.get_resource_schema("${REGION}", "AWS::SecretsManager::Secret").schema["properties"])))`,
    ].join('\n')], { encoding: 'utf8' });
    const stack = newStack();
    smtpUser(stack, { additionalRegions: ['us-east-1', 'eu-central-1'] });
    const template = Template.fromStack(stack);

    expect(schema.stdout.trim().split(' ')).toContain('KmsKeyId');
    expect(schema.stdout).not.toMatch(/polic/i);
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 3);
    expect(cfnLint(template)).toEqual({ status: 0, output: '' });
  });
});

// ---------------------------------------------------------------------------
// The policy evaluated: who may do what.
// ---------------------------------------------------------------------------

const FULL_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
/** What the AWS managed PowerUserAccess policy allows outside IAM, Organizations and Account: secretsmanager:* among the rest. */
const POWER_USER = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' }] };
const POWER_USER_ROLE = 'aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PowerUserAccess_0123456789abcdef';
const CDK_EXECUTION_ROLE = `cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;
const BREAK_GLASS_ROLE = 'aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_BreakGlass_fedcba9876543210';

/** A synthesized stack with its intrinsics resolved as CloudFormation would resolve them in account 111122223333. */
class Deployed {
  public readonly resources: Record<string, TemplateResource>;

  constructor(stack: Stack) {
    this.resources = Template.fromStack(stack).toJSON().Resources;
  }

  /** A role's ARN: CloudFormation names it `<stack>-<logical id>-<suffix>`. */
  public roleArn(logicalId: string): string {
    return `arn:aws:iam::${ACCOUNT}:role/${STACK_NAME}-${logicalId}-AbCdEf123456`;
  }

  /** A secret's ARN (its Ref): its generated name and Secrets Manager's six random characters. */
  public secretArn(logicalId: string): string {
    return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${logicalId}-Ab12Cd`;
  }

  public resolve<T>(value: T): T {
    return resolve(value, {
      pseudo: { 'AWS::AccountId': ACCOUNT, 'AWS::Region': REGION, 'AWS::Partition': 'aws', 'AWS::StackId': STACK_ID, 'AWS::StackName': STACK_NAME, 'AWS::URLSuffix': 'amazonaws.com' },
      parameters: {},
      ref: (logicalId) => {
        const type = this.resources[logicalId]?.Type;
        if (type === 'AWS::SecretsManager::Secret') return this.secretArn(logicalId);
        if (type === 'AWS::IAM::Role') return this.roleArn(logicalId).replace(/^.*:role\//, '');
        throw new Error(`no Ref for ${logicalId} (${type})`);
      },
      getAtt: (logicalId, attribute) => {
        const type = this.resources[logicalId]?.Type;
        if (type === 'AWS::IAM::Role' && attribute === 'Arn') return this.roleArn(logicalId);
        if (type === 'AWS::KMS::Key' && attribute === 'Arn') return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${logicalId}`;
        if (type === 'AWS::Logs::LogGroup' && attribute === 'Arn') return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logicalId}:*`;
        throw new Error(`no Fn::GetAtt for ${logicalId}.${attribute} (${type})`);
      },
    }) as T;
  }

  /** The resolved resource policy of a secret. */
  public policyOf(secretLogicalId: string): PolicyDocument {
    const policies = Object.values(this.resources).filter((r) => r.Type === 'AWS::SecretsManager::ResourcePolicy'
      && (r.Properties!.SecretId as { Ref: string }).Ref === secretLogicalId);
    expect(policies).toHaveLength(1);
    return this.resolve(policies[0].Properties!.ResourcePolicy as PolicyDocument);
  }

  /** The resolved inline policies attached to a role of the template. */
  public identityPoliciesOf(roleLogicalId: string): PolicyDocument[] {
    return Object.values(this.resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && ((r.Properties!.Roles ?? []) as Array<{ Ref: string }>).some((role) => role.Ref === roleLogicalId))
      .map((r) => this.resolve(r.Properties!.PolicyDocument as PolicyDocument));
  }
}

interface Caller {
  readonly principal: string;
  readonly context: Record<string, string | string[]>;
  readonly identityPolicies: PolicyDocument[] | object[];
}

/** A session of an IAM role; `viaCloudFormation`: CloudFormation's forward access session for it. */
function role(name: string, identityPolicies: object[], options: { viaCloudFormation?: boolean } = {}): Caller {
  const baseName = name.split('/').pop();
  const via: Record<string, string | string[]> = options.viaCloudFormation
    ? { 'aws:ViaAWSService': 'true', 'aws:CalledVia': [CLOUDFORMATION], 'aws:CalledViaFirst': CLOUDFORMATION, 'aws:CalledViaLast': CLOUDFORMATION }
    : { 'aws:ViaAWSService': 'false' };
  return {
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${baseName}/session`,
    identityPolicies,
    context: {
      'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/${name}`,
      'aws:PrincipalAccount': ACCOUNT,
      'aws:PrincipalType': 'AssumedRole',
      'aws:PrincipalIsAWSService': 'false',
      ...via,
    },
  };
}

/** The root user, who needs no identity policy in its own account (FullAccess stands in for that). */
const ROOT_USER: Caller = {
  principal: `arn:aws:iam::${ACCOUNT}:root`,
  identityPolicies: [FULL_ACCESS],
  context: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:root`, 'aws:PrincipalAccount': ACCOUNT, 'aws:PrincipalType': 'Account', 'aws:PrincipalIsAWSService': 'false' },
};

/** The simulator's verdict on `who` calling `action` on a secret under `resourcePolicy` (none: today's secrets). */
async function verdict(who: Caller, action: string, secretArn: string, resourcePolicy: PolicyDocument | undefined, context: Record<string, string> = {}): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: who.principal,
      action,
      resource: { resource: secretArn, accountId: ACCOUNT },
      contextVariables: { ...who.context, 'aws:ResourceTag/aws:cloudformation:stack-id': STACK_ID, ...context },
    },
    identityPolicies: who.identityPolicies.map((policy, i) => ({ name: `identity${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`simulation refused its input: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** What CloudFormation calls on these secrets when it creates, updates and deletes the stack (and resolves a dynamic reference). */
const CLOUDFORMATION_ACTIONS = [
  ['DescribeSecret', 'reads the secret (every handler)'],
  ['UpdateSecret', 'changes the description or the KMS key'],
  ['TagResource', 'changes the stack\'s tags'],
  ['UntagResource', 'removes a stack tag'],
  ['ReplicateSecretToRegions', 'adds a replica region'],
  ['RemoveRegionsFromReplication', 'removes a replica region'],
  ['GetResourcePolicy', 'reads the resource policy'],
  ['PutResourcePolicy', 'updates the resource policy (a new grantee)'],
  ['DeleteResourcePolicy', 'deletes the resource policy (stack delete)'],
  ['RotateSecret', 'creates or changes the rotation schedule'],
  ['CancelRotateSecret', 'deletes the rotation schedule'],
  ['DeleteSecret', 'deletes the secret (stack delete, replacement)'],
  ['GetSecretValue', 'resolves a {{resolve:secretsmanager:…}} dynamic reference'],
] as const;

describe('the credentials secrets\' resource policy, evaluated', () => {
  let deployed: Deployed;
  let secretArn: string;
  let policy: PolicyDocument;
  let handler: Caller;
  let grantee: Caller;
  let sourceSecretArn: string;
  let syncPattern: unknown;
  const powerUser = role(POWER_USER_ROLE, [POWER_USER]);
  const breakGlass = role(BREAK_GLASS_ROLE, [FULL_ACCESS]);

  beforeAll(() => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key');
    const source = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:iam-automation/app-mailer-Xy12Zw`);
    const smtp = smtpUser(stack, {
      encryptionKey: key,
      breakGlassPrincipals: [new iam.ArnPrincipal(`arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_BreakGlass_*`)],
    });
    new SesSmtpUser(stack, 'Follower', { user: iam.User.fromUserName(stack, 'AppMailer', 'app-mailer'), keySource: AccessKeySource.fromSecret(source) });
    const app = new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    smtp.grantRead(app);

    deployed = new Deployed(stack);
    const secretId = logicalIdOf(stack, smtp.secret);
    secretArn = deployed.secretArn(secretId);
    policy = deployed.policyOf(secretId);
    const handlerRole = handlerRoleId(stack);
    handler = role(deployed.roleArn(handlerRole).replace(/^.*:role\//, ''), deployed.identityPoliciesOf(handlerRole));
    const appRole = logicalIdOf(stack, app);
    grantee = role(deployed.roleArn(appRole).replace(/^.*:role\//, ''), deployed.identityPoliciesOf(appRole));
    sourceSecretArn = source.secretArn;
    syncPattern = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'))[0].Properties.EventPattern;
  });

  describe('a PowerUser (secretsmanager:* in its identity policy)', () => {
    test.each([
      'PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecret', 'GetSecretValue', 'PutResourcePolicy', 'DeleteResourcePolicy',
      'RotateSecret', 'CancelRotateSecret', 'DeleteSecret', 'ReplicateSecretToRegions', 'RemoveRegionsFromReplication', 'StopReplicationToReplica',
    ])('is denied %s', async (action) => {
      expect(await verdict(powerUser, `secretsmanager:${action}`, secretArn, policy)).toBe('ExplicitlyDenied');
    });

    test.each(['DescribeSecret', 'ListSecretVersionIds', 'GetResourcePolicy', 'TagResource'])('may still %s (metadata, no value; tags are trusted by nothing)', async (action) => {
      expect(await verdict(powerUser, `secretsmanager:${action}`, secretArn, policy)).toBe('Allowed');
    });

    test('gains nothing by going through a CloudFormation stack of its own', async () => {
      const viaOwnStack = role(POWER_USER_ROLE, [POWER_USER], { viaCloudFormation: true });

      for (const action of ['PutResourcePolicy', 'DeleteResourcePolicy', 'UpdateSecret', 'PutSecretValue', 'RotateSecret', 'GetSecretValue']) {
        expect([action, await verdict(viaOwnStack, `secretsmanager:${action}`, secretArn, policy)]).toEqual([action, 'ExplicitlyDenied']);
      }
    });

    test('is allowed every one of these on a secret without the policy (the construct before this change)', async () => {
      for (const action of ['PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecret', 'GetSecretValue', 'PutResourcePolicy']) {
        expect([action, await verdict(powerUser, `secretsmanager:${action}`, secretArn, undefined)]).toEqual([action, 'Allowed']);
      }
    });
  });

  describe('the replays of issue 23 are denied at the write that starts them', () => {
    test('a planted version naming a foreign key (PutSecretValue, or UpdateSecret with a SecretString)', async () => {
      expect(await verdict(powerUser, 'secretsmanager:PutSecretValue', secretArn, policy)).toBe('ExplicitlyDenied');
      expect(await verdict(powerUser, 'secretsmanager:UpdateSecret', secretArn, policy)).toBe('ExplicitlyDenied');
    });

    test('a label moved onto an old version (the rotation grace label, AWSPENDING)', async () => {
      for (const stage of ['ses-smtp-grace', 'AWSPENDING', 'AWSCURRENT']) {
        expect(await verdict(powerUser, 'secretsmanager:UpdateSecretVersionStage', secretArn, policy, { 'secretsmanager:VersionStage': stage })).toBe('ExplicitlyDenied');
      }
    });

    test('filling the empty AWSPENDING version a failed rotation left (PutSecretValue with its token), or starting a rotation to get one', async () => {
      expect(await verdict(powerUser, 'secretsmanager:PutSecretValue', secretArn, policy)).toBe('ExplicitlyDenied');
      expect(await verdict(powerUser, 'secretsmanager:RotateSecret', secretArn, policy)).toBe('ExplicitlyDenied');
    });

    test('a sync racing an Update: no write to a credentials secret starts a sync; it starts from the key source secret, which this policy does not cover', async () => {
      const event = (secretId: string) => ({
        source: 'aws.secretsmanager', 'detail-type': 'AWS API Call via CloudTrail',
        detail: { eventSource: 'secretsmanager.amazonaws.com', eventName: 'PutSecretValue', requestParameters: { secretId } },
      });

      expect(matchesEventPattern(syncPattern, [event(secretArn), event(sourceSecretArn)])).toEqual([false, true]);
      expect(await verdict(powerUser, 'secretsmanager:PutSecretValue', secretArn, policy)).toBe('ExplicitlyDenied');
    });
  });

  describe('the handler role', () => {
    test.each(['DescribeSecret', 'GetSecretValue', 'ListSecretVersionIds', 'PutSecretValue', 'UpdateSecretVersionStage'])('may %s, as it does', async (action) => {
      expect(await verdict(handler, `secretsmanager:${action}`, secretArn, policy)).toBe('Allowed');
    });

    test.each(['UpdateSecret', 'PutResourcePolicy', 'DeleteResourcePolicy', 'DeleteSecret', 'RotateSecret'])('may not %s', async (action) => {
      expect(await verdict(handler, `secretsmanager:${action}`, secretArn, policy)).toBe('ExplicitlyDenied');
    });
  });

  describe('CloudFormation deploying the stack', () => {
    const deployers: Array<[string, Caller]> = [
      ['a CDK deployment (the bootstrap execution role)', role(CDK_EXECUTION_ROLE, [FULL_ACCESS], { viaCloudFormation: true })],
    ];

    test.each(CLOUDFORMATION_ACTIONS)('may call %s (CloudFormation %s)', async (action) => {
      for (const [, deployer] of deployers) {
        expect(await verdict(deployer, `secretsmanager:${action}`, secretArn, policy)).toBe('Allowed');
      }
    });

    test('may not write a value or move a label, which CloudFormation never does for these secrets', async () => {
      const cdk = deployers[0][1];

      expect(await verdict(cdk, 'secretsmanager:PutSecretValue', secretArn, policy)).toBe('ExplicitlyDenied');
      expect(await verdict(cdk, 'secretsmanager:UpdateSecretVersionStage', secretArn, policy)).toBe('ExplicitlyDenied');
    });

    test('through a role the stack does not name, is denied: the principal, not the CalledVia keys, is what counts', async () => {
      const launchRole = role('SCLaunchRole-Mail', [FULL_ACCESS], { viaCloudFormation: true });

      expect(await verdict(launchRole, 'secretsmanager:DeleteSecret', secretArn, policy)).toBe('ExplicitlyDenied');
    });
  });

  describe('grantees, break-glass and the root user', () => {
    test('a grantRead grantee reads the value, and writes nothing', async () => {
      expect(await verdict(grantee, 'secretsmanager:GetSecretValue', secretArn, policy)).toBe('Allowed');
      expect(await verdict(grantee, 'secretsmanager:DescribeSecret', secretArn, policy)).toBe('Allowed');
      expect(await verdict({ ...grantee, identityPolicies: [FULL_ACCESS] }, 'secretsmanager:PutSecretValue', secretArn, policy)).toBe('ExplicitlyDenied');
    });

    test('a break-glass principal (a pattern of IAM Identity Center roles) may do everything', async () => {
      for (const action of ['GetSecretValue', 'PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecret', 'DeleteResourcePolicy', 'DeleteSecret']) {
        expect([action, await verdict(breakGlass, `secretsmanager:${action}`, secretArn, policy)]).toEqual([action, 'Allowed']);
      }
    });

    test('the root user may manage the secret (remove the policy), but neither read nor write with the policy in place', async () => {
      expect(await verdict(ROOT_USER, 'secretsmanager:DeleteResourcePolicy', secretArn, policy)).toBe('Allowed');
      expect(await verdict(ROOT_USER, 'secretsmanager:GetSecretValue', secretArn, policy)).toBe('ExplicitlyDenied');
      expect(await verdict(ROOT_USER, 'secretsmanager:PutSecretValue', secretArn, policy)).toBe('ExplicitlyDenied');
    });
  });
});

describe('the deployment paths of a BootstraplessSynthesizer stack, evaluated', () => {
  test.each([
    ['a self-managed StackSet', 'AWSCloudFormationStackSetExecutionRole'],
    ['a service-managed StackSet', 'stacksets-exec-0123456789abcdef0123456789abcdef'],
    ['Customizations for Control Tower', 'AWSControlTowerExecution'],
    ['a CDK deployment with a custom qualifier', `cdk-lz01mail-cfn-exec-role-${ACCOUNT}-${REGION}`],
  ])('%s may update and delete the secrets and their policy', async (_path, name) => {
    const stack = newStack({ synthesizer: new BootstraplessSynthesizer() });
    const smtp = smtpUser(stack);
    const deployed = new Deployed(stack);
    const id = logicalIdOf(stack, smtp.secret);
    const deployer = role(name, [FULL_ACCESS], { viaCloudFormation: true });

    for (const [action] of CLOUDFORMATION_ACTIONS) {
      expect([action, await verdict(deployer, `secretsmanager:${action}`, deployed.secretArn(id), deployed.policyOf(id))]).toEqual([action, 'Allowed']);
    }
  });
});

/** The handler role's logical id (the one role the construct creates). */
function handlerRoleId(stack: Stack): string {
  const roles = Object.keys(Template.fromStack(stack).findResources('AWS::IAM::Role', {
    Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] } },
  }));
  expect(roles).toHaveLength(1);
  return roles[0];
}
