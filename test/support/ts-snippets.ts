/**
 * Runs the documentation's TypeScript blocks the way a reader would use them,
 * in a CDK app that imports this library as 'ses-smtp-credentials'. They are
 * type-checked together with the project's compiler options, then transpiled
 * and synthesized.
 *
 * A block is one of two kinds, and nothing is added to either that the reader
 * does not see:
 * - A program (a block with `new App(`): a whole file. It compiles as it
 *   stands.
 * - A fragment: the body of a Stack's constructor (`this` is the stack), as in
 *   aws-cdk's READMEs. Its `import` and `declare const` statements are moved
 *   above the class, as jsii-rosetta's fixtures do (sidelineImports in
 *   jsii-rosetta/lib/fixtures.js); the rest is the constructor's body. So every
 *   name a fragment uses is imported or declared in the fragment itself.
 *
 * To synthesize a fragment, each `declare const x: T;` becomes `let x: T;`,
 * assigned in the constructor a value made from DECLARED, by the type as the
 * block writes it. That form is type-checked too, so the value is of the
 * declared type; a type DECLARED does not know fails the test.
 */
import * as path from 'node:path';
import * as ts from 'typescript';
import type { Stack } from 'aws-cdk-lib';

const ROOT = path.resolve(__dirname, '..', '..');

/** Values for declared names, by the declared type as written; `ID` is replaced by a construct id made from the name. */
const DECLARED: Record<string, string> = {
  'iam.IUser': "__iam.User.fromUserName(this, 'ID', 'legacy-mail-relay')",
  'iam.IRole': "new __iam.Role(this, 'ID', { assumedBy: new __iam.ServicePrincipal('ec2.amazonaws.com') })",
  'iam.IGrantable': "new __iam.Role(this, 'ID', { assumedBy: new __iam.ServicePrincipal('ec2.amazonaws.com') })",
  'SesSmtpUser': "new __lib.SesSmtpUser(this, 'ID', { user: __iam.User.fromUserName(this, 'IDUser', 'app-mailer'), rotateEvery: __cdk.Duration.days(30) })",
  'secretsmanager.ISecret': "__secretsmanager.Secret.fromSecretCompleteArn(this, 'ID', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:iam/legacy-mail-relay-AbCdEf')",
  'ecs.TaskDefinition': "new __ecs.FargateTaskDefinition(this, 'ID')",
  'ecs.ContainerImage': "__ecs.ContainerImage.fromRegistry('example/legacy-app')",
  'ecs.ContainerDefinition': "new __ecs.FargateTaskDefinition(this, 'ID').addContainer('app', { image: __ecs.ContainerImage.fromRegistry('example/legacy-app') })",
  'ecs.IBaseService': "__ecs.FargateService.fromFargateServiceAttributes(this, 'ID', { cluster: __ecs.Cluster.fromClusterArn(this, 'IDCluster', 'arn:aws:ecs:eu-west-1:111122223333:cluster/legacy'), serviceArn: 'arn:aws:ecs:eu-west-1:111122223333:service/legacy/mailer' })",
};

/** The harness's own imports (a __ prefix, so they never meet a block's names). */
const HARNESS_IMPORTS = [
  "import * as __cdk from 'aws-cdk-lib';",
  "import * as __iam from 'aws-cdk-lib/aws-iam';",
  "import * as __ecs from 'aws-cdk-lib/aws-ecs';",
  "import * as __secretsmanager from 'aws-cdk-lib/aws-secretsmanager';",
  "import * as __lib from 'ses-smtp-credentials';",
  "import { Construct as __Construct } from 'constructs';",
];

export interface Snippet {
  /** Where the block is, for messages: `docs/rotation.md:12`. */
  readonly name: string;
  /** The block as the documentation has it. */
  readonly code: string;
  /** The documentation file. */
  readonly file: string;
  /** The block's first line in that file. */
  readonly line: number;
}

/** A block with `new App(` is a whole program; any other is a Stack constructor's body. */
export function isProgram(code: string): boolean {
  return /\bnew\s+(?:\w+\.)?App\s*\(/.test(code);
}

interface Piece { readonly text: string; readonly line: number }
interface Declared { readonly name: string; readonly type: string; readonly line: number }

/** A fragment's statements: those moved above the class, the body, and what it declares. */
function split(code: string): { hoisted: Piece[]; body: Piece[]; declared: Declared[] } {
  const file = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const hoisted: Piece[] = [];
  const body: Piece[] = [];
  const declared: Declared[] = [];
  for (const statement of file.statements) {
    const start = statement.getStart(file);
    const piece = { text: code.slice(start, statement.end), line: file.getLineAndCharacterOfPosition(start).line };
    const isDeclare = ts.isVariableStatement(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);
    if (ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement)) {
      hoisted.push(piece);
    } else if (isDeclare) {
      hoisted.push(piece);
      for (const d of (statement as ts.VariableStatement).declarationList.declarations) {
        declared.push({ name: d.name.getText(file), type: d.type?.getText(file) ?? '(no type)', line: file.getLineAndCharacterOfPosition(d.getStart(file)).line });
      }
    } else {
      body.push(piece);
    }
  }
  return { hoisted, body, declared };
}

/** A module's source, and for each of its lines the block's line it came from (undefined for the harness's). */
interface Source { readonly text: string; readonly origin: Array<number | undefined> }

