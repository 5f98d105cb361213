/**
 * AWS::IAM::Role, AWS::IAM::Policy and AWS::IAM::ManagedPolicy in moto, as
 * CloudFormation manages them.
 */
import {
  AttachRolePolicyCommand, AttachUserPolicyCommand, CreatePolicyCommand, CreatePolicyVersionCommand, CreateRoleCommand,
  DeletePolicyCommand, DeletePolicyVersionCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DeleteUserPolicyCommand,
  DetachRolePolicyCommand, DetachUserPolicyCommand, ListPolicyVersionsCommand, PutRolePolicyCommand, PutUserPolicyCommand,
  UpdateAssumeRolePolicyCommand, UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import {
  Properties, ProviderContext, ResourceProvider, documentJson, generatedName, ignoringNotFound,
  optionalString, randomSuffix, sameValue, stringList,
} from './provider';

interface InlinePolicy { PolicyName: string; PolicyDocument: unknown }

function inlinePolicies(props: Properties): InlinePolicy[] {
  const value = props.Policies ?? [];
  if (!Array.isArray(value)) throw new Error(`Policies must be a list, got ${JSON.stringify(value)}`);
  return value as InlinePolicy[];
}

function rejectGroups(props: Properties, context: ProviderContext): void {
  if (props.Groups !== undefined) throw new Error(`${context.logicalId}: Groups are not supported by the emulator`);
}

function without<T>(all: T[], removed: T[]): T[] {
  return all.filter((item) => !removed.includes(item));
}

export const roleProvider: ResourceProvider = {
  replaceOn: ['RoleName', 'Path'],
  async create(props, context) {
    const roleName = optionalString(props, 'RoleName') ?? generatedName(context.stackName, context.logicalId, 64);
    const out = await context.iam.send(new CreateRoleCommand({
      RoleName: roleName,
      Path: optionalString(props, 'Path'),
      Description: optionalString(props, 'Description'),
      AssumeRolePolicyDocument: documentJson(props.AssumeRolePolicyDocument),
    }));
    for (const policy of inlinePolicies(props)) {
      await context.iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policy.PolicyName, PolicyDocument: documentJson(policy.PolicyDocument) }));
    }
    for (const arn of stringList(props, 'ManagedPolicyArns')) {
      await context.iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
    }
    return { physicalId: roleName, attributes: { Arn: out.Role!.Arn!, RoleId: out.Role!.RoleId! } };
  },
  async update(oldProps, newProps, current, context) {
    const roleName = current.physicalId;
    if (!sameValue(oldProps.AssumeRolePolicyDocument, newProps.AssumeRolePolicyDocument)) {
      await context.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: documentJson(newProps.AssumeRolePolicyDocument) }));
    }
    if (oldProps.Description !== newProps.Description) {
      await context.iam.send(new UpdateRoleCommand({ RoleName: roleName, Description: optionalString(newProps, 'Description') ?? '' }));
    }
    const newPolicies = inlinePolicies(newProps);
    for (const policy of newPolicies) {
      await context.iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policy.PolicyName, PolicyDocument: documentJson(policy.PolicyDocument) }));
    }
    for (const policy of inlinePolicies(oldProps)) {
      if (!newPolicies.some((p) => p.PolicyName === policy.PolicyName)) {
        await ignoringNotFound(() => context.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policy.PolicyName })));
      }
    }
    const oldArns = stringList(oldProps, 'ManagedPolicyArns');
    const newArns = stringList(newProps, 'ManagedPolicyArns');
    for (const arn of without(newArns, oldArns)) await context.iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
    for (const arn of without(oldArns, newArns)) {
      await ignoringNotFound(() => context.iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn })));
    }
    return current;
  },
  async delete(props, roleName, context) {
    for (const policy of inlinePolicies(props)) {
      await ignoringNotFound(() => context.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policy.PolicyName })));
    }
    for (const arn of stringList(props, 'ManagedPolicyArns')) {
      await ignoringNotFound(() => context.iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn })));
    }
    await ignoringNotFound(() => context.iam.send(new DeleteRoleCommand({ RoleName: roleName })));
  },
};

