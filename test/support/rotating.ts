/**
 * A rotating SesSmtpUser as a deployment leaves it in moto: its secrets, the
 * registration parameter the construct synthesizes (the only authority a
 * rotation takes orders from), the hint tag on the primary secret, and the
 * credentials the custom resource issued.
 */
import { CreateSecretCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { createHash } from 'node:crypto';
import { CfnResponse } from './cloudformation';
import { World } from './world';

/** The hint tag key (lib/handler/tags.js); spelled out so the test checks the literal. */
export const REGISTRATION_TAG = 'SesSmtpCredentials:Registration';
/** What the stack's hash would be: one prefix per stack. */
export const STACK_PREFIX = '/ses-smtp-credentials/5eed5eed5eed5eed';

export interface Rotating {
  readonly userName: string;
  /** Secret ARNs by region, primary first. */
  readonly secrets: string[];
  readonly primary: string;
  readonly parameterName: string;
  /** The custom resource's properties (also what the registration holds, plus nothing else). */
  readonly properties: Record<string, unknown>;
  readonly create: CfnResponse;
}

export interface RotatingOptions {
  readonly userName: string;
  /** Name prefix of the secrets. */
  readonly name: string;
  readonly regions?: string[];
  /** A key source: the CR's Source properties. */
  readonly source?: Record<string, unknown>;
}

/** Deploys one rotating SesSmtpUser: secrets, registration, hint tag, Create. */
export async function deployRotating(world: World, options: RotatingOptions): Promise<Rotating> {
  const regions = options.regions ?? ['eu-west-1'];
  const secrets: string[] = [];
  for (const region of regions) {
    const out = await world.secrets.send(new CreateSecretCommand({ Name: `${options.name}/${region}` }));
    secrets.push(out.ARN!);
  }
  const registration = {
    UserName: options.userName,
    Targets: regions.map((region, i) => ({ Region: region, Host: `email-smtp.${region}.amazonaws.com`, Port: '587', SecretArn: secrets[i] })),
    ...(options.source ? { Source: options.source } : {}),
  };
  const parameterName = `${STACK_PREFIX}/${createHash('sha256').update(options.name).digest('hex').slice(0, 16)}`;
  await world.ssm.putParameter(parameterName, JSON.stringify(registration));
  await world.secrets.send(new TagResourceCommand({ SecretId: secrets[0], Tags: [{ Key: REGISTRATION_TAG, Value: parameterName }] }));
  const create = await world.send('Create', registration);
  if (create.Status !== 'SUCCESS') throw new Error(`Create of ${options.name} failed: ${create.Reason}`);
  return { userName: options.userName, secrets, primary: secrets[0], parameterName, properties: registration, create };
}

/** Tags the primary secret as a holder of secretsmanager:TagResource could. */
export async function tagSecret(world: World, secretArn: string, tags: Record<string, string>): Promise<void> {
  await world.secrets.send(new TagResourceCommand({ SecretId: secretArn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
}
