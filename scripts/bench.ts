/**
 * `npm run bench`: footprint and cost of SesSmtpUser, next to the peer
 * construct @pepperize/cdk-ses-smtp-credentials (a devDependency only for
 * this benchmark) and a bare aws-cdk-lib stack. Not a test: it asserts
 * nothing, it prints a markdown table and writes bench-results.json.
 *
 * 1. Template footprint: resources for 1, 10 and 100 users, fixed overhead
 *    and per user, users under CloudFormation's 500-resource limit, and the
 *    users at which the handler role's policies break an IAM quota (10,240
 *    characters of inline policy per role, 6,144 per managed policy).
 * 2. Lambda asset bytes, raw and zipped.
 * 3. Synth cost: wall time and peak RSS of a child process that synthesizes,
 *    alternating kinds, medians and ratios to the bare stack.
 * 4. Handler cost against moto: AWS calls per request, cold import time.
 *
 * No traffic leaves 127.0.0.1: moto and the ResponseURL server listen there,
 * and child processes run with AWS_EC2_METADATA_DISABLED=true.
 *
 * Environment: BENCH_RUNS (timed synth runs per kind and size, default 7),
 * BENCH_IMPORT_RUNS (cold imports per handler, default 15), MOTO_PYTHON.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as ts from 'typescript';
import { AwsPort } from '../lib/handler/aws';
import { handleCloudFormationEvent } from '../lib/handler/cloudformation';
import { ResponseServer, cfnEvent, lambdaContext } from '../test/support/cloudformation';
import { Moto, motoClientConfig, startMoto } from '../test/support/moto';
import {
  BENCH_ACCOUNT, BENCH_REGION, BENCH_STACK_NAME, StackKind, benchUserName, buildApp,
} from './bench/stacks';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

const ROOT = path.resolve(__dirname, '..');
const RESULTS_FILE = path.join(ROOT, 'bench-results.json');
const RUNS = positiveInt(process.env.BENCH_RUNS, 7);
const IMPORT_RUNS = positiveInt(process.env.BENCH_IMPORT_RUNS, 15);
const SIZES = [1, 10, 100] as const;
const SYNTH_SIZES = [1, 100] as const;
const CFN_RESOURCE_LIMIT = 500;
const IAM_ROLE_POLICY_LIMIT = 10_240;
const PEER_PACKAGE = '@pepperize/cdk-ses-smtp-credentials';
const PEER_HANDLER_DIR = path.join(ROOT, 'node_modules', PEER_PACKAGE, 'assets', 'provider', 'credentials-handler.lambda');
const TIME_BIN = '/usr/bin/time';
/** A quoted user ARN plus its comma in a resolved policy. */
const USER_ARN_CHARS = '"arn:aws:iam::123456789012:user/smtp-user-0001",'.length;

const TARGETS = {
  fixedOverhead: 4,
  perUser: 3,
  usersPerStack: 165,
  assetBytes: 20 * 1024,
  synthRatio1: 1.05,
  synthRatio100: 1.15,
  createCalls: 3,
};

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-bench-'));
let tmpCounter = 0;
function tmpDir(label: string): string {
  const dir = path.join(tmpRoot, `${label}-${++tmpCounter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function log(message: string): void {
  process.stderr.write(`[bench ${process.uptime().toFixed(1)} s] ${message}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `work` with console output and stderr swallowed (CDK warnings about the peer, validation reports). */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error, write: process.stderr.write };
  const noop = () => undefined;
  console.log = console.info = console.warn = console.error = noop;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await work();
  } finally {
    Object.assign(console, { log: saved.log, info: saved.info, warn: saved.warn, error: saved.error });
    process.stderr.write = saved.write;
  }
}

// ---------------------------------------------------------------- templates

interface CfnResource { Type: string; Properties?: Record<string, unknown> }
interface CfnTemplate { Resources: Record<string, CfnResource> }
interface Synthesized { template: CfnTemplate; outdir: string }

/** Synthesizes in this process (footprint, policy size and assets; not timed). */
async function synthInProcess(kind: StackKind, users: number): Promise<Synthesized> {
  const outdir = tmpDir(`${kind}-${users}`);
  return quietly(async () => {
    const { app } = await buildApp(kind, users, outdir);
    const assembly = app.synth();
    return { template: assembly.getStackByName(BENCH_STACK_NAME).template as CfnTemplate, outdir };
  });
}

/** CDK's version-reporting resource is not part of any construct. */
function constructResources(template: CfnTemplate): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type !== 'AWS::CDK::Metadata');
}

function countByType(template: CfnTemplate): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, r] of constructResources(template)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return counts;
}

// ------------------------------------------- resolving the handler role's policy

/**
 * Resolves intrinsic functions to the concrete strings CloudFormation would
 * produce in account 123456789012 / eu-west-1, with CloudFormation-style
 * generated names, so the policy can be measured as IAM measures it.
 */
class Resolver {
  private readonly secretArns = new Map<string, string>();

