/**
 * The documentation's fenced code blocks, and which test runs each.
 *
 * The documentation is the README, CONTRIBUTING.md, every page in docs/ and
 * the CLI's manual. Every block in it either is named in EXERCISED (with the
 * test file that runs or checks it), is a TypeScript block (all of which
 * test/readme.test.ts type-checks and synthesizes), or starts with a comment
 * saying what it needs and that the tests do not run it:
 * `# Needs a real AWS account; not run by the tests.`
 *
 * The CLI's manual is packages/cli/README.md once that file has an "Exit
 * codes" section; until then it is docs/cli.md, which holds the text the
 * README had. When packages/cli/README.md is the manual, docs/cli.md is left
 * out of the documentation, and packages/cli/README.md is in it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');

const CLI_PACKAGE_README = 'packages/cli/README.md';
const CLI_HOLDING_PAGE = 'docs/cli.md';

function read(file: string): string {
  return fs.readFileSync(path.join(ROOT, file), 'utf8');
}

function exists(file: string): boolean {
  return fs.existsSync(path.join(ROOT, file));
}

/** Whether a markdown text is the CLI's manual: it documents the exit codes under a heading of their own. */
function isCliManual(markdown: string): boolean {
  return /^#{1,6} Exit codes\s*$/m.test(markdown);
}

/** The CLI's manual, relative to the repository root. */
export const CLI_MANUAL = exists(CLI_PACKAGE_README) && isCliManual(read(CLI_PACKAGE_README)) ? CLI_PACKAGE_README : CLI_HOLDING_PAGE;

/** Every documentation file, relative to the repository root, README first. */
export const DOC_FILES: readonly string[] = [
  'README.md',
  'CONTRIBUTING.md',
  ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)
    .filter((f) => f !== CLI_HOLDING_PAGE || CLI_MANUAL === CLI_HOLDING_PAGE),
  // The CLI package's README joins the documentation once it is the CLI's manual (until then it is a stub).
  ...(CLI_MANUAL === CLI_PACKAGE_README ? [CLI_PACKAGE_README] : []),
];

/** The text of each documentation file. */
export const DOCS: Readonly<Record<string, string>> = Object.fromEntries(DOC_FILES.map((f) => [f, read(f)]));

export const README = DOCS['README.md'];

/** All documentation, one text (for checks that do not care where a thing is said). */
export const ALL_DOCS = DOC_FILES.map((f) => DOCS[f]).join('\n');

export interface CodeBlock {
  /** The documentation file, relative to the repository root. */
  readonly file: string;
  /** The fence's language: sh, ts, js, json, yaml, ini, text. */
  readonly lang: string;
  readonly text: string;
  /** 1-based line of the block's first line of code in its file. */
  readonly line: number;
  /** The nearest heading above it, without the #s. */
  readonly section: string;
}

/** A first line that says why a block is not run: `# Needs …; not run by the tests.` */
export const NOT_RUN = /^(?:#|\/\/) Needs [^;]+; not run by the tests\.$/;

/** The fenced blocks of one markdown text. */
export function blocksOf(file: string, markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6} (.+)$/.exec(lines[i]);
    if (heading) section = heading[1];
    const fence = /^```(\w*)$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed code block`);
    blocks.push({ file, lang: fence[1], text: `${lines.slice(i + 1, end).join('\n')}\n`, line: i + 2, section });
    i = end;
  }
  return blocks;
}

/** Every fenced block of the documentation; or, given a markdown text, that text's blocks. */
export function codeBlocks(markdown?: string, file = '(markdown)'): CodeBlock[] {
  if (markdown !== undefined) return blocksOf(file, markdown);
  return DOC_FILES.flatMap((f) => blocksOf(f, DOCS[f]));
}

/**
 * Documentation files whose blocks a test of their own holds to the same rule
 * (every block run, checked, or marked as not run), by that test's file. Where
 * the test exists, test/readme.test.ts leaves those blocks to it.
 */
