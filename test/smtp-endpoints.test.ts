/** The SES SMTP endpoint table: one place, two forms (module exports and the jsii class), and the README's copy of it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import {
  NO_SMTP_REGIONS, SMTP_PORTS, SMTP_REGIONS, SmtpEndpoints, SmtpRegionSupport, smtpHostForRegion, smtpRegionSupport,
} from '../lib';
import { PARTITIONS, partitionOf } from '../lib/contract';
import { SMTP_BY_PARTITION } from '../lib/smtp-endpoints';

describe('the SMTP endpoint table', () => {
  test.each([
    ['eu-west-1', SmtpRegionSupport.SUPPORTED],
    ['eu-west-3', SmtpRegionSupport.SUPPORTED],
    ['us-west-1', SmtpRegionSupport.SUPPORTED],
    ['ap-northeast-3', SmtpRegionSupport.SUPPORTED],
    ['us-gov-east-1', SmtpRegionSupport.SUPPORTED],
    ['af-south-1', SmtpRegionSupport.UNSUPPORTED],
    ['me-south-1', SmtpRegionSupport.UNSUPPORTED],
    ['il-central-1', SmtpRegionSupport.UNSUPPORTED],
    ['eu-south-1', SmtpRegionSupport.UNKNOWN],
    ['eu-central-2', SmtpRegionSupport.UNKNOWN],
    ['eusc-de-east-1', SmtpRegionSupport.UNKNOWN],
    ['cn-north-1', SmtpRegionSupport.UNKNOWN],
  ])('knows %s as %s', (region, support) => {
    expect(smtpRegionSupport(region)).toBe(support);
    expect(SmtpEndpoints.support(region)).toBe(support);
  });

  test('never lists a region as both offering and lacking SMTP', () => {
    expect(SMTP_REGIONS.filter((r) => NO_SMTP_REGIONS.includes(r))).toEqual([]);
  });

  test('lists only real regions, each under its own partition', () => {
    const entries = Object.entries(SMTP_BY_PARTITION).flatMap(([partition, { smtp, noSmtp }]) => [...smtp, ...noSmtp].map((region) => [region, partition]));

    expect(entries.length).toBe(SMTP_REGIONS.length + NO_SMTP_REGIONS.length);
    for (const [region, partition] of entries) {
      expect([region, PARTITIONS.find((p) => p.regions.includes(region))?.id]).toEqual([region, partition]);
    }
  });

  test('the class exposes the same data as the module exports', () => {
    expect(SmtpEndpoints.REGIONS).toEqual([...SMTP_REGIONS]);
    expect(SmtpEndpoints.REGIONS_WITHOUT_SMTP).toEqual([...NO_SMTP_REGIONS]);
    expect(SmtpEndpoints.PORTS).toEqual([...SMTP_PORTS]);
    expect(SmtpEndpoints.DEFAULT_PORT).toBe(587);
    expect(SmtpEndpoints.host('eu-west-1')).toBe(smtpHostForRegion('eu-west-1'));
    expect(smtpHostForRegion('ap-south-1')).toBe('email-smtp.ap-south-1.amazonaws.com');
  });

  test.each([
    ['eu-west-1', 'email-smtp.eu-west-1.amazonaws.com'],
    ['us-gov-west-1', 'email-smtp.us-gov-west-1.amazonaws.com'],
    ['cn-northwest-1', 'email-smtp.cn-northwest-1.amazonaws.com.cn'],
    ['eusc-de-east-1', 'email-smtp.eusc-de-east-1.amazonaws.eu'],
    ['us-iso-east-1', 'email-smtp.us-iso-east-1.c2s.ic.gov'],
  ])('names the host of %s under its partition\'s DNS suffix', (region, host) => {
    expect(smtpHostForRegion(region)).toBe(host);
    expect(host.endsWith(`.${partitionOf(region)!.dnsSuffix}`)).toBe(true);
  });

  test('names a deploy-time region\'s host under the deploy-time URL suffix', () => {
    const stack = new Stack();

    expect(stack.resolve(smtpHostForRegion(stack.region)))
      .toEqual({ 'Fn::Join': ['', ['email-smtp.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] });
  });
});

/**
 * The documentation lists the regions too (README.md or a page under docs/):
 * between `<!-- smtp-regions -->` and `<!-- /smtp-regions -->`, a line starting
 * `- **SMTP endpoint**` and one starting `- **No SMTP endpoint**`, each naming
 * its regions in backticks.
 */
describe('the documented SMTP regions', () => {
  const ROOT = path.join(__dirname, '..');
  const docs = ['README.md', ...(fs.existsSync(path.join(ROOT, 'docs')) ? fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f)) : [])];
  const blocks = docs.flatMap((file) => [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/<!-- smtp-regions -->\n([\s\S]*?)<!-- \/smtp-regions -->/g)]
    .map((m) => ({ file, text: m[1] })));
  /** The region names in backticks in the list item that starts with the label (continuation lines included). */
  const regionsOn = (text: string, label: string) => {
    const items = text.split(/\n(?=- )/).map((item) => item.replace(/\n\s+/g, ' '));
    const item = items.find((i) => i.startsWith(`- **${label}**`));
    if (item === undefined) throw new Error(`the smtp-regions block has no item starting '- **${label}**'`);
    return [...item.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]).filter((r) => partitionOf(r) !== undefined).sort();
  };

  /** The one block, or an error that says where the blocks are and what to do. */
  function theBlock() {
    if (blocks.length !== 1) {
      throw new Error(`expected one <!-- smtp-regions --> … <!-- /smtp-regions --> block in README.md or docs/*.md, found ${blocks.length} (${blocks.map((b) => b.file).join(', ') || 'none'}); keep exactly one, listing SMTP_REGIONS and NO_SMTP_REGIONS of lib/smtp-endpoints.ts`);
    }
    return blocks[0];
  }

  test('are listed in exactly one place, between the smtp-regions markers', () => {
    expect(theBlock().file).toMatch(/^(README\.md|docs\/.+\.md)$/);
  });

  test('are the regions of the table', () => {
    const block = theBlock();

    expect(regionsOn(block.text, 'SMTP endpoint')).toEqual([...SMTP_REGIONS].sort());
    expect(regionsOn(block.text, 'No SMTP endpoint')).toEqual([...NO_SMTP_REGIONS].sort());
  });
});
