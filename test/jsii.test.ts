/**
 * The public API stays jsii-compatible (multi-language publishing comes
 * later): a copy of lib/ compiles with jsii, and the assembly holds every
 * class, interface and enum that lib/index.ts exports, plus jsii-callable
 * forms (SmtpPassword, SmtpEndpoints) of the free function and the table.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

test('lib/ compiles with jsii into an assembly with the whole public API', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-jsii-'));
  try {
    fs.cpSync(path.join(ROOT, 'lib'), path.join(work, 'lib'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'README.md'), path.join(work, 'README.md'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');
    const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({
      name: own.name,
      version: own.version,
      description: own.description,
      license: own.license,
      author: { name: 'ses-smtp-credentials maintainers', roles: ['author'] },
      repository: { type: 'git', url: 'https://example.invalid/ses-smtp-credentials.git' },
      main: 'lib/index.js',
      types: 'lib/index.d.ts',
      // jsii wants the devDependency to be the lowest version the peer range
      // allows (warning JSII6). The real range starts lower than the version
      // developed with; test/package.test.ts synthesizes against its lowest.
      peerDependencies: { 'aws-cdk-lib': `^${own.devDependencies['aws-cdk-lib']}`, constructs: own.peerDependencies.constructs },
      devDependencies: { 'aws-cdk-lib': own.devDependencies['aws-cdk-lib'], constructs: own.devDependencies.constructs },
      jsii: { outdir: 'dist', targets: {} },
    }));

    const jsii = spawnSync(process.execPath, [require.resolve('jsii/bin/jsii')], { cwd: work, encoding: 'utf8', timeout: 55_000 });

    expect({ status: jsii.status, errors: `${jsii.stdout}${jsii.stderr}`.split('\n').filter((l) => /error|warning JSII/.test(l)) })
      .toEqual({ status: 0, errors: [] });
    const assembly = JSON.parse(fs.readFileSync(path.join(work, '.jsii'), 'utf8'));
    expect(Object.keys(assembly.types).sort()).toEqual([
      'AccessKeySource', 'AccessKeySourceFields', 'SesSmtpUser', 'SesSmtpUserProps', 'SmtpEndpoints', 'SmtpPassword', 'SmtpRegionSupport',
    ].map((t) => `${own.name}.${t}`));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 60_000);
