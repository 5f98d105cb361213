import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { HandlerAssetCode } from '../lib/handler-asset-code';

const HANDLER_DIR = path.join(__dirname, '..', 'lib', 'handler');
const EXCLUDE = ['*.ts', '*.map'];
const ROOT = path.join(__dirname, '..');

interface Synthesized {
  code: unknown;
  metadata: Record<string, unknown> | undefined;
  assets: Record<string, { displayName?: string; source: unknown }>;
  staged: string[];
}

/** A stack whose one function takes `code`, synthesized into its own directory. */
function synthesize(code: lambda.Code, context: Record<string, unknown> = {}): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-asset-code-'));
  try {
    const app = new App({ outdir, context });
    const stack = new Stack(app, 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
    new lambda.Function(stack, 'Function', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });
    const assembly = app.synth();
    const resources = assembly.getStackArtifact(stack.artifactId).template.Resources as Record<string, { Type: string; Properties: { Code: unknown }; Metadata?: Record<string, unknown> }>;
    const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function')!;
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const assets = Object.fromEntries(Object.entries(manifest.files as Record<string, { displayName?: string; source: { path: string } }>)
      .filter(([, a]) => a.source.path.startsWith('asset.')));
    const staged = fs.readdirSync(outdir).filter((name) => name.startsWith('asset.'))
      .flatMap((dir) => fs.readdirSync(path.join(outdir, dir)).map((file) => `${dir}/${file}`)).sort();
    return { code: fn.Properties.Code, metadata: fn.Metadata, assets, staged };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('HandlerAssetCode', () => {
  test('puts into the template, the asset manifest and the assembly exactly what lambda.Code.fromAsset puts there', () => {
    const ours = synthesize(new HandlerAssetCode(HANDLER_DIR, EXCLUDE));
    const theirs = synthesize(lambda.Code.fromAsset(HANDLER_DIR, { exclude: EXCLUDE }));

    expect(ours.code).toEqual(theirs.code);
    expect(ours.assets).toEqual(theirs.assets);
    expect(ours.staged).toEqual(theirs.staged);
    expect(ours.staged).toContain(`asset.${Object.keys(ours.assets)[0]}/index.js`);
    expect(ours.staged.filter((file) => /\.(ts|map)$/.test(file))).toEqual([]);
  });

  test('writes the asset metadata SAM reads when the app enables it, as lambda.Code.fromAsset does', () => {
    const context = { [cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true };
    const ours = synthesize(new HandlerAssetCode(HANDLER_DIR, EXCLUDE), context);
    const theirs = synthesize(lambda.Code.fromAsset(HANDLER_DIR, { exclude: EXCLUDE }), context);

    expect(ours.metadata).toEqual(theirs.metadata);
    expect(ours.metadata).toEqual(expect.objectContaining({ [cxapi.ASSET_RESOURCE_METADATA_PROPERTY_KEY]: 'Code' }));
  });

  test('writes no asset metadata by default', () => {
    expect(synthesize(new HandlerAssetCode(HANDLER_DIR, EXCLUDE)).metadata).toBeUndefined();
  });

  test('refuses a second function, which would share one staging construct', () => {
    const stack = new Stack(new App(), 'S');
    const code = new HandlerAssetCode(HANDLER_DIR, EXCLUDE);
    new lambda.Function(stack, 'One', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });

    expect(() => new lambda.Function(stack, 'Two', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code }))
      .toThrow(/already bound to a function/);
  });

  test('refuses a file where the handler directory belongs', () => {
    const stack = new Stack(new App(), 'S');
    const file = path.join(HANDLER_DIR, 'index.js');

    expect(() => new lambda.Function(stack, 'F', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: new HandlerAssetCode(file, EXCLUDE) }))
      .toThrow(/must be a directory/);
  });

  test('a stack with a SesSmtpUser loads neither aws-s3 nor aws-cdk-lib\'s region table (what Code.fromAsset would cost)', () => {
    // A fresh node process: Jest's module registry is not Node's.
    const script = `
      require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
      const { App, Stack } = require('aws-cdk-lib');
      const iam = require('aws-cdk-lib/aws-iam');
      const { SesSmtpUser } = require(${JSON.stringify(path.join(ROOT, 'lib'))});
      const app = new App({ outdir: process.argv[1] });
      const stack = new Stack(app, 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
      new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', 'legacy-mail') });
      app.synth();
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));
    `;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-asset-load-'));
    const outdir = path.join(scratch, 'cdk.out');
    try {
      // The child's own TMPDIR: ts-node keeps a compile cache there.
      const env = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', TMPDIR: scratch };
      const child = spawnSync(process.execPath, ['-e', script, outdir], { cwd: ROOT, encoding: 'utf8', env });
      expect(child.stderr).toBe('');
      const loaded = (JSON.parse(child.stdout) as string[]).map((file) => file.split(`${path.sep}node_modules${path.sep}`).pop()!.split(path.sep).join('/'));

      expect(loaded).toContain('aws-cdk-lib/aws-lambda/lib/function.js');
      expect(loaded.filter((file) => /^aws-cdk-lib\/(aws-s3|aws-s3-assets|region-info)\//.test(file))).toEqual([]);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
