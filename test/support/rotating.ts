/**
 * A rotating SesSmtpUser as a deployment leaves it in moto and in
 * CloudFormation's records: its secrets (with CloudFormation's reserved
 * tags), the registration in the primary secret's template Metadata (the only
 * authority a rotation takes orders from), and the credentials the custom
 * resource issued.
 */
import { randomUUID } from 'node:crypto';
import { TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { CfnResponse } from './cloudformation';
import { World } from './world';

/** The template Metadata key (lib/handler/tags.js); spelled out so the test checks the literal. */
export const REGISTRATION_KEY = 'SesSmtpCredentials:Registration';

export interface Rotating {
  readonly userName: string;
  /** Secret ARNs by region, primary first. */
  readonly secrets: string[];
  readonly primary: string;
  /** The custom resource's logical id (one per construct, as in a template). */
  readonly logicalId: string;
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

/** Deploys one rotating SesSmtpUser: secrets, registration in the primary's Metadata, Create. */
export async function deployRotating(world: World, options: RotatingOptions): Promise<Rotating> {
  const regions = options.regions ?? ['eu-west-1'];
  const target = (region: string) => ({ Region: region, Host: `email-smtp.${region}.amazonaws.com`, Port: '587' });
  // The other regions first: the primary's Metadata refers to them.
  const others: string[] = [];
  for (const region of regions.slice(1)) others.push(await world.createEmptySecret(`${options.name}/${region}`));
  const registration = {
    UserName: options.userName,
    Targets: [target(regions[0]), ...regions.slice(1).map((region, i) => ({ ...target(region), SecretArn: others[i] }))],
    ...(options.source ? { Source: options.source } : {}),
  };
  const primary = await world.createEmptySecret(`${options.name}/${regions[0]}`, { [REGISTRATION_KEY]: registration });
  const secrets = [primary, ...others];
  const properties = { ...registration, Targets: registration.Targets.map((t, i) => ({ ...t, SecretArn: secrets[i] })) };
  const logicalId = `Credentials${options.name.replace(/[^A-Za-z0-9]/g, '')}`;
  const create = await world.send('Create', properties, { logicalResourceId: logicalId });
  if (create.Status !== 'SUCCESS') throw new Error(`Create of ${options.name} failed: ${create.Reason}`);
  return { userName: options.userName, secrets, primary, logicalId, properties, create };
}

/** Tags the primary secret as a holder of secretsmanager:TagResource could. */
export async function tagSecret(world: World, secretArn: string, tags: Record<string, string>): Promise<void> {
  await world.secrets.send(new TagResourceCommand({ SecretId: secretArn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
}

/**
 * Starts a rotation of the secret as Secrets Manager does, then runs the four
 * steps until one fails; returns that failure (or undefined when all passed).
 */
export async function rotate(world: World, secretId: string, token = randomUUID()): Promise<Error | undefined> {
  await world.beginRotation(secretId, token);
  for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    try {
      await world.invoke({ Step: step, SecretId: secretId, ClientRequestToken: token, RotationToken: randomUUID() });
    } catch (e) {
      return e as Error;
    }
  }
  return undefined;
}