async function putPolicy(props: Properties, context: ProviderContext, roles: string[], users: string[]): Promise<void> {
  const PolicyName = optionalString(props, 'PolicyName')!;
  const PolicyDocument = documentJson(props.PolicyDocument);
  for (const RoleName of roles) await context.iam.send(new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument }));
  for (const UserName of users) await context.iam.send(new PutUserPolicyCommand({ UserName, PolicyName, PolicyDocument }));
}

async function removePolicy(props: Properties, context: ProviderContext, roles: string[], users: string[]): Promise<void> {
  const PolicyName = optionalString(props, 'PolicyName')!;
  for (const RoleName of roles) await ignoringNotFound(() => context.iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })));
  for (const UserName of users) await ignoringNotFound(() => context.iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName })));
}

/** Inline policies put on each role and user listed; Ref is a generated id, as in CloudFormation. */
export const policyProvider: ResourceProvider = {
  replaceOn: ['PolicyName'],
  async create(props, context) {
    rejectGroups(props, context);
    await putPolicy(props, context, stringList(props, 'Roles'), stringList(props, 'Users'));
    return { physicalId: `${context.stackName.slice(0, 5)}-${String(props.PolicyName).slice(0, 16)}-${randomSuffix(12)}`, attributes: {} };
  },
  async update(oldProps, newProps, current, context) {
    rejectGroups(newProps, context);
    const roles = stringList(newProps, 'Roles');
    const users = stringList(newProps, 'Users');
    await putPolicy(newProps, context, roles, users);
    await removePolicy(oldProps, context, without(stringList(oldProps, 'Roles'), roles), without(stringList(oldProps, 'Users'), users));
    return current;
  },
  async delete(props, _physicalId, context) {
    await removePolicy(props, context, stringList(props, 'Roles'), stringList(props, 'Users'));
  },
};

async function attachManaged(arn: string, context: ProviderContext, roles: string[], users: string[]): Promise<void> {
  for (const RoleName of roles) await context.iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn: arn }));
  for (const UserName of users) await context.iam.send(new AttachUserPolicyCommand({ UserName, PolicyArn: arn }));
}

async function detachManaged(arn: string, context: ProviderContext, roles: string[], users: string[]): Promise<void> {
  for (const RoleName of roles) await ignoringNotFound(() => context.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: arn })));
  for (const UserName of users) await ignoringNotFound(() => context.iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn: arn })));
}

/** Managed policies: a new default version per document change; Ref is the ARN. */
export const managedPolicyProvider: ResourceProvider = {
  replaceOn: ['ManagedPolicyName', 'Path'],
  async create(props, context) {
    rejectGroups(props, context);
    const out = await context.iam.send(new CreatePolicyCommand({
      PolicyName: optionalString(props, 'ManagedPolicyName') ?? generatedName(context.stackName, context.logicalId, 128),
      Path: optionalString(props, 'Path'),
      Description: optionalString(props, 'Description'),
      PolicyDocument: documentJson(props.PolicyDocument),
    }));
    const arn = out.Policy!.Arn!;
    await attachManaged(arn, context, stringList(props, 'Roles'), stringList(props, 'Users'));
    return { physicalId: arn, attributes: { PolicyArn: arn } };
  },
  async update(oldProps, newProps, current, context) {
    rejectGroups(newProps, context);
    const arn = current.physicalId;
    if (!sameValue(oldProps.PolicyDocument, newProps.PolicyDocument)) {
      await context.iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: documentJson(newProps.PolicyDocument), SetAsDefault: true }));
      // IAM keeps at most five versions; CloudFormation removes the ones it replaced.
      const versions = await context.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
      for (const version of versions.Versions ?? []) {
        if (!version.IsDefaultVersion) await context.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: version.VersionId }));
      }
    }
    const roles = stringList(newProps, 'Roles');
    const users = stringList(newProps, 'Users');
    const oldRoles = stringList(oldProps, 'Roles');
    const oldUsers = stringList(oldProps, 'Users');
    await attachManaged(arn, context, without(roles, oldRoles), without(users, oldUsers));
    await detachManaged(arn, context, without(oldRoles, roles), without(oldUsers, users));
    return current;
  },
  async delete(props, arn, context) {
    await detachManaged(arn, context, stringList(props, 'Roles'), stringList(props, 'Users'));
    await ignoringNotFound(async () => {
      const versions = await context.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
      for (const version of versions.Versions ?? []) {
        if (!version.IsDefaultVersion) await context.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: version.VersionId }));
      }
      await context.iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
    });
  },
};
