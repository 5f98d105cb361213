/**
 * CloudFormation's stack operations for one stack, in CloudFormation's order:
 * create, update (with cleanup), rollback (with rollback cleanup) and delete.
 * Resources are handled one at a time in dependency order; CloudFormation
 * runs independent resources in parallel, but the order between dependent
 * ones, which is what the handler's permissions hinge on, is the same.
 */
import { randomUUID } from 'node:crypto';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CfnTemplate, IGNORED_PARAMETERS, ResolveScope, TemplateResource, assertSupported, dependencies, dependencyOrder,
  pseudoParameters, resolve,
} from './intrinsics';
import {
  CustomResourceRunner, FunctionRecord, Properties, ProviderContext, Provisioned, ProvisionError, ResourceProvider, sameValue,
} from './provider';
import { providerFor } from './providers';
import type { ResourceAction, StackLog } from '../cfn-records';

export type StackStatus =
  | 'CREATE_COMPLETE' | 'ROLLBACK_COMPLETE' | 'ROLLBACK_FAILED'
  | 'UPDATE_COMPLETE' | 'UPDATE_ROLLBACK_COMPLETE' | 'UPDATE_ROLLBACK_FAILED'
  | 'DELETE_COMPLETE' | 'DELETE_FAILED';

export type StackPhase = 'create' | 'update' | 'cleanup' | 'rollback' | 'rollback-cleanup' | 'delete';

/** One resource event, with only what CloudFormation's console would show. */
export interface StackEvent {
  readonly logicalId: string;
  readonly physicalId: string;
  readonly action: 'CREATE' | 'UPDATE' | 'DELETE';
  readonly phase: StackPhase;
  readonly status: 'COMPLETE' | 'FAILED';
  readonly reason?: string;
}

export interface DeployResult {
  readonly status: StackStatus;
  /** This operation's events, in order. */
  readonly events: StackEvent[];
}

export interface DeployOptions {
  /**
   * Logical ids whose create or update fails (before anything is done for
   * them), to make CloudFormation roll back. Each must be created or updated
   * by the deployment; otherwise the emulator throws, so a scenario cannot
   * silently miss its failure.
   */
  readonly failOn?: string[];
}

/** A resource as the stack knows it. Its properties hold ARNs and names, never secrets. */
export interface LiveResource {
  readonly logicalId: string;
  readonly type: string;
  readonly physicalId: string;
  readonly properties: Properties;
  readonly attributes: Record<string, string>;
  readonly definition: TemplateResource;
}

export interface EngineEnvironment {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
  readonly iam: IAMClient;
  readonly secrets: SecretsManagerClient;
  readonly customResources: CustomResourceRunner;
  /** CloudFormation's records of the stack (events, resources), which the handler reads back. */
  readonly records: (stackId: string) => StackLog;
}

/** An AWS answer or a custom resource's FAILED: CloudFormation reports it; anything else is an emulator bug. */
function isResourceFailure(e: unknown): boolean {
  return e instanceof ProvisionError || typeof (e as { $metadata?: unknown })?.$metadata === 'object';
}

function messageOf(e: unknown): string {
  const err = e as { name?: string; message?: string };
  return e instanceof ProvisionError ? err.message ?? '' : `${err.name ?? 'Error'}: ${err.message ?? ''}`;
}

interface Update {
  readonly logicalId: string;
  readonly before: LiveResource;
  readonly after: LiveResource;
  /** Replaced by CloudFormation itself (a replace-on property changed), not by a custom resource's answer. */
  readonly replacedByStack: boolean;
}

export class StackEngine {
  public readonly stackId: string;
  /** Every event of every operation, in order. */
  public readonly events: StackEvent[] = [];
  public status?: StackStatus;
  private template?: CfnTemplate;
  private readonly live = new Map<string, LiveResource>();
  private readonly pseudo: Record<string, string>;
  private failOn = new Set<string>();
  private failed = new Set<string>();

