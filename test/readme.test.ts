/**
 * The documentation tells the truth: the README, CONTRIBUTING.md, the pages in
 * docs/ and the CLI's manual. Its examples use only the fields the handler
 * writes, every example is run or checked here (or says that it needs a real
 * account), its links resolve, and it documents every prop, CLI format and
 * exit code there is.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FORMATS } from '../packages/cli/lib/formats';
import { EXIT } from '../packages/cli/lib/cli';
import { desiredSettings } from '../packages/cli/lib/postfix';
import { ISSUED_BY_FIELD, SECRET_FIELDS, USER_FIELD, renderSecret } from '../lib/handler/model';
import { CUSTOM_RESOURCE_TYPE, deriveSmtpPassword } from '../lib';
import { FakeSes, startFakeSes } from './support/fake-ses-smtp';
import { Moto, motoClientConfig, startMoto } from './support/moto';
import { makeCertificate } from './support/postfix';
import { POSTFIX_INSTALL_COMMAND, PYTHON_INSTALL_COMMAND, testPython } from './support/prerequisites';
import {
  ALL_DOCS, BlockId, CLI_MANUAL, CodeBlock, DOCS, DOC_FILES, EXERCISED, NOT_RUN, README, ROOT, blocksCheckedElsewhere, blocksOf, codeBlocks, matching, readmeBlock,
} from './support/readme';
import { Snippet, isProgram, synthesizeSnippet, typeCheck } from './support/ts-snippets';

/** The fields of a value whose key the handler created, as issuing.js and rotation.js render it (the README's example). */
const handlerFields = Object.keys(JSON.parse(renderSecret('AKIAIOSFODNN7EXAMPLE', 'pw', { region: 'eu-west-1', host: 'h', port: 587, secretArn: 'arn' }, true, 'legacy-mail-relay')));
const OWN = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const CLI = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', 'cli', 'package.json'), 'utf8'));

