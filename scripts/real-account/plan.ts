/**
 * What the real-account check deploys and what it expects, read from the
 * synthesized cloud assembly of test/integ.ses-smtp-user.ts (never from the
 * app's source): the stages in order, and in each stage every
 * Custom::SesSmtpCredentials resource with its user, its secrets and whether
 * it rotates. No AWS call.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The stacks of the app, in the order they are deployed (as updates of one stack). */
export const DEPLOY_STAGES = ['Create', 'Update', 'Replace', 'CancelInFlight'] as const;
export type StageId = typeof DEPLOY_STAGES[number];

const CREDENTIALS_TYPE = 'Custom::SesSmtpCredentials';
const FAIL_ON_PURPOSE_TYPE = 'Custom::FailOnPurpose';

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}
export interface Template {
  readonly Resources: Record<string, TemplateResource>;
}

/** One secret of a SesSmtpUser, by the logical id of its AWS::SecretsManager::Secret. */
export interface PlannedTarget {
  readonly region: string;
  readonly secretLogicalId: string;
}

/** One Custom::SesSmtpCredentials resource of a stage. */
export interface PlannedCredentials {
  readonly logicalId: string;
  readonly userName: string;
  /** Primary first. */
  readonly targets: PlannedTarget[];
  /** An AWS::SecretsManager::RotationSchedule rotates its primary secret. */
  readonly rotating: boolean;
  /** Its properties as the template has them (Ref and GetAtt unresolved). */
  readonly properties: Record<string, unknown>;
}

export interface Stage {
  readonly id: StageId;
  readonly template: Template;
  readonly credentials: PlannedCredentials[];
  /** The stage has a sibling that fails on purpose: CloudFormation must roll it back. */
  readonly failsOnPurpose: boolean;
  readonly handlerFunctionLogicalId: string;
  readonly handlerLogGroupLogicalId: string;
  /** The stack's owner tag key (the handler function's SES_SMTP_OWNER_TAG_KEY). */
  readonly ownerTagKey: string;
}

export interface Plan {
  readonly stackName: string;
  readonly stages: Stage[];
  /** Every IAM user any stage names: the check creates them before stage 1. */
  readonly users: string[];
}

interface ManifestArtifact {
  readonly type: string;
  readonly properties?: { readonly templateFile?: string; readonly stackName?: string };
}

/** Reads the plan from a cloud assembly directory (a fresh synth or the snapshot). */
export function readPlan(assemblyDir: string): Plan {
  const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8')) as { artifacts?: Record<string, ManifestArtifact> };
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  const ids = stacks.map(([id]) => id).sort();
  if (JSON.stringify(ids) !== JSON.stringify([...DEPLOY_STAGES].sort())) {
    throw new Error(`${assemblyDir} has the stacks ${ids.join(', ')}; the check deploys exactly ${DEPLOY_STAGES.join(', ')}`);
  }
  const names = new Set(stacks.map(([, a]) => a.properties?.stackName));
  if (names.size !== 1) throw new Error(`every stage must deploy to one stack name; ${assemblyDir} has ${[...names].join(', ')}`);
  const byId = new Map(stacks);
  const stages = DEPLOY_STAGES.map((id) => {
    const file = byId.get(id)?.properties?.templateFile;
    if (!file) throw new Error(`stack ${id} of ${assemblyDir} has no template file`);
    return stageOf(id, JSON.parse(fs.readFileSync(path.join(assemblyDir, file), 'utf8')) as Template);
  });
  const users = [...new Set(stages.flatMap((s) => s.credentials.map((c) => c.userName)))].sort();
  return { stackName: String([...names][0]), stages, users };
}

/** One stage's expectations, from its template. */
export function stageOf(id: StageId, template: Template): Stage {
  const resources = Object.entries(template.Resources);
  const rotated = new Set(resources.filter(([, r]) => r.Type === 'AWS::SecretsManager::RotationSchedule')
    .map(([, r]) => refOf(r.Properties?.SecretId)).filter((x): x is string => x !== undefined));
  const credentials = resources.filter(([, r]) => r.Type === CREDENTIALS_TYPE).map(([logicalId, r]) => {
    const props = r.Properties ?? {};
    if (typeof props.UserName !== 'string') {
      throw new Error(`${id}/${logicalId}: UserName must be a literal user name (the check creates the users), got ${JSON.stringify(props.UserName)}`);
    }
    const targets = (props.Targets as Array<{ Region: string; SecretArn: unknown }>).map((t) => {
      const secretLogicalId = refOf(t.SecretArn);
      if (!secretLogicalId) throw new Error(`${id}/${logicalId}: a target's SecretArn is not a Ref to a secret of the stack`);
      return { region: t.Region, secretLogicalId };
    });
    return { logicalId, userName: props.UserName, targets, rotating: rotated.has(targets[0].secretLogicalId), properties: props };
  });
  const handler = resources.find(([, r]) => r.Type === 'AWS::Lambda::Function'
    && (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.SES_SMTP_OWNER_TAG_KEY !== undefined);
  if (!handler) throw new Error(`${id}: no SesSmtpUser handler function (a function with SES_SMTP_OWNER_TAG_KEY)`);
  const [handlerFunctionLogicalId, fn] = handler;
  const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
  const logGroup = refOf((fn.Properties?.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup);
  if (!logGroup) throw new Error(`${id}: the handler function names no log group of the stack`);
  return {
    id,
    template,
    credentials,
    failsOnPurpose: resources.some(([, r]) => r.Type === FAIL_ON_PURPOSE_TYPE),
    handlerFunctionLogicalId,
    handlerLogGroupLogicalId: logGroup,
    ownerTagKey: String(variables.SES_SMTP_OWNER_TAG_KEY),
  };
}

/** `{ Ref: X }` → X. */
export function refOf(value: unknown): string | undefined {
  const ref = (value as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' ? ref : undefined;
}