export const BLOCKS_CHECKED_BY: Readonly<Record<string, string>> = {
  [CLI_PACKAGE_README]: 'cli-readme.test.ts',
};

/** Whether another test holds this file's blocks to the rule (see BLOCKS_CHECKED_BY). */
export function blocksCheckedElsewhere(file: string): boolean {
  const test = BLOCKS_CHECKED_BY[file];
  return test !== undefined && fs.existsSync(path.join(ROOT, 'test', test));
}

interface Locator {
  /** The file the block is in; 'cli-manual' for the CLI's manual. Any documentation file if absent. */
  readonly file?: string;
  /** The section the block is in. Any section if absent. */
  readonly section?: string;
  readonly lang: string;
  /** Text only this block holds. */
  readonly contains?: string;
  /** The test file that runs or checks it. */
  readonly testFile: string;
}

/** The blocks the tests run or check, by id (TypeScript blocks are all checked, see readme.test.ts). */
export const EXERCISED = {
  'install': { file: 'README.md', section: 'Install', lang: 'sh', testFile: 'readme.test.ts' },
  'set-up': { file: 'README.md', lang: 'sh', contains: 'npm ci && npx cdk synth', testFile: 'readme.test.ts' },
  'contributing-set-up': { file: 'CONTRIBUTING.md', lang: 'sh', contains: 'npm ci && npx cdk synth', testFile: 'readme.test.ts' },
  'one-test': { file: 'CONTRIBUTING.md', lang: 'sh', contains: 'npx jest test/', testFile: 'readme.test.ts' },
  'bench-commands': { file: 'CONTRIBUTING.md', lang: 'sh', contains: 'BENCH_ONLY=', testFile: 'readme.test.ts' },
  'secret': { file: 'README.md', lang: 'json', testFile: 'readme.test.ts' },
  'quick-start': { file: 'README.md', section: 'Quick start', lang: 'ts', testFile: 'readme.test.ts' },
  'ecs': { lang: 'ts', contains: "fromSecretsManager(smtp.secret, 'username')", testFile: 'readme.test.ts' },
  'node-app': { lang: 'js', contains: "require('nodemailer')", testFile: 'readme.test.ts' },
  'external-secret': { lang: 'yaml', contains: 'kind: ExternalSecret', testFile: 'readme.test.ts' },
  'sync-output': { file: 'cli-manual', lang: 'text', contains: 'write sasl_passwd', testFile: 'postfix.test.ts' },
  'derive': { file: 'cli-manual', lang: 'sh', contains: 'derive --region', testFile: 'readme.test.ts' },
  'org-rollout-synth': { lang: 'sh', contains: 'bin/org-rollout.ts', testFile: 'org-rollout.test.ts' },
  'scp-policy': { file: 'docs/scp.md', lang: 'json', testFile: 'scp.test.ts' },
} satisfies Record<string, Locator>;

export type BlockId = keyof typeof EXERCISED;

/** The blocks a locator matches (exactly one, for documentation that is in order). */
export function matching(id: BlockId, blocks: CodeBlock[] = codeBlocks()): CodeBlock[] {
  const where: Locator = EXERCISED[id];
  const file = where.file === 'cli-manual' ? CLI_MANUAL : where.file;
  return blocks.filter((b) => (!file || b.file === file) && (!where.section || b.section === where.section)
    && b.lang === where.lang && (!where.contains || b.text.includes(where.contains)));
}

/** The one block with this id; throws if the documentation has none or several. */
export function readmeBlock(id: BlockId): CodeBlock {
  const found = matching(id);
  if (found.length !== 1) {
    const where: Locator = EXERCISED[id];
    throw new Error(`expected one ${where.lang} block '${id}' in ${where.file ?? 'the documentation'}${where.section ? `, section '${where.section}'` : ''}, found ${found.length}`
      + (found.length ? `: ${found.map((b) => `${b.file}:${b.line}`).join(', ')}` : ''));
  }
  return found[0];
}
