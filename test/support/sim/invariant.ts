/**
 * The lifecycle invariant (README "No orphaned key"), checked as the
 * administrator once every request has been answered, every delivery and
 * rotation step has ended, and one Lambda lifetime has passed:
 *
 * 1. every access key the handler created still exists only if a record
 *    names it: CloudFormation's current record of the live resource (its
 *    physical id), or one of its live secrets (AWSCURRENT, the grace version
 *    of the last rotation, AWSPENDING of a rotation in progress);
 * 2. no user holds 2 of the handler's keys, except a rotation's grace or
 *    pending key beside the current one;
 * 3. a live resource's secrets name one active key of its user as AWSCURRENT,
 *    under the generation label of CloudFormation's record;
 * 4. a user carries the stack's owner tag exactly while such a record names a
 *    key of it;
 * 5. no key someone else made was deleted;
 * 6. no secret access key or SMTP password, nor a part of one, in any answer
 *    to CloudFormation or any log line.
 */
import { ListAccessKeysCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { deriveSmtpPassword } from '../../../lib/handler/smtp-password';
import { SAMPLE_SELF } from '../cloudformation';
import type { SimServices } from './world';
import { REGIONS, SimWorld, USERS, shortKey } from './world';

interface Named {
  readonly accessKeyId: string;
  readonly by: string;
}

async function valueOf(services: SimServices, secretArn: string, versionId: string): Promise<Record<string, unknown> | undefined> {
  try {
    const out = await services.secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionId: versionId }));
    return JSON.parse(out.SecretString ?? '{}') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function versionWith(stages: Record<string, string[]>, label: string): string | undefined {
  return Object.entries(stages).find(([, labels]) => labels.includes(label))?.[0];
}