/** The section of a markdown text under a heading, up to the next heading of the same or a higher level. */
function sectionOf(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^(#{1,6}) ${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`).test(l));
  if (start < 0) throw new Error(`no section '${heading}'`);
  const level = /^#+/.exec(lines[start])![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#{1,6} /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** Every secret field an example reads, by the syntax each consumer uses. */
function fieldsUsedByExamples(): string[] {
  const patterns = [
    /fromSecretsManager\([^,]+,\s*'(\w+)'\)/g, // ECS
    /property:\s*(\w+)/g, // External Secrets
    /jq -r '?\.(\w+)/g, // AWS CLI + jq
    /\\\(\.(\w+)\)/g, // jq string interpolation
  ];
  const jsFields = [...readmeBlock('node-app').text.matchAll(/smtp\.(\w+)/g)].map((m) => m[1]); // JS reading the parsed JSON
  expect(jsFields.length).toBeGreaterThan(0);
  return [...patterns.flatMap((re) => [...ALL_DOCS.matchAll(re)].map((m) => m[1])), ...jsFields];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2, … */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const block of markdown.split(/^```[\s\S]*?^```$/m)) {
    for (const [, text] of block.matchAll(/^#{1,6} (.+)$/gm)) {
      const slug = text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
      const n = seen.get(slug) ?? 0;
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
      seen.set(slug, n + 1);
    }
  }
  return anchors;
}

describe('the documentation', () => {
  test('the documented secret example has exactly the fields the handler writes', () => {
    const block = readmeBlock('secret').text;

    expect(Object.keys(JSON.parse(block))).toEqual(handlerFields);
    expect(handlerFields).toEqual([...SECRET_FIELDS, USER_FIELD, ISSUED_BY_FIELD]);
  });

  test('every consumer example reads only fields the handler writes, and together they use all of them', () => {
    const used = fieldsUsedByExamples();

    expect(used.length).toBeGreaterThanOrEqual(12);
    expect(used.filter((f) => !handlerFields.includes(f))).toEqual([]);
    expect(new Set(used)).toEqual(new Set(['username', 'password', 'host', 'port']));
  });

  test('documents every SesSmtpUserProps property', () => {
    const source = fs.readFileSync(path.join(ROOT, 'lib', 'ses-smtp-user.ts'), 'utf8');
    const body = /export interface SesSmtpUserProps \{([\s\S]*?)\n\}/.exec(source)![1];
    const props = [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]);

    expect(props.length).toBeGreaterThanOrEqual(15);
    for (const prop of props) expect(ALL_DOCS).toContain(`| \`${prop}\` |`);
  });

  test(`the CLI's manual (${CLI_MANUAL}) documents every CLI format and exit code`, () => {
    const manual = DOCS[CLI_MANUAL];

    for (const format of Object.keys(FORMATS)) expect(manual).toContain(`| \`${format}\` |`);
    for (const code of Object.values(EXIT)) expect(manual).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });

  test('the CLI\'s manual lists exactly the main.cf keys sync sets, and every CLI install names the CLI package\'s version', () => {
    const keys = desiredSettings({ username: 'u', password: 'p', host: 'h', port: 465, region: 'eu-west-1' }, { passwordMap: 'hash:x', caFile: 'ca' }).map(([key]) => key);
    const table = /^ {0,3}\| key \| value \|\n {0,3}\|---\|---\|\n((?: {0,3}\|.*\n)+)/m.exec(DOCS[CLI_MANUAL]);
    const documented = [...(table?.[1] ?? '').matchAll(/^ {0,3}\| `(\w+)` \|/gm)].map((m) => m[1]);
    const installs = [
      ...[...ALL_DOCS.matchAll(/\bses-smtp-credentials-cli@([^\s`]+)/g)].map((m) => m[1]),
      ...[...ALL_DOCS.matchAll(/\bses-smtp-credentials-cli-(\d[^\s`/]*?)\.tgz/g)].map((m) => m[1]),
    ];

    expect(documented).toEqual(keys);
    expect(installs.length).toBeGreaterThanOrEqual(1);
    expect(new Set(installs)).toEqual(new Set([CLI.version]));
  });

  test('the set-up blocks are the two commands, and .ci/run runs exactly those and installs nothing itself', () => {
    const commandsOf = (block: CodeBlock) => block.text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    const commands = commandsOf(readmeBlock('set-up'));
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    const ciCommands = ci.split('\n').filter((l) => !l.trim().startsWith('#'))
      .filter((l) => /\b(npm|npx|pip3?|python3?|apt-get|apt|debconf-set-selections|dnf|yum)\b/.test(l));

    expect(commands).toEqual(['npm ci && npx cdk synth', 'npm test']);
    expect(commandsOf(readmeBlock('contributing-set-up'))).toEqual(commands);
    expect(ciCommands).toHaveLength(2);
    expect(ciCommands[0]).toContain(`(${commands[0]})`);
    expect(ciCommands[1]).toMatch(/^npm test -- --json --outputFile=\S+ 2>&1$/); // jest's own options only
  });

  test('CONTRIBUTING documents the exact install commands the tests print when a prerequisite is missing', () => {
    expect(DOCS['CONTRIBUTING.md']).toContain(`\`${PYTHON_INSTALL_COMMAND}\``);
    expect(DOCS['CONTRIBUTING.md']).toContain(`\`${POSTFIX_INSTALL_COMMAND}\``);
  });

  test('CONTRIBUTING\'s commands name test files, npm scripts and bench selections that exist', () => {
    const text = `${readmeBlock('one-test').text}${readmeBlock('bench-commands').text}`;
    const runner = fs.readFileSync(path.join(ROOT, 'scripts', 'bench', 'run.ts'), 'utf8');
    const testFiles = [...text.matchAll(/npx jest (test\/\S+\.test\.ts)/g)].map((m) => m[1]);
    const scripts = [...text.matchAll(/npm run (\S+)/g)].map((m) => m[1]);
    const selections = [...text.matchAll(/BENCH_ONLY=(\S+)/g)].map((m) => m[1]);

    expect(testFiles.length).toBeGreaterThanOrEqual(2);
    for (const file of testFiles) expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const script of scripts) expect(Object.keys(OWN.scripts)).toContain(script);
    expect(selections.length).toBeGreaterThanOrEqual(3);
    for (const only of selections) expect(runner).toContain(`process.env.BENCH_ONLY === '${only}'`);
    const named = [...text.matchAll(/npx jest (\S+) -t '([^']+)'/g)];
    expect(named.length).toBeGreaterThanOrEqual(1);
    for (const [, file, name] of named) expect(fs.readFileSync(path.join(ROOT, file), 'utf8')).toContain(name);
  });

  test('the Install block builds this package\'s tarball with npm pack and installs that file; the CLI is named as its own package', () => {
    const install = sectionOf(README, 'Install');
    const block = readmeBlock('install').text;
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    const tarball = JSON.parse(pack.stdout)[0].filename;

    expect(tarball).toBe(`${OWN.name}-${OWN.version}.tgz`);
    expect(block).toMatch(/^npm ci && npm pack\b/m);
    expect(block).toMatch(new RegExp(`npm install \\S+/${tarball.replace(/\./g, '\\.')}\\s`));
    expect(install).toContain(`npm install ${OWN.name}\``); // the command once it is published
    expect(install).toContain(CLI.name);
    expect(install).toContain('(packages/cli/README.md)');
    expect(install).not.toMatch(/comes with the\s+package/);
    expect(Object.keys(CLI.dependencies)).toContain('@aws-sdk/client-secrets-manager');
  }, 60_000);

  test('the status line says that nothing is published and that repository and author name a placeholder', () => {
    const status = README.slice(0, README.indexOf('## Install'));

    expect(status).toMatch(/not published yet/);
    expect(status).toContain('E404');
    expect(status).toContain('`npm pack`');
    expect(OWN.repository.url).toContain('github.com/ses-smtp-credentials/');
    expect(status).toContain('placeholder GitHub organisation, `github.com/ses-smtp-credentials`');
  });

  test('every relative link and #anchor in the documentation resolves in the repository', () => {
    const own = [...DOC_FILES.filter((f) => f !== 'packages/cli/README.md'), 'CHANGELOG.md'];
    const broken: string[] = [];
    let checked = 0;
    for (const file of own) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        checked++;
        const [where, anchor] = target.split('#');
        const resolved = where ? path.join(path.dirname(path.join(ROOT, file)), where) : path.join(ROOT, file);
        if (!fs.existsSync(resolved)) { broken.push(`${file}: ${target} (no such file)`); continue; }
        if (anchor && !anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }

    expect(checked).toBeGreaterThanOrEqual(40);
    expect(broken).toEqual([]);
  });

  test('the link check knows GitHub\'s anchors', () => {
    expect(anchorsOf('# Refreshing consumers: `onRotated`\n## A, b\n## A, b\n```sh\n# not a heading\n```\n'))
      .toEqual(new Set(['refreshing-consumers-onrotated', 'a-b', 'a-b-1']));
  });

  test('the README is one sitting long, and is modelled on a module README: no contributor set-up before its Quick start', () => {
    const lines = README.split('\n').length;

    expect(lines).toBeLessThanOrEqual(300);
    expect(README.indexOf('## Quick start')).toBeLessThan(README.indexOf('## Developing this library'));
    expect(README).not.toMatch(/^#+ The CLI/m);
  });

  test('the troubleshooting table quotes only reasons the handler can give', () => {
    const handler = fs.readdirSync(path.join(ROOT, 'lib', 'handler')).filter((f) => f.endsWith('.js'))
      .map((f) => fs.readFileSync(path.join(ROOT, 'lib', 'handler', f), 'utf8')).join('\n');
    const table = sectionOf(README, 'Troubleshooting');
    const quoted = [...table.matchAll(/^\| ([^|]+) \|/gm)].slice(1)
      .flatMap(([, cell]) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]));

    expect(quoted.length).toBeGreaterThanOrEqual(15);
    expect(quoted.filter((phrase) => !handler.includes(phrase))).toEqual([]);
  });
});