  constructor(private readonly env: EngineEnvironment) {
    this.stackId = `arn:aws:cloudformation:${env.region}:${env.accountId}:stack/${env.stackName}/${randomUUID()}`;
    this.pseudo = pseudoParameters(env.stackName, this.stackId, env.region, env.accountId);
  }

  /** The stack's resources as they are now. */
  resources(): LiveResource[] {
    return [...this.live.values()];
  }

  async deploy(template: CfnTemplate, options: DeployOptions = {}): Promise<DeployResult> {
    assertSupported(template);
    for (const [logicalId, resource] of Object.entries(template.Resources)) providerFor(resource.Type, logicalId);
    for (const logicalId of options.failOn ?? []) {
      if (!(logicalId in template.Resources)) throw new Error(`failOn names ${logicalId}, which the template does not define`);
    }
    this.failOn = new Set(options.failOn ?? []);
    this.failed = new Set();
    const start = this.events.length;
    const exists = this.template !== undefined && this.status !== 'DELETE_COMPLETE';
    if (exists && !['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'].includes(this.status!)) {
      throw new Error(`stack ${this.env.stackName} is ${this.status}; CloudFormation cannot update it (delete it first)`);
    }
    this.env.records(this.stackId).beginStackOperation(exists ? 'UPDATE' : 'CREATE');
    this.status = exists ? await this.update(template) : await this.create(template);
    const missed = [...this.failOn].filter((id) => !this.failed.has(id));
    if (missed.length > 0) {
      throw new Error(`failOn ${missed.join(', ')}: the deployment never created or updated ${missed.length > 1 ? 'them' : 'it'}, so the scenario did not fail where intended`);
    }
    return { status: this.status, events: this.events.slice(start) };
  }

  async destroy(): Promise<DeployResult> {
    const start = this.events.length;
    if (!this.template) {
      this.status = 'DELETE_COMPLETE';
      return { status: this.status, events: [] };
    }
    this.env.records(this.stackId).beginStackOperation('DELETE');
    const dependents = this.dependentsOf(this.template);
    const blocked = new Set<string>();
    let failed = false;
    for (const logicalId of [...dependencyOrder(this.template)].reverse()) {
      const resource = this.live.get(logicalId);
      if (!resource) continue;
      // A resource stays while something that depends on it could not be deleted.
      if ([...(dependents.get(logicalId) ?? [])].some((d) => blocked.has(d))) {
        blocked.add(logicalId);
        continue;
      }
      if (resource.definition.DeletionPolicy === 'Retain' || await this.tryDelete(resource, 'delete')) {
        this.live.delete(logicalId);
      } else {
        blocked.add(logicalId);
        failed = true;
      }
    }
    this.status = failed ? 'DELETE_FAILED' : 'DELETE_COMPLETE';
    if (!failed) this.template = undefined;
    return { status: this.status, events: this.events.slice(start) };
  }

  // ---- create ----

  private async create(template: CfnTemplate): Promise<StackStatus> {
    this.template = template;
    const order = dependencyOrder(template);
    for (const logicalId of order) {
      if (!(await this.tryCreate(logicalId, template, 'create'))) {
        let ok = true;
        for (const id of [...order].reverse()) {
          const resource = this.live.get(id);
          if (!resource) continue;
          if (await this.tryDelete(resource, 'rollback')) this.live.delete(id);
          else ok = false;
        }
        return ok ? 'ROLLBACK_COMPLETE' : 'ROLLBACK_FAILED';
      }
    }
    return 'CREATE_COMPLETE';
  }

