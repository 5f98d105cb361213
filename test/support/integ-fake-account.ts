/**
 * A pretend AWS account for the offline run of the real-account check's
 * steps (test/integ-real-account.test.ts): it answers the check's calls
 * (ScenarioAws, TeardownAws) from a small model of CloudFormation deploying
 * the integ app's stages and of a handler that behaves as documented. It is
 * not evidence about AWS (only a real account is); it is what lets the
 * check's orchestration (waits, cursors, windows, the invariant after each
 * step, the rotation bookkeeping, the teardown) run before anyone spends a
 * real account on it, and shows that the check fails when the handler leaves
 * a key behind (`leakOnCancel`).
 *
 * What it records the way the services do: stack events oldest to newest with
 * ResourceProperties on IN_PROGRESS events, physical ids `key/<user>/<key>/<fp>`,
 * a generated physical id for the Delete of a cancelled Create, Lambda's
 * Text log lines (START, JSON lines, REPORT), staging labels.
 */
import { createHash } from 'node:crypto';
import type { Stack as CfnStack } from '@aws-sdk/client-cloudformation';
import type { ObservedSecret, ObservedUser } from '../../scripts/real-account/invariant';
import { Plan, PlannedCredentials, Stage } from '../../scripts/real-account/plan';
import { LogEvent, StackEventRecord, resolveRefs } from '../../scripts/real-account/records';
import type { ScenarioAws } from '../../scripts/real-account/scenario';
import type { TeardownAws } from '../../scripts/real-account/teardown';

export interface FakeAccountOptions {
  /** The cancelled Create of the first X user finishes after the rollback and leaves its key and tag (issue 22, case 1). */
  readonly leakOnCancel?: boolean;
  /** The X deliveries answer before CloudFormation cancels them (nothing in flight). */
  readonly answerBeforeCancel?: boolean;
}

interface Secret { stages: Record<string, string[]>; tags: Record<string, string>; deleted: boolean; keyOf: Record<string, string> }

const ACCOUNT = '123456789012';

export class FakeAccount implements ScenarioAws, TeardownAws {
  now = Date.parse('2026-12-08T10:00:00Z');
  readonly logs: LogEvent[] = [];
  readonly events: StackEventRecord[] = [];
  readonly users = new Map<string, { keys: Array<{ id: string; status: string }>; tags: Record<string, string>; runMarker?: string }>();
  readonly secrets = new Map<string, Secret>();
  readonly deletedLogGroups: string[] = [];
  stackId?: string;
  status?: string;
  private live?: Stage;
  private physical: Record<string, string> = {};
  private readonly lastUpdatedAt: Record<string, number> = {};
  private seq = 0;

  constructor(private readonly plan: Plan, private readonly options: FakeAccountOptions = {}) {
    for (const name of plan.users) this.users.set(name, { keys: [], tags: {}, runMarker: 'run-1' });
  }

  // ---- the calls the check makes -------------------------------------------

  async stack(name: string): Promise<CfnStack | undefined> {
    if (!this.stackId || (name !== this.stackId && (name !== this.plan.stackName || this.status === 'DELETE_COMPLETE'))) return undefined;
    return { StackId: this.stackId, StackName: this.plan.stackName, StackStatus: this.status as CfnStack['StackStatus'], CreationTime: new Date(0) };
  }

  async physicalIds(): Promise<Record<string, string>> {
    return { ...this.physical };
  }

  async stackEvents(_stackId: string, after: number): Promise<StackEventRecord[]> {
    return this.events.filter((e) => e.at > after);
  }

  async logEvents(_group: string, from: number): Promise<LogEvent[]> {
    return this.logs.filter((e) => e.at >= from);
  }

  async user(name: string): Promise<ObservedUser> {
    const user = this.users.get(name);
    return user ? { exists: true, keys: user.keys.map((k) => ({ ...k })), tags: { ...user.tags } } : { exists: false, keys: [], tags: {} };
  }

  async secret(arn: string): Promise<ObservedSecret> {
    const s = this.secrets.get(arn);
    return s ? { exists: true, deleted: s.deleted, stages: structuredClone(s.stages), tags: { ...s.tags } } : { exists: false, deleted: true, stages: {}, tags: {} };
  }

