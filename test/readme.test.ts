/**
 * The README tells the truth: its examples use only the fields the handler
 * writes, every example is run or checked here (or says that it needs a real
 * account), and it documents every prop, CLI format and exit code there is.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FORMATS } from '../packages/cli/lib/formats';
import { EXIT } from '../packages/cli/lib/cli';
import { desiredSettings } from '../packages/cli/lib/postfix';
import { ISSUED_BY_FIELD, SECRET_FIELDS, renderSecret } from '../lib/handler/model';
import { CUSTOM_RESOURCE_TYPE, deriveSmtpPassword } from '../lib';
import { FakeSes, startFakeSes } from './support/fake-ses-smtp';
import { Moto, motoClientConfig, startMoto } from './support/moto';
import { makeCertificate } from './support/postfix';
import { POSTFIX_INSTALL_COMMAND, PYTHON_INSTALL_COMMAND, testPython } from './support/prerequisites';
import { BlockId, EXERCISED, NOT_RUN, README, codeBlocks, matching, readmeBlock } from './support/readme';
import { CLI_README } from './support/cli-readme';
import { Snippet, load, typeCheck } from './support/ts-snippets';

const ROOT = path.join(__dirname, '..');
/** The fields of a value whose key the handler created (the README's example). */
const handlerFields = Object.keys(JSON.parse(renderSecret('AKIAIOSFODNN7EXAMPLE', 'pw', { region: 'eu-west-1', host: 'h', port: 587, secretArn: 'arn' }, true)));

/** Every secret field an example reads, by the syntax each consumer uses. */
function fieldsUsedByExamples(): string[] {
  const patterns = [
    /fromSecretsManager\([^,]+,\s*'(\w+)'\)/g, // ECS
    /property:\s*(\w+)/g, // External Secrets
    /jq -r '?\.(\w+)/g, // AWS CLI + jq
    /\\\(\.(\w+)\)/g, // jq string interpolation
  ];
  const jsExample = /\*\*A Lambda function or container app[\s\S]*?```js\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
  const jsFields = [...jsExample.matchAll(/smtp\.(\w+)/g)].map((m) => m[1]); // JS reading the parsed JSON
  expect(jsFields.length).toBeGreaterThan(0);
  return [...patterns.flatMap((re) => [...README.matchAll(re)].map((m) => m[1])), ...jsFields];
}

describe('README', () => {
  test('the documented secret example has exactly the fields the handler writes', () => {
    const block = readmeBlock('secret').text;

    expect(Object.keys(JSON.parse(block))).toEqual(handlerFields);
    expect(handlerFields).toEqual([...SECRET_FIELDS, ISSUED_BY_FIELD]);
  });

  test('every consumer example reads only fields the handler writes, and together they use all of them', () => {
    const used = fieldsUsedByExamples();

    expect(used.length).toBeGreaterThanOrEqual(12);
    expect(used.filter((f) => !handlerFields.includes(f))).toEqual([]);
    expect(new Set(used)).toEqual(new Set(['username', 'password', 'host', 'port']));
  });

  test('documents every SesSmtpUserProps property', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', 'lib', 'ses-smtp-user.ts'), 'utf8');
    const body = /export interface SesSmtpUserProps \{([\s\S]*?)\n\}/.exec(source)![1];
    const props = [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]);

    expect(props.length).toBeGreaterThanOrEqual(15);
    for (const prop of props) expect(README).toContain(`| \`${prop}\` |`);
  });

  test('the CLI README documents every CLI format and exit code', () => {
    for (const format of Object.keys(FORMATS)) expect(CLI_README).toContain(`| \`${format}\` |`);
    for (const code of Object.values(EXIT)) expect(CLI_README).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });

  test('lists exactly the main.cf keys sync sets, and pins the install to the CLI package\'s version', () => {
    const keys = desiredSettings({ username: 'u', password: 'p', host: 'h', port: 465, region: 'eu-west-1' }, { passwordMap: 'hash:x', caFile: 'ca' }).map(([key]) => key);
    const section = /### A Postfix relay: `sync` and a timer([\s\S]*?)\n### /.exec(README)![1];
    const documented = [...section.matchAll(/^ {3}\| `(\w+)` \|/gm)].map((m) => m[1]);
    const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'packages', 'cli', 'package.json'), 'utf8')).version;

    expect(documented).toEqual(keys);
    const installs = [...README.matchAll(/npm install -g ([^\s`]+)/g)].map((m) => m[1]);
    expect(installs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(installs)).toEqual(new Set([`ses-smtp-credentials-cli@${version}`]));
  });

  test('the set-up block is the two commands, and .ci/run runs exactly those and installs nothing itself', () => {
    const commands = readmeBlock('set-up').text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    const ciCommands = ci.split('\n').filter((l) => !l.trim().startsWith('#'))
      .filter((l) => /\b(npm|npx|pip3?|python3?|apt-get|apt|debconf-set-selections|dnf|yum)\b/.test(l));

    expect(commands).toEqual(['npm ci && npx cdk synth', 'npm test']);
    expect(ciCommands).toHaveLength(2);
    expect(ciCommands[0]).toContain(`(${commands[0]})`);
    expect(ciCommands[1]).toMatch(/^npm test -- --json --outputFile=\S+ 2>&1$/); // jest's own options only
  });

  test('documents the exact install commands the tests print when a prerequisite is missing', () => {
    expect(README).toContain(`\`${PYTHON_INSTALL_COMMAND}\``);
    expect(README).toContain(`\`${POSTFIX_INSTALL_COMMAND}\``);
  });

  test('the Install block installs this package, and the CLI is named as its own package', () => {
    const name = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).name;
    const cli = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', 'cli', 'package.json'), 'utf8'));
    const install = /## Install\n([\s\S]*?)\n## /.exec(README)![1];

    expect(readmeBlock('install').text).toBe(`npm install ${name}\n`);
    expect(install).toContain(`npm install -g ${cli.name}@${cli.version}`);
    expect(install).not.toMatch(/comes with the\s+package/);
    expect(Object.keys(cli.dependencies)).toContain('@aws-sdk/client-secrets-manager');
  });
});

