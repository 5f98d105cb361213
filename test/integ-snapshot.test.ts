/**
 * The checked-in integ-runner snapshot (test/integ.ses-smtp-user.ts.snapshot)
 * is what a fresh synth of the integ app produces, so what a maintainer
 * deploys in a real account is what CI has seen. No AWS account is needed.
 *
 * Compared: every stack template, whole, asset hashes included (the handler's
 * S3Key is the hash of lib/handler, so a changed handler fails here), and
 * integ.json. The one part masked is `salt` in the assertion custom
 * resources: integ-tests sets it to the synth time so that assertions run on
 * every deploy. Not compared: tree.json, metadata and asset manifests (the
 * latter repeat the template hashes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INTEG_APP, SNAPSHOT_DIR, readTemplates, synthIntegApp } from './support/integ-snapshot';

const REWRITE = 'run `npm run integ:snapshot` (or the real-account run in the README) and commit the snapshot';

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** The template with the assertion resources' synth-time `salt` masked. */
function withoutSalt(template: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(template)) as Template;
  for (const resource of Object.values(copy.Resources ?? {})) {
    if (resource.Type.startsWith('Custom::DeployAssert@') && resource.Properties?.salt !== undefined) {
      resource.Properties.salt = '<synth time>';
    }
  }
  return copy;
}

function readIntegManifest(dir: string): { testCases: Record<string, { stacks: string[]; assertionStackName: string }> } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'integ.json'), 'utf8'));
}

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

  test('has the same stacks as a fresh synth', () => {
    expect(Object.keys(readTemplates(SNAPSHOT_DIR)).sort()).toEqual(Object.keys(readTemplates(fresh)).sort());
  });

  test('has every stack template of a fresh synth, asset hashes included', () => {
    const checkedIn = readTemplates(SNAPSHOT_DIR);
    const stale = Object.entries(readTemplates(fresh))
      .filter(([id, template]) => JSON.stringify(withoutSalt(template)) !== JSON.stringify(withoutSalt(checkedIn[id])))
      .map(([id]) => id);

    expect({ stale, fix: stale.length > 0 ? REWRITE : 'none' }).toEqual({ stale: [], fix: 'none' });
  });

  test('has the test cases of a fresh synth (integ.json)', () => {
    expect(readIntegManifest(SNAPSHOT_DIR)).toEqual(readIntegManifest(fresh));
  });

  test('pins the handler code: its function points at the hash of lib/handler staged in the fresh synth', () => {
    const template = readTemplates(fresh).Issue as Template;
    const fn = Object.values(template.Resources ?? {}).find((r) => r.Type === 'AWS::Lambda::Function'
      && String(r.Properties?.Description).startsWith('Custom::SesSmtpCredentials'));
    const key = String((fn?.Properties?.Code as { S3Key?: string } | undefined)?.S3Key);
    const staged = path.join(fresh, `asset.${key.replace(/\.zip$/, '')}`);

    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    expect(fs.readFileSync(path.join(staged, 'index.js'), 'utf8'))
      .toBe(fs.readFileSync(path.join(path.dirname(INTEG_APP), '..', 'lib', 'handler', 'index.js'), 'utf8'));
  });

  test('every assertion runs in an assertion stack that integ.json names, and none may read a secret value', () => {
    const templates = readTemplates(fresh) as Record<string, Template>;
    const assertionStacks = Object.values(readIntegManifest(fresh).testCases).map((c) => c.assertionStackName);
    const calls = Object.entries(templates).flatMap(([id, t]) => Object.values(t.Resources ?? {})
      .filter((r) => r.Type.startsWith('Custom::DeployAssert@SdkCall'))
      .map((r) => ({ id, api: String(r.Properties?.api) })));
    const actions = assertionStacks.flatMap((id) => Object.values(templates[id].Resources ?? {})
      .filter((r) => r.Type.startsWith('AWS::IAM::'))
      .flatMap((r) => [...JSON.stringify(r.Properties).matchAll(/"(?:Not)?Action":(\[[^\]]*\]|"[^"]*")/g)]
        .flatMap((m) => [JSON.parse(m[1])].flat() as string[])));

    expect(calls.length).toBeGreaterThanOrEqual(10);
    expect(calls.filter((c) => !assertionStacks.includes(c.id))).toEqual([]);
    expect(calls.map((c) => c.api).filter((api) => /GetSecretValue/i.test(api))).toEqual([]);
    expect(actions).toContain('secretsmanager:DescribeSecret');
    expect(actions.filter((a) => /GetSecretValue|^secretsmanager:\*$|^\*$/.test(a))).toEqual([]);
  });
});
