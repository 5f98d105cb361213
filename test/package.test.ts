/**
 * What `npm pack` gives users works. The tarball holds only the compiled
 * library, its declarations, the jsii assembly, the Lambda handler, the CLI
 * and the docs. It installs into fresh CDK apps, which type-check and
 * `cdk synth` offline with no AWS credentials: a TypeScript app, a plain
 * JavaScript app, and a JavaScript app on the lowest aws-cdk-lib that the peer
 * dependency allows.
 *
 * The tarball to publish is the one jsii-pacmak makes for npm (`npm run
 * package:js`). It is byte for byte the one `npm pack` makes, and the app on
 * the lowest aws-cdk-lib installs it, so both tarballs are installed and
 * synthesized.
 *
 * The installs use the npm cache (`--prefer-offline`). On a machine that
 * lacks a version in its cache, npm fetches it from the registry. The
 * TypeScript and JavaScript apps are two workspaces of one install. (A third
 * workspace on the jsii-pacmak tarball would not do: npm dedupes the same
 * name and version to one copy.)
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleHandler } from '../lib/inline-handler';
import { inlineCodeOf } from './support/inline-handler';

// The whole file takes about 50 s, twice that under load: packing builds dist/
// with jsii (about 15 s), jsii-pacmak packs again (about 3 s), the two installs
// run side by side (about 15 s), the TypeScript app compiles (about 10 s) and
// each synth takes about 6 s. Above jest's 60 s per test for safety.
jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..');
const OWN = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const STACK = 'ConsumerStack';

/** The version of a package installed in a folder's node_modules (this repository's by default). */
function installedVersion(name: string, dir = ROOT): string {
  return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** The lowest version a caret range allows: `^2.269.0` gives `2.269.0`. */
function lowestAllowed(range: string): string {
  const match = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  if (!match) throw new Error(`expected a caret range such as ^2.269.0, got '${range}'`);
  return match[1];
}

/** Versions the consumer apps use: the ones this repository develops and tests with. */
const VERSIONS = {
  awsCdkLib: installedVersion('aws-cdk-lib'),
  constructs: installedVersion('constructs'),
  typescript: installedVersion('typescript'),
  cdkCli: installedVersion('aws-cdk'),
};
const LOWEST_AWS_CDK_LIB = lowestAllowed(OWN.peerDependencies['aws-cdk-lib']);
const LOWEST_CONSTRUCTS = lowestAllowed(OWN.peerDependencies.constructs);

/** No AWS credentials and no metadata probes: synth must not need an account. */
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_'))),
  AWS_EC2_METADATA_DISABLED: 'true',
  CDK_DISABLE_CLI_TELEMETRY: 'true',
};

interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: string[], cwd: string, input = '', env = ENV): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Status and, on failure, the output, so that a failed step shows why. */
function outcome(result: RunResult): { status: number | null; output: string } {
  return { status: result.status, output: result.status === 0 ? '' : `${result.stdout}${result.stderr}` };
}
const SUCCESS = { status: 0, output: '' };

function install(dir: string): Promise<RunResult> {
  return run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
}

/**
 * A command an install put in node_modules/.bin. Called by path, not through
 * npx: npx would read `--quiet` or `-p` as its own options, and could download
 * a different version.
 */
function bin(installDir: string, name: string): string {
  return path.join(installDir, 'node_modules', '.bin', name);
}