describe('README code blocks', () => {
  test('every block is run or checked by a test, or says what it needs and that it is not run', () => {
    const blocks = codeBlocks();
    const claimed = new Set((Object.keys(EXERCISED) as BlockId[]).flatMap((id) => matching(id, blocks)));
    const unaccounted = blocks
      .filter((b) => !claimed.has(b) && !NOT_RUN.test(b.text.split('\n')[0]))
      .map((b) => `README.md:${b.line} (${b.lang}, section '${b.section}')`);

    expect(blocks.length).toBeGreaterThanOrEqual(25);
    expect(unaccounted).toEqual([]);
  });

  test.each(Object.keys(EXERCISED) as BlockId[])('block %s is found exactly once, and its test file uses it', (id) => {
    const block = readmeBlock(id);
    const testSource = fs.readFileSync(path.join(__dirname, EXERCISED[id].testFile), 'utf8');

    expect(NOT_RUN.test(block.text.split('\n')[0])).toBe(false);
    expect(testSource).toContain(`'${id}'`);
  });
});

describe('the TypeScript examples', () => {
  const ids = ['quick-start', 'ecs', 'key-source', 'regions', 'rotate-every', 'on-rotated', 'handler-code'] as const;
  const snippet = (id: BlockId): Snippet => ({ name: id, code: readmeBlock(id).text, readmeLine: readmeBlock(id).line });

  test('type-check against this library and aws-cdk-lib', () => {
    expect(typeCheck(ids.map(snippet))).toEqual([]);
  }, 120_000);

  test('a snippet that misuses the API is reported at its README line', () => {
    const broken = { name: 'broken', code: "new SesSmtpUser(this, 'Smtp', { user, port: '587' });\n", readmeLine: 100 };

    expect(typeCheck([broken])).toEqual([expect.stringMatching(/^README\.md:100: Type 'string' is not assignable to type 'number'/)]);
  }, 120_000);

  test.each(ids)('%s synthesizes a stack with SES SMTP credentials', (id) => {
    const Snippet = load(snippet(id));

    const template = Template.fromStack(new Snippet(new App(), 'Snippet'));

    expect(Object.keys(template.findResources(CUSTOM_RESOURCE_TYPE)).length).toBeGreaterThanOrEqual(1);
  });

  test('the ECS example passes all four fields to the container as secrets', () => {
    const Snippet = load(snippet('ecs'));

    const template = Template.fromStack(new Snippet(new App(), 'Snippet'));

    const [task] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
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

  /** Runs the README's file as its own Node.js process, from the repository root (its require()s resolve there). */
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
  test('prints the SMTP password for the key in $SECRET_ACCESS_KEY, run as the README has it', () => {
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
