/**
 * The sample SCP in docs/scp/deny-direct-invoke.json, evaluated offline by an
 * IAM policy simulator (@cloud-copilot/iam-simulate, a test-only
 * devDependency; docs/scp.md says why its AGPL licence is acceptable here)
 * instead of by reading it.
 *
 * Each test is one real caller of the handler function, with the request
 * context AWS gives that caller. The simulator fills in no context key from the
 * principal (its README lists that as not yet done), so `caller()` sets the
 * ones AWS documents:
 * - aws:PrincipalArn is the role's ARN, not the session's (IAM User Guide,
 *   "AWS global condition context keys", aws:PrincipalArn).
 * - CloudFormation makes every resource operation with a forward access
 *   session, with or without a stack role, so aws:ViaAWSService is set
 *   (CloudFormation User Guide, "Forward access sessions (FAS) requests and
 *   permission evaluation"), and a FAS request carries aws:CalledVia,
 *   aws:CalledViaFirst and aws:CalledViaLast = cloudformation.amazonaws.com
 *   (IAM User Guide, "Forward access sessions"). No source says in so many
 *   words that the custom resource's Lambda invoke is such an operation, so
 *   every deployment role the statement names is also tested without those keys.
 *
 * What the simulator cannot model, and is therefore not claimed here:
 * - SCPs do not apply to service principals (Secrets Manager, EventBridge):
 *   they limit the IAM users and roles of member accounts (AWS Organizations
 *   User Guide, "Authorization policies"). The simulator evaluates SCPs for
 *   service principals anyway (a test below pins that), so the service cases
 *   here are stricter than AWS: they pass because the statement's own
 *   aws:PrincipalIsAWSService guard leaves service principals alone.
 * - Whether CloudFormation really sets the CalledVia keys on the custom
 *   resource's invoke, and whether the function really carries the
 *   aws:cloudformation:logical-id tag, can only be seen in a real account
 *   (docs/scp.md, "Before you attach it").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SesSmtpUser } from '../lib';
import { readmeBlock } from './support/readme';

const ROOT = path.join(__dirname, '..');
const SCP_PATH = path.join(ROOT, 'docs', 'scp', 'deny-direct-invoke.json');
const SCP_PAGE = path.join(ROOT, 'docs', 'scp.md');
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const CLOUDFORMATION = 'cloudformation.amazonaws.com';

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string;
  Condition: Record<string, Record<string, string | string[]>>;
}
interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

/** The SCP as operators copy it. */
function shippedScp(): PolicyDocument {
  return JSON.parse(fs.readFileSync(SCP_PATH, 'utf8'));
}

/** The SCP with more deployment-role patterns, as docs/scp.md tells an operator to add them. */
function withDeploymentRoles(scp: PolicyDocument, patterns: string[]): PolicyDocument {
  return {
    ...scp,
    Statement: scp.Statement.map((s) => ({
      ...s,
      Condition: { ...s.Condition, ArnNotLike: { 'aws:PrincipalArn': [...s.Condition.ArnNotLike['aws:PrincipalArn'], ...patterns] } },
    })),
  };
}

/** The logical id aws-cdk-lib gives the handler function; CloudFormation tags the function with it. */
function handlerLogicalId(): string {
  const stack = new Stack(new App(), 'Mail', { env: { account: ACCOUNT, region: REGION } });
  new SesSmtpUser(stack, 'Relay', { user: iam.User.fromUserName(stack, 'RelayUser', 'relay') });
  const functions = Object.entries(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
    .filter(([, r]) => String(r.Properties.Description).startsWith('Custom::SesSmtpCredentials'));
  expect(functions).toHaveLength(1);
  return functions[0][0];
}

const FULL_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
/** What the AWS managed PowerUserAccess policy allows outside IAM, Organizations and Account. */
const POWER_USER = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' }] };

/** The handler function's ARN, with the name CloudFormation generates from stack name and logical id. */
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Mail-SesSmtpCredentialsHandlerFunct-AbCdEf123456`;
/**
 * The same with a longer stack name: CloudFormation cuts stack name and
 * logical id to fit Lambda's 64 characters, so the name need not contain
 * 'SesSmtpCredentialsHandler' (convox/rack#2297 shows such a cut name). The
 * statement selects the function by its tag instead.
 */
const CUT_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:landing-zone-mail-relay-prod-SesSmtpCredentialsHa-AbCdEf123456`;
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:RelayCredentials-AbCdEf`;
const SYNC_RULE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:rule/Mail-RelayKeySourceSync-AbCdEf123456`;

/** The function's resource policy: the permissions the construct adds for rotation and key-source syncs. */
const functionPolicy = (functionArn: string) => ({
  Version: '2012-10-17',
  Statement: [
    { // lib/rotation-schedule.ts
      Effect: 'Allow', Principal: { Service: 'secretsmanager.amazonaws.com' }, Action: 'lambda:InvokeFunction', Resource: functionArn,
      Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT }, ArnLike: { 'aws:SourceArn': SECRET_ARN } },
    },
    { // lib/key-source-follower.ts (an EventBridge rule target)
      Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'lambda:InvokeFunction', Resource: functionArn,
      Condition: { ArnLike: { 'aws:SourceArn': SYNC_RULE_ARN } },
    },
  ],
});