/** `cdk synth` with the CLI version the app pins. */
function synth(installDir: string, appDir: string): Promise<RunResult> {
  return run(bin(installDir, 'cdk'), ['synth', '--quiet'], appDir);
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** An app's package.json: the tarball plus the versions it is tested with. */
function appPackage(name: string, tarball: string, versions: { awsCdkLib: string; constructs: string }, dev: Record<string, string>) {
  return {
    name,
    private: true,
    dependencies: { [OWN.name]: `file:${tarball}`, 'aws-cdk-lib': versions.awsCdkLib, constructs: versions.constructs },
    devDependencies: { 'aws-cdk': VERSIONS.cdkCli, ...dev },
  };
}

const CDK_JSON = (app: string) => ({ app, notices: false, context: { 'cli-telemetry': false } });

/** The bootstrapless stack of the JavaScript apps: the handler inline, bundled from the installed dist/handler. */
const SELF_CONTAINED_STACK = 'SelfContainedStack';

/**
 * Two users: one whose key the handler creates, one from a key source; a role
 * reads the first. And a self-contained stack (HandlerCode.INLINE).
 */
const JS_APP = `'use strict';
const { App, BootstraplessSynthesizer, Stack } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const { AccessKeySource, HandlerCode, SesSmtpUser } = require('${OWN.name}');

const app = new App();
const stack = new Stack(app, '${STACK}', { env: { region: 'eu-west-1' } });
const smtp = new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'MailUser', 'legacy-mail-relay') });
smtp.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }));
const keyPair = secretsmanager.Secret.fromSecretCompleteArn(stack, 'KeyPair',
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:iam/automation-mailer-AbCdEf');
new SesSmtpUser(stack, 'FromAutomation', {
  user: iam.User.fromUserName(stack, 'AutomationUser', 'automation-mailer'),
  keySource: AccessKeySource.fromSecret(keyPair),
});
const selfContained = new Stack(app, '${SELF_CONTAINED_STACK}', { env: { region: 'eu-west-1' }, synthesizer: new BootstraplessSynthesizer() });
new SesSmtpUser(selfContained, 'Smtp', { user: iam.User.fromUserName(selfContained, 'MailUser', 'legacy-mail-relay'), handlerCode: HandlerCode.INLINE });
app.synth();
`;

/**
 * The same app in TypeScript. With skipLibCheck (as CDK apps use it), an
 * import whose declaration is missing silently becomes `any`. The
 * @ts-expect-error lines fail the compile in that case.
 */
const TS_APP = `import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AccessKeySource, SesSmtpUser, SesSmtpUserProps, deriveSmtpPassword } from '${OWN.name}';

const app = new App();
const stack = new Stack(app, '${STACK}', { env: { region: 'eu-west-1' } });
const props: SesSmtpUserProps = { user: iam.User.fromUserName(stack, 'MailUser', 'legacy-mail-relay') };
const smtp = new SesSmtpUser(stack, 'Smtp', props);
const grant: iam.Grant = smtp.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }));
const keyPair = secretsmanager.Secret.fromSecretCompleteArn(stack, 'KeyPair',
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:iam/automation-mailer-AbCdEf');
new SesSmtpUser(stack, 'FromAutomation', {
  user: iam.User.fromUserName(stack, 'AutomationUser', 'automation-mailer'),
  keySource: AccessKeySource.fromSecret(keyPair),
});
app.synth();
void grant;

/** Never called: compiles only where the package's declarations are present. */
export function declarationsAreShipped(): void {
  // @ts-expect-error: SesSmtpUserProps requires a user
  new SesSmtpUser(stack, 'NoUser', {});
  // @ts-expect-error: AccessKeySource.fromSecret takes an ISecret
  AccessKeySource.fromSecret('arn');
  // @ts-expect-error: deriveSmtpPassword takes (secretAccessKey: string, region: string)
  deriveSmtpPassword(1, 'eu-west-1');
}
`;

const TS_CONFIG = {
  compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, skipLibCheck: true, types: [] },
  files: ['app.ts'],
};

/** The handler's JavaScript files in this repository: what the Lambda asset must hold, byte for byte. */
const HANDLER_DIR = path.join(ROOT, 'lib', 'handler');
const HANDLER_JS = fs.readdirSync(HANDLER_DIR).filter((name) => name.endsWith('.js')).sort();

/** The parts of a synthesized template these tests read. */
interface TemplateResource {
  readonly Type: string;
  readonly Properties: { readonly UserName?: string; readonly Description?: string; readonly Code?: { readonly S3Key: string } };
}

