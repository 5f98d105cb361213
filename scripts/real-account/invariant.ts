/**
 * The invariant the real-account check asserts after every step, as one pure
 * function: what the stack declares (its live SesSmtpUsers, and the keys the
 * check saw each rotation make) against what IAM, Secrets Manager and
 * CloudFormation report (aws.ts observes it). Metadata only: keys per user,
 * tags, staging labels, physical ids. Never a secret value.
 *
 * For every IAM user of the run:
 * - it holds exactly the keys a live SesSmtpUser names: the key in its
 *   physical id, or after rotations the current and the grace key; a user no
 *   live SesSmtpUser names holds none. So no key is left over, and no user
 *   holds 2 keys except a rotating one (grace period);
 * - every one of those keys is Active;
 * - it carries the stack's owner tag (value: the stack id) exactly while it
 *   holds such a key.
 * For every secret of a live SesSmtpUser:
 * - it exists and is not scheduled for deletion;
 * - it carries CloudFormation's reserved tags for this stack and its logical id;
 * - exactly one version is AWSCURRENT, and it carries the generation label of
 *   the physical id's fingerprint; no version is AWSPENDING;
 * - after a rotation, the primary's AWSPREVIOUS version is labelled ses-smtp-grace.
 * Every secret that left the stack is deleted (gone or scheduled for deletion).
 */
import { PlannedCredentials } from './plan';

export interface ObservedKey {
  readonly id: string;
  readonly status: string;
}

export interface ObservedUser {
  readonly exists: boolean;
  readonly keys: ObservedKey[];
  readonly tags: Record<string, string>;
}

export interface ObservedSecret {
  /** False when Secrets Manager does not know it. */
  readonly exists: boolean;
  /** Scheduled for deletion (DeletedDate). */
  readonly deleted: boolean;
  /** VersionIdsToStages. */
  readonly stages: Record<string, string[]>;
  readonly tags: Record<string, string>;
}

export interface Observation {
  /** Undefined once the stack is deleted. */
  readonly stackId?: string;
  readonly stackName: string;
  readonly users: Record<string, ObservedUser>;
  /** Logical id → physical id, for the stack's live resources. */
  readonly physicalIds: Record<string, string>;
  /** By ARN: the live SesSmtpUsers' secrets and every secret that left the stack. */
  readonly secrets: Record<string, ObservedSecret>;
}

/** What the check saw the rotations of one rotating SesSmtpUser make. */
export interface RotationState {
  /** The key the last rotation made current. */
  readonly current: string;
  /** The key it left valid as AWSPREVIOUS. */
  readonly grace: string;
}

export interface Declared {
  /** The SesSmtpUsers the stack has now (none after its deletion). */
  readonly live: PlannedCredentials[];
  /** Every IAM user of the run. */
  readonly users: string[];
  readonly ownerTagKey: string;
  /** Rotation state by logical id, for rotating SesSmtpUsers the check rotated. */
  readonly rotations: Record<string, RotationState>;
  /** ARNs of secrets that left the stack during the run. */
  readonly gone: string[];
}

const GRACE_LABEL = 'ses-smtp-grace';

/** The key id and fingerprint in a physical id the handler issued (`key/<user>/<key id>/<fingerprint>`). */
export function parseIssuedId(physicalId: string | undefined): { userName: string; accessKeyId: string; fingerprint: string } | undefined {
  const parts = String(physicalId ?? '').split('/');
  if (parts.length !== 4 || parts[0] !== 'key' || !/^AKIA[A-Z0-9]{12,}$/.test(parts[2]) || !/^[0-9a-f]{16}$/.test(parts[3])) return undefined;
  return { userName: parts[1], accessKeyId: parts[2], fingerprint: parts[3] };
}

