/**
 * The contract between the CloudFormation engine and the code that makes one
 * resource type real in moto.
 */
import { randomBytes } from 'node:crypto';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Resolved properties: intrinsics replaced by values. */
export type Properties = Record<string, unknown>;

export interface Provisioned {
  readonly physicalId: string;
  /** Fn::GetAtt values (never secrets). */
  readonly attributes: Record<string, string>;
}

/** A Lambda function of the template that custom resources can run under. */
export interface FunctionRecord {
  readonly arn: string;
  /** The function's name (its physical id). */
  readonly name: string;
  readonly roleArn: string;
  readonly timeoutSeconds: number;
  /** Its environment variables, resolved. */
  readonly environment: Record<string, string>;
  /** Code.ZipFile, when the template ships the handler inline: then that code runs, not lib/handler. */
  readonly inlineCode?: string;
}

export interface ProviderContext {
  readonly logicalId: string;
  readonly type: string;
  readonly stackName: string;
  readonly stackId: string;
  readonly region: string;
  readonly accountId: string;
  /** Administrator clients (`testing`), as CloudFormation acts with its own rights. */
  readonly iam: IAMClient;
  readonly secrets: SecretsManagerClient;
  /** The function a ServiceToken names, if the template defines it. */
  functionByArn(arn: string): FunctionRecord | undefined;
  /** Runs a custom resource request, or another service's event, through the real handler (see custom-resource.ts). */
  readonly customResources: CustomResourceRunner;
}

export interface CustomResourceRequest {
  readonly requestType: 'Create' | 'Update' | 'Delete';
  readonly properties: Properties;
  readonly oldProperties?: Properties;
  readonly physicalId?: string;
}

export interface CustomResourceRunner {
  run(context: ProviderContext, request: CustomResourceRequest): Promise<Provisioned>;
  /**
   * Runs a function of the stack with a service's event (a Secrets Manager
   * rotation step) through the real handler; rejects when the function fails.
   */
  invoke(context: ProviderContext, functionArn: string, event: unknown): Promise<void>;
}

export interface ResourceProvider {
  create(props: Properties, context: ProviderContext): Promise<Provisioned>;
  /** Brings a live resource from `oldProps` to `newProps`; may answer a new physical id. */
  update(oldProps: Properties, newProps: Properties, current: Provisioned, context: ProviderContext): Promise<Provisioned>;
  delete(props: Properties, physicalId: string, context: ProviderContext): Promise<void>;
  /**
   * Properties whose change makes CloudFormation replace the resource: it
   * creates a new one during the update and deletes the old one in cleanup
   * (or, on rollback, goes back to the old one and deletes the new one).
   */
  readonly replaceOn?: readonly string[];
  /**
   * Custom resources: a rollback sends the provider an Update back to the old
   * properties instead of switching physical ids silently.
   */
  readonly rollsBackByUpdate?: boolean;
}

/**
 * A failed create, update or delete. `physicalId` is what the resource
 * reported anyway (a custom resource always answers one), so a rollback can
 * send it a Delete.
 */
export class ProvisionError extends Error {
  constructor(message: string, public readonly physicalId?: string) {
    super(message);
    this.name = 'ProvisionError';
  }
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A random upper-case suffix such as CloudFormation appends to generated names. */
export function randomSuffix(length = 12): string {
  return [...randomBytes(length)].map((b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');
}

/** `<stack>-<logicalId>-<SUFFIX>`, shortened to fit `maxLength` as CloudFormation does. */
export function generatedName(stackName: string, logicalId: string, maxLength: number): string {
  const suffix = randomSuffix(12);
  const room = maxLength - suffix.length - 2;
  const stackPart = stackName.slice(0, Math.max(1, Math.floor(room / 2)));
  const logicalPart = logicalId.slice(0, room - stackPart.length);
  return `${stackPart}-${logicalPart}-${suffix}`;
}

export function optionalString(props: Properties, name: string): string | undefined {
  const value = props[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`${name} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

export function stringList(props: Properties, name: string): string[] {
  const value = props[name];
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new Error(`${name} must be a list of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

/** A policy document as IAM wants it: a JSON string. */
export function documentJson(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
}

/** Treats "already gone" as done, as CloudFormation does on delete. */
export async function ignoringNotFound(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (e) {
    const name = (e as { name?: string }).name ?? '';
    if (name === 'NoSuchEntityException' || name === 'NoSuchEntity' || name === 'ResourceNotFoundException') return;
    throw e;
  }
}