  /** Creates one resource; on failure keeps whatever physical id it reported, so it can be deleted. */
  private async tryCreate(logicalId: string, template: CfnTemplate, phase: StackPhase): Promise<boolean> {
    const definition = template.Resources[logicalId];
    const properties = this.resolveProperties(definition, template);
    this.begin(logicalId, definition.Type, 'CREATE', { properties, metadata: this.resolveMetadata(definition, template) });
    try {
      this.injectFailure(logicalId);
      const made = await this.provider(definition).create(properties, this.context(logicalId, definition.Type));
      this.live.set(logicalId, { logicalId, type: definition.Type, physicalId: made.physicalId, attributes: made.attributes, properties, definition });
      this.record({ logicalId, physicalId: made.physicalId, action: 'CREATE', phase, status: 'COMPLETE' });
      return true;
    } catch (e) {
      if (!isResourceFailure(e)) throw e;
      const physicalId = e instanceof ProvisionError ? e.physicalId : undefined;
      if (physicalId) this.live.set(logicalId, { logicalId, type: definition.Type, physicalId, attributes: {}, properties, definition });
      this.record({ logicalId, physicalId: physicalId ?? '', action: 'CREATE', phase, status: 'FAILED', reason: messageOf(e) });
      return false;
    }
  }

  // ---- update ----

  private async update(template: CfnTemplate): Promise<StackStatus> {
    const oldTemplate = this.template!;
    const created: string[] = [];
    const updates: Update[] = [];
    /** Old physical resources to delete once the update succeeded. */
    const replaced = new Map<string, LiveResource>();
    let failed = false;
    for (const logicalId of dependencyOrder(template)) {
      const definition = template.Resources[logicalId];
      const current = this.live.get(logicalId);
      if (!current) {
        const ok = await this.tryCreate(logicalId, template, 'update');
        if (this.live.has(logicalId)) created.push(logicalId);
        if (!ok) { failed = true; break; }
        continue;
      }
      if (current.type !== definition.Type) throw new Error(`${logicalId} changes type from ${current.type} to ${definition.Type}; the emulator does not support that`);
      const properties = this.resolveProperties(definition, template);
      if (sameValue(properties, current.properties)) {
        this.live.set(logicalId, { ...current, definition });
        continue;
      }
      const provider = this.provider(definition);
      const replacedByStack = (provider.replaceOn ?? []).some((name) => !sameValue(current.properties[name], properties[name]));
      const metadata = this.resolveMetadata(definition, template);
      if (replacedByStack) this.begin(logicalId, definition.Type, 'CREATE', { properties, metadata });
      else this.begin(logicalId, definition.Type, 'UPDATE', { physicalId: current.physicalId, properties, metadata });
      try {
        this.injectFailure(logicalId);
        const context = this.context(logicalId, definition.Type);
        const made = replacedByStack
          ? await provider.create(properties, context)
          : await provider.update(current.properties, properties, current, context);
        const after: LiveResource = { ...current, physicalId: made.physicalId, attributes: made.attributes, properties, definition };
        this.live.set(logicalId, after);
        updates.push({ logicalId, before: current, after, replacedByStack });
        if (made.physicalId !== current.physicalId) replaced.set(logicalId, current);
        this.record({ logicalId, physicalId: made.physicalId, action: 'UPDATE', phase: 'update', status: 'COMPLETE' });
      } catch (e) {
        if (!isResourceFailure(e)) throw e;
        this.record({ logicalId, physicalId: current.physicalId, action: 'UPDATE', phase: 'update', status: 'FAILED', reason: messageOf(e) });
        // The failed resource is rolled back too: a custom resource gets an
        // Update back to its old properties (its answer kept the old id).
        if (!replacedByStack) updates.push({ logicalId, before: current, after: { ...current, properties, definition }, replacedByStack });
        failed = true;
        break;
      }
    }
    if (failed) return this.rollback(oldTemplate, template, created, updates);

    this.template = template;
    await this.cleanup(oldTemplate, template, replaced);
    return 'UPDATE_COMPLETE';
  }

