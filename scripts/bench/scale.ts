/**
 * A stack's custom resources delivered at once while IAM throttles: N Creates
 * at the same time, then N Deletes, for ours and the peer, against moto
 * behind the fault proxy, whose token bucket answers IAM calls beyond the
 * rate as IAM does (HTTP 400 Throttling, Rate exceeded). Counts successes,
 * wall time, calls per request (accepted and throttled, from the proxy's log)
 * and what is left: keys and owner tags after the Deletes.
 *
 * Ours runs its real CloudFormation entry (handleCloudFormationEvent) with
 * the Lambda lifetime it is deployed with (15 minutes) and its own retry
 * policy. The peer runs its handler as its Provider framework calls it: a
 * throw is a FAILED; its Delete is a no-op by design.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateUserCommand, IAMClient, ListAccessKeysCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { AwsPort } from '../../lib/handler/aws';
import { StackEventCache } from '../../lib/handler/event-cache';
import { handleCloudFormationEvent } from '../../lib/handler/cloudformation';
import { CloudFormationRecords } from '../../test/support/cfn-records';
import { ResponseServer, cfnEvent, lambdaContext } from '../../test/support/cloudformation';
import { FaultProxy, startFaultProxy } from '../../test/support/fault-proxy';
import { Moto, motoClientConfig, startMoto } from '../../test/support/moto';
import { log, quietly, round } from './common';
import { PeerHandler, loadPeerHandler } from './peer-handler';
import { BENCH_ACCOUNT, BENCH_REGION, BENCH_STACK_NAME, benchUserName } from './stacks';

export type ScaleKind = 'ours' | 'peer';
/** The handler's Lambda timeout (lib/smtp-credentials-handler.ts). */
const LAMBDA_LIFETIME_MS = 15 * 60_000;

export interface PhaseResult {
  requests: number;
  succeeded: number;
  wallSeconds: number;
  /** Calls per request that the services answered (IAM, Secrets Manager), and IAM calls throttled. */
  iamPerRequest: number;
  secretsPerRequest: number;
  iamThrottledPerRequest: number;
  /** CloudFormation reads per request that were answered (DescribeStackEvents, DescribeStackResource), and those throttled. */
  cfnReadsPerRequest: number;
  cfnThrottledPerRequest: number;
  /** A few distinct failure reasons. */
  failures: string[];
}

export interface ScaleResult {
  kind: ScaleKind;
  users: number;
  /** IAM calls per second; null: unlimited. */
  iamRate: number | null;
  /** Requests handled at the same time (reserved concurrency); null: all at once. */
  concurrency: number | null;
  /** CloudFormation reads per second (account-wide; CloudFormation publishes no limit); null: unlimited. */
  cfnRate: number | null;
  create: PhaseResult;
  delete: PhaseResult;
  /** After the Deletes: access keys still on the users, users with two keys after the Creates, owner tags left. */
  keysLeft: number;
  usersWithTwoKeys: number;
  ownerTagsLeft: number;
}

interface Bench {
  moto: Moto; proxy: FaultProxy; server: ResponseServer; records: CloudFormationRecords; iam: IAMClient; secrets: SecretsManagerClient;
  viaProxy: { iam: IAMClient; secrets: SecretsManagerClient; cloudformation: CloudFormationClient }; peer?: PeerHandler;
}

/** One moto, proxy and response server for every run (reset between runs). */
export async function startScaleBench(): Promise<Bench & { stop(): Promise<void> }> {
  const moto = await startMoto();
  // CloudFormation's records of the stack, which the handler checks every request against (not throttled here).
  const records = new CloudFormationRecords();
  await records.start();
  const proxy = await startFaultProxy(moto.endpoint, { cloudformation: records.endpoint });
  const server = new ResponseServer();
  await server.start();
  const through = { ...moto, endpoint: proxy.endpoint };
  const bench: Bench = {
    moto, proxy, server, records,
    iam: new IAMClient(motoClientConfig(moto, 'us-east-1')),
    secrets: new SecretsManagerClient(motoClientConfig(moto, BENCH_REGION)),
    viaProxy: {
      iam: new IAMClient(motoClientConfig(through, 'us-east-1')), secrets: new SecretsManagerClient(motoClientConfig(through, BENCH_REGION)),
      cloudformation: new CloudFormationClient(motoClientConfig(through, BENCH_REGION)),
    },
  };
  return {
    ...bench,
    async stop() {
      for (const c of [bench.iam, bench.secrets, bench.viaProxy.iam, bench.viaProxy.secrets, bench.viaProxy.cloudformation]) c.destroy();
      await server.stop();
      await records.stop();
      await proxy.stop();
      await moto.stop();
    },
  };
}