describe('the documentation\'s code blocks', () => {
  test('every block is run or checked by a test, or says what it needs and that it is not run', () => {
    const blocks = codeBlocks();
    const claimed = new Set([
      ...(Object.keys(EXERCISED) as BlockId[]).flatMap((id) => matching(id, blocks)),
      ...blocks.filter((b) => b.lang === 'ts'), // all type-checked and synthesized below
    ]);
    const unaccounted = blocks
      .filter((b) => !claimed.has(b) && !NOT_RUN.test(b.text.split('\n')[0]) && !blocksCheckedElsewhere(b.file))
      .map((b) => `${b.file}:${b.line} (${b.lang}, section '${b.section}')`);

    expect(blocks.length).toBeGreaterThanOrEqual(25);
    expect(unaccounted).toEqual([]);
  });

  test.each(Object.keys(EXERCISED) as BlockId[])('block %s is found exactly once, and its test file uses it', (id) => {
    const block = readmeBlock(id);
    const testSource = fs.readFileSync(path.join(__dirname, EXERCISED[id].testFile), 'utf8');

    expect(NOT_RUN.test(block.text.split('\n')[0])).toBe(false);
    expect(testSource).toContain(`'${id}'`);
  });

  test('a block a reader is told not to run says so on its first line', () => {
    const blocks = blocksOf('x.md', '```sh\n# Needs a real AWS account; not run by the tests.\nnpx cdk deploy\n```\n```sh\nnpx cdk deploy\n```\n');

    expect(blocks.map((b) => NOT_RUN.test(b.text.split('\n')[0]))).toEqual([true, false]);
  });
});