  constructor(private readonly template: CfnTemplate) {}

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0];
      if (key === 'Ref') return this.ref(String(arg));
      if (key === 'Fn::GetAtt') {
        const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        return this.getAtt(id, attr);
      }
      if (key === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).map(String).join(sep);
      }
      if (key === 'Fn::Sub') {
        const text = Array.isArray(arg) ? String(arg[0]) : String(arg);
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
          (name.includes('.') && !name.startsWith('AWS::') ? this.getAtt(...(name.split('.') as [string, string])) : this.ref(name)));
      }
      if (key.startsWith('Fn::')) throw new Error(`cannot resolve ${key} in a policy`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  private generatedName(id: string): string {
    return `${BENCH_STACK_NAME}-${id.slice(0, 40)}-AbCdEfGhIjKl`;
  }

  private ref(id: string): string {
    switch (id) {
      case 'AWS::Partition': return 'aws';
      case 'AWS::Region': return BENCH_REGION;
      case 'AWS::AccountId': return BENCH_ACCOUNT;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return BENCH_STACK_NAME;
      case 'AWS::StackId': return `arn:aws:cloudformation:${BENCH_REGION}:${BENCH_ACCOUNT}:stack/${BENCH_STACK_NAME}/6c1f8b70-c9a1-11ef-9c33-0a1b2c3d4e5f`;
      default: break;
    }
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`Ref to unknown resource ${id}`);
    if (resource.Type === 'AWS::SecretsManager::Secret') {
      let arn = this.secretArns.get(id);
      if (!arn) {
        const n = (this.secretArns.size + 1).toString(16).toUpperCase().padStart(8, '0');
        arn = `arn:aws:secretsmanager:${BENCH_REGION}:${BENCH_ACCOUNT}:secret:SmtpSecret${n}-AbCdEfGhIjKl-AbCdEf`;
        this.secretArns.set(id, arn);
      }
      return arn;
    }
    return this.generatedName(id);
  }

  private getAtt(id: string, attr: string): string {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`GetAtt of unknown resource ${id}`);
    if (attr !== 'Arn') return `${this.generatedName(id)}-${attr}`;
    const name = this.generatedName(id);
    switch (resource.Type) {
      case 'AWS::Logs::LogGroup': return `arn:aws:logs:${BENCH_REGION}:${BENCH_ACCOUNT}:log-group:${name}:*`;
      case 'AWS::Lambda::Function': return `arn:aws:lambda:${BENCH_REGION}:${BENCH_ACCOUNT}:function:${name}`;
      case 'AWS::IAM::Role': return `arn:aws:iam::${BENCH_ACCOUNT}:role/${name}`;
      case 'AWS::KMS::Key': return `arn:aws:kms:${BENCH_REGION}:${BENCH_ACCOUNT}:key/0123abcd-01ab-23cd-45ef-0123456789ab`;
      default: return `arn:aws:${resource.Type.split('::')[1].toLowerCase()}:${BENCH_REGION}:${BENCH_ACCOUNT}:${name}`;
    }
  }
}

/** IAM quotas that apply to the handler role's permissions (non-whitespace characters). */
const IAM_LIMITS = {
  roleInlineAggregate: IAM_ROLE_POLICY_LIMIT,
  managedPolicy: 6_144,
  managedPoliciesPerRole: 10,
};

interface RolePolicies {
  role: string;
  /** Non-whitespace characters of all inline policies of the role, resolved. */
  inlineCharacters: number;
  /** Customer managed policies attached to the role (CDK's OverflowPolicyN), resolved. */
  managed: Array<{ id: string; characters: number; statements: string[] }>;
  /** Inline and managed together: what one inline policy would have to hold without CDK's split. */
  totalCharacters: number;
  /** The first IAM quota the role breaks, if any. */
  violation?: string;
}

function policyCharacters(resolver: Resolver, document: unknown): number {
  return JSON.stringify(resolver.resolve(document)).replace(/\s/g, '').length;
}

function statementSummary(document: unknown): string[] {
  const statements = ((document as { Statement?: Array<{ Action?: string | string[]; Resource?: unknown }> }).Statement ?? []);
  return statements.map((st) => {
    const actions = ([] as string[]).concat(st.Action ?? []);
    const resources = Array.isArray(st.Resource) ? st.Resource.length : 1;
    return `${actions[0]}${actions.length > 1 ? ` +${actions.length - 1}` : ''} on ${resources} ARN${resources === 1 ? '' : 's'}`;
  });
}

/**
 * The role of the function that issues access keys (the one with a policy
 * allowing iam:CreateAccessKey) and the resolved size of every policy on it,
 * measured as IAM measures it: non-whitespace characters. aws-cdk-lib moves
 * whole statements of a large default policy into customer managed
 * "OverflowPolicy" resources, so both IAM quotas matter: 10,240 for the
 * role's inline policies together, 6,144 for each managed policy.
 */
function handlerRolePolicies(template: CfnTemplate): RolePolicies {
  const resolver = new Resolver(template);
  const roleRefs = (r: CfnResource) => ((r.Properties?.Roles ?? []) as Array<{ Ref?: string }>).map((x) => x.Ref).filter((x): x is string => !!x);
  const grants = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy');
  const keyGrant = grants.find(([, r]) => JSON.stringify(r.Properties?.PolicyDocument).includes('iam:CreateAccessKey') && roleRefs(r).length > 0);
  if (!keyGrant) throw new Error('no role policy allows iam:CreateAccessKey');
  const role = roleRefs(keyGrant[1])[0];
  const onRole = grants.filter(([, r]) => roleRefs(r).includes(role));
  const inlineDocs: unknown[] = onRole.filter(([, r]) => r.Type === 'AWS::IAM::Policy').map(([, r]) => r.Properties!.PolicyDocument);
  for (const inline of (template.Resources[role].Properties?.Policies ?? []) as Array<{ PolicyDocument: unknown }>) inlineDocs.push(inline.PolicyDocument);
  const inlineCharacters = inlineDocs.reduce<number>((sum, doc) => sum + policyCharacters(resolver, doc), 0);
  const managed = onRole.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy').map(([id, r]) => ({
    id, characters: policyCharacters(resolver, r.Properties!.PolicyDocument), statements: statementSummary(r.Properties!.PolicyDocument),
  }));
  const attachedManaged = managed.length + ((template.Resources[role].Properties?.ManagedPolicyArns ?? []) as unknown[]).length;
  let violation: string | undefined;
  if (inlineCharacters > IAM_LIMITS.roleInlineAggregate) {
    violation = `inline policies ${inlineCharacters} > ${IAM_LIMITS.roleInlineAggregate} chars`;
  } else if (managed.some((m) => m.characters > IAM_LIMITS.managedPolicy)) {
    const m = managed.find((x) => x.characters > IAM_LIMITS.managedPolicy)!;
    violation = `managed ${m.id} (${m.statements.join('; ')}) ${m.characters} > ${IAM_LIMITS.managedPolicy} chars`;
  } else if (attachedManaged > IAM_LIMITS.managedPoliciesPerRole) {
    violation = `${attachedManaged} managed policies > ${IAM_LIMITS.managedPoliciesPerRole} per role`;
  }
  return {
    role, inlineCharacters, managed, violation,
    totalCharacters: inlineCharacters + managed.reduce((sum, m) => sum + m.characters, 0),
  };
}

