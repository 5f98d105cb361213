import * as fs from 'node:fs';
import * as path from 'node:path';

/** The handler's entry module (`index.handler`). */
export const HANDLER_ENTRY = 'index.js';

/**
 * A `require('./name')` or `require("./name.js")` with a literal path. Other
 * requires (`node:*`, `@aws-sdk/*`, or a name held in a variable) are left to
 * the Lambda runtime's own `require`.
 */
const LOCAL_REQUIRE = /\brequire\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*\)/g;

/** One module of the handler: its name in the module table and its source, unchanged. */
interface HandlerModule {
  readonly name: string;
  readonly source: string;
}

/**
 * The Lambda handler as ONE CommonJS file, for `lambda.Code.fromInline`:
 * CloudFormation writes `Code.ZipFile` into `index.js`, and Lambda loads that
 * file as CommonJS.
 *
 * The modules are found by following `require('./x')` from `index.js`, so a
 * module added to the handler later is included without a list to update, and
 * a file nothing requires is left out. Each module's source is copied
 * verbatim (comments included) into a function of a small module table, so a
 * reviewer reads in the template the same code that is in
 * `lib/handler/*.js`. Nothing is minified: the source, comments and all, fits
 * CloudFormation's 1 MB template limit with room for 164 users (see the
 * README's template size budget).
 *
 * @param dir the folder holding the handler's modules: `lib/handler` in this
 *   repository, `dist/handler` in the installed package.
 */
export function bundleHandler(dir: string): string {
  const modules = collectModules(dir);
  const table = modules.map(({ name, source }) => [
    `// ---- ${name} ${'-'.repeat(Math.max(3, 72 - name.length))}`,
    `${JSON.stringify(name)}: function (exports, require, module) {`,
    source.endsWith('\n') ? source : `${source}\n`,
    '},',
  ].join('\n')).join('\n');
  return [
    '// SesSmtpUser handler, inlined at synth time by ses-smtp-credentials.',
    `// Modules below are the package's handler files, unchanged; the table and loader`,
    '// around them (this header and the footer) are the only added code. The AWS SDK',
    '// (@aws-sdk/*) and node:* modules come from the Lambda runtime.',
    '\'use strict\';',
    'const handlerModules = {',
    table,
    '};',
    'const loadedModules = {};',
    '/** Loads a module of the table once, giving it a require that resolves its sibling modules. */',
    'function loadModule(name) {',
    '  if (loadedModules[name]) return loadedModules[name].exports;',
    '  const module = { exports: {} };',
    '  loadedModules[name] = module;',
    '  handlerModules[name].call(module.exports, module.exports, requireFrom, module);',
    '  return module.exports;',
    '}',
    '/** Sibling modules (\'./x\') from the table; everything else from the runtime. */',
    'function requireFrom(id) {',
    '  if (typeof id === \'string\' && id.startsWith(\'./\')) {',
    '    const name = id.endsWith(\'.js\') ? id.slice(2) : `${id.slice(2)}.js`;',
    '    if (!Object.prototype.hasOwnProperty.call(handlerModules, name)) throw new Error(`inlined handler has no module ${id}`);',
    '    return loadModule(name);',
    '  }',
    '  return require(id);',
    '}',
    `module.exports = loadModule(${JSON.stringify(HANDLER_ENTRY)});`,
    '',
  ].join('\n');
}

/** The modules reachable from the entry by local requires, entry first, the rest by name. */
function collectModules(dir: string): HandlerModule[] {
  const found = new Map<string, string>();
  const pending = [HANDLER_ENTRY];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (found.has(name)) continue;
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      throw new Error(`Cannot inline the SesSmtpUser handler: ${file} is missing. Rebuild the package (npm run build), or use HandlerCode.ASSET.`);
    }
    const source = fs.readFileSync(file, 'utf8');
    found.set(name, source);
    for (const match of source.matchAll(LOCAL_REQUIRE)) {
      const target = match[2];
      if (!target.startsWith('./') || target.slice(2).includes('/')) {
        throw new Error(`Cannot inline the SesSmtpUser handler: ${name} requires '${target}'; only sibling modules ('./name') can be inlined.`);
      }
      pending.push(target.endsWith('.js') ? target.slice(2) : `${target.slice(2)}.js`);
    }
  }
  const [entry, ...rest] = [...found.keys()].sort((a, b) => (a === HANDLER_ENTRY ? -1 : b === HANDLER_ENTRY ? 1 : a.localeCompare(b)));
  return [entry, ...rest].map((name) => ({ name, source: found.get(name)! }));
}