interface Caller {
  readonly principal: string;
  readonly context: Record<string, string | string[]>;
  readonly identityPolicy?: object;
}

/**
 * A session of an IAM role (path and name as in its ARN), or an IAM user.
 * `viaCloudFormation` adds the keys of a forward access session that
 * CloudFormation opened: the request is CloudFormation's, on that principal's behalf.
 */
function caller(kind: 'role' | 'user', name: string, options: { viaCloudFormation?: boolean; identityPolicy?: object } = {}): Caller {
  const baseName = name.split('/').pop() as string;
  const principalArn = `arn:aws:iam::${ACCOUNT}:${kind}/${name}`;
  const via: Record<string, string | string[]> = options.viaCloudFormation
    ? { 'aws:ViaAWSService': 'true', 'aws:CalledVia': [CLOUDFORMATION], 'aws:CalledViaFirst': CLOUDFORMATION, 'aws:CalledViaLast': CLOUDFORMATION }
    : { 'aws:ViaAWSService': 'false' };
  return {
    principal: kind === 'role' ? `arn:aws:sts::${ACCOUNT}:assumed-role/${baseName}/session` : principalArn,
    identityPolicy: options.identityPolicy ?? FULL_ACCESS,
    context: {
      'aws:PrincipalArn': principalArn,
      'aws:PrincipalAccount': ACCOUNT,
      'aws:PrincipalType': kind === 'role' ? 'AssumedRole' : 'User',
      'aws:PrincipalIsAWSService': 'false',
      ...via,
    },
  };
}

/** An AWS service calling through the function's resource policy, on behalf of `sourceArn`. */
function service(name: string, sourceArn: string): Caller {
  return {
    principal: name,
    context: {
      'aws:PrincipalIsAWSService': 'true',
      'aws:PrincipalServiceName': name,
      'aws:SourceArn': sourceArn,
      'aws:SourceAccount': ACCOUNT,
      'aws:ViaAWSService': 'false',
    },
  };
}

let logicalId: string;
beforeAll(() => {
  logicalId = handlerLogicalId();
});

