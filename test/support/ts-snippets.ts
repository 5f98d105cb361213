/**
 * Runs the README's TypeScript snippets the way a reader would use them: each
 * becomes the body of a Stack's constructor in a CDK app that imports this
 * library as 'ses-smtp-credentials'. They are type-checked together with the
 * project's compiler options, then transpiled and synthesized.
 *
 * A snippet leaves out what the prose around it takes as given (the imports of
 * aws-cdk-lib modules, a `user`, an ECS task definition, …). GIVEN and
 * AMBIENT_IMPORTS supply those, and only where the snippet uses a name without
 * declaring or importing it.
 */
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

/** Imports a reader's app has anyway, by the name the snippets use. */
const AMBIENT_IMPORTS: Record<string, string> = {
  iam: "import * as iam from 'aws-cdk-lib/aws-iam';",
  ecs: "import * as ecs from 'aws-cdk-lib/aws-ecs';",
  secretsmanager: "import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';",
  targets: "import * as targets from 'aws-cdk-lib/aws-events-targets';",
  Duration: "import { Duration } from 'aws-cdk-lib';",
  SesSmtpUser: "import { SesSmtpUser } from 'ses-smtp-credentials';",
  AccessKeySource: "import { AccessKeySource } from 'ses-smtp-credentials';",
};

/** Values the prose takes as given; the harness's own imports carry a __ prefix. */
const GIVEN: Record<string, string> = {
  user: "const user = __iam.User.fromUserName(this, 'GivenUser', 'legacy-mail-relay');",
  relayHostRole: "const relayHostRole = new __iam.Role(this, 'GivenRelayHostRole', { assumedBy: new __iam.ServicePrincipal('ec2.amazonaws.com') });",
  smtp: "const smtp = new __lib.SesSmtpUser(this, 'GivenSmtp', { user: __iam.User.fromUserName(this, 'GivenSmtpUser', 'app-mailer'), rotateEvery: __cdk.Duration.days(30) });",
  taskDefinition: "const taskDefinition = new __ecs.FargateTaskDefinition(this, 'GivenTaskDefinition');",
  image: "const image = __ecs.ContainerImage.fromRegistry('example/legacy-app');",
  cluster: "const cluster = __ecs.Cluster.fromClusterArn(this, 'GivenCluster', 'arn:aws:ecs:eu-west-1:111122223333:cluster/legacy');",
  service: "const service = __ecs.FargateService.fromFargateServiceArn(this, 'GivenService', 'arn:aws:ecs:eu-west-1:111122223333:service/legacy/mailer');",
};

const HARNESS_IMPORTS = [
  "import * as __cdk from 'aws-cdk-lib';",
  "import * as __iam from 'aws-cdk-lib/aws-iam';",
  "import * as __ecs from 'aws-cdk-lib/aws-ecs';",
  "import * as __lib from 'ses-smtp-credentials';",
  "import { Construct as __Construct } from 'constructs';",
];

export interface Snippet {
  readonly name: string;
  /** The snippet as the README has it. */
  readonly code: string;
  /** Its first line in README.md, for messages. */
  readonly readmeLine: number;
}

interface Wrapped { readonly file: string; readonly source: string; readonly bodyLine: number; readonly snippet: Snippet }

const mentions = (code: string, name: string) => new RegExp(`\\b${name}\\b`).test(code);
const declares = (code: string, name: string) => new RegExp(`\\b(?:const|let|var|class|function)\\s+${name}\\b`).test(code);
const imports = (code: string, name: string) => new RegExp(`^import\\b[^;]*\\b${name}\\b[^;]*;$`, 'm').test(code);

/** The snippet as a module exporting `Snippet`, a Stack whose constructor is the snippet. */
function wrap(snippet: Snippet): Wrapped {
  const lines = snippet.code.trimEnd().split('\n');
  const ownImports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  const code = snippet.code;
  const ambient = Object.entries(AMBIENT_IMPORTS)
    .filter(([name]) => mentions(code, name) && !imports(code, name) && !declares(code, name)).map(([, line]) => line);
  // Given values are used in the body ('ses-smtp-credentials' in an import names no `smtp`).
  const given = Object.entries(GIVEN)
    .filter(([name]) => mentions(body.join('\n'), name) && !declares(code, name)).map(([, line]) => line);
  const head = [
    ...ownImports, ...ambient, ...HARNESS_IMPORTS,
    'export class Snippet extends __cdk.Stack {',
    '  constructor(scope: __Construct, id: string) {',
    "    super(scope, id, { env: { account: '111122223333', region: 'eu-west-1' } });",
    ...given,
  ];
  const source = [...head, ...body, '  }', '}', ''].join('\n');
  return { file: path.join(ROOT, 'test', `readme-snippet-${snippet.name}.ts`), source, bodyLine: head.length + 1, snippet };
}

function compilerOptions(): ts.CompilerOptions {
  const configFile = path.join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configFile, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configFile);
  return {
    ...parsed.options,
    noEmit: true,
    // A snippet is a fragment: a value it makes for the reader to use later is fine.
    noUnusedLocals: false,
    baseUrl: ROOT,
    paths: { 'ses-smtp-credentials': ['lib/index.ts'] },
  };
}

/** Type-checks every snippet in one program; returns the errors, located in README.md where they are in a snippet. */
export function typeCheck(snippets: Snippet[]): string[] {
  const wrapped = snippets.map(wrap);
  const virtual = new Map(wrapped.map((w) => [w.file, w.source]));
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const text = virtual.get(fileName);
    return text !== undefined ? ts.createSourceFile(fileName, text, languageVersion) : getSourceFile(fileName, languageVersion, ...rest);
  };
  host.fileExists = (fileName) => virtual.has(fileName) || ts.sys.fileExists(fileName);
  host.readFile = (fileName) => virtual.get(fileName) ?? ts.sys.readFile(fileName);
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && virtual.has(d.file.fileName))
    .map((d) => {
      const w = wrapped.find((x) => x.file === d.file!.fileName)!;
      const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1;
      const where = line >= w.bodyLine ? `README.md:${w.snippet.readmeLine + (line - w.bodyLine)}` : `${w.snippet.name} (harness line ${line})`;
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

/** The snippet's Stack class, transpiled and loaded with 'ses-smtp-credentials' resolving to lib/. */
export function load(snippet: Snippet): new (scope: unknown, id: string) => import('aws-cdk-lib').Stack {
  const { source } = wrap(snippet);
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  // The snippet's imports are only known at run time; jest's require loads them (and lib/'s TypeScript).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const resolve = (name: string): unknown => require(name === 'ses-smtp-credentials' ? '../../lib' : name);
  const module = { exports: {} as Record<string, unknown> };
  new Function('require', 'module', 'exports', js)(resolve, module, module.exports);
  return module.exports.Snippet as new (scope: unknown, id: string) => import('aws-cdk-lib').Stack;
}
