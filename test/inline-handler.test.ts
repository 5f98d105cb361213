/**
 * HandlerCode.INLINE: the handler bundled into the template's Code.ZipFile,
 * a template that needs no CDK bootstrap, and the shipped code itself driven
 * against moto (a full scheduled rotation, then the stack's delete).
 * The lifecycle scenarios run the inline code too
 * (test/lifecycle-cloudformation.test.ts, "handler code INLINE").
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { App, BootstraplessSynthesizer, DefaultStackSynthesizer, Duration, Stack, StackProps } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetSecretValueCommand, ListSecretVersionIdsCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HandlerCode } from '../lib/handler-code';
import { bundleHandler } from '../lib/inline-handler';
import { SesSmtpUser, SesSmtpUserProps } from '../lib/ses-smtp-user';
import { CloudFormationEmulator } from './support/cfn-emulator';
import { lambdaContext } from './support/cloudformation';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { inlineCodeOf, invokeInline, loadInlineModule } from './support/inline-handler';
import { accessKeysOf, leftovers } from './support/key-audit';
import { freshEmulator, startEnforcedMoto, stopEnforcedMoto } from './support/enforced-moto';
import { Moto } from './support/moto';
import { assumeRole } from './support/sts-assume-role';
import { errorOf } from './support/templates';

const HANDLER_DIR = path.join(__dirname, '..', 'lib', 'handler');

function synth(props: Partial<SesSmtpUserProps> = {}, stackProps: StackProps = { synthesizer: new BootstraplessSynthesizer() }, users = ['alice']): object {
  const app = new App();
  const stack = new Stack(app, 'MailApp', { env: { account: '123456789012', region: 'eu-west-1' }, ...stackProps });
  users.forEach((name, i) => new SesSmtpUser(stack, `Smtp${i}`, { user: iam.User.fromUserName(stack, `User${i}`, name), ...props }));
  return Template.fromStack(stack).toJSON();
}

/** A handler folder in a temp dir, from the given files, for the bundler. */
function handlerDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ses-smtp-inline-'));
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source);
  return dir;
}