  /**
   * After a successful update: removed resources, and the old physical ids
   * of replaced ones, in reverse dependency order of the OLD template. A
   * failure here is recorded but does not fail the stack (CloudFormation
   * leaves the resource behind and reports UPDATE_COMPLETE).
   */
  private async cleanup(oldTemplate: CfnTemplate, template: CfnTemplate, replaced: Map<string, LiveResource>): Promise<void> {
    for (const logicalId of [...dependencyOrder(oldTemplate)].reverse()) {
      const old = replaced.get(logicalId);
      if (old) {
        // Assumption: the Delete of a replaced custom resource carries the
        // properties that physical resource had (the OLD ones), as AWS documents
        // for the cleanup request.
        if (old.definition.UpdateReplacePolicy !== 'Retain') await this.tryDelete(old, 'cleanup');
        continue;
      }
      if (logicalId in template.Resources) continue;
      const removed = this.live.get(logicalId);
      if (!removed) continue;
      if (removed.definition.DeletionPolicy !== 'Retain') await this.tryDelete(removed, 'cleanup');
      this.live.delete(logicalId);
    }
  }

  /**
   * Puts every updated resource back to its old properties (in the old
   * template's dependency order), then deletes what the failed update created
   * and the physical ids it replaced, in reverse dependency order of the NEW template.
   */
  private async rollback(oldTemplate: CfnTemplate, template: CfnTemplate, created: string[], updates: Update[]): Promise<StackStatus> {
    const discard = new Map<string, LiveResource>();
    const byId = new Map(updates.map((u) => [u.logicalId, u]));
    for (const logicalId of dependencyOrder(oldTemplate)) {
      const u = byId.get(logicalId);
      if (!u) continue;
      const provider = this.provider(u.before.definition);
      if (u.replacedByStack) {
        // CloudFormation switches back to the old physical resource; the new one goes.
        this.live.set(logicalId, u.before);
        discard.set(logicalId, u.after);
        this.record({ logicalId, physicalId: u.before.physicalId, action: 'UPDATE', phase: 'rollback', status: 'COMPLETE' });
        continue;
      }
      this.begin(logicalId, u.before.type, 'UPDATE', {
        physicalId: u.after.physicalId, properties: u.before.properties, metadata: this.resolveMetadata(u.before.definition, oldTemplate),
      });
      try {
        const made: Provisioned = await provider.update(u.after.properties, u.before.properties, u.after, this.context(logicalId, u.before.type));
        if (provider.rollsBackByUpdate && made.physicalId !== u.after.physicalId) discard.set(logicalId, u.after);
        this.live.set(logicalId, { ...u.before, physicalId: made.physicalId, attributes: provider.rollsBackByUpdate ? made.attributes : u.before.attributes });
        this.record({ logicalId, physicalId: made.physicalId, action: 'UPDATE', phase: 'rollback', status: 'COMPLETE' });
      } catch (e) {
        if (!isResourceFailure(e)) throw e;
        this.record({ logicalId, physicalId: u.after.physicalId, action: 'UPDATE', phase: 'rollback', status: 'FAILED', reason: messageOf(e) });
        return 'UPDATE_ROLLBACK_FAILED';
      }
    }
    for (const logicalId of [...dependencyOrder(template)].reverse()) {
      const stale = discard.get(logicalId);
      if (stale) await this.tryDelete(stale, 'rollback-cleanup');
      if (created.includes(logicalId)) {
        await this.tryDelete(this.live.get(logicalId)!, 'rollback-cleanup');
        this.live.delete(logicalId);
      }
    }
    return 'UPDATE_ROLLBACK_COMPLETE';
  }

  // ---- shared ----

  private async tryDelete(resource: LiveResource, phase: StackPhase): Promise<boolean> {
    this.begin(resource.logicalId, resource.type, 'DELETE', { physicalId: resource.physicalId, properties: resource.properties });
    try {
      await this.provider(resource.definition).delete(resource.properties, resource.physicalId, this.context(resource.logicalId, resource.type));
      this.record({ logicalId: resource.logicalId, physicalId: resource.physicalId, action: 'DELETE', phase, status: 'COMPLETE' });
      return true;
    } catch (e) {
      if (!isResourceFailure(e)) throw e;
      this.record({ logicalId: resource.logicalId, physicalId: resource.physicalId, action: 'DELETE', phase, status: 'FAILED', reason: messageOf(e) });
      return false;
    }
  }