class SourceWriter {
  private readonly lines: string[] = [];
  private readonly origin: Array<number | undefined> = [];
  harness(...lines: string[]): void {
    for (const l of lines) { this.lines.push(l); this.origin.push(undefined); }
  }
  block(piece: Piece): void {
    piece.text.split('\n').forEach((l, i) => { this.lines.push(l); this.origin.push(piece.line + i); });
  }
  done(): Source { return { text: `${this.lines.join('\n')}\n`, origin: this.origin }; }
}

/**
 * The block as a module: a program as it stands; a fragment as a Stack class
 * exporting `Snippet`. `runnable` gives declared names their DECLARED values.
 */
function moduleOf(snippet: Snippet, runnable: boolean): Source {
  if (isProgram(snippet.code)) {
    const w = new SourceWriter();
    snippet.code.replace(/\n$/, '').split('\n').forEach((text, line) => w.block({ text, line }));
    return w.done();
  }
  const { hoisted, body, declared } = split(snippet.code);
  const w = new SourceWriter();
  w.harness(...HARNESS_IMPORTS);
  for (const piece of hoisted) {
    const d = declared.filter((x) => x.line >= piece.line && x.line < piece.line + piece.text.split('\n').length);
    if (runnable && d.length > 0) w.block({ text: d.map((x) => `let ${x.name}: ${x.type};`).join(' '), line: piece.line });
    else w.block(piece);
  }
  w.harness(
    'export class Snippet extends __cdk.Stack {',
    '  constructor(scope: __Construct, id: string) {',
    "    super(scope, id, { env: { account: '111122223333', region: 'eu-west-1' } });",
  );
  if (runnable) {
    for (const d of declared) {
      const value = DECLARED[d.type];
      if (!value) throw new Error(`${snippet.name}: no value for a declared '${d.type}' (${d.name}); add one to DECLARED in test/support/ts-snippets.ts`);
      w.harness(`    ${d.name} = ${value.replace(/'ID/g, `'Declared${d.name[0].toUpperCase()}${d.name.slice(1)}`)};`);
    }
  }
  for (const piece of body) w.block(piece);
  w.harness('  }', '}');
  return w.done();
}

function compilerOptions(): ts.CompilerOptions {
  const configFile = path.join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configFile, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configFile);
  return {
    ...parsed.options,
    noEmit: true,
    // A block is a fragment: a value it makes for the reader to use later is fine.
    noUnusedLocals: false,
    baseUrl: ROOT,
    paths: { 'ses-smtp-credentials': ['lib/index.ts'] },
  };
}

/**
 * Type-checks every block in one program, as shown and in the runnable form;
 * returns the errors, located in the documentation where they are in a block.
 */
export function typeCheck(snippets: Snippet[]): string[] {
  const files = snippets.flatMap((snippet, i) => [
    { file: path.join(ROOT, 'test', `doc-snippet-${i}.ts`), source: moduleOf(snippet, false), snippet },
    ...(isProgram(snippet.code) ? [] : [{ file: path.join(ROOT, 'test', `doc-snippet-${i}-runnable.ts`), source: moduleOf(snippet, true), snippet }]),
  ]);
  const virtual = new Map(files.map((f) => [f.file, f.source.text]));
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
  const errors = ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && virtual.has(d.file.fileName))
    .map((d) => {
      const f = files.find((x) => x.file === d.file!.fileName)!;
      const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line;
      const origin = f.source.origin[line];
      const where = origin !== undefined ? `${f.snippet.file}:${f.snippet.line + origin}` : `${f.snippet.name} (harness line ${line + 1})`;
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  return [...new Set(errors)];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireReal = (name: string): unknown => require(name === 'ses-smtp-credentials' ? '../../lib' : name);

/** Runs a transpiled module with 'ses-smtp-credentials' resolving to lib/. */
function run(source: string, resolve: (name: string) => unknown): Record<string, unknown> {
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const module = { exports: {} as Record<string, unknown> };
  new Function('require', 'module', 'exports', js)(resolve, module, module.exports);
  return module.exports;
}

/** The stacks a block makes: a program's own, or a fragment's Stack in a new App. */
export function synthesizeSnippet(snippet: Snippet): Stack[] {
  const cdk = requireReal('aws-cdk-lib') as typeof import('aws-cdk-lib');
  if (!isProgram(snippet.code)) {
    const Snippet = run(moduleOf(snippet, true).text, requireReal).Snippet as new (scope: unknown, id: string) => Stack;
    return [new Snippet(new cdk.App(), 'Snippet')];
  }
  // The program's App is aws-cdk-lib's, noted as it is made, so that its stacks can be found.
  const apps: InstanceType<typeof cdk.App>[] = [];
  class NotedApp extends cdk.App {
    constructor(props?: ConstructorParameters<typeof cdk.App>[0]) {
      super(props);
      apps.push(this);
    }
  }
  const withNotedApp = new Proxy(cdk, { get: (target, key) => (key === 'App' ? NotedApp : target[key as keyof typeof cdk]) });
  run(moduleOf(snippet, false).text, (name) => (name === 'aws-cdk-lib' ? withNotedApp : requireReal(name)));
  return apps.flatMap((app) => app.node.findAll().filter((c): c is Stack => cdk.Stack.isStack(c)));
}