describe('bundleHandler', () => {
  const temp: string[] = [];
  afterAll(() => temp.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  test('holds every handler module verbatim, each once, with its comments', () => {
    const bundle = bundleHandler(HANDLER_DIR);
    const modules = fs.readdirSync(HANDLER_DIR).filter((name) => name.endsWith('.js'));

    expect(modules.length).toBeGreaterThan(5);
    for (const name of modules) {
      const source = fs.readFileSync(path.join(HANDLER_DIR, name), 'utf8');
      expect(bundle).toContain(source);
      expect(bundle.split(`${JSON.stringify(name)}: function (exports, require, module) {`)).toHaveLength(2);
    }
  });

  test('follows require(\'./x\') from index.js: a new module is picked up, an unused file is left out', () => {
    const dir = handlerDir({
      'index.js': "'use strict';\nconst { greet } = require('./greeting');\nexports.handler = async () => greet();\n",
      'greeting.js': "'use strict';\nconst { name } = require(\"./name.js\");\nexports.greet = () => `hello ${name}`;\n",
      'name.js': "exports.name = 'world'; // no trailing newline",
      'unused.js': 'throw new Error("never bundled");\n',
    });
    temp.push(dir);

    const bundle = bundleHandler(dir);

    expect(bundle).toContain('"greeting.js": function');
    expect(bundle).toContain('"name.js": function');
    expect(bundle).not.toContain('unused.js');
    return expect(loadInlineModule(bundle).handler!({}, {})).resolves.toBe('hello world');
  });

  test('fails at synth, naming the file, when a required module is missing or outside the folder', () => {
    const missing = handlerDir({ 'index.js': "require('./gone');\n" });
    const outside = handlerDir({ 'index.js': "require('../lib/thing');\n" });
    temp.push(missing, outside);

    expect(errorOf(() => bundleHandler(missing))).toContain(`${path.join(missing, 'gone.js')} is missing`);
    expect(errorOf(() => bundleHandler(outside))).toContain("index.js requires '../lib/thing'; only sibling modules");
  });

  test('an invocation sees its Lambda environment in process.env, which is restored afterwards', async () => {
    const code = 'exports.handler = async () => [process.env.SES_SMTP_PROBE, process.env.AWS_REGION, process.env.AWS_ENDPOINT_URL];';
    const before = { ...process.env };

    const seen = await invokeInline(code, {}, lambdaContext(), {
      endpoint: 'http://127.0.0.1:9', region: 'eu-central-1', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' },
      environment: { SES_SMTP_PROBE: 'from the function configuration' },
    });

    expect(seen).toEqual(['from the function configuration', 'eu-central-1', 'http://127.0.0.1:9']);
    expect(process.env).toEqual(before);
  });

  test('loads with only what the Lambda runtime offers, and exports index.handler', () => {
    const exported = loadInlineModule(bundleHandler(HANDLER_DIR));

    expect(typeof exported.handler).toBe('function');
    expect(() => loadInlineModule("require('aws-cdk-lib');")).toThrow("Cannot find module 'aws-cdk-lib'");
  });
});

describe('SesSmtpUser with HandlerCode.INLINE', () => {
  test('puts the bundled handler into Code.ZipFile; the template has no parameters, rules, assets or bootstrap references', () => {
    const template = synth({ handlerCode: HandlerCode.INLINE });
    const text = JSON.stringify(template);

    expect(inlineCodeOf(template)).toBe(bundleHandler(HANDLER_DIR));
    expect(Object.keys(template).sort()).toEqual(['Resources']);
    expect(text).not.toMatch(/cdk-hnb659fds|BootstrapVersion|AssetParameters|S3Bucket|Fn::ImportValue/);
    Template.fromJSON(template).hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Runtime: 'nodejs24.x' });
  });

  test('is the default with a BootstraplessSynthesizer, and the default path stays a file asset', () => {
    const bootstrapless = synth();
    const standard = synth({}, {});

    expect(typeof inlineCodeOf(bootstrapless)).toBe('string');
    Template.fromJSON(standard).hasResourceProperties('AWS::Lambda::Function', { Code: { S3Bucket: Match.stringLikeRegexp('^cdk-hnb659fds-assets-') } });
  });

  test('with DefaultStackSynthesizer and no bootstrap rule the template is as self-contained', () => {
    const template = synth({ handlerCode: HandlerCode.INLINE }, { synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) });

    expect(Object.keys(template).sort()).toEqual(['Resources']);
    expect(JSON.stringify(template)).not.toMatch(/cdk-hnb659fds|BootstrapVersion/);
  });

  test('rejects SesSmtpUsers of one stack that disagree, naming both and the fix', () => {
    const app = new App();
    const stack = new Stack(app, 'MailApp', { env: { region: 'eu-west-1' } });
    new SesSmtpUser(stack, 'First', { user: iam.User.fromUserName(stack, 'A', 'alice'), handlerCode: HandlerCode.INLINE });

    const message = errorOf(() => new SesSmtpUser(stack, 'Second', { user: iam.User.fromUserName(stack, 'B', 'bob') }));

    expect(message).toContain('[MailApp/Second] handlerCode ASSET conflicts with HandlerCode.INLINE, which MailApp/First chose');
    expect(message).toContain("Give every SesSmtpUser of stack 'MailApp' the same handlerCode");
  });

  test('ASSET with a BootstraplessSynthesizer fails at synth: there is no bucket for the asset', () => {
    expect(() => synth({ handlerCode: HandlerCode.ASSET })).toThrow(/Cannot add assets to a Stack that uses the BootstraplessSynthesizer/);
  });
});

