/**
 * The checked-in snapshot of the real-account check's app
 * (test/integ.ses-smtp-user.ts.snapshot) is what a fresh synth produces, so
 * what a maintainer deploys with `npm run integ:real-account` is what CI has
 * seen; and the app is what the check's plan expects. No AWS account is needed.
 *
 * Compared: every stack template, whole, asset hashes included (the handler's
 * S3Key is the hash of lib/handler, so a changed handler fails here). Not
 * compared: tree.json, metadata and asset manifests (the latter repeat the
 * template hashes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEPLOY_STAGES, readPlan } from '../scripts/real-account/plan';
import { describePlan } from '../scripts/real-account/run';
import { INTEG_APP, SNAPSHOT_DIR, readTemplates, staleStacks, synthIntegApp } from './support/integ-snapshot';

const REWRITE = 'run `npm run integ:snapshot`, review the diff and commit the snapshot';

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

describe('integ test snapshot', () => {
  let fresh: string;

  beforeAll(() => {
    fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-fresh-'));
    synthIntegApp(fresh);
  });

  afterAll(() => {
    fs.rmSync(fresh, { recursive: true, force: true });
  });

  test('is checked in', () => {
    expect(fs.existsSync(path.join(SNAPSHOT_DIR, 'manifest.json'))).toBe(true);
  });

  test('has the same stacks as a fresh synth: the stages the check deploys', () => {
    expect(Object.keys(readTemplates(SNAPSHOT_DIR)).sort()).toEqual(Object.keys(readTemplates(fresh)).sort());
    expect(Object.keys(readTemplates(fresh)).sort()).toEqual([...DEPLOY_STAGES].sort());
  });

  test('has every stack template of a fresh synth, asset hashes included', () => {
    const stale = staleStacks(fresh);

    expect({ stale, fix: stale.length > 0 ? REWRITE : 'none' }).toEqual({ stale: [], fix: 'none' });
  });

  test('pins the handler code: its function points at the hash of lib/handler staged in the fresh synth', () => {
    const template = readTemplates(fresh).Create as Template;
    const fn = Object.values(template.Resources ?? {}).find((r) => r.Type === 'AWS::Lambda::Function'
      && String(r.Properties?.Description).startsWith('Custom::SesSmtpCredentials'));
    const key = String((fn?.Properties?.Code as { S3Key?: string } | undefined)?.S3Key);
    const staged = path.join(fresh, `asset.${key.replace(/\.zip$/, '')}`);

    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    expect(fs.readFileSync(path.join(staged, 'index.js'), 'utf8'))
      .toBe(fs.readFileSync(path.join(path.dirname(INTEG_APP), '..', 'lib', 'handler', 'index.js'), 'utf8'));
  });
});

describe('the real-account check\'s plan of the app', () => {
  let fresh: string;

  beforeAll(() => {
    fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-plan-'));
    fs.cpSync(SNAPSHOT_DIR, fresh, { recursive: true });
  });

  afterAll(() => {
    fs.rmSync(fresh, { recursive: true, force: true });
  });

  test('deploys create, update (serial), replacement (another user), then a stage that must roll back', () => {
    const plan = readPlan(fresh);
    const smtp = plan.stages.map((s) => s.credentials.find((c) => c.logicalId.startsWith('Smtp')));

    expect(plan.stages.map((s) => s.id)).toEqual(['Create', 'Update', 'Replace', 'CancelInFlight']);
    expect(smtp.map((c) => [c?.userName, c?.properties.Serial])).toEqual([
      ['ses-smtp-credentials-integ-a', undefined],
      ['ses-smtp-credentials-integ-a', '2'],
      ['ses-smtp-credentials-integ-b', '2'],
      ['ses-smtp-credentials-integ-b', '3'],
    ]);
    expect(plan.stages.map((s) => s.failsOnPurpose)).toEqual([false, false, false, true]);
  });

  test('every stage keeps one rotating SesSmtpUser with two regions for the rotation steps', () => {
    const plan = readPlan(fresh);

    for (const stage of plan.stages) {
      expect(stage.credentials.filter((c) => c.rotating).map((c) => c.targets.length)).toEqual([2]);
    }
  });

  test('the rolled-back stage adds three SesSmtpUsers that write every SMTP region of the aws partition (17) each, on users no earlier stage touches', () => {
    const plan = readPlan(fresh);
    const before = new Set(plan.stages.slice(0, 3).flatMap((s) => s.credentials.map((c) => c.userName)));
    const added = plan.stages[3].credentials.filter((c) => !before.has(c.userName));

    expect(added.map((c) => [c.userName, c.targets.length])).toEqual([
      ['ses-smtp-credentials-integ-x1', 17], ['ses-smtp-credentials-integ-x2', 17], ['ses-smtp-credentials-integ-x3', 17],
    ]);
  });

  test('the sibling watches exactly those users and may only list their tags and keys', () => {
    const template = readTemplates(fresh).CancelInFlight as Template;
    const resources = Object.values(template.Resources ?? {});
    const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Description).startsWith('integ: fails on purpose'));
    const variables = (fn?.Properties?.Environment as { Variables: Record<string, string> }).Variables;
    const policies = resources.filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('FailOnPurposeFunction'));

    expect(variables.WATCH_USERS.split(',')).toEqual(['ses-smtp-credentials-integ-x1', 'ses-smtp-credentials-integ-x2', 'ses-smtp-credentials-integ-x3']);
    expect(policies.map((p) => JSON.stringify(p.Properties).match(/"Action":(\[[^\]]*\]|"[^"]*")/g))).toEqual([
      ['"Action":["iam:ListAccessKeys","iam:ListUserTags"]'],
    ]);
  });

  test('the plan reads as the documented sequence (npm run integ:real-account -- --dry-run prints it)', () => {
    const text = describePlan(readPlan(fresh));

    expect(text.split('\n').filter((l) => !l.startsWith('  '))).toEqual([
      expect.stringContaining('IAM users created by the check: ses-smtp-credentials-integ-a, ses-smtp-credentials-integ-b, ses-smtp-credentials-integ-r, ses-smtp-credentials-integ-x1'),
      'deploy Create',
      'deploy Update',
      'deploy Replace',
      expect.stringMatching(/^rotate ×2/),
      expect.stringMatching(/^deploy CancelInFlight \(a sibling fails on purpose/),
      expect.stringMatching(/^delete the stack/),
    ]);
  });
});