/** The simulator's verdict for `who` calling `action` on the handler function, under FullAWSAccess and `scp`. */
async function verdict(who: Caller, options: { action?: string; scp?: PolicyDocument; tagged?: boolean; functionArn?: string } = {}): Promise<string> {
  const functionArn = options.functionArn ?? FUNCTION_ARN;
  const tags: Record<string, string> = options.tagged === false ? {} : { 'aws:ResourceTag/aws:cloudformation:logical-id': logicalId };
  const simulation: Simulation = {
    request: {
      principal: who.principal,
      action: options.action ?? 'lambda:InvokeFunction',
      resource: { resource: functionArn, accountId: ACCOUNT },
      contextVariables: { ...who.context, ...tags },
    },
    identityPolicies: who.identityPolicy ? [{ name: 'identity', policy: who.identityPolicy }] : [],
    serviceControlPolicies: [
      { orgIdentifier: 'r-root', policies: [{ name: 'FullAWSAccess', policy: FULL_ACCESS }] },
      { orgIdentifier: 'ou-workloads', policies: [{ name: 'FullAWSAccess', policy: FULL_ACCESS }, { name: 'DenyDirectInvoke', policy: options.scp ?? shippedScp() }] },
      { orgIdentifier: ACCOUNT, policies: [{ name: 'FullAWSAccess', policy: FULL_ACCESS }] },
    ],
    resourceControlPolicies: [],
    resourcePolicy: functionPolicy(functionArn),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`simulation refused its input: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** Every role the statement names, as CloudFormation's principal on each deployment path. */
const DEPLOYMENT_ROLES: Array<[string, string]> = [
  ['a CDK deployment (the bootstrap stack\'s CloudFormation execution role)', `cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`],
  ['a CDK deployment with a custom bootstrap qualifier', `cdk-lz01mail-cfn-exec-role-${ACCOUNT}-${REGION}`],
  ['a self-managed StackSet (its default execution role)', 'AWSCloudFormationStackSetExecutionRole'],
  ['a service-managed StackSet (the role StackSets creates in each account)', 'stacksets-exec-0123456789abcdef0123456789abcdef'],
  ['Customizations for Control Tower (its StackSets\' execution role)', 'AWSControlTowerExecution'],
];

/** Principals on paths whose role name nobody can predict: they pass on the CalledVia keys alone. */
const UNNAMED_PATHS: Array<[string, Caller]> = [
  ['a Service Catalog product with a launch constraint (its launch role)', caller('role', 'SCLaunchRole-Mail', { viaCloudFormation: true })],
  ['a Service Catalog product without a launch constraint (the end user)', caller('role', 'aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_ServiceCatalogEndUser_0123456789abcdef', { viaCloudFormation: true })],
  ['a CodePipeline CloudFormation action (the stack role it passes)', caller('role', 'mail-pipeline-cloudformation-role', { viaCloudFormation: true })],
  ['a pipeline that calls CreateStack with its own credentials (no stack role)', caller('role', 'github-actions-deploy', { viaCloudFormation: true })],
];

describe('the sample SCP (docs/scp/deny-direct-invoke.json)', () => {
  test('is a valid SCP, well under the 5,120-character limit', async () => {
    const text = fs.readFileSync(SCP_PATH, 'utf8');
    const withPrincipal = { ...shippedScp(), Statement: shippedScp().Statement.map((s) => ({ ...s, Principal: '*' })) };

    // The simulator validates every policy it is given; verdict() throws on its 'error' answer.
    await expect(verdict(caller('role', 'Anyone'), { tagged: false })).resolves.toBe('Allowed');
    await expect(verdict(caller('role', 'Anyone'), { scp: withPrincipal })).rejects.toThrow(/simulation refused its input/);
    expect(text.length).toBeLessThan(5_120);
  });

  test('docs/scp.md shows the file as it is', () => {
    const blocks = [...fs.readFileSync(SCP_PAGE, 'utf8').matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

    expect(blocks).toEqual([fs.readFileSync(SCP_PATH, 'utf8')]);
    // The documentation test's name for that block (test/support/readme.ts, EXERCISED).
    expect(readmeBlock('scp-policy').text).toBe(fs.readFileSync(SCP_PATH, 'utf8'));
  });

  test('selects the handler by the logical id aws-cdk-lib gives it', () => {
    const patterns = shippedScp().Statement.map((s) => s.Condition.StringLike['aws:ResourceTag/aws:cloudformation:logical-id']);

    expect(new Set(patterns)).toEqual(new Set(['SesSmtpCredentialsHandlerFunction*']));
    expect(logicalId).toMatch(/^SesSmtpCredentialsHandlerFunction[0-9A-F]{8}$/);
  });

  describe('lets CloudFormation invoke the handler on every deployment path', () => {
    test.each(DEPLOYMENT_ROLES)('%s, with CloudFormation\'s CalledVia keys', async (_path, role) => {
      expect(await verdict(caller('role', role, { viaCloudFormation: true }))).toBe('Allowed');
    });

    test.each(DEPLOYMENT_ROLES)('%s, even if the invoke carried no CalledVia keys', async (_path, role) => {
      expect(await verdict(caller('role', role))).toBe('Allowed');
    });

    test.each(UNNAMED_PATHS)('%s', async (_path, who) => {
      expect(await verdict(who)).toBe('Allowed');
    });

    test('an unnamed path needs its role added to the list if the invoke carried no CalledVia keys', async () => {
      const launchRole = caller('role', 'SCLaunchRole-Mail');

      expect(await verdict(launchRole)).toBe('ExplicitlyDenied');
      expect(await verdict(launchRole, { scp: withDeploymentRoles(shippedScp(), ['arn:*:iam::*:role/SCLaunchRole-*']) })).toBe('Allowed');
    });

    test('CloudFormation may still create the function\'s resource-policy permissions (a deployment adding rotation)', async () => {
      const cdk = caller('role', `cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`, { viaCloudFormation: true });

      expect(await verdict(cdk, { action: 'lambda:AddPermission' })).toBe('Allowed');
      expect(await verdict(cdk, { action: 'lambda:UpdateFunctionConfiguration' })).toBe('Allowed');
    });
  });

  describe('lets the services invoke it through the function\'s resource policy', () => {
    test('Secrets Manager rotating a secret of the stack', async () => {
      expect(await verdict(service('secretsmanager.amazonaws.com', SECRET_ARN))).toBe('Allowed');
    });

    test('EventBridge delivering a key-source sync', async () => {
      expect(await verdict(service('events.amazonaws.com', SYNC_RULE_ARN))).toBe('Allowed');
    });

    test('the resource policy, not the SCP, stops a service acting for another source', async () => {
      expect(await verdict(service('secretsmanager.amazonaws.com', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:Other-AbCdEf`))).toBe('ImplicitlyDenied');
    });

    test('the simulator, unlike AWS, applies SCPs to service principals (so the service cases above are stricter than AWS)', async () => {
      const denyAll = { Version: '2012-10-17', Statement: [{ Sid: 'DenyAll', Effect: 'Deny', Action: '*', Resource: '*' }] } as unknown as PolicyDocument;

      expect(await verdict(service('secretsmanager.amazonaws.com', SECRET_ARN), { scp: denyAll })).toBe('ExplicitlyDenied');
    });
  });

  describe('denies a direct invoke', () => {
    test('by a PowerUser (an IAM Identity Center permission set)', async () => {
      const powerUser = caller('role', 'aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PowerUserAccess_0123456789abcdef', { identityPolicy: POWER_USER });

      expect(await verdict(powerUser)).toBe('ExplicitlyDenied');
    });

    test('whatever name CloudFormation cut the function\'s name to', async () => {
      expect(await verdict(caller('user', 'ops-alice'), { functionArn: CUT_FUNCTION_ARN })).toBe('ExplicitlyDenied');
    });

    test('by an IAM user with access keys', async () => {
      expect(await verdict(caller('user', 'ops-alice'))).toBe('ExplicitlyDenied');
    });

    test('by the deprecated InvokeAsync API', async () => {
      expect(await verdict(caller('user', 'ops-alice'), { action: 'lambda:InvokeAsync' })).toBe('ExplicitlyDenied');
    });

    test('by the handler\'s own role (it never invokes itself)', async () => {
      expect(await verdict(caller('role', 'Mail-SesSmtpCredentialsHandlerRoleA1B2C3D4-AbCdEf123456'))).toBe('ExplicitlyDenied');
    });

    test('by a PowerUser through another service that relays with its credentials', async () => {
      const viaAthena = caller('role', 'AWSReservedSSO_PowerUserAccess_0123456789abcdef', { identityPolicy: POWER_USER });
      const context = { ...viaAthena.context, 'aws:ViaAWSService': 'true', 'aws:CalledVia': ['athena.amazonaws.com'], 'aws:CalledViaFirst': 'athena.amazonaws.com', 'aws:CalledViaLast': 'athena.amazonaws.com' };

      expect(await verdict({ ...viaAthena, context })).toBe('ExplicitlyDenied');
    });
  });

  describe('denies a PowerUser the ways around it', () => {
    test.each([
      ['granting another principal or service the right to invoke it', 'lambda:AddPermission'],
      ['giving it a function URL', 'lambda:CreateFunctionUrlConfig'],
      ['changing its code', 'lambda:UpdateFunctionCode'],
      ['changing what it trusts (its stack id)', 'lambda:UpdateFunctionConfiguration'],
      ['removing the services\' permissions', 'lambda:RemovePermission'],
      ['throttling it to zero', 'lambda:PutFunctionConcurrency'],
      ['deleting it', 'lambda:DeleteFunction'],
    ])('%s', async (_what, action) => {
      const powerUser = caller('role', 'AWSReservedSSO_PowerUserAccess_0123456789abcdef', { identityPolicy: POWER_USER });

      expect(await verdict(powerUser, { action })).toBe('ExplicitlyDenied');
    });
  });

  describe('what it cannot stop (docs/scp.md, "What it does not cover")', () => {
    test('a request CloudFormation relays from a PowerUser\'s own stack passes the SCP; the handler refuses it before any AWS call', async () => {
      // test/handler-authority.test.ts: "a Delete with alice's real properties and a foreign StackId is refused before any AWS call".
      const powerUser = caller('role', 'AWSReservedSSO_PowerUserAccess_0123456789abcdef', { viaCloudFormation: true, identityPolicy: POWER_USER });

      expect(await verdict(powerUser)).toBe('Allowed');
    });

    test('a principal that can create a role named like a deployment role passes it', async () => {
      expect(await verdict(caller('role', 'cdk-fake-cfn-exec-role-made-by-an-admin'))).toBe('Allowed');
    });

    test('it leaves every other function alone', async () => {
      expect(await verdict(caller('user', 'ops-alice'), { tagged: false })).toBe('Allowed');
    });
  });
});