/** Every way the observation breaks the invariant; empty when it holds. */
export function invariantFindings(declared: Declared, observed: Observation): string[] {
  const findings: string[] = [];
  const expectedKeys = new Map<string, string[]>();
  for (const resource of declared.live) {
    const physicalId = observed.physicalIds[resource.logicalId];
    const issued = parseIssuedId(physicalId);
    if (!issued) {
      findings.push(`${resource.logicalId}: physical id ${String(physicalId)} is not one the handler issues (key/<user>/<key id>/<fingerprint>)`);
      continue;
    }
    if (issued.userName !== resource.userName) findings.push(`${resource.logicalId}: physical id names user ${issued.userName}, the template ${resource.userName}`);
    const rotation = declared.rotations[resource.logicalId];
    const keys = rotation ? [rotation.current, rotation.grace] : [issued.accessKeyId];
    expectedKeys.set(resource.userName, [...(expectedKeys.get(resource.userName) ?? []), ...keys]);
    findings.push(...secretFindings(resource, issued.fingerprint, rotation !== undefined, observed));
  }

  for (const userName of declared.users) {
    const user = observed.users[userName];
    const expected = (expectedKeys.get(userName) ?? []).sort();
    if (!user?.exists) {
      findings.push(`IAM user ${userName} does not exist`);
      continue;
    }
    const held = user.keys.map((k) => k.id).sort();
    if (JSON.stringify(held) !== JSON.stringify(expected)) {
      const extra = held.filter((k) => !expected.includes(k));
      const missing = expected.filter((k) => !held.includes(k));
      findings.push(`IAM user ${userName} holds ${held.length} key(s) [${held.join(', ')}], expected [${expected.join(', ')}]`
        + `${extra.length ? `; left over: ${extra.join(', ')}` : ''}${missing.length ? `; missing: ${missing.join(', ')}` : ''}`);
    }
    for (const key of user.keys.filter((k) => expected.includes(k.id) && k.status !== 'Active')) {
      findings.push(`IAM user ${userName}: key ${key.id} is ${key.status}, not Active`);
    }
    const tag = user.tags[declared.ownerTagKey];
    if (expected.length > 0 && tag !== observed.stackId) {
      findings.push(`IAM user ${userName} holds this stack's key but its owner tag ${declared.ownerTagKey} is ${tag === undefined ? 'missing' : `'${tag}'`}`);
    }
    if (expected.length === 0 && tag !== undefined) {
      findings.push(`IAM user ${userName} holds no key of this stack but still carries the owner tag ${declared.ownerTagKey}`);
    }
  }

  for (const arn of declared.gone) {
    const secret = observed.secrets[arn];
    if (secret?.exists && !secret.deleted) findings.push(`secret ${arn} left the stack but still exists (not scheduled for deletion)`);
  }
  return findings;
}

function secretFindings(resource: PlannedCredentials, fingerprint: string, rotated: boolean, observed: Observation): string[] {
  const findings: string[] = [];
  for (const [index, target] of resource.targets.entries()) {
    const arn = observed.physicalIds[target.secretLogicalId];
    const secret = arn === undefined ? undefined : observed.secrets[arn];
    const what = `${resource.logicalId} secret ${target.secretLogicalId} (${target.region})`;
    if (!secret?.exists || secret.deleted) {
      findings.push(`${what} ${arn ?? ''} does not exist or is scheduled for deletion`);
      continue;
    }
    const reserved = {
      'aws:cloudformation:stack-id': observed.stackId,
      'aws:cloudformation:stack-name': observed.stackName,
      'aws:cloudformation:logical-id': target.secretLogicalId,
    };
    for (const [key, value] of Object.entries(reserved)) {
      if (secret.tags[key] !== value) findings.push(`${what}: reserved tag ${key} is ${JSON.stringify(secret.tags[key])}, expected ${JSON.stringify(value)}`);
    }
    const withLabel = (label: string) => Object.entries(secret.stages).filter(([, labels]) => labels.includes(label)).map(([id]) => id);
    const current = withLabel('AWSCURRENT');
    if (current.length !== 1) {
      findings.push(`${what}: ${current.length} versions are AWSCURRENT`);
    } else if (!secret.stages[current[0]].includes(`ses-smtp-${fingerprint}`)) {
      findings.push(`${what}: its AWSCURRENT version is labelled [${secret.stages[current[0]].join(', ')}], not with the generation label ses-smtp-${fingerprint} of its physical id`);
    }
    if (withLabel('AWSPENDING').length > 0) findings.push(`${what}: a version is still AWSPENDING`);
    if (index === 0 && rotated) {
      const previous = withLabel('AWSPREVIOUS');
      if (previous.length !== 1 || !secret.stages[previous[0]].includes(GRACE_LABEL)) {
        findings.push(`${what}: after a rotation its AWSPREVIOUS version must carry ${GRACE_LABEL}; labels: ${JSON.stringify(secret.stages)}`);
      }
    }
  }
  return findings;
}