// ---------------------------------------------------------------- footprint

/** Overflow managed policies aws-cdk-lib split off a role's default policy. */
function overflowPolicies(template: CfnTemplate): number {
  return Object.entries(template.Resources).filter(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && /OverflowPolicy\d/.test(id)).length;
}

interface Footprint {
  resources: Record<number, number>;
  overflowPolicies: Record<number, number>;
  byType: Record<number, Record<string, number>>;
  /** Resource types of the fixed overhead, with counts. */
  fixedByType: Record<string, number>;
  /** Resources the second user adds. */
  marginalPerUser: number;
  /** Slope over 1..100 users, overflow policies included. */
  averagePerUser: number;
  /** Resources with one user minus the marginal per-user count. */
  fixedOverhead: number;
  /** Whether resources(n) = fixed + perUser × n holds at 10 and 100 users. */
  linear: boolean;
  maxUsersUnder500: number;
  verified500: { atMax: number; atMaxPlusOne: number };
  rolePolicy: {
    role: string;
    inlineCharacters: Record<number, number>;
    managedPolicies: Record<number, number>;
    totalCharacters: Record<number, number>;
    perUserCharacters: number;
    fixedCharacters: number;
    /** Users at which all permissions in one inline policy would pass 10,240 (no CDK split). */
    totalExceeds10240At: number;
    /** Largest user count whose handler role satisfies every IAM quota. */
    maxUsersWithinIam: number;
    atMax: RolePolicies;
    /** Undefined where one more user is over CloudFormation's 500 resources. */
    atMaxPlusOne: RolePolicies | undefined;
  };
  realisticMaxUsers: number;
  bindingBound: string;
  createsUsers: boolean;
}

/** Largest n in [lo, hi] with ok(n), assuming ok is true up to some point and false after. */
async function largestOk(lo: number, hi: number, ok: (n: number) => Promise<boolean>): Promise<number> {
  if (!(await ok(lo))) return lo - 1;
  while (await ok(hi)) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await ok(mid)) lo = mid; else hi = mid;
  }
  return lo;
}

/** Largest n with ok(n), walking from a close guess (ok true up to some point, false after). */
async function largestOkNear(guess: number, ok: (n: number) => Promise<boolean>): Promise<number> {
  let n = Math.max(1, guess);
  if (await ok(n)) {
    while (await ok(n + 1)) n++;
    return n;
  }
  while (n > 1 && !(await ok(n - 1))) n--;
  return n - 1;
}

async function footprint(kind: StackKind): Promise<{ result: Footprint; templates: Map<number, Synthesized> }> {
  const cache = new Map<number, Synthesized>();
  const synth = async (n: number) => {
    let s = cache.get(n);
    if (!s) { s = await synthInProcess(kind, n); cache.set(n, s); }
    return s;
  };
  const count = async (n: number) => {
    try {
      return constructResources((await synth(n)).template).length;
    } catch (e) {
      // aws-cdk-lib itself refuses to synthesize a stack over 500 resources.
      const over = /Number of resources in stack '[^']*': (\d+) is greater than allowed maximum/.exec(String((e as Error).message));
      if (over) return Number(over[1]);
      throw e;
    }
  };
  const policies = async (n: number) => handlerRolePolicies((await synth(n)).template);
  /** The handler role's policies, or undefined where aws-cdk-lib refuses the stack (over 500 resources). */
  const policiesIfSynthesizable = async (n: number) => {
    try {
      return await policies(n);
    } catch (e) {
      if (/Number of resources in stack/.test(String((e as Error).message))) return undefined;
      throw e;
    }
  };

  const resources: Record<number, number> = {};
  const overflow: Record<number, number> = {};
  const byType: Record<number, Record<string, number>> = {};
  const inlineCharacters: Record<number, number> = {};
  const managedPolicies: Record<number, number> = {};
  const totalCharacters: Record<number, number> = {};
  for (const n of SIZES) {
    const { template } = await synth(n);
    resources[n] = constructResources(template).length;
    overflow[n] = overflowPolicies(template);
    byType[n] = countByType(template);
    const p = handlerRolePolicies(template);
    inlineCharacters[n] = p.inlineCharacters;
    managedPolicies[n] = p.managed.length;
    totalCharacters[n] = p.totalCharacters;
  }
  const marginalPerUser = (await count(2)) - resources[1];
  // resources(n) = fixed + perUser × n for small n, per type: fixed = 2 × c(1) − c(2)
  const byType2 = countByType((await synth(2)).template);
  const fixedByType = Object.fromEntries(Object.keys(byType[1])
    .map((t) => [t, 2 * byType[1][t] - (byType2[t] ?? 0)] as const).filter(([, c]) => c > 0));
  const fixedOverhead = resources[1] - marginalPerUser;
  const averagePerUser = round((resources[100] - resources[1]) / 99, 3);
  const linear = [10, 100].every((n) => resources[n] === fixedOverhead + marginalPerUser * n);

  const maxUsersUnder500 = await largestOkNear(Math.floor((CFN_RESOURCE_LIMIT - fixedOverhead) / marginalPerUser), async (n) => (await count(n)) <= CFN_RESOURCE_LIMIT);
  const verified500 = { atMax: await count(maxUsersUnder500), atMaxPlusOne: await count(maxUsersUnder500 + 1) };

  const perUserCharacters = round((totalCharacters[100] - totalCharacters[1]) / 99, 2);
  const fixedCharacters = round(totalCharacters[1] - perUserCharacters, 2);
  const totalExceeds10240At = 1 + await largestOkNear(Math.floor((IAM_ROLE_POLICY_LIMIT - fixedCharacters) / perUserCharacters),
    async (n) => (await policies(n)).totalCharacters <= IAM_ROLE_POLICY_LIMIT);
  // A stack aws-cdk-lib refuses to synthesize (over 500 resources) is not within the limits either.
  const maxUsersWithinIam = await largestOk(1, 32, async (n) => {
    const p = await policiesIfSynthesizable(n);
    return p !== undefined && p.violation === undefined;
  });

  const realisticMaxUsers = Math.min(maxUsersUnder500, maxUsersWithinIam);
  const templates = new Map(SIZES.map((n) => [n, cache.get(n)!] as const));
  return {
    templates,
    result: {
      resources, overflowPolicies: overflow, byType, fixedByType, marginalPerUser, averagePerUser, fixedOverhead, linear, maxUsersUnder500, verified500,
      rolePolicy: {
        role: (await policies(1)).role, inlineCharacters, managedPolicies, totalCharacters, perUserCharacters, fixedCharacters,
        totalExceeds10240At, maxUsersWithinIam, atMax: await policies(maxUsersWithinIam), atMaxPlusOne: await policiesIfSynthesizable(maxUsersWithinIam + 1),
      },
      realisticMaxUsers,
      bindingBound: maxUsersWithinIam < maxUsersUnder500
        ? `IAM: ${(await policies(maxUsersWithinIam + 1)).violation} at ${maxUsersWithinIam + 1} users`
        : `CloudFormation: ${verified500.atMaxPlusOne} resources at ${maxUsersUnder500 + 1} users`,
      createsUsers: (byType[1]['AWS::IAM::User'] ?? 0) > 0,
    },
  };
}