  private injectFailure(logicalId: string): void {
    if (!this.failOn.has(logicalId)) return;
    this.failed.add(logicalId);
    throw new ProvisionError(`failure injected by the test (failOn ${logicalId})`);
  }

  private record(event: StackEvent): void {
    this.events.push(event);
    const type = this.live.get(event.logicalId)?.type ?? this.template?.Resources[event.logicalId]?.Type ?? '';
    // No answer came for a cancelled or timed-out operation: CloudFormation logs no "Initiated" for it.
    const answered = !/cancelled|did not receive a response/i.test(event.reason ?? '');
    this.env.records(this.stackId).finish(event.logicalId, type, event.action, event.status === 'COMPLETE', event.physicalId, event.reason, answered);
  }

  /** Logs `<action>_IN_PROGRESS` in CloudFormation's records, before the resource is acted on. */
  private begin(logicalId: string, type: string, action: ResourceAction, options: { physicalId?: string; properties?: Properties; metadata?: unknown }): void {
    this.env.records(this.stackId).begin(logicalId, type, action, options);
  }

  private resolveMetadata(definition: TemplateResource, template: CfnTemplate): unknown {
    return definition.Metadata === undefined ? undefined : resolve(definition.Metadata, this.scope(template));
  }

  private provider(definition: TemplateResource): ResourceProvider {
    return providerFor(definition.Type, '');
  }

  private resolveProperties(definition: TemplateResource, template: CfnTemplate): Properties {
    return resolve(definition.Properties ?? {}, this.scope(template)) as Properties;
  }

  private scope(template: CfnTemplate): ResolveScope {
    const parameters: Record<string, string> = {};
    for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
      if (IGNORED_PARAMETERS.has(name)) continue;
      if (parameter.Default === undefined) throw new Error(`parameter ${name} has no default; the emulator takes no parameter values`);
      parameters[name] = String(parameter.Default);
    }
    const live = (logicalId: string): LiveResource => {
      const resource = this.live.get(logicalId);
      if (!resource) throw new Error(`${logicalId} is referenced before it exists (or is not a resource of the stack)`);
      return resource;
    };
    return {
      pseudo: this.pseudo,
      parameters,
      ref: (logicalId) => live(logicalId).physicalId,
      getAtt: (logicalId, attribute) => {
        const value = live(logicalId).attributes[attribute];
        if (value === undefined) throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: the resource has no such attribute (it has: ${Object.keys(live(logicalId).attributes).join(', ') || 'none'})`);
        return value;
      },
    };
  }

  private context(logicalId: string, type: string): ProviderContext {
    return {
      logicalId,
      type,
      stackName: this.env.stackName,
      stackId: this.stackId,
      region: this.env.region,
      accountId: this.env.accountId,
      iam: this.env.iam,
      secrets: this.env.secrets,
      customResources: this.env.customResources,
      functionByArn: (arn) => this.functionByArn(arn),
    };
  }

  private functionByArn(arn: string): FunctionRecord | undefined {
    const fn = [...this.live.values()].find((r) => r.type === 'AWS::Lambda::Function' && r.attributes.Arn === arn);
    if (!fn) return undefined;
    const code = fn.properties.Code as { ZipFile?: string } | undefined;
    const variables = (fn.properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    return {
      arn, name: fn.physicalId, roleArn: String(fn.properties.Role), timeoutSeconds: Number(fn.properties.Timeout ?? 3),
      environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
      inlineCode: code?.ZipFile,
    };
  }

  private dependentsOf(template: CfnTemplate): Map<string, Set<string>> {
    const dependents = new Map<string, Set<string>>();
    for (const [logicalId, deps] of dependencies(template)) {
      for (const dep of deps) {
        if (!dependents.has(dep)) dependents.set(dep, new Set());
        dependents.get(dep)!.add(logicalId);
      }
    }
    return dependents;
  }
}