const OWNER_TAG = { Key: `SesSmtpCredentials:${BENCH_REGION}/${BENCH_STACK_NAME}`, Value: `arn:aws:cloudformation:${BENCH_REGION}:${BENCH_ACCOUNT}:stack/${BENCH_STACK_NAME}/guid` };

/**
 * @param concurrency a cap on requests in flight, as a function's reserved
 *   concurrency would set it (an optimistic model: a waiting request starts as
 *   soon as one ends, where Lambda retries a throttled invocation after 1 s to 5 min)
 */
export async function scaleRun(bench: Bench, kind: ScaleKind, users: number, iamRate: number | null, concurrency: number | null = null, cfnRate: number | null = null): Promise<ScaleResult> {
  await bench.moto.reset();
  bench.records.reset();
  bench.proxy.clear();
  const names = Array.from({ length: users }, (_, i) => benchUserName(i));
  const secretArns: string[] = [];
  for (const name of names) {
    await bench.iam.send(new CreateUserCommand({ UserName: name }));
    secretArns.push((await bench.secrets.send(new CreateSecretCommand({ Name: `SmtpSecret-${name}` }))).ARN!);
  }
  if (iamRate !== null) bench.proxy.limitRate({ service: 'iam', perSecond: iamRate, burst: iamRate });
  if (cfnRate !== null) bench.proxy.limitRate({ service: 'cloudformation', perSecond: cfnRate, burst: cfnRate });
  const handle = kind === 'ours' ? oursHandler(bench) : peerHandler(bench);
  const properties = names.map((name, i) => (kind === 'ours'
    ? { UserName: name, Targets: [{ Region: BENCH_REGION, Host: `email-smtp.${BENCH_REGION}.amazonaws.com`, Port: '587', SecretArn: secretArns[i] }], OwnerTag: OWNER_TAG }
    : { UserName: name, SecretId: secretArns[i] }));

  const createdIds: string[] = [];
  // A Lambda container per request slot: with a reserved concurrency, each serves one request after another and
  // keeps what it read of the stack's events (lib/handler/event-cache.js); all at once, each request is a cold one.
  const containers = new Map<number, StackEventCache>();
  const containerOf = (slot: number) => {
    if (!containers.has(slot)) containers.set(slot, new StackEventCache());
    return containers.get(slot)!;
  };
  // Each phase is a stack operation, begun with the stack's own "User Initiated" event.
  bench.records.stack(SELF.stackId).beginStackOperation('CREATE');
  const create = await phase(bench, names.length, () => pool(concurrency, properties.map((p, i) => async (slot: number) => {
    const answer = await handle('Create', p, undefined, containerOf(slot));
    createdIds[i] = answer.physicalResourceId;
    return answer;
  })));
  let usersWithTwoKeys = 0;
  for (const name of names) if ((await keysOf(bench, name)) >= 2) usersWithTwoKeys++;
  bench.records.stack(SELF.stackId).beginStackOperation('DELETE');
  const del = await phase(bench, names.length, () => pool(concurrency, properties.map((p, i) => (slot: number) => handle('Delete', p, createdIds[i], containerOf(slot)))));

  let keysLeft = 0;
  let ownerTagsLeft = 0;
  for (const name of names) {
    keysLeft += await keysOf(bench, name);
    const tags = await bench.iam.send(new ListUserTagsCommand({ UserName: name }));
    ownerTagsLeft += (tags.Tags ?? []).filter((t) => t.Key === OWNER_TAG.Key).length;
  }
  log(`scale: ${kind} N=${users} IAM ${iamRate ?? 'unlimited'}/s${cfnRate ? `, CloudFormation reads ${cfnRate}/s` : ''}${concurrency ? `, ${concurrency} at a time` : ''}: Create ${create.succeeded}/${users} in ${create.wallSeconds} s, Delete ${del.succeeded}/${users} in ${del.wallSeconds} s, ${keysLeft} keys left`);
  return { kind, users, iamRate, concurrency, cfnRate, create, delete: del, keysLeft, usersWithTwoKeys, ownerTagsLeft };
}