interface SynthesizedApp {
  readonly customResourceUsers: string[];
  /** Files of the Lambda asset the handler function deploys, relative to the asset directory. */
  readonly handlerAssetFiles: string[];
  readonly handlerAssetDir: string;
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory()
      ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`]))
    .sort();
}

/** Reads what `cdk synth` left in cdk.out: the custom resources and the handler function's code asset. */
function readAssembly(appDir: string): SynthesizedApp {
  const out = path.join(appDir, 'cdk.out');
  const template = JSON.parse(fs.readFileSync(path.join(out, `${STACK}.template.json`), 'utf8'));
  const resources = Object.values(template.Resources) as TemplateResource[];
  const customResourceUsers = resources
    .filter((resource) => resource.Type === 'Custom::SesSmtpCredentials')
    .map((resource) => resource.Properties.UserName ?? '(none)')
    .sort();
  const handlers = resources.filter((resource) => resource.Type === 'AWS::Lambda::Function'
    && resource.Properties.Description?.startsWith('Custom::SesSmtpCredentials'));
  expect(handlers).toHaveLength(1);
  const objectKey = handlers[0].Properties.Code!.S3Key;
  const manifest = JSON.parse(fs.readFileSync(path.join(out, `${STACK}.assets.json`), 'utf8'));
  const asset = manifest.files[objectKey.replace(/\.zip$/, '')];
  expect(asset.source.packaging).toBe('zip');
  const handlerAssetDir = path.join(out, asset.source.path);
  return { customResourceUsers, handlerAssetDir, handlerAssetFiles: listFiles(handlerAssetDir) };
}

/**
 * The self-contained stack inlines the handler the installed package holds:
 * the same bundle this repository's lib/handler gives, with no asset.
 */
function expectInlineHandler(appDir: string): void {
  const out = path.join(appDir, 'cdk.out');
  const template = JSON.parse(fs.readFileSync(path.join(out, `${SELF_CONTAINED_STACK}.template.json`), 'utf8'));
  expect(inlineCodeOf(template)).toBe(bundleHandler(HANDLER_DIR));
  expect(Object.keys(template)).toEqual(['Resources']);
  expect(fs.existsSync(path.join(out, `${SELF_CONTAINED_STACK}.assets.json`))
    ? Object.keys(JSON.parse(fs.readFileSync(path.join(out, `${SELF_CONTAINED_STACK}.assets.json`), 'utf8')).files ?? {})
    : []).toEqual([]);
}

/** The synthesized app deploys the handler exactly as it is in lib/handler, and nothing beside it. */
function expectHandlerAsset(app: SynthesizedApp): void {
  expect(app.handlerAssetFiles).toEqual(HANDLER_JS);
  for (const name of HANDLER_JS) {
    expect({ name, same: fs.readFileSync(path.join(app.handlerAssetDir, name)).equals(fs.readFileSync(path.join(HANDLER_DIR, name))) })
      .toEqual({ name, same: true });
  }
}

describe('the npm package', () => {
  let work: string;
  let packed: { filename: string; shasum: string; files: Array<{ path: string }> };
  let pacmakTarball: string;
  let appsDir: string;
  let minimumDir: string;
  let installs: { apps: RunResult; minimum: RunResult };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-package-'));
    // An empty destination outside the repository: npm would pack a tarball
    // lying in the package folder into the next tarball.
    const packDir = path.join(work, 'pack');
    fs.mkdirSync(packDir);
    const pack = await run('npm', ['pack', '--pack-destination', packDir, '--json', '--loglevel=error'], ROOT);
    expect(outcome(pack)).toEqual(SUCCESS);
    [packed] = JSON.parse(pack.stdout);
    const tarball = path.join(packDir, packed.filename);

    // jsii-pacmak's js target packs the assembly the pack above just built
    // (`npm run package:js` without its build step); prepack need not run again.
    const pacmakDir = path.join(work, 'pacmak');
    const pacmak = await run(bin(ROOT, 'jsii-pacmak'), ['--targets', 'js', '--no-npmignore', '--outdir', pacmakDir], ROOT, '',
      { ...ENV, npm_config_ignore_scripts: 'true' });
    expect(outcome(pacmak)).toEqual(SUCCESS);
    [pacmakTarball] = fs.readdirSync(path.join(pacmakDir, 'js')).map((name) => path.join(pacmakDir, 'js', name));

    appsDir = path.join(work, 'apps');
    fs.mkdirSync(appsDir);
    writeJson(path.join(appsDir, 'package.json'), { private: true, workspaces: ['ts-app', 'js-app'] });
    for (const [name, dev] of [['ts-app', { typescript: VERSIONS.typescript }], ['js-app', {}]] as const) {
      fs.mkdirSync(path.join(appsDir, name));
      writeJson(path.join(appsDir, name, 'package.json'), appPackage(name, tarball, VERSIONS, dev));
    }
    fs.writeFileSync(path.join(appsDir, 'ts-app', 'app.ts'), TS_APP);
    writeJson(path.join(appsDir, 'ts-app', 'tsconfig.json'), TS_CONFIG);
    writeJson(path.join(appsDir, 'ts-app', 'cdk.json'), CDK_JSON('node app.js'));
    fs.writeFileSync(path.join(appsDir, 'js-app', 'app.js'), JS_APP);
    writeJson(path.join(appsDir, 'js-app', 'cdk.json'), CDK_JSON('node app.js'));

    minimumDir = path.join(work, 'minimum-app');
    fs.mkdirSync(minimumDir);
    writeJson(path.join(minimumDir, 'package.json'),
      appPackage('minimum-app', pacmakTarball, { awsCdkLib: LOWEST_AWS_CDK_LIB, constructs: LOWEST_CONSTRUCTS }, {}));
    fs.writeFileSync(path.join(minimumDir, 'app.js'), JS_APP);
    writeJson(path.join(minimumDir, 'cdk.json'), CDK_JSON('node app.js'));

    const [apps, minimum] = await Promise.all([install(appsDir), install(minimumDir)]);
    installs = { apps, minimum };
  }, 300_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('holds exactly the compiled library, its declarations, the jsii assembly, the handler, and the documentation a user reads: README, docs/, API.md, LICENSE and CHANGELOG', () => {
    const libSources = fs.readdirSync(path.join(ROOT, 'lib')).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'));
    const copied = (folder: string, endings: string[]) => fs.readdirSync(path.join(ROOT, 'lib', folder))
      .filter((name) => endings.some((ending) => name.endsWith(ending)))
      .map((name) => `dist/${folder}/${name}`);
    // docs/*.md ship so that the README's links resolve inside node_modules; docs/cli.md only holds the CLI's
    // manual until packages/cli/README.md carries it, and is not for users of this package.
    const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((name) => name.endsWith('.md') && name !== 'cli.md').map((name) => `docs/${name}`);
    const expected = [
      'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'API.md', '.jsii', '.jsii.gz', ...docs,
      ...libSources.flatMap((name) => [`dist/${name.replace(/\.ts$/, '.js')}`, `dist/${name.replace(/\.ts$/, '.d.ts')}`]),
      ...copied('handler', ['.js', '.d.ts']),
    ];

    expect(packed.files.map((file) => file.path).sort()).toEqual(expected.sort());
    expect(packed.files.map((file) => file.path)).toEqual(expect.arrayContaining([OWN.main, OWN.types]));
  });

  test('the tarball jsii-pacmak makes for npm is byte for byte the one npm pack makes', () => {
    const sha1 = crypto.createHash('sha1').update(fs.readFileSync(pacmakTarball)).digest('hex');

    expect({ tarball: path.basename(pacmakTarball), sha1 }).toEqual({ tarball: `${OWN.name}@${OWN.version}.jsii.tgz`, sha1: packed.shasum });
  });

  test('installs into fresh apps on the aws-cdk-lib it is developed with and on the lowest one it allows', () => {
    expect({ apps: outcome(installs.apps), minimum: outcome(installs.minimum) }).toEqual({ apps: SUCCESS, minimum: SUCCESS });
    expect(installedVersion('aws-cdk-lib', minimumDir)).toBe(LOWEST_AWS_CDK_LIB);
  });

  test('a TypeScript app type-checks against the shipped declarations and synthesizes', async () => {
    const appDir = path.join(appsDir, 'ts-app');

    expect(outcome(await run(bin(appsDir, 'tsc'), ['-p', '.'], appDir))).toEqual(SUCCESS);
    expect(outcome(await synth(appsDir, appDir))).toEqual(SUCCESS);

    const app = readAssembly(appDir);
    expect(app.customResourceUsers).toEqual(['automation-mailer', 'legacy-mail-relay']);
    expectHandlerAsset(app);
  });

  test('a plain JavaScript app synthesizes', async () => {
    const appDir = path.join(appsDir, 'js-app');

    expect(outcome(await synth(appsDir, appDir))).toEqual(SUCCESS);

    const app = readAssembly(appDir);
    expect(app.customResourceUsers).toEqual(['automation-mailer', 'legacy-mail-relay']);
    expectHandlerAsset(app);
    expectInlineHandler(appDir);
  });

  test(`a JavaScript app on the lowest allowed aws-cdk-lib (${LOWEST_AWS_CDK_LIB}), from the jsii-pacmak tarball, synthesizes`, async () => {
    expect(outcome(await synth(minimumDir, minimumDir))).toEqual(SUCCESS);

    const app = readAssembly(minimumDir);
    expect(app.customResourceUsers).toEqual(['automation-mailer', 'legacy-mail-relay']);
    expectHandlerAsset(app);
    expectInlineHandler(minimumDir);
  });

  test('brings no command and no AWS SDK into the app: the CLI is its own package', () => {
    const installed = JSON.parse(fs.readFileSync(path.join(appsDir, 'node_modules', OWN.name, 'package.json'), 'utf8'));

    expect(installed.bin).toBeUndefined();
    expect(Object.keys({ ...installed.dependencies, ...installed.peerDependencies }).filter((name) => name.startsWith('@aws-sdk/'))).toEqual([]);
    expect(fs.existsSync(path.join(appsDir, 'node_modules', '.bin', 'ses-smtp-credentials'))).toBe(false);
  });
});