describe('the TypeScript examples', () => {
  const blocks = codeBlocks().filter((b) => b.lang === 'ts' && !NOT_RUN.test(b.text.split('\n')[0]));
  const snippets: Snippet[] = blocks.map((b) => ({ name: `${b.file}:${b.line}`, code: b.text, file: b.file, line: b.line }));
  const snippet = (id: BlockId): Snippet => snippets.find((s) => s.name === `${readmeBlock(id).file}:${readmeBlock(id).line}`)!;

  test('there are TypeScript examples in the README and in docs/, and the Quick start is a whole program', () => {
    expect([...new Set(blocks.map((b) => b.file.replace(/\/.*/, '/')))]).toEqual(expect.arrayContaining(['README.md', 'docs/']));
    expect(snippets.length).toBeGreaterThanOrEqual(10);
    expect(isProgram(snippet('quick-start').code)).toBe(true);
  });

  test('every one type-checks against this library and aws-cdk-lib, as shown', () => {
    expect(typeCheck(snippets)).toEqual([]);
  }, 120_000);

  test('a block that misuses the API, or uses a name it neither imports nor declares, fails at its line: nothing is supplied behind the reader\'s back', () => {
    const misuse = "import * as iam from 'aws-cdk-lib/aws-iam';\nimport { SesSmtpUser } from 'ses-smtp-credentials';\n\n"
      + "declare const user: iam.IUser;\n\nnew SesSmtpUser(this, 'Smtp', { user, port: '587' });\n";
    const undeclared = "new SesSmtpUser(this, 'Smtp', { user });\nsmtp.grantRead(relayHostRole);\n";

    expect(typeCheck([
      { name: 'docs/x.md:100', code: misuse, file: 'docs/x.md', line: 100 },
      { name: 'docs/y.md:10', code: undeclared, file: 'docs/y.md', line: 10 },
    ])).toEqual([
      expect.stringMatching(/^docs\/x\.md:105: Type 'string' is not assignable to type 'number'/),
      "docs/y.md:10: Cannot find name 'SesSmtpUser'.",
      "docs/y.md:10: No value exists in scope for the shorthand property 'user'. Either declare one or provide an initializer.",
      "docs/y.md:11: Cannot find name 'smtp'.",
      "docs/y.md:11: Cannot find name 'relayHostRole'.",
    ]);
  }, 120_000);

  test.each(snippets.map((s) => [s.name, s] as const))('%s synthesizes a stack with SES SMTP credentials', (_name, s) => {
    const stacks = synthesizeSnippet(s);

    const resources = stacks.flatMap((stack) => Object.keys(Template.fromStack(stack).findResources(CUSTOM_RESOURCE_TYPE)));
    expect(resources.length).toBeGreaterThanOrEqual(1);
  });

  test('the Quick start deploys to a named account and region, lets a role read the secret, and outputs the secret\'s ARN', () => {
    const [stack] = synthesizeSnippet(snippet('quick-start'));
    const template = Template.fromStack(stack);

    expect({ account: stack.account, region: stack.region }).toEqual({ account: '111122223333', region: 'eu-west-1' });
    const [secretId] = Object.keys(template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: 'smtp/eu-west-1' } }));
    expect(template.findOutputs('SmtpSecretArn')).toEqual({ SmtpSecretArn: { Value: { Ref: secretId } } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^RelayHostRole') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: secretId } })]) },
    });
  });

  test('a program in the documentation is run as a whole, and its stacks are found', () => {
    const code = "import { App, Stack } from 'aws-cdk-lib';\nconst app = new App();\nnew Stack(app, 'One');\nnew Stack(app, 'Two');\n";

    expect(synthesizeSnippet({ name: 'x', code, file: 'x.md', line: 1 }).map((s: Stack) => s.stackName)).toEqual(['One', 'Two']);
  });

  test('the ECS example passes all four fields to the container as secrets', () => {
    const [stack] = synthesizeSnippet(snippet('ecs'));

    const [task] = Object.values(Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition'));
    const names = task.Properties.ContainerDefinitions[0].Secrets.map((s: { Name: string }) => s.Name);
    expect(names).toEqual(['SMTP_USERNAME', 'SMTP_PASSWORD', 'SMTP_HOST', 'SMTP_PORT']);
  });
});

