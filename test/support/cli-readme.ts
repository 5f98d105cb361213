/**
 * The CLI's README (packages/cli/README.md, the page npm shows for
 * ses-smtp-credentials-cli), its fenced code blocks, and which test runs
 * each. Same rule as the main README (support/readme.ts): every block is
 * named here with the test file that runs or checks it, or starts with
 * `# Needs …; not run by the tests.`
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodeBlock, codeBlocks } from './readme';

export const CLI_README_PATH = path.join(__dirname, '..', '..', 'packages', 'cli', 'README.md');
export const CLI_README = fs.readFileSync(CLI_README_PATH, 'utf8');

interface Locator {
  readonly section: string;
  readonly lang: string;
  /** Text only this block of the section holds. */
  readonly contains?: string;
  /** The test file that runs or checks it. */
  readonly testFile: string;
}

/** The blocks the tests run or check, by id. */
export const CLI_EXERCISED = {
  'secret': { section: 'What it reads', lang: 'json', testFile: 'cli-readme.test.ts' },
  'install-from-tarball': { section: 'Install', lang: 'sh', contains: 'npm pack', testFile: 'cli-package.test.ts' },
  'sync-output': { section: 'A Postfix relay: `sync` and a timer', lang: 'text', contains: 'write sasl_passwd', testFile: 'postfix.test.ts' },
  'boot-wait': { section: 'Exit codes', lang: 'sh', contains: 'sync_when_ready', testFile: 'cli-readme.test.ts' },
  'derive': { section: '`show` and `derive`', lang: 'sh', contains: 'derive --region', testFile: 'cli-readme.test.ts' },
} satisfies Record<string, Locator>;

export type CliBlockId = keyof typeof CLI_EXERCISED;

export function cliCodeBlocks(): CodeBlock[] {
  return codeBlocks(CLI_README);
}

/** The blocks a locator matches (exactly one, for a README that is in order). */
export function matchingCliBlocks(id: CliBlockId, blocks: CodeBlock[] = cliCodeBlocks()): CodeBlock[] {
  const where: Locator = CLI_EXERCISED[id];
  return blocks.filter((b) => b.section === where.section && b.lang === where.lang && (!where.contains || b.text.includes(where.contains)));
}

/** The one block with this id; throws if the README has none or several. */
export function cliReadmeBlock(id: CliBlockId): CodeBlock {
  const found = matchingCliBlocks(id);
  if (found.length !== 1) throw new Error(`packages/cli/README.md: expected one ${CLI_EXERCISED[id].lang} block '${id}' in section '${CLI_EXERCISED[id].section}', found ${found.length}`);
  return found[0];
}
