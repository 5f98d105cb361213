/**
 * The README's fenced code blocks, and which test runs each.
 *
 * Every block either is named in EXERCISED (with the test file that runs or
 * checks it) or starts with a comment saying what it needs and that the tests
 * do not run it: `# Needs a real AWS account; not run by the tests.`
 * test/readme.test.ts holds the README to that.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const README_PATH = path.join(__dirname, '..', '..', 'README.md');
export const README = fs.readFileSync(README_PATH, 'utf8');

export interface CodeBlock {
  /** The fence's language: sh, ts, js, json, yaml, ini, text. */
  readonly lang: string;
  readonly text: string;
  /** 1-based line of the block's first line of code in README.md. */
  readonly line: number;
  /** The nearest heading above it, without the #s. */
  readonly section: string;
}

/** A first line that says why a block is not run: `# Needs …; not run by the tests.` */
export const NOT_RUN = /^(?:#|\/\/) Needs [^;]+; not run by the tests\.$/;

export function codeBlocks(markdown: string = README): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6} (.+)$/.exec(lines[i]);
    if (heading) section = heading[1];
    const fence = /^```(\w*)$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`);
    blocks.push({ lang: fence[1], text: `${lines.slice(i + 1, end).join('\n')}\n`, line: i + 2, section });
    i = end;
  }
  return blocks;
}

interface Locator {
  /** The section the block is in. */
  readonly section: string;
  readonly lang: string;
  /** Text only this block of the section holds. */
  readonly contains?: string;
  /** The test file that runs or checks it. */
  readonly testFile: string;
}

/** The blocks the tests run or check, by id. */
export const EXERCISED = {
  'install': { section: 'Install', lang: 'sh', testFile: 'readme.test.ts' },
  'set-up': { section: 'Set-up: two commands (developing this library)', lang: 'sh', testFile: 'readme.test.ts' },
  'quick-start': { section: 'Quick start', lang: 'ts', testFile: 'readme.test.ts' },
  'secret': { section: 'The secret', lang: 'json', testFile: 'readme.test.ts' },
  'ecs': { section: 'Reading the credentials', lang: 'ts', testFile: 'readme.test.ts' },
  'node-app': { section: 'Reading the credentials', lang: 'js', testFile: 'readme.test.ts' },
  'external-secret': { section: 'Reading the credentials', lang: 'yaml', testFile: 'readme.test.ts' },
  'sync-output': { section: 'A Postfix relay: `sync` and a timer', lang: 'text', contains: 'write sasl_passwd', testFile: 'postfix.test.ts' },
  'derive': { section: '`show` and `derive`', lang: 'sh', contains: 'derive --region', testFile: 'readme.test.ts' },
  'key-source': { section: 'Keys the IAM automation issued', lang: 'ts', testFile: 'readme.test.ts' },
  'regions': { section: 'Several SMTP regions from one key', lang: 'ts', testFile: 'readme.test.ts' },
  'rotate-every': { section: 'Rotation', lang: 'ts', contains: 'rotateEvery:', testFile: 'readme.test.ts' },
  'on-rotated': { section: 'Rotation', lang: 'ts', contains: 'onRotated(', testFile: 'readme.test.ts' },
  'handler-code': { section: 'A self-contained stack: `handlerCode: HandlerCode.INLINE`', lang: 'ts', testFile: 'readme.test.ts' },
  'org-rollout-synth': { section: 'The sample rollout: `bin/org-rollout.ts`', lang: 'sh', testFile: 'org-rollout.test.ts' },
} satisfies Record<string, Locator>;

export type BlockId = keyof typeof EXERCISED;

/** The blocks a locator matches (exactly one, for a README that is in order). */
export function matching(id: BlockId, blocks: CodeBlock[] = codeBlocks()): CodeBlock[] {
  const where: Locator = EXERCISED[id];
  return blocks.filter((b) => b.section === where.section && b.lang === where.lang && (!where.contains || b.text.includes(where.contains)));
}

/** The one block with this id; throws if the README has none or several. */
export function readmeBlock(id: BlockId): CodeBlock {
  const found = matching(id);
  if (found.length !== 1) throw new Error(`README.md: expected one ${EXERCISED[id].lang} block '${id}' in section '${EXERCISED[id].section}', found ${found.length}`);
  return found[0];
}