describe('the shipped inline code against moto', () => {
  const USER = 'legacy-mail-relay';
  let moto: Moto;
  let adminIam: IAMClient;
  let adminSecrets: SecretsManagerClient;
  let emulator: CloudFormationEmulator;

  beforeAll(async () => {
    ({ moto, adminIam, adminSecrets } = await startEnforcedMoto());
  });
  afterAll(() => stopEnforcedMoto({ moto, adminIam, adminSecrets }));
  beforeEach(async () => {
    emulator = await freshEmulator(moto);
    await adminIam.send(new CreateUserCommand({ UserName: USER }));
  });
  afterEach(() => emulator.close());

  test('the emulator runs the template\'s Code.ZipFile, not lib/handler: a changed ZipFile changes the outcome', async () => {
    const template = synth({}, undefined, [USER]) as { Resources: Record<string, { Type: string; Properties: { Code: { ZipFile: string } } }> };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function')!;
    fn.Properties.Code.ZipFile = fn.Properties.Code.ZipFile.replace(
      "module.exports = loadModule(\"index.js\");",
      "module.exports = { handler: async () => { throw new Error('the template code ran'); } };");

    await expect(emulator.deploy(template)).rejects.toThrow(/the template code ran|answered Create 0 times/);
    expect(emulator.handlerCodeRuns).toEqual(['inline']);
  });

  test('a full scheduled rotation, then the stack\'s delete: every region current on one new key, then nothing left', async () => {
    // Two regions: the primary secret's Metadata registration refers to the other region's secret.
    const template = synth({ rotateEvery: Duration.days(30), additionalRegions: ['eu-central-1'] }, undefined, [USER]);
    const code = inlineCodeOf(template);
    expect((await emulator.deploy(template)).status).toBe('CREATE_COMPLETE');
    const [created] = await accessKeysOf(adminIam, USER);
    const primary = String(emulator.resources('AWS::SecretsManager::RotationSchedule')[0].properties.SecretId);
    const other = emulator.resources('AWS::SecretsManager::Secret').map((r) => r.physicalId).find((arn) => arn !== primary)!;
    const [fn] = emulator.resources('AWS::Lambda::Function');
    const role = await assumeRole(moto.endpoint, String(fn.properties.Role), 'rotation');

    // Secrets Manager starts the rotation, then invokes the function for each step.
    const token = randomUUID();
    await adminSecrets.send(new RotateSecretCommand({ SecretId: primary, ClientRequestToken: token, RotationLambdaARN: fn.attributes.Arn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const environment = {
      ...(fn.properties.Environment as { Variables: Record<string, string> }).Variables,
      AWS_LAMBDA_FUNCTION_NAME: fn.physicalId,
      AWS_ENDPOINT_URL_CLOUDFORMATION: emulator.records.endpoint,
    };
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await invokeInline(code, { Step: step, SecretId: primary, ClientRequestToken: token }, lambdaContext(), {
        endpoint: moto.endpoint, region: 'eu-west-1', credentials: role, environment,
      });
    }

    const keys = await accessKeysOf(adminIam, USER);
    const rotated = keys.find((key) => key !== created)!;
    expect(keys).toEqual([created, rotated].sort());
    const secretKey = await motoSecretKeyOf(rotated);
    expect(await current(primary)).toEqual({
      username: rotated, password: await independentSmtpPassword(secretKey, 'eu-west-1'), host: 'email-smtp.eu-west-1.amazonaws.com', port: 587, region: 'eu-west-1', issuedBy: 'ses-smtp-credentials', iamUserName: USER,
    });
    expect(await current(other)).toEqual({
      username: rotated, password: await independentSmtpPassword(secretKey, 'eu-central-1'), host: 'email-smtp.eu-central-1.amazonaws.com', port: 587, region: 'eu-central-1', issuedBy: 'ses-smtp-credentials', iamUserName: USER,
    });
    const versions = await adminSecrets.send(new ListSecretVersionIdsCommand({ SecretId: primary }));
    expect(versions.Versions!.find((v) => v.VersionId === token)!.VersionStages).toContain('AWSCURRENT');

    const destroy = await emulator.destroy();
    expect(destroy.status).toBe('DELETE_COMPLETE');
    expect(await leftovers(adminIam, adminSecrets, [USER])).toEqual({ keys: [], userPolicies: [], ownerTags: [], secretNames: [], roles: [] });
    expect(new Set(emulator.handlerCodeRuns)).toEqual(new Set(['inline']));
  });

  // ---- helpers of the rotation scenario ----

  async function current(secretArn: string): Promise<Record<string, unknown>> {
    const out = await adminSecrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSCURRENT' }));
    return JSON.parse(out.SecretString!);
  }

  /** The secret access key of a key, from moto's state (test-side knowledge only, to check the derived password). */
  function motoSecretKeyOf(accessKeyId: string): Promise<string> {
    return new Promise((resolve, reject) => {
      http.get(`${moto.endpoint}/moto-api/data.json`, (res) => {
        let body = '';
        res.on('data', (chunk) => { body += chunk; });
        res.on('end', () => {
          const keys = (JSON.parse(body).iam?.AccessKey ?? []) as Array<{ access_key_id: string; secret_access_key: string }>;
          const key = keys.find((k) => k.access_key_id === accessKeyId);
          if (key) resolve(key.secret_access_key);
          else reject(new Error(`moto has no access key ${accessKeyId}`));
        });
      }).on('error', reject);
    });
  }
});