// ---------------------------------------------------------------- assets

interface AssetSize { displayName: string; files: number; rawBytes: number; zipBytes: number }

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}

const HAS_ZIP = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;

/** Size of the directory zipped (zip -9 -X), as it is uploaded; a zlib estimate without the zip CLI. */
function zipSize(dir: string): number {
  if (HAS_ZIP) {
    const out = path.join(tmpDir('zip'), 'asset.zip');
    const r = spawnSync('zip', ['-q', '-r', '-9', '-X', out, '.'], { cwd: dir });
    if (r.status === 0) return fs.statSync(out).size;
  }
  // local header (30) + central directory entry (46) + name twice, end record (22)
  return listFiles(dir).reduce((sum, file) => {
    const name = Buffer.byteLength(path.relative(dir, file));
    return sum + zlib.deflateRawSync(fs.readFileSync(file), { level: 9 }).length + 76 + 2 * name;
  }, 22);
}

function assetSize(dir: string, displayName: string): AssetSize {
  const files = listFiles(dir);
  return {
    displayName,
    files: files.length,
    rawBytes: files.reduce((sum, f) => sum + fs.statSync(f).size, 0),
    zipBytes: zipSize(dir),
  };
}

/** The Lambda (zip) assets of a synthesized stack, from its asset manifest. */
function lambdaAssets(outdir: string): AssetSize[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${BENCH_STACK_NAME}.assets.json`), 'utf8')) as {
    files: Record<string, { displayName?: string; source: { path: string; packaging?: string } }>;
  };
  return Object.values(manifest.files)
    .filter((f) => f.source.packaging === 'zip')
    .map((f) => assetSize(path.join(outdir, f.source.path), f.displayName ?? f.source.path));
}

// ---------------------------------------------------------------- synth cost

interface SynthSample { kind: StackKind; users: number; round: number; resources: number; wallMs: number; buildMs: number; synthMs: number; maxRssKb: number; rssSource: string }

/**
 * Compiles the child script, the shared stack builder and lib/ to plain JS
 * (transpile only, as the published package would ship), so every kind is
 * timed with plain `node` and none pays for the TypeScript compiler.
 */
function buildSynthChild(): string {
  const out = tmpDir('build');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, isolatedModules: true,
  };
  const compile = (from: string, to: string) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, entry.name);
      const dst = path.join(to, entry.name);
      if (entry.isDirectory()) {
        compile(src, dst);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        fs.mkdirSync(to, { recursive: true });
        const js = ts.transpileModule(fs.readFileSync(src, 'utf8'), { compilerOptions: options, fileName: src }).outputText;
        fs.writeFileSync(dst.replace(/\.ts$/, '.js'), js);
      } else if (entry.isFile()) {
        fs.mkdirSync(to, { recursive: true });
        fs.copyFileSync(src, dst);
      }
    }
  };
  compile(path.join(ROOT, 'lib'), path.join(out, 'lib'));
  const childDir = path.join(out, 'scripts', 'bench');
  fs.mkdirSync(childDir, { recursive: true });
  for (const name of ['synth-child.ts', 'stacks.ts']) {
    const src = path.join(ROOT, 'scripts', 'bench', name);
    const js = ts.transpileModule(fs.readFileSync(src, 'utf8'), { compilerOptions: options, fileName: src }).outputText;
    fs.writeFileSync(path.join(childDir, name.replace(/\.ts$/, '.js')), js);
  }
  return path.join(childDir, 'synth-child.js');
}

const HAS_TIME = fs.existsSync(TIME_BIN) && spawnSync(TIME_BIN, ['-v', 'true'], { stdio: 'ignore' }).status === 0;

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_PATH: path.join(ROOT, 'node_modules'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: BENCH_REGION,
    ...extra,
  };
}

function runSynthChild(script: string, kind: StackKind, users: number, round: number): Promise<SynthSample> {
  const outdir = tmpDir(`synth-${kind}-${users}`);
  const rssFile = path.join(outdir, '..', `${path.basename(outdir)}.time`);
  const args = [script, kind, String(users), outdir];
  const [command, argv] = HAS_TIME ? [TIME_BIN, ['-v', '-o', rssFile, process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, argv, { cwd: path.dirname(script), env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-4000); });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      try {
        if (code !== 0) throw new Error(`synth ${kind} ${users} exited ${code}: ${stderr}`);
        const report = JSON.parse(stdout.trim().split('\n').pop()!) as { resources: number; maxRssKb: number; buildMs: number; synthMs: number };
        let maxRssKb = report.maxRssKb;
        let rssSource = 'process.resourceUsage().maxRSS';
        if (HAS_TIME) {
          const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(fs.readFileSync(rssFile, 'utf8'));
          if (m) { maxRssKb = Number(m[1]); rssSource = '/usr/bin/time -v'; }
        }
        resolve({ kind, users, round, resources: report.resources, wallMs, buildMs: report.buildMs, synthMs: report.synthMs, maxRssKb, rssSource });
      } catch (e) {
        reject(e);
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }
    });
  });
}

interface SynthSummary {
  kind: StackKind;
  users: number;
  /** Resources in the synthesized template. */
  resources: number;
  runs: number;
  medianWallMs: number;
  /** Inside the child: process start to a constructed stack (module loading included). */
  medianBuildMs: number;
  /** Inside the child: app.synth(). */
  medianSynthMs: number;
  medianMaxRssMb: number;
  wallRatioToBare: number;
  rssRatioToBare: number;
  pairedWallRatioToBare: number;
  /** (max − min) ÷ median of the wall times: how noisy this configuration was. */
  wallSpread: number;
  wallMs: number[];
  maxRssKb: number[];
}

async function synthCost(): Promise<{ samples: SynthSample[]; summary: SynthSummary[]; rssSource: string }> {
  const script = buildSynthChild();
  const kinds: StackKind[] = ['bare', 'ours', 'peer'];
  log(`synth: warm-up (1 run per kind at 1 user, discarded), then ${RUNS} alternating rounds`);
  for (const kind of kinds) await runSynthChild(script, kind, 1, 0);
  const samples: SynthSample[] = [];
  for (let round = 1; round <= RUNS; round++) {
    for (const users of SYNTH_SIZES) {
      // A B C, then B C A, …: no kind always runs first or last.
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
      for (const kind of order) samples.push(await runSynthChild(script, kind, users, round));
    }
    log(`synth: round ${round}/${RUNS} done`);
  }
  const summary: SynthSummary[] = [];
  for (const users of SYNTH_SIZES) {
    const of = (kind: StackKind) => samples.filter((s) => s.kind === kind && s.users === users);
    const bare = of('bare');
    const bareWall = median(bare.map((s) => s.wallMs));
    const bareRss = median(bare.map((s) => s.maxRssKb));
    for (const kind of kinds) {
      const mine = of(kind);
      const paired = mine.map((s) => s.wallMs / bare.find((b) => b.round === s.round)!.wallMs);
      summary.push({
        kind,
        users,
        resources: mine[0]?.resources ?? 0,
        runs: mine.length,
        medianWallMs: round(median(mine.map((s) => s.wallMs)), 0),
        medianBuildMs: round(median(mine.map((s) => s.buildMs)), 0),
        medianSynthMs: round(median(mine.map((s) => s.synthMs)), 0),
        medianMaxRssMb: round(median(mine.map((s) => s.maxRssKb)) / 1024, 1),
        wallRatioToBare: round(median(mine.map((s) => s.wallMs)) / bareWall, 3),
        rssRatioToBare: round(median(mine.map((s) => s.maxRssKb)) / bareRss, 3),
        pairedWallRatioToBare: round(median(paired), 3),
        wallSpread: round((Math.max(...mine.map((s) => s.wallMs)) - Math.min(...mine.map((s) => s.wallMs))) / median(mine.map((s) => s.wallMs)), 3),
        wallMs: mine.map((s) => round(s.wallMs, 1)),
        maxRssKb: mine.map((s) => s.maxRssKb),
      });
    }
  }
  return { samples, summary, rssSource: samples[0]?.rssSource ?? 'none' };
}

// ---------------------------------------------------------------- handler

interface HandlerStep { request: string; status: string; reason?: string; calls: string[]; ms: number }
interface HandlerCost { steps: HandlerStep[]; keysLeftAfterDelete?: number; skipped?: string }

async function handlerCalls(): Promise<HandlerCost> {
  let moto: Moto;
  try {
    moto = await startMoto();
  } catch (e) {
    return { steps: [], skipped: (e as Error).message.split('\n')[0] };
  }
  const server = new ResponseServer();
  await server.start();
  try {
    const iam = new IAMClient(motoClientConfig(moto, 'us-east-1'));
    const secrets = new SecretsManagerClient(motoClientConfig(moto, BENCH_REGION));
    let recording = false;
    const calls: string[] = [];
    for (const client of [iam, secrets] as Array<{ middlewareStack: IAMClient['middlewareStack'] }>) {
      client.middlewareStack.add((next, context) => async (args) => {
        if (recording) calls.push(String(context.commandName).replace(/Command$/, ''));
        return next(args);
      }, { step: 'initialize', name: 'benchCallCounter' });
    }
    const userName = benchUserName(0);
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const secretArn = (await secrets.send(new CreateSecretCommand({ Name: 'SmtpSecretBench' }))).ARN!;
    const target = { Region: BENCH_REGION, Host: `email-smtp.${BENCH_REGION}.amazonaws.com`, Port: '587', SecretArn: secretArn };
    // As the construct sends them: with the stack's owner tag, which the handler sets on the user.
    const ownerTag = { Key: `SesSmtpCredentials:${BENCH_REGION}/${BENCH_STACK_NAME}`, Value: `arn:aws:cloudformation:${BENCH_REGION}:${BENCH_ACCOUNT}:stack/${BENCH_STACK_NAME}/guid` };
    const created = { UserName: userName, Targets: [target], OwnerTag: ownerTag };
    const updated = { ...created, Serial: '2' };

    const steps: HandlerStep[] = [];
    const step = async (request: string, type: 'Create' | 'Update' | 'Delete', properties: unknown, options: { physicalResourceId?: string; oldResourceProperties?: unknown } = {}) => {
      calls.length = 0;
      recording = true;
      const started = process.hrtime.bigint();
      const response = await quietly(() => handleCloudFormationEvent(
        cfnEvent(server, type, properties, options) as never, lambdaContext(120_000),
        (signal, undoSignal) => new AwsPort(iam, secrets, signal, { undoSignal })));
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      recording = false;
      steps.push({ request, status: response.Status, reason: response.Reason, calls: [...calls], ms: round(ms, 1) });
      return response.PhysicalResourceId;
    };
    const first = await step('Create', 'Create', created);
    const second = await step('Update (serial change)', 'Update', updated, { physicalResourceId: first, oldResourceProperties: created });
    await step('Delete of the old key (CloudFormation cleanup after the update)', 'Delete', created, { physicalResourceId: first });
    await step('Delete', 'Delete', updated, { physicalResourceId: second });
    const left = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return { steps, keysLeftAfterDelete: (left.AccessKeyMetadata ?? []).length };
  } finally {
    await server.stop();
    await moto.stop();
  }
}

interface ImportCost { module: string; runs: number; medianMs: number; samplesMs: number[] }

function coldImports(modules: Record<string, string>): Record<string, ImportCost> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(modules).map((k) => [k, []]));
  for (let i = 0; i < IMPORT_RUNS; i++) {
    for (const [name, file] of Object.entries(modules)) {
      const code = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
      const r = spawnSync(process.execPath, ['-e', code], { cwd: tmpRoot, env: childEnv(), encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
      samples[name].push(Number(r.stdout));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, {
    module: path.relative(ROOT, modules[name]), runs: s.length, medianMs: round(median(s), 1), samplesMs: s.map((v) => round(v, 1)),
  }]));
}

// ---------------------------------------------------------------- report

function describePolicies(p: RolePolicies): string {
  return `inline ${p.inlineCharacters}${p.managed.map((m) => `, managed ${m.characters} (${m.statements.join('; ')})`).join('')}`;
}

interface TargetResult { target: string; goal: string; measured: string; pass: boolean | null; note?: string }

function kb(bytes: number): string {
  return `${round(bytes / 1024, 1)} KB`;
}

function table(headers: string[], rows: Array<Array<string | number>>): string {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`temp dir ${tmpRoot}`);

  log('footprint: synthesizing 1/10/100 users (and the limits) for ours and the peer');
  const ours = await footprint('ours');
  if (process.env.BENCH_ONLY === 'footprint') {
    // Quick look while tuning the template; the full run measures everything.
    const r = ours.result;
    console.log(JSON.stringify({ resources: r.resources, overflowPolicies: r.overflowPolicies, maxUsersUnder500: r.maxUsersUnder500, maxUsersWithinIam: r.rolePolicy.maxUsersWithinIam, realisticMaxUsers: r.realisticMaxUsers, bindingBound: r.bindingBound }, null, 2));
    return;
  }
  const peer = await footprint('peer');

  log('assets');
  const oursAssets = lambdaAssets(ours.templates.get(1)!.outdir);
  const peerAssets = lambdaAssets(peer.templates.get(1)!.outdir);
  const oursSource = assetSize(path.join(ROOT, 'lib', 'handler'), 'lib/handler (source)');
  const peerHandler = assetSize(PEER_HANDLER_DIR, `${PEER_PACKAGE} credentials-handler.lambda`);
  const sum = (list: AssetSize[], key: 'rawBytes' | 'zipBytes') => list.reduce((s, a) => s + a[key], 0);

  log('handler: Create / Update / Delete against moto');
  const handler = await handlerCalls();
  log(`handler: cold import x${IMPORT_RUNS}`);
  const imports = coldImports({
    ours: path.join(ROOT, 'lib', 'handler', 'index.js'),
    peer: path.join(PEER_HANDLER_DIR, 'index.js'),
  });

  const synth = await synthCost();
  const synthOf = (kind: StackKind, users: number) => synth.summary.find((s) => s.kind === kind && s.users === users)!;

  // ---- targets
  const fo = ours.result;
  const oursAsset = oursAssets[0];
  const createStep = handler.steps.find((s) => s.request === 'Create');
  const targets: TargetResult[] = [
    {
      target: 'Fixed overhead', goal: `≤ ${TARGETS.fixedOverhead} resources`,
      measured: `${fo.fixedOverhead} (${Object.entries(fo.fixedByType).map(([t, c]) => `${c > 1 ? `${c}× ` : ''}${t.replace(/^AWS::/, '')}`).join(', ')})`,
      pass: fo.fixedOverhead <= TARGETS.fixedOverhead,
    },
    {
      target: 'Resources per additional user', goal: `exactly ${TARGETS.perUser}`,
      measured: `${fo.marginalPerUser} per user, plus CDK OverflowPolicies: ${fo.resources[100]} at 100 users = ${fo.fixedOverhead} + ${fo.marginalPerUser}×100 + ${fo.overflowPolicies[100]} (avg ${fo.averagePerUser})`,
      pass: fo.marginalPerUser === TARGETS.perUser && fo.linear,
      note: fo.linear ? undefined : `aws-cdk-lib splits the handler role's growing default policy into AWS::IAM::ManagedPolicy "OverflowPolicyN" resources (estimating 150 chars per token ARN against a 10,000-char inline budget), so some users add a 4th resource: ${fo.overflowPolicies[10]} at 10 users, ${fo.overflowPolicies[100]} at 100.`,
    },
    {
      target: 'Users per stack, CloudFormation 500 resources only', goal: `≥ ${TARGETS.usersPerStack}`,
      measured: `${fo.maxUsersUnder500} (${fo.verified500.atMax} resources; ${fo.verified500.atMaxPlusOne} with one more)`,
      pass: fo.maxUsersUnder500 >= TARGETS.usersPerStack,
      note: fo.maxUsersUnder500 < TARGETS.usersPerStack ? `${CFN_RESOURCE_LIMIT} − ${fo.fixedOverhead} leaves room for ${Math.floor((CFN_RESOURCE_LIMIT - fo.fixedOverhead) / fo.marginalPerUser)} users at ${fo.marginalPerUser} each; the OverflowPolicy resources CDK adds take the rest.` : undefined,
    },
    {
      target: 'Users per stack, realistic (500 resources and IAM policy quotas)', goal: `≥ ${TARGETS.usersPerStack}`,
      measured: `${fo.realisticMaxUsers} (binds first: ${fo.bindingBound})`,
      pass: fo.realisticMaxUsers >= TARGETS.usersPerStack,
      note: `The handler role names every user ARN (iam:CreateAccessKey, iam:TagUser); deleting keys and writing secrets are bounded by the stack's owner tag, not by names: ${fo.rolePolicy.perUserCharacters} resolved chars per user on top of ${fo.rolePolicy.fixedCharacters} (a user ARN ~${USER_ARN_CHARS}). In one inline policy that would pass IAM's 10,240-char role limit at ${fo.rolePolicy.totalExceeds10240At} users; the handler therefore writes statements of at most 30 ARNs, which aws-cdk-lib moves whole into managed OverflowPolicies (≤ 6,144 chars each, ≤ 10 per role). ` +
        (fo.rolePolicy.atMaxPlusOne?.violation
          ? `The first IAM quota broken is at ${fo.rolePolicy.maxUsersWithinIam + 1} users: ${fo.rolePolicy.atMaxPlusOne.violation}.`
          : `No IAM quota binds before CloudFormation's 500 resources; the ${fo.overflowPolicies[100]} OverflowPolicies at 100 users are what keeps the count under ${TARGETS.usersPerStack}.`),
    },
    { target: 'Lambda asset, zipped', goal: `≤ ${kb(TARGETS.assetBytes)}`, measured: `${kb(oursAsset.zipBytes)} (${oursAsset.zipBytes} B)`, pass: oursAsset.zipBytes <= TARGETS.assetBytes },
    {
      target: 'Lambda asset, raw', goal: `≤ ${kb(TARGETS.assetBytes)}`, measured: `${kb(oursAsset.rawBytes)} (${oursAsset.rawBytes} B, ${oursAsset.files} files)`, pass: oursAsset.rawBytes <= TARGETS.assetBytes,
      note: oursAsset.rawBytes > TARGETS.assetBytes ? 'Unminified, commented plain JS; the deployed artefact is the zip.' : undefined,
    },
  ];
  for (const [users, goal] of [[1, TARGETS.synthRatio1], [100, TARGETS.synthRatio100]] as const) {
    const s = synthOf('ours', users);
    const b = synthOf('bare', users);
    targets.push({
      target: `Synth wall time, ${users} user${users > 1 ? 's' : ''}, vs bare`, goal: `≤ ${goal}×`,
      measured: `${s.wallRatioToBare}× (${s.medianWallMs} vs ${b.medianWallMs} ms; paired ${s.pairedWallRatioToBare}×)`,
      pass: s.wallRatioToBare <= goal,
      note: s.wallRatioToBare > goal ? `+${round(s.medianWallMs - b.medianWallMs, 0)} ms wall over bare (median): loading modules and constructing +${s.medianBuildMs - b.medianBuildMs} ms (ours imports aws-lambda, aws-logs, aws-secretsmanager, aws-kms, aws-ses, aws-events(-targets); bare only aws-iam), app.synth() +${s.medianSynthMs - b.medianSynthMs} ms (${s.resources} resources vs ${b.resources}, and the handler asset fingerprinted and staged). Both pay aws-cdk-lib's fixed synth cost, which includes its default-on CloudFormation validation (bare app.synth(): ${b.medianSynthMs} ms). The peer (${synthOf('peer', users).resources} resources) is at ${synthOf('peer', users).wallRatioToBare}×.` : undefined,
    });
    targets.push({
      target: `Synth peak RSS, ${users} user${users > 1 ? 's' : ''}, vs bare`, goal: `≤ ${goal}×`,
      measured: `${s.rssRatioToBare}× (${s.medianMaxRssMb} vs ${b.medianMaxRssMb} MB)`,
      pass: s.rssRatioToBare <= goal,
      note: s.rssRatioToBare > goal ? `+${round(s.medianMaxRssMb - b.medianMaxRssMb, 1)} MB over bare (peer: ${synthOf('peer', users).rssRatioToBare}×).` : undefined,
    });
  }
  targets.push(createStep
    ? { target: 'AWS calls per Create', goal: `≤ ${TARGETS.createCalls}`, measured: `${createStep.calls.length} (${createStep.calls.join(', ')})`, pass: createStep.status === 'SUCCESS' && createStep.calls.length <= TARGETS.createCalls }
    : { target: 'AWS calls per Create', goal: `≤ ${TARGETS.createCalls}`, measured: `not measured: ${handler.skipped}`, pass: null });

  // ---- report
  const fp = (name: string, f: Footprint) => [
    name, f.resources[1], f.resources[10], `${f.resources[100]}${f.overflowPolicies[100] ? ` (${f.overflowPolicies[100]} overflow)` : ''}`,
    f.fixedOverhead, f.marginalPerUser, f.averagePerUser, f.maxUsersUnder500,
    `${f.rolePolicy.totalCharacters[1]} / ${f.rolePolicy.totalCharacters[10]} / ${f.rolePolicy.totalCharacters[100]}`,
    f.rolePolicy.totalExceeds10240At, f.rolePolicy.maxUsersWithinIam, `**${f.realisticMaxUsers}**`,
  ];
  const iamRow = (name: string, f: Footprint) => [
    name,
    ...SIZES.map((n) => `${f.rolePolicy.inlineCharacters[n]} inline + ${f.rolePolicy.managedPolicies[n]} managed`),
    `${f.rolePolicy.maxUsersWithinIam}: ${describePolicies(f.rolePolicy.atMax)}`,
    `${f.rolePolicy.maxUsersWithinIam + 1}: ${f.rolePolicy.atMaxPlusOne?.violation ?? 'over 500 resources'}`,
    f.bindingBound,
  ];
  const sections: string[] = [];
  sections.push(`# npm run bench — ${new Date().toISOString()}\n\nnode ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.release()}`);
  sections.push(`## Template footprint (one stack, existing users via iam.User.fromUserName; AWS::CDK::Metadata not counted)\n\n${table(
    ['construct', '1 user', '10 users', '100 users', 'fixed', 'per user (marginal)', 'per user (avg 1→100)', 'users ≤ 500 resources', 'handler role policy chars, all (1/10/100)', 'all in one inline policy > 10,240 at', 'users within IAM quotas', 'realistic users/stack'],
    [fp('ours (SesSmtpUser)', ours.result), fp(`peer (${PEER_PACKAGE})`, peer.result)],
  )}\n\n${table(
    ['handler role', '1 user', '10 users', '100 users', 'last that fits IAM', 'first that does not', 'binds first'],
    [iamRow('ours', ours.result), iamRow('peer', peer.result)],
  )}\n\n- ours, 1 user: ${JSON.stringify(ours.result.byType[1])}; 100 users: ${JSON.stringify(ours.result.byType[100])}\n- peer, 1 user: ${JSON.stringify(peer.result.byType[1])}; 100 users: ${JSON.stringify(peer.result.byType[100])}\n- The peer accepts an existing iam.IUser (creates users: ${peer.result.createsUsers}); it adds the CDK Provider framework (its own function) and two LogRetention custom resources. Its role policy lists users and secrets through Lazy lists, which CDK's split cannot size, so it stays one inline policy.\n- IAM sizes: non-whitespace characters of the handler role's policies, resolved with account ${BENCH_ACCOUNT}, ${BENCH_REGION}, users ${benchUserName(0)}…, secret ARNs arn:aws:secretsmanager:${BENCH_REGION}:${BENCH_ACCOUNT}:secret:SmtpSecretXXXXXXXX-AbCdEfGhIjKl-AbCdEf. Quotas: ${IAM_LIMITS.roleInlineAggregate} for a role's inline policies together, ${IAM_LIMITS.managedPolicy} per managed policy, ${IAM_LIMITS.managedPoliciesPerRole} managed policies per role (default). Every limit is found by synthesizing (binary search) and checked at the limit and one above.`);
  sections.push(`## Lambda assets\n\n${table(
    ['asset', 'files', 'raw', 'zipped'],
    [
      ...oursAssets.map((a) => [`ours: ${a.displayName}`, a.files, kb(a.rawBytes), kb(a.zipBytes)]),
      ...peerAssets.map((a) => [`peer: ${a.displayName}`, a.files, kb(a.rawBytes), kb(a.zipBytes)]),
      ['**ours, all Lambda assets**', oursAssets.reduce((s, a) => s + a.files, 0), kb(sum(oursAssets, 'rawBytes')), kb(sum(oursAssets, 'zipBytes'))],
      ['**peer, all Lambda assets**', peerAssets.reduce((s, a) => s + a.files, 0), kb(sum(peerAssets, 'rawBytes')), kb(sum(peerAssets, 'zipBytes'))],
    ],
  )}\n\nZipped with ${HAS_ZIP ? '`zip -r -9 -X`' : 'zlib deflate (level 9) plus zip headers'}. Ours staged from lib/handler (${kb(oursSource.rawBytes)} raw there); peer handler in its package: ${kb(peerHandler.rawBytes)} raw.`);
  sections.push(`## Synth cost (child process: build the stack and app.synth() with asset staging; ${RUNS} alternating runs each after a discarded warm-up run per kind; peak RSS from ${synth.rssSource})\n\n${table(
    ['stack', 'users', 'resources', 'runs', 'median wall', 'wall spread (max−min)/median', 'of which load+construct', 'of which app.synth()', 'median peak RSS', 'wall ÷ bare', 'RSS ÷ bare', 'paired wall ÷ bare'],
    synth.summary.map((s) => [s.kind, s.users, s.resources, s.runs, `${s.medianWallMs} ms`, `${round(s.wallSpread * 100, 0)}%`, `${s.medianBuildMs} ms`, `${s.medianSynthMs} ms`, `${s.medianMaxRssMb} MB`, `${s.wallRatioToBare}×`, `${s.rssRatioToBare}×`, `${s.pairedWallRatioToBare}×`]),
  )}\n\nbare = the same imported users and one iam.Policy attached to them. All kinds run as precompiled JS with plain node. Ratios within this run are the figure; absolute times are context.`);
  sections.push(`## Handler against moto (one IAM user, one empty secret, one SMTP region)\n\n${handler.skipped ? `Skipped: ${handler.skipped}` : table(
    ['request', 'status', 'AWS calls', 'calls', 'ms'],
    handler.steps.map((s) => [s.request, s.status + (s.reason ? ` (${s.reason})` : ''), s.calls.length, s.calls.join(', '), s.ms]),
  )}\n\nAccess keys left on the user after both deletes: ${handler.keysLeftAfterDelete ?? 'n/a'} (checked outside the count). Calls counted with an SDK middleware on the handler's clients; ms are against local moto, context only.\n\nCold import (fresh \`node\`, \`require\` of the handler entry, ${IMPORT_RUNS} runs): ours ${imports.ours.medianMs} ms median (${imports.ours.module}, SDK v3 clients from node_modules), peer ${imports.peer.medianMs} ms median (${imports.peer.module}, bundled).`);
  sections.push(`## Targets\n\n${table(
    ['target', 'goal', 'measured', 'result'],
    targets.map((t) => [t.target, t.goal, t.measured, t.pass === null ? 'n/a' : t.pass ? 'PASS' : '**MISS**']),
  )}${targets.some((t) => t.note) ? `\n\n${targets.filter((t) => t.note).map((t) => `- ${t.target}: ${t.note}`).join('\n')}` : ''}`);
  const elapsed = round((Date.now() - started) / 1000, 1);
  sections.push(`Total bench time ${elapsed} s. Results: ${path.relative(ROOT, RESULTS_FILE)}`);
  const report = sections.join('\n\n');

  const results = {
    generatedAt: new Date().toISOString(),
    environment: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model },
    config: { synthRuns: RUNS, importRuns: IMPORT_RUNS, sizes: SIZES, synthSizes: SYNTH_SIZES, account: BENCH_ACCOUNT, region: BENCH_REGION, zip: HAS_ZIP ? 'zip -r -9 -X' : 'zlib estimate', rss: synth.rssSource },
    footprint: { ours: ours.result, peer: peer.result },
    assets: { ours: oursAssets, peer: peerAssets, oursSource, peerHandlerPackage: peerHandler },
    synth: { summary: synth.summary, samples: synth.samples },
    handler: { ...handler, coldImport: imports },
    targets,
    elapsedSeconds: elapsed,
  };
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${report}\n`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