export async function violations(world: SimWorld, services: SimServices, output: { logs: string[]; answers: string[] }): Promise<string[]> {
  const found: string[] = [];
  const keys = new Map<string, Array<{ accessKeyId: string; status: string }>>();
  const tags = new Map<string, boolean>();
  for (const user of USERS) {
    const listed = await services.iam.send(new ListAccessKeysCommand({ UserName: user }));
    keys.set(user, (listed.AccessKeyMetadata ?? []).map((k) => ({ accessKeyId: k.AccessKeyId!, status: k.Status! })));
    const userTags = await services.iam.send(new ListUserTagsCommand({ UserName: user }));
    tags.set(user, (userTags.Tags ?? []).some((t) => t.Key === SAMPLE_SELF.ownerTagKey));
  }
  const alive = (accessKeyId: string) => [...keys.values()].some((list) => list.some((k) => k.accessKeyId === accessKeyId));

  // What the records name.
  const named: Named[] = [];
  const record = world.stack.record;
  const recordKey = record && /^key\/([^/]+)\/([^/]+)\/([0-9a-f]{16})$/.exec(record.physicalId);
  if (recordKey) named.push({ accessKeyId: recordKey[2], by: 'the physical id' });
  const secrets: Array<{ arn: string; stages: Record<string, string[]> }> = [];
  if (record && !world.secretsDeleted) {
    for (const arn of world.secretArns) {
      const out = await services.secrets.send(new DescribeSecretCommand({ SecretId: arn }));
      secrets.push({ arn, stages: out.VersionIdsToStages ?? {} });
    }
    const primary = secrets[0];
    for (const label of ['AWSCURRENT', 'ses-smtp-grace']) {
      const versionId = primary && versionWith(primary.stages, label);
      const username = versionId && (await valueOf(services, primary.arn, versionId))?.username;
      if (typeof username === 'string') named.push({ accessKeyId: username, by: label });
    }
    // A rotation in progress: its pending key, in whichever region it has been written yet.
    for (const { arn, stages } of secrets) {
      const versionId = versionWith(stages, 'AWSPENDING');
      const username = versionId && (await valueOf(services, arn, versionId))?.username;
      if (typeof username === 'string') named.push({ accessKeyId: username, by: 'AWSPENDING' });
    }
  }
  const isNamed = (accessKeyId: string) => named.some((n) => n.accessKeyId === accessKeyId);

  // 1 and 2: the handler's keys.
  for (const [accessKeyId, { userName }] of world.handlerKeys) {
    if (alive(accessKeyId) && !isNamed(accessKeyId)) found.push(`1: key ${shortKey(accessKeyId)} of ${userName}, made by the handler, is named by no record (orphaned)`);
  }
  for (const [user, list] of keys) {
    const ours = list.filter((k) => world.handlerKeys.has(k.accessKeyId));
    if (ours.length < 2) continue;
    const spare = ours.filter((k) => named.some((n) => n.accessKeyId === k.accessKeyId && (n.by === 'ses-smtp-grace' || n.by === 'AWSPENDING')));
    if (ours.length > 2 || spare.length === 0) {
      found.push(`2: ${user} holds ${ours.length} of the handler's keys (${ours.map((k) => shortKey(k.accessKeyId)).join(', ')}), none a rotation's grace or pending key`);
    }
  }

  // 3: a live resource's secrets.
  if (record && world.stack.status === 'IDLE' && recordKey) {
    const [, user, , fingerprint] = recordKey;
    let current: string | undefined;
    for (const { arn, stages } of secrets) {
      const versionId = versionWith(stages, 'AWSCURRENT');
      const username = versionId && (await valueOf(services, arn, versionId))?.username;
      const region = REGIONS[world.secretArns.indexOf(arn)];
      if (typeof username !== 'string') {
        found.push(`3: the ${region} secret names no key as AWSCURRENT`);
        continue;
      }
      if (current !== undefined && username !== current) found.push(`3: the secrets name different keys (${shortKey(current)}, ${shortKey(username)})`);
      current = username;
      if (!keys.get(user)?.some((k) => k.accessKeyId === username && k.status === 'Active')) {
        found.push(`3: the ${region} secret's AWSCURRENT names ${shortKey(username)}, not an active key of ${user}`);
      }
      if (versionId && !stages[versionId].includes(`ses-smtp-${fingerprint}`)) found.push(`3: the ${region} secret's AWSCURRENT is not CloudFormation's generation ${fingerprint}`);
    }
  }

  // 4: the owner tag.
  for (const user of USERS) {
    const holds = (keys.get(user) ?? []).some((k) => world.handlerKeys.has(k.accessKeyId) && isNamed(k.accessKeyId));
    if (tags.get(user) && !holds) found.push(`4: ${user} carries the owner tag, but no record names a key of it`);
    if (!tags.get(user) && holds) found.push(`4: ${user} holds a key a record names, without the owner tag (the handler could not delete it later)`);
  }

  // 5: keys someone else made.
  for (const [accessKeyId, user] of world.foreignKeys) {
    if (!alive(accessKeyId)) found.push(`5: ${user}'s key ${shortKey(accessKeyId)}, made by someone else, was deleted`);
  }

  // 6: secret bytes.
  const text = [...output.logs, ...output.answers].join('\n');
  for (const [accessKeyId, { secretAccessKey }] of world.handlerKeys) {
    if (!secretAccessKey) continue;
    const secrets = [secretAccessKey, ...REGIONS.map((region) => deriveSmtpPassword(secretAccessKey, region))];
    if (secrets.some((s) => text.includes(s) || text.includes(s.slice(0, 20)) || text.includes(s.slice(-20)))) {
      found.push(`6: a secret of key ${shortKey(accessKeyId)} appears in an answer or a log line`);
    }
  }

  if (world.stack.busy) found.push(`CloudFormation is still waiting (stack ${world.stack.status}) after every delivery ended and ServiceTimeout passed`);
  found.push(...world.stack.problems.map((p) => `simulation: ${p}`));
  return found;
}
