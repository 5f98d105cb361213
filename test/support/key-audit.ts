/**
 * Independent checks of "no access key is ever orphaned", read as the
 * administrator from moto's IAM and Secrets Manager after each stack operation.
 */
import { IAMClient, ListAccessKeysCommand, ListRolesCommand, ListUserPoliciesCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CUSTOM_RESOURCE_TYPE, SmtpCredentialsProperties } from '../../lib/contract';
import { LiveResource } from './cfn-emulator';

export interface AccessKeyRef {
  readonly userName: string;
  readonly accessKeyId: string;
}

export async function accessKeysOf(iam: IAMClient, userName: string): Promise<string[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).sort();
}

/** Only the `username` field (the access key id) of a secret's AWSCURRENT value. */
async function currentUsername(secrets: SecretsManagerClient, secretArn: string): Promise<string | undefined> {
  try {
    const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSCURRENT' }));
    const username = (JSON.parse(out.SecretString ?? '{}') as { username?: unknown }).username;
    return typeof username === 'string' ? username : undefined;
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

/**
 * Access keys of `userNames` that no live custom resource of the stack holds:
 * neither named in its physical id (`key/<user>/<keyid>/<fp>`) nor the
 * AWSCURRENT `username` of its primary secret. Keys in `foreign` belong to
 * the test (or the organisation's automation) and are never orphans.
 */
export async function orphanedKeys(
  iam: IAMClient, secrets: SecretsManagerClient, resources: LiveResource[], userNames: string[], foreign: string[] = [],
): Promise<AccessKeyRef[]> {
  const held = new Set<string>();
  for (const resource of resources.filter((r) => r.type === CUSTOM_RESOURCE_TYPE)) {
    const parts = resource.physicalId.split('/');
    if (parts.length === 4) held.add(parts[2]);
    const properties = resource.properties as unknown as SmtpCredentialsProperties;
    const username = await currentUsername(secrets, properties.Targets[0].SecretArn);
    if (username) held.add(username);
  }
  const orphans: AccessKeyRef[] = [];
  for (const userName of userNames) {
    for (const accessKeyId of await accessKeysOf(iam, userName)) {
      if (!held.has(accessKeyId) && !foreign.includes(accessKeyId)) orphans.push({ userName, accessKeyId });
    }
  }
  return orphans;
}

/** What is left in the account that a deleted stack could have made: keys, user policies, secrets, roles. */
export async function leftovers(iam: IAMClient, secrets: SecretsManagerClient, userNames: string[], foreign: { keys?: string[]; secretNames?: string[] } = {}) {
  const keys: AccessKeyRef[] = [];
  const userPolicies: string[] = [];
  /** Owner tags (`SesSmtpCredentials:*`) left on users: the stack's mark outside the stack. */
  const ownerTags: string[] = [];
  for (const userName of userNames) {
    for (const accessKeyId of await accessKeysOf(iam, userName)) {
      if (!(foreign.keys ?? []).includes(accessKeyId)) keys.push({ userName, accessKeyId });
    }
    const policies = await iam.send(new ListUserPoliciesCommand({ UserName: userName }));
    userPolicies.push(...(policies.PolicyNames ?? []).map((name) => `${userName}/${name}`));
    const tags = await iam.send(new ListUserTagsCommand({ UserName: userName }));
    ownerTags.push(...(tags.Tags ?? []).filter((t) => t.Key!.startsWith('SesSmtpCredentials:')).map((t) => `${userName}/${t.Key}`));
  }
  const secretList = await secrets.send(new ListSecretsCommand({}));
  const secretNames = (secretList.SecretList ?? []).map((s) => s.Name!).filter((name) => !(foreign.secretNames ?? []).includes(name));
  const roles = ((await iam.send(new ListRolesCommand({}))).Roles ?? []).map((r) => r.RoleName!);
  return { keys, userPolicies, ownerTags, secretNames, roles };
}
