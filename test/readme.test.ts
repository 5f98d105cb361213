/**
 * The README tells the truth: its examples use only the fields the handler
 * writes, and it documents every prop, CLI format and exit code there is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FORMATS } from '../packages/cli/lib/formats';
import { EXIT } from '../packages/cli/lib/cli';
import { desiredSettings } from '../packages/cli/lib/postfix';
import { SECRET_FIELDS, renderSecret } from '../lib/handler/model';

const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const handlerFields = Object.keys(JSON.parse(renderSecret('AKIAIOSFODNN7EXAMPLE', 'pw', { region: 'eu-west-1', host: 'h', port: 587, secretArn: 'arn' })));

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
    const block = /## The secret[\s\S]*?```json\n([\s\S]*?)```/.exec(README);

    expect(block).not.toBeNull();
    expect(Object.keys(JSON.parse(block![1]))).toEqual(handlerFields);
    expect(handlerFields).toEqual([...SECRET_FIELDS]);
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

  test('documents every CLI format and exit code', () => {
    for (const format of Object.keys(FORMATS)) expect(README).toContain(`| \`${format}\` |`);
    for (const code of Object.values(EXIT)) expect(README).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });

  test('lists exactly the main.cf keys sync sets, and pins the install to the CLI package\'s version', () => {
    const keys = desiredSettings({ username: 'u', password: 'p', host: 'h', port: 465, region: 'eu-west-1' }, { passwordMap: 'hash:x', caFile: 'ca' }).map(([key]) => key);
    const section = /### A Postfix relay: `sync` and a timer([\s\S]*?)\n### /.exec(README)![1];
    const documented = [...section.matchAll(/^ {3}\| `(\w+)` \|/gm)].map((m) => m[1]);
    const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'packages', 'cli', 'package.json'), 'utf8')).version;

    expect(documented).toEqual(keys);
    const installs = [...README.matchAll(/npm install -g (\S+)/g)].map((m) => m[1]);
    expect(installs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(installs)).toEqual(new Set([`ses-smtp-credentials-cli@${version}`]));
  });

  test('names the two set-up commands that CI runs', () => {
    const ci = fs.readFileSync(path.join(__dirname, '..', '.ci', 'run'), 'utf8');

    expect(README).toContain('npm ci && npx cdk synth');
    expect(README).toContain('npm test');
    expect(ci).toContain('npx cdk synth');
    expect(ci).toContain('npm test');
  });
});