/**
 * Runs the tasks with at most `limit` in flight (all at once when null); results in task order. Each task
 * gets the slot that runs it: with a limit, a slot runs one task after another; without, each its own.
 */
async function pool<T>(limit: number | null, tasks: Array<(slot: number) => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (slot: number) => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i](limit === null ? i : slot);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit ?? tasks.length, tasks.length) }, (_, slot) => worker(slot)));
  return results;
}

async function keysOf(bench: Bench, userName: string): Promise<number> {
  return ((await bench.iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? []).length;
}

type Answer = { ok: boolean; physicalResourceId: string; reason?: string };
type Handle = (type: 'Create' | 'Delete', properties: Record<string, unknown>, physicalResourceId?: string, container?: StackEventCache) => Promise<Answer>;

/** The handler's own configuration in the bench stack (its environment in Lambda). */
const SELF = { stackId: OWNER_TAG.Value, ownerTagKey: OWNER_TAG.Key, functionName: 'handler', region: BENCH_REGION };

function oursHandler(bench: Bench): Handle {
  const log = bench.records.stack(SELF.stackId);
  return async (type, properties, physicalResourceId, container) => {
    const logicalId = `Credentials${String(properties.UserName).replace(/[^A-Za-z0-9]/g, '')}`;
    const event = cfnEvent(bench.server, type, properties, { physicalResourceId, requestId: randomUUID(), stackId: SELF.stackId, logicalResourceId: logicalId });
    // Played as CloudFormation plays it: the operation is logged before the handler is invoked.
    const logOutcome = log.request(event);
    const response = await handleCloudFormationEvent(event as never, lambdaContext(LAMBDA_LIFETIME_MS),
      (signal, undoSignal) => new AwsPort(bench.viaProxy.iam, bench.viaProxy.secrets, signal, { undoSignal, cloudformation: bench.viaProxy.cloudformation, eventCache: container }), SELF);
    if (!response) return { ok: false, physicalResourceId: physicalResourceId ?? '', reason: 'no answer' };
    logOutcome(response);
    return { ok: response.Status === 'SUCCESS', physicalResourceId: response.PhysicalResourceId, reason: response.Reason };
  };
}

function peerHandler(bench: Bench): Handle {
  bench.peer ??= loadPeerHandler(bench.proxy.endpoint);
  const handler = bench.peer;
  return async (type, properties, physicalResourceId) => {
    const event = {
      RequestType: type, RequestId: randomUUID(), StackId: OWNER_TAG.Value, LogicalResourceId: 'Credentials',
      ResourceType: 'Custom::SesSmtpCredentials', ResourceProperties: properties,
      ...(physicalResourceId ? { PhysicalResourceId: physicalResourceId } : {}),
    };
    try {
      const out = await handler(event) as { PhysicalResourceId?: string };
      return { ok: true, physicalResourceId: out.PhysicalResourceId ?? physicalResourceId ?? '' };
    } catch (e) {
      return { ok: false, physicalResourceId: physicalResourceId ?? '', reason: `${(e as Error).name}: ${(e as Error).message}` };
    }
  };
}

async function phase(bench: Bench, requests: number, run: () => Promise<Answer[]>): Promise<PhaseResult> {
  const before = bench.proxy.requests.length;
  const started = process.hrtime.bigint();
  const answers = await quietly(run);
  const wallSeconds = round(Number(process.hrtime.bigint() - started) / 1e9, 1);
  const calls = bench.proxy.requests.slice(before);
  const per = (n: number) => round(n / requests, 2);
  return {
    requests,
    succeeded: answers.filter((a) => a.ok).length,
    wallSeconds,
    iamPerRequest: per(calls.filter((c) => c.service === 'iam' && c.fault !== 'rate-limited').length),
    secretsPerRequest: per(calls.filter((c) => c.service === 'secretsmanager').length),
    iamThrottledPerRequest: per(calls.filter((c) => c.service === 'iam' && c.fault === 'rate-limited').length),
    cfnReadsPerRequest: per(calls.filter((c) => c.service === 'cloudformation' && c.fault !== 'rate-limited').length),
    cfnThrottledPerRequest: per(calls.filter((c) => c.service === 'cloudformation' && c.fault === 'rate-limited').length),
    failures: [...new Set(answers.filter((a) => !a.ok).map((a) => (a.reason ?? '').replace(/'[^']*'|AKIA\w+|arn:\S+/g, '…').slice(0, 160)))].slice(0, 3),
  };
}