describe('the Node.js example', () => {
  let moto: Moto;
  let iam: IAMClient;
  let secrets: SecretsManagerClient;
  let ses: FakeSes;
  let certDir: string;
  let caFile: string;

  beforeAll(async () => {
    moto = await startMoto();
    iam = new IAMClient(motoClientConfig(moto, 'us-east-1'));
    secrets = new SecretsManagerClient(motoClientConfig(moto));
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-cert-'));
    const cert = makeCertificate(certDir);
    caFile = cert.caFile;
    ses = await startFakeSes('eu-west-1', moto.endpoint, iam, { tls: { key: cert.key, cert: cert.cert } });
  }, 60_000);
  afterAll(async () => {
    await ses?.stop();
    await moto?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  /** Runs the documentation's file as its own Node.js process, from the repository root (its require()s resolve there). */
  function runExample(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '',
          AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing',
          AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          NODE_EXTRA_CA_CERTS: caFile, // trusts the local server's certificate for 'localhost'
          ...env,
        },
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c) => { stderr += c; });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
      child.stdin.end(readmeBlock('node-app').text);
    });
  }

  test('reads the secret and sends the mail over STARTTLS, logged in with the secret\'s credentials', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'app-mailer' }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'app-mailer' }))).AccessKey!;
    const password = deriveSmtpPassword(key.SecretAccessKey!, 'eu-west-1');
    const secret = await secrets.send(new CreateSecretCommand({
      Name: 'smtp/eu-west-1',
      SecretString: renderSecret(key.AccessKeyId!, password, { region: 'eu-west-1', host: 'localhost', port: ses.port, secretArn: 'arn' }),
    }));

    const run = await runExample({ SMTP_SECRET_ARN: secret.ARN! });

    expect(run).toEqual({ code: 0, stderr: '' });
    expect(ses.received).toHaveLength(1);
    expect(ses.received[0]).toMatchObject({ from: 'app@example.com', to: ['ops@example.com'], user: key.AccessKeyId, overTls: true });
    expect(ses.received[0].data).toContain('Subject: Hello');
  });

  test('exits non-zero and prints the error when the secret cannot be read', async () => {
    const run = await runExample({ SMTP_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf' });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ResourceNotFoundException');
  });
});

/**
 * The part of External Secrets Operator's ExternalSecret schema, version v1,
 * that the example can touch, as the CRD externalsecrets.external-secrets.io
 * declares it (config/crds/bases in the external-secrets repository, read
 * 2026-12-07). v1 is served from v0.16; v0.17 stopped serving v1beta1.
 * Fields of the CRD that are not listed here are reported as not modelled.
 */