  async lastUpdated(_stackId: string, logicalId: string): Promise<number | undefined> {
    return this.lastUpdatedAt[logicalId];
  }

  async runMarker(name: string): Promise<string | undefined> {
    const user = this.users.get(name);
    return user ? user.runMarker ?? '' : undefined;
  }

  async deleteUser(name: string): Promise<string[]> {
    const keys = this.users.get(name)?.keys.map((k) => k.id) ?? [];
    this.users.delete(name);
    return keys;
  }

  async forceDeleteSecret(arn: string): Promise<void> {
    this.secrets.delete(arn);
  }

  async logGroupsNamed(): Promise<string[]> {
    return [];
  }

  async deleteLogGroup(name: string): Promise<void> {
    this.deletedLogGroups.push(name);
  }

  /** RotateSecret: Secrets Manager runs the handler's four steps at once. */
  async rotateSecret(arn: string): Promise<string> {
    const resource = this.live?.credentials.find((c) => this.physical[c.targets[0].secretLogicalId] === arn);
    if (!resource) throw new Error(`${arn} does not rotate`);
    const token = this.id('version');
    const user = this.users.get(resource.userName)!;
    const primary = this.secrets.get(arn)!;
    const grace = Object.entries(primary.stages).find(([, l]) => l.includes('ses-smtp-grace'))?.[0];
    const invocation = (step: string, work: () => void) => this.invoke({ rotationStep: step, secretId: arn }, work);
    invocation('createSecret', () => {
      if (grace) user.keys = user.keys.filter((k) => k.id !== primary.keyOf[grace]);
      const key = this.newKey(resource.userName);
      for (const [index, target] of resource.targets.entries()) {
        const secret = this.secrets.get(this.physical[target.secretLogicalId])!;
        const version = index === 0 ? token : this.id('version');
        secret.stages[version] = ['AWSPENDING'];
        secret.keyOf[version] = key;
      }
    });
    invocation('setSecret', () => undefined);
    invocation('testSecret', () => undefined);
    invocation('finishSecret', () => {
      for (const [index, target] of resource.targets.entries()) {
        const secret = this.secrets.get(this.physical[target.secretLogicalId])!;
        const current = version(secret, 'AWSCURRENT')!;
        const pending = version(secret, 'AWSPENDING')!;
        const generation = secret.stages[current].filter((l) => l.startsWith('ses-smtp-') && l !== 'ses-smtp-grace');
        for (const labels of Object.values(secret.stages)) remove(labels, 'AWSPREVIOUS', 'ses-smtp-grace');
        secret.stages[current] = ['AWSPREVIOUS', ...(index === 0 ? ['ses-smtp-grace'] : [])];
        secret.stages[pending] = ['AWSCURRENT', ...generation];
      }
    });
    return token;
  }

  async deleteStack(): Promise<void> {
    const stage = this.live!;
    this.stackEvent('DELETE_IN_PROGRESS');
    for (const c of stage.credentials) this.deleteCredentials(c, this.physical[c.logicalId]);
    for (const c of stage.credentials) for (const t of c.targets) this.secrets.get(this.physical[t.secretLogicalId])!.deleted = true;
    this.physical = {};
    this.live = undefined;
    this.stackEvent('DELETE_COMPLETE');
  }

  // ---- what `cdk deploy <stage>` does ---------------------------------------

