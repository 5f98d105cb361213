/**
 * The figures the documentation quotes are the ones `npm run bench` measures
 * now: this file runs the bench's own measurements (scripts/bench) and reads
 * the figures out of the README, docs/benchmarks.md, docs/lifecycle.md and
 * docs/org-rollout.md. Counts must be equal; sizes within 5%, so that a small
 * change to the handler does not make every page stale, and a large one does.
 * Times are not checked: the pages date them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lambdaAssets } from '../scripts/bench/assets';
import { tmpDir, tmpRoot } from '../scripts/bench/common';
import { Footprint, footprint } from '../scripts/bench/footprint';
import { HandlerCost, handlerCalls } from '../scripts/bench/handler-calls';
import { TEMPLATE_LIMITS } from '../scripts/bench/limits';
import { rotationCapacity } from '../scripts/bench/rotation-capacity';
import { BENCH_STACK_NAME, buildApp } from '../scripts/bench/stacks';
import { templateSizes } from '../scripts/bench/template-size';
import { DOCS, README } from './support/readme';

const TOLERANCE = 0.05;
const KB = 1024;

afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** The cells of the markdown table row whose first cell starts with `label`. */
function row(markdown: string, label: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith(`| ${label}`));
  if (!line) throw new Error(`no table row '${label}'`);
  return line.split('|').slice(1, -1).map((c) => c.trim());
}

/** The numbers in a text, in order (thousands separators and bold marks allowed). */
function numbers(text: string): number[] {
  return [...text.matchAll(/\d[\d,]*(?:\.\d+)?/g)].map((m) => Number(m[0].replace(/,/g, '')));
}

function expectNear(quoted: number, measured: number, what: string): void {
  const off = Math.abs(quoted - measured) / measured;
  if (off > TOLERANCE) {
    throw new Error(`${what}: the documentation says ${quoted}, npm run bench measures ${measured} (${Math.round(off * 100)}% off); update the page`);
  }
}

describe('the stack footprint the documentation quotes', () => {
  let ours: Awaited<ReturnType<typeof footprint>>;
  let f: Footprint;
  beforeAll(async () => {
    ours = await footprint('ours');
    f = ours.result;
  }, 180_000);

  test('the README\'s users per stack, bound by CloudFormation\'s 500 resources (per user, per stack)', () => {
    const limit = /\*\*(\d+) users per stack\*\*, bound by CloudFormation's 500 resources \((\d+) per user, (\d+) per stack\)/.exec(README);

    expect(limit).not.toBeNull();
    expect(numbers(limit!.slice(1).join(' '))).toEqual([f.realisticMaxUsers, f.marginalPerUser, f.fixedOverhead]);
    expect(f.maxUsersUnder500).toBe(f.realisticMaxUsers); // CloudFormation binds, not IAM, as the README says
  });

  test('docs/benchmarks.md: fixed resources, resources per user, overflow policies and users per stack', () => {
    const page = DOCS['docs/benchmarks.md'];

    expect(numbers(row(page, 'Fixed resources')[1])[0]).toBe(f.fixedOverhead);
    expect(numbers(row(page, 'Resources per user')[1])).toEqual([f.marginalPerUser, f.overflowPolicies[100], 100, f.averagePerUser]);
    expect(numbers(row(page, 'Users per stack: CloudFormation 500 resources')[1])[0]).toBe(f.realisticMaxUsers);
    expect(page).toContain(`(${f.rolePolicy.totalCharacters[100].toLocaleString('en-US')} at 100 users, all policies together)`);
    expectNear(Number(/about (\d+) characters per user/.exec(page)?.[1]), f.rolePolicy.perUserCharacters, 'handler role policy characters per user');
    expect(page).toContain(`OverflowPolicies before IAM's limit is near: ${f.overflowPolicies[100]} at 100 users`);
  });

  test('docs/benchmarks.md: the Lambda asset, zipped and raw', () => {
    const [asset] = lambdaAssets(ours.templates.get(1)!.outdir);
    const [zipped, raw] = numbers(row(DOCS['docs/benchmarks.md'], 'Lambda asset, zipped (raw)')[1]);

    expectNear(zipped * KB, asset.zipBytes, 'Lambda asset, zipped');
    expectNear(raw * KB, asset.rawBytes, 'Lambda asset, raw');
  });
});

describe('the users per stack with scheduled rotation', () => {
  test('the README and docs/benchmarks.md quote what the bench counts', async () => {
    const rotation = await rotationCapacity();

    expect(/\*\*(\d+)\*\* when every user has `rotateEvery`/.exec(README)?.[1]).toBe(String(rotation.maxUsersUnder500));
    const cell = row(DOCS['docs/benchmarks.md'], 'Users per stack, every user with `rotateEvery`')[1];
    expect(numbers(cell).slice(0, 2)).toEqual([rotation.maxUsersUnder500, rotation.perUser]);
  }, 120_000);
});

describe('the AWS calls per request', () => {
  let cost: HandlerCost;
  beforeAll(async () => {
    cost = await handlerCalls();
  }, 120_000);

  test('docs/benchmarks.md and docs/lifecycle.md quote the calls the handler makes against moto', () => {
    expect(cost.skipped).toBeUndefined();
    const calls = (request: string) => cost.steps.find((s) => s.request === request)!.calls.length;

    expect(numbers(row(DOCS['docs/benchmarks.md'], 'AWS calls: Create / Update / Delete')[1]).slice(0, 3))
      .toEqual([calls('Create'), calls('Update (serial change)'), calls('Delete')]);
    expect(DOCS['docs/benchmarks.md']).toContain(`(its cleanup phase) made ${calls('Delete of the old key (CloudFormation cleanup after the update)')} calls`);
    expect(DOCS['docs/lifecycle.md']).toContain(`writes every secret: ${calls('Create')} AWS calls`);
  });
});

describe('the template size budget (docs/org-rollout.md)', () => {
  test('the table of self-contained stacks is within 5% of what the bench measures, resources exactly', async () => {
    const page = DOCS['docs/org-rollout.md'];

    for (const size of await templateSizes()) {
      const [users, resources, inline, compact, handler, asset] = row(page, `${size.users} |`).map((c) => numbers(c)[0]);
      expect({ users, resources }).toEqual({ users: size.users, resources: size.resources });
      expectNear(inline * KB, size.inlineBytes, `${size.users} users, template`);
      expectNear(compact * KB, size.inlineCompactBytes, `${size.users} users, compacted`);
      expectNear(handler * KB, size.handlerBytes, `${size.users} users, handler`);
      expectNear(asset * KB, size.assetBytes, `${size.users} users, file asset`);
      expect(size.deployPath).toMatch(/^S3 only/);
    }
  }, 120_000);

  test('the file-asset stack fits a TemplateBody up to the number of users the page names, and not one more', async () => {
    const named = Number(/fits a `TemplateBody` up to (\d+) users/.exec(DOCS['docs/org-rollout.md'])?.[1]);
    const bytes = async (users: number) => {
      const outdir = tmpDir(`docs-figures-${users}`);
      const { app } = await buildApp('ours', users, outdir);
      app.synth();
      return fs.statSync(path.join(outdir, `${BENCH_STACK_NAME}.template.json`)).size;
    };

    expect(await bytes(named)).toBeLessThanOrEqual(TEMPLATE_LIMITS.templateBody);
    expect(await bytes(named + 1)).toBeGreaterThan(TEMPLATE_LIMITS.templateBody);
  }, 120_000);
});
