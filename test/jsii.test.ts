/**
 * The package is a jsii package, built from the real package.json: the build
 * (`npm run build`, which is jsii plus the handler copy) succeeds with no
 * warning, the assembly holds the whole public API and none of the CLI's
 * dependencies, jsii-pacmak generates Python, Java, .NET and Go sources for
 * the construct, and the checked-in API.md is what jsii-docgen makes of the
 * current JSDoc (API.md is not in the tarball: it is read on GitHub, and
 * Construct Hub renders its own).
 *
 * All of it runs on a copy of the checkout (the files git tracks or would
 * track, so test/, scripts/ and bin/ are there for `excludeTypescript` to
 * leave out), sharing this repository's node_modules. The checkout's own
 * dist/ is left to test/package.test.ts, which may run at the same time.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

// Under load the build alone (jsii) takes 30-45 s; pacmak about 6 s, docgen about 9 s.
jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..');
const OWN = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
/** The Go package jsii derives from the npm name when `targets.go.packageName` is not set. */
const GO_PACKAGE = OWN.name.replace(/-/g, '');

interface RunResult {
  readonly status: number | null;
  readonly output: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Status and, on failure, the output, so that a failed step shows why. */
function outcome(result: RunResult): RunResult {
  return { status: result.status, output: result.status === 0 ? '' : result.output };
}
const SUCCESS = { status: 0, output: '' };

/** The files of the checkout as a clean clone would have them (tracked, plus new files not ignored). */
async function checkoutFiles(): Promise<string[]> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT);
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.output}`);
  return listed.output.split('\0').filter((file) => file !== '' && fs.existsSync(path.join(ROOT, file)));
}

/** A jsii assembly as read from `.jsii`, following the pointer to `.jsii.gz` if it is one. */
interface Assembly {
  readonly name: string;
  readonly dependencies: Record<string, string>;
  readonly targets: Record<string, unknown>;
  readonly types: Record<string, { readonly kind: string; readonly datatype?: boolean }>;
}

function readAssembly(dir: string): Assembly {
  const file = JSON.parse(fs.readFileSync(path.join(dir, '.jsii'), 'utf8'));
  if (file.schema !== 'jsii/file-redirect') return file;
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, file.filename))).toString('utf8'));
}

describe('the jsii package', () => {
  let work: string;
  let build: RunResult;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-jsii-'));
    for (const file of await checkoutFiles()) {
      fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(work, file));
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');

    build = await run(process.execPath, [path.join(work, 'scripts', 'build.js')], work);
  }, 180_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('builds from the real package.json with no jsii error or warning', () => {
    // The build passes --fail-on-warnings; the output is shown if it fails.
    expect(outcome(build)).toEqual(SUCCESS);
  });

  test('the assembly holds every class, interface and enum of the public API, under their names', () => {
    const assembly = readAssembly(work);
    const kinds = Object.fromEntries(Object.entries(assembly.types)
      .map(([fqn, type]) => [fqn, type.datatype ? 'struct' : type.kind]));

    // Free functions and constants are TypeScript-only; SmtpPassword and
    // SmtpEndpoints are their jsii-callable forms.
    expect(kinds).toEqual(Object.fromEntries(Object.entries({
      AccessKeySource: 'class',
      AccessKeySourceFields: 'struct',
      HandlerCode: 'enum',
      ISesSmtpUser: 'interface',
      RequestVerification: 'enum',
      SesSmtpUser: 'class',
      SesSmtpUserProps: 'struct',
      SmtpEndpoints: 'class',
      SmtpPassword: 'class',
      SmtpRegionSupport: 'enum',
    }).map(([name, kind]) => [`${OWN.name}.${name}`, kind])));
  });

  test('the assembly depends on aws-cdk-lib and constructs only, and declares all four other languages', () => {
    const assembly = readAssembly(work);

    expect(assembly.dependencies).toEqual(OWN.peerDependencies);
    expect(Object.keys(assembly.targets).sort()).toEqual(['dotnet', 'go', 'java', 'js', 'python']);
  });

  test('jsii-pacmak --code-only generates SesSmtpUser in Python, Java, .NET and Go', async () => {
    const out = path.join(work, 'pacmak');
    const { python, java, dotnet } = OWN.jsii.targets;
    // Where each language's source for SesSmtpUser lands, from the targets in package.json.
    const expected = {
      python: [`python/src/${python.module}/__init__.py`, /^class SesSmtpUser\(/m],
      java: [`java/src/main/java/${java.package.replace(/\./g, '/')}/SesSmtpUser.java`, /^public class SesSmtpUser extends software\.constructs\.Construct/m],
      dotnet: [`dotnet/${dotnet.packageId}/${dotnet.namespace}/SesSmtpUser.cs`, /public class SesSmtpUser : Constructs\.Construct/],
      go: [`go/${GO_PACKAGE}/SesSmtpUser.go`, /^func NewSesSmtpUser\(scope constructs\.Construct, id \*string, props \*SesSmtpUserProps\)/m],
    } as const;

    // pacmak packs the npm tarball first; the build above already ran, so prepack must not run again.
    const pacmak = await run(path.join(work, 'node_modules', '.bin', 'jsii-pacmak'),
      ['--code-only', '--targets', 'python', 'java', 'dotnet', 'go', '--no-npmignore', '--outdir', out], work, { npm_config_ignore_scripts: 'true' });

    expect(outcome(pacmak)).toEqual(SUCCESS);
    for (const [language, [file, declaration]] of Object.entries(expected)) {
      const source = path.join(out, file);
      expect({ language, file, declared: fs.existsSync(source) && declaration.test(fs.readFileSync(source, 'utf8')) })
        .toEqual({ language, file, declared: true });
    }
  });

  test('API.md is what jsii-docgen makes of the current JSDoc (run `npm run docgen` if not)', async () => {
    const fresh = path.join(work, 'API.fresh.md');

    const docgen = await run(path.join(work, 'node_modules', '.bin', 'jsii-docgen'), ['--output', fresh], work);

    expect(outcome(docgen)).toEqual(SUCCESS);
    expect(fs.readFileSync(path.join(ROOT, 'API.md'), 'utf8')).toBe(fs.readFileSync(fresh, 'utf8'));
  });
});