  async deploy(stageId: string): Promise<number> {
    const stage = this.plan.stages.find((s) => s.id === stageId)!;
    const previous = this.live;
    if (!previous) {
      this.stackId = `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/${this.plan.stackName}/0f1e2d3c-0000-4000-8000-000000000001`;
      this.stackEvent('CREATE_IN_PROGRESS');
      this.createPlain(stage);
      for (const c of stage.credentials) this.createCredentials(c);
      this.stackEvent('CREATE_COMPLETE');
      this.live = stage;
      return 0;
    }
    this.stackEvent('UPDATE_IN_PROGRESS');
    this.createPlain(stage);
    this.updateFunction(previous, stage);
    const replaced: Array<{ c: PlannedCredentials; oldId: string }> = [];
    for (const c of stage.credentials) {
      const before = previous.credentials.find((p) => p.logicalId === c.logicalId);
      if (before && JSON.stringify(before.properties) !== JSON.stringify(c.properties)) {
        replaced.push({ c: before, oldId: this.physical[c.logicalId] });
        this.updateCredentials(before, c);
      }
    }
    if (!stage.failsOnPurpose) {
      for (const c of stage.credentials.filter((n) => !previous.credentials.some((p) => p.logicalId === n.logicalId))) this.createCredentials(c);
      this.stackEvent('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      for (const { c, oldId } of replaced) this.deleteCredentials(c, oldId, { cleanup: true });
      this.stackEvent('UPDATE_COMPLETE');
      this.live = stage;
      return 0;
    }
    this.rollBack(previous, stage, replaced);
    return 1;
  }

  /** The X users' Creates start, the sibling fails, CloudFormation cancels them and rolls back. */
  private rollBack(previous: Stage, stage: Stage, replaced: Array<{ c: PlannedCredentials; oldId: string }>): void {
    const added = stage.credentials.filter((n) => !previous.credentials.some((p) => p.logicalId === n.logicalId));
    this.resourceEvent('FailOnPurpose', 'Custom::FailOnPurpose', 'CREATE_IN_PROGRESS');
    const deliveries = added.map((c) => {
      this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'CREATE_IN_PROGRESS', { properties: JSON.stringify(this.resolved(c)) });
      const requestId = this.id('request');
      this.log(`START RequestId: ${requestId} Version: $LATEST`);
      return { c, requestId };
    });
    const answer = (c: PlannedCredentials, requestId: string) => {
      this.log(`${iso(this.tick())}\t${requestId}\tINFO\t${JSON.stringify({ requestType: 'Create', logicalResourceId: c.logicalId, status: 'FAILED', reason: 'undone' })}`);
      this.log(`REPORT RequestId: ${requestId}\tDuration: 3000 ms`);
    };
    if (this.options.answerBeforeCancel) for (const d of deliveries) answer(d.c, d.requestId);
    this.resourceEvent('FailOnPurpose', 'Custom::FailOnPurpose', 'CREATE_FAILED', { reason: `Failing on purpose: owner tag on ${added[0].userName}` });
    this.stackEvent('UPDATE_ROLLBACK_IN_PROGRESS');
    for (const { c } of deliveries) this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'CREATE_FAILED', { reason: 'Resource creation cancelled' });
    if (!this.options.answerBeforeCancel) {
      for (const [index, d] of deliveries.entries()) {
        if (this.options.leakOnCancel && index === 0) {
          this.users.get(d.c.userName)!.tags[String((d.c.properties.OwnerTag as { Key: string }).Key)] = String(this.stackId);
          this.newKey(d.c.userName);
        }
        answer(d.c, d.requestId);
      }
    }
    // The rollback: updated SesSmtpUsers go back to their old properties and physical id.
    for (const { c, oldId } of replaced) {
      const newId = this.physical[c.logicalId];
      this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'UPDATE_IN_PROGRESS', { physicalId: oldId, properties: JSON.stringify(this.resolved(c)) });
      this.invoke({ requestType: 'Update', logicalResourceId: c.logicalId }, () => {
        for (const t of c.targets) {
          const secret = this.secrets.get(this.physical[t.secretLogicalId])!;
          const back = Object.entries(secret.keyOf).find(([, key]) => key === parseKey(oldId))![0];
          for (const labels of Object.values(secret.stages)) remove(labels, 'AWSCURRENT', `ses-smtp-${fingerprintOf(newId)}`);
          secret.stages[back] = ['AWSCURRENT', `ses-smtp-${fingerprintOf(oldId)}`];
        }
      });
      this.physical[c.logicalId] = oldId;
      this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'UPDATE_COMPLETE', { physicalId: oldId });
      this.stackEvent('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
      this.deleteCredentials(c, newId, { cleanup: true });
    }
    for (const { c } of deliveries) {
      const generated = `${this.plan.stackName}-${c.logicalId}-${this.id('X').toUpperCase()}`;
      this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'DELETE_IN_PROGRESS', { physicalId: generated });
      this.invoke({ requestType: 'Delete', logicalResourceId: c.logicalId }, (requestId) => {
        this.log(`${iso(this.tick())}\t${requestId}\tWARN\t${JSON.stringify({ level: 'WARN', message: `Delete of ${c.logicalId}: its properties are not the ones physical id ${generated} was issued for` })}`);
      });
      this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'DELETE_COMPLETE', { physicalId: generated });
      for (const t of c.targets) {
        const arn = this.physical[t.secretLogicalId];
        this.secrets.get(arn)!.deleted = true;
        this.resourceEvent(t.secretLogicalId, 'AWS::SecretsManager::Secret', 'DELETE_COMPLETE', { physicalId: arn });
        delete this.physical[t.secretLogicalId];
      }
    }
    this.resourceEvent('FailOnPurpose', 'Custom::FailOnPurpose', 'DELETE_COMPLETE');
    this.physical = Object.fromEntries(Object.entries(this.physical).filter(([id]) => previous.template.Resources[id] !== undefined || previous.credentials.some((c) => c.logicalId === id)));
    this.stackEvent('UPDATE_ROLLBACK_COMPLETE');
  }

  // ---- the resources ---------------------------------------------------------

  /** Every resource that is not a SesSmtpUser's custom resource and is new in the stage. */
  private createPlain(stage: Stage): void {
    for (const [logicalId, r] of Object.entries(stage.template.Resources)) {
      if (this.physical[logicalId] || r.Type.startsWith('Custom::')) continue;
      const physicalId = r.Type === 'AWS::SecretsManager::Secret'
        ? `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${logicalId}-${this.id('s')}`
        : `${this.plan.stackName}-${logicalId}-${this.id('p')}`;
      this.resourceEvent(logicalId, r.Type, 'CREATE_IN_PROGRESS');
      this.physical[logicalId] = physicalId;
      if (r.Type === 'AWS::SecretsManager::Secret') {
        this.secrets.set(physicalId, {
          stages: {}, deleted: false, keyOf: {},
          tags: { 'aws:cloudformation:stack-id': String(this.stackId), 'aws:cloudformation:stack-name': this.plan.stackName, 'aws:cloudformation:logical-id': logicalId },
        });
      }
      this.resourceEvent(logicalId, r.Type, 'CREATE_COMPLETE', { physicalId });
      if (r.Type === 'AWS::Lambda::Function') this.lastUpdatedAt[logicalId] = this.now;
    }
  }

  private updateFunction(previous: Stage, stage: Stage): void {
    const id = stage.handlerFunctionLogicalId;
    const props = (s: Stage) => JSON.stringify(s.template.Resources[id].Properties);
    if (props(previous) === props(stage)) return;
    this.resourceEvent(id, 'AWS::Lambda::Function', 'UPDATE_IN_PROGRESS', { physicalId: this.physical[id] });
    this.resourceEvent(id, 'AWS::Lambda::Function', 'UPDATE_COMPLETE', { physicalId: this.physical[id] });
    this.lastUpdatedAt[id] = this.now;
  }

  private createCredentials(c: PlannedCredentials): void {
    this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'CREATE_IN_PROGRESS', { properties: JSON.stringify(this.resolved(c)) });
    const physicalId = this.invoke({ requestType: 'Create', logicalResourceId: c.logicalId }, () => this.issue(c));
    this.physical[c.logicalId] = physicalId;
    this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'CREATE_COMPLETE', { physicalId });
  }

  private updateCredentials(before: PlannedCredentials, c: PlannedCredentials): void {
    this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'UPDATE_IN_PROGRESS', { physicalId: this.physical[c.logicalId], properties: JSON.stringify(this.resolved(c)) });
    const physicalId = this.invoke({ requestType: 'Update', logicalResourceId: before.logicalId }, () => this.issue(c));
    this.physical[c.logicalId] = physicalId;
    this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'UPDATE_COMPLETE', { physicalId });
  }

  /** The handler's Delete: the physical id's key (and a rotation's keys), then the owner tag. */
  private deleteCredentials(c: PlannedCredentials, physicalId: string, { cleanup = false } = {}): void {
    this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'DELETE_IN_PROGRESS', { physicalId });
    this.invoke({ requestType: 'Delete', logicalResourceId: c.logicalId }, () => {
      const user = this.users.get(c.userName)!;
      const named = new Set([parseKey(physicalId)]);
      if (!cleanup) for (const t of c.targets) for (const key of Object.values(this.secrets.get(this.physical[t.secretLogicalId])!.keyOf)) named.add(key);
      user.keys = user.keys.filter((k) => !named.has(k.id));
      if (user.keys.length === 0) delete user.tags[String((c.properties.OwnerTag as { Key: string }).Key)];
    });
    this.resourceEvent(c.logicalId, 'Custom::SesSmtpCredentials', 'DELETE_COMPLETE', { physicalId });
  }

  /** Tag, key, secrets; returns the physical id. */
  private issue(c: PlannedCredentials): string {
    const props = this.resolved(c);
    this.users.get(c.userName)!.tags[String((props.OwnerTag as { Key: string }).Key)] = String(this.stackId);
    const key = this.newKey(c.userName);
    const fp = createHash('sha256').update(JSON.stringify(props)).digest('hex').slice(0, 16);
    for (const t of c.targets) {
      const secret = this.secrets.get(this.physical[t.secretLogicalId])!;
      const version = this.id('version');
      for (const labels of Object.values(secret.stages)) remove(labels, 'AWSCURRENT', ...labels.filter((l) => /^ses-smtp-[0-9a-f]{16}$/.test(l)));
      secret.stages[version] = ['AWSCURRENT', `ses-smtp-${fp}`];
      secret.keyOf[version] = key;
    }
    return `key/${c.userName}/${key}/${fp}`;
  }

  // ---- the handler's log, events, ids ------------------------------------------

  /** One invocation of the handler: START, the work, its outcome line, REPORT. */
  private invoke<T>(what: Record<string, string>, work: (requestId: string) => T): T {
    const requestId = this.id('request');
    this.log(`START RequestId: ${requestId} Version: $LATEST`);
    const result = work(requestId);
    this.log(`${iso(this.tick())}\t${requestId}\tINFO\t${JSON.stringify({ ...what, status: 'SUCCESS' })}`);
    this.log(`REPORT RequestId: ${requestId}\tDuration: 800 ms`);
    return result;
  }

  private resolved(c: PlannedCredentials): Record<string, unknown> {
    return resolveRefs(c.properties, this.physical, String(this.stackId)) as Record<string, unknown>;
  }

  private newKey(userName: string): string {
    const id = `AKIA${String(++this.seq).padStart(16, '0')}`;
    this.users.get(userName)!.keys.push({ id, status: 'Active' });
    return id;
  }

  private stackEvent(status: string): void {
    this.status = status;
    this.resourceEvent(this.plan.stackName, 'AWS::CloudFormation::Stack', status, { physicalId: this.stackId });
  }

  private resourceEvent(logicalId: string, type: string, status: string, extra: Partial<StackEventRecord> = {}): void {
    this.events.push({ logicalId, type, status, at: this.tick(), ...extra });
  }

  private log(message: string): void {
    this.logs.push({ at: this.tick(), message: `${message}\n` });
  }

  private tick(): number {
    return (this.now += 100);
  }

  /** A Lambda request id (UUID-shaped) or another unique id. */
  private id(kind: string): string {
    const n = (++this.seq).toString(16).padStart(12, '0');
    return kind === 'request' || kind === 'version' ? `00000000-0000-4000-8000-${n}` : `${kind}${n}`;
  }
}

function version(secret: Secret, label: string): string | undefined {
  return Object.entries(secret.stages).find(([, labels]) => labels.includes(label))?.[0];
}

function remove(labels: string[], ...names: string[]): void {
  for (const name of names) {
    const i = labels.indexOf(name);
    if (i >= 0) labels.splice(i, 1);
  }
}

function parseKey(physicalId: string): string {
  return physicalId.split('/')[2];
}

function fingerprintOf(physicalId: string): string {
  return physicalId.split('/')[3];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