type SchemaNode =
  | { type: 'object'; properties: Record<string, SchemaNode>; required?: string[] }
  | { type: 'array'; items: SchemaNode }
  | { type: 'string'; pattern?: RegExp; enum?: string[] }
  | { type: 'boolean' };
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ESO_V1_SPEC: SchemaNode = {
  type: 'object',
  properties: {
    secretStoreRef: {
      type: 'object',
      properties: {
        name: { type: 'string', pattern: DNS_SUBDOMAIN },
        kind: { type: 'string', enum: ['SecretStore', 'ClusterSecretStore'] },
      },
    },
    target: {
      type: 'object',
      properties: {
        name: { type: 'string', pattern: DNS_SUBDOMAIN },
        creationPolicy: { type: 'string', enum: ['Owner', 'Orphan', 'Merge', 'None'] },
        deletionPolicy: { type: 'string', enum: ['Delete', 'Merge', 'Retain'] },
        immutable: { type: 'boolean' },
      },
    },
    refreshInterval: { type: 'string' },
    refreshPolicy: { type: 'string', enum: ['CreatedOnce', 'Periodic', 'OnChange'] },
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['secretKey', 'remoteRef'],
        properties: {
          secretKey: { type: 'string', pattern: /^[-._a-zA-Z0-9]+$/ },
          remoteRef: {
            type: 'object',
            required: ['key'],
            properties: {
              key: { type: 'string' },
              property: { type: 'string' },
              version: { type: 'string' },
              conversionStrategy: { type: 'string', enum: ['Default', 'Unicode'] },
              decodingStrategy: { type: 'string', enum: ['Auto', 'Base64', 'Base64URL', 'None'] },
              metadataPolicy: { type: 'string', enum: ['None', 'Fetch'] },
            },
          },
        },
      },
    },
  },
};

function schemaErrors(node: SchemaNode, value: unknown, where: string): string[] {
  switch (node.type) {
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${where}: not a boolean`];
    case 'string':
      if (typeof value !== 'string') return [`${where}: not a string`];
      if (node.pattern && !node.pattern.test(value)) return [`${where}: '${value}' does not match ${node.pattern}`];
      if (node.enum && !node.enum.includes(value)) return [`${where}: '${value}' is not one of ${node.enum.join(', ')}`];
      return [];
    case 'array':
      return Array.isArray(value) ? value.flatMap((item, i) => schemaErrors(node.items, item, `${where}[${i}]`)) : [`${where}: not a list`];
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${where}: not an object`];
      const fields = value as Record<string, unknown>;
      return [
        ...(node.required ?? []).filter((k) => !(k in fields)).map((k) => `${where}.${k}: required`),
        ...Object.entries(fields).flatMap(([k, v]) => (node.properties[k]
          ? schemaErrors(node.properties[k], v, `${where}.${k}`)
          : [`${where}.${k}: not a field of ExternalSecret v1 (or not modelled here)`])),
      ];
    }
  }
}

/** YAML to JSON with PyYAML, which the pinned cfn-lint depends on. */
function parseYaml(text: string): Record<string, unknown> {
  const run = spawnSync(testPython(), ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: text, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`PyYAML: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('the External Secrets Operator example', () => {
  test('is an ExternalSecret of the served v1 API whose fields the v1 schema accepts', () => {
    const manifest = parseYaml(readmeBlock('external-secret').text);

    expect(manifest).toMatchObject({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: expect.stringMatching(DNS_SUBDOMAIN) } });
    expect(Object.keys(manifest)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(schemaErrors(ESO_V1_SPEC, manifest.spec, 'spec')).toEqual([]);
  });

  test('the schema check rejects a field v1 does not have and a value outside an enum', () => {
    const spec = { secretStoreRef: { name: 'store', kind: 'VaultStore' }, target: { name: 'ses-smtp', template: {} }, data: [{ secretKey: 'A', remoteRef: { property: 'x' } }] };

    expect(schemaErrors(ESO_V1_SPEC, spec, 'spec')).toEqual([
      "spec.secretStoreRef.kind: 'VaultStore' is not one of SecretStore, ClusterSecretStore",
      'spec.target.template: not a field of ExternalSecret v1 (or not modelled here)',
      'spec.data[0].remoteRef.key: required',
    ]);
  });
});

describe('the derive example', () => {
  test('prints the SMTP password for the key in $SECRET_ACCESS_KEY, run as the CLI\'s manual has it', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-bin-'));
    try {
      fs.symlinkSync(path.join(ROOT, 'packages', 'cli', 'bin', 'ses-smtp-credentials.js'), path.join(bin, 'ses-smtp-credentials'));

      // --norc: Debian's bash reads /etc/bash.bashrc when its stdin is a socket, as Node's pipes are.
      const run = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', readmeBlock('derive').text], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        // AWS's documented example key; the password is the one the README's secret example shows.
        env: { PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      });

      expect(run).toMatchObject({ status: 0, stdout: 'BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk\n', stderr: '' });
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
