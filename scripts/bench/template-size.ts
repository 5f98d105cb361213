/**
 * Template size budget of a self-contained stack (HandlerCode.INLINE with a
 * BootstraplessSynthesizer) at 1, 100 and 123 users (the most that fit
 * CloudFormation's 500 resources), against CloudFormation's
 * template limits: 51,200 bytes as TemplateBody, 1 MB from S3. The file-asset
 * stack of the same size is measured beside it, for the cost of the inline
 * handler. Bytes are UTF-8, of the template as `cdk synth` writes it
 * (cdk.out, JSON indented by one space) and compacted (no whitespace outside
 * strings, what `jq -c` uploads).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from './common';
import { TEMPLATE_LIMITS } from './limits';
import { BENCH_STACK_NAME, buildApp } from './stacks';

export const TEMPLATE_SIZE_USERS = [1, 100, 123] as const;

export interface TemplateSize {
  readonly users: number;
  readonly resources: number;
  /** Bytes of the self-contained template as cdk.out holds it. */
  readonly inlineBytes: number;
  /** The same, compacted. */
  readonly inlineCompactBytes: number;
  /** Bytes of Code.ZipFile (the handler) inside it. */
  readonly handlerBytes: number;
  /** Bytes of the file-asset template (`cdk deploy`) as cdk.out holds it. */
  readonly assetBytes: number;
  /** Where the self-contained template can go: 'TemplateBody or S3', 'S3 only', or 'too large'. */
  readonly deployPath: string;
}

function deployPath(bytes: number): string {
  if (bytes <= TEMPLATE_LIMITS.templateBody) return 'TemplateBody or S3';
  if (bytes <= TEMPLATE_LIMITS.templateFromS3) return 'S3 only (TemplateURL)';
  return 'too large for one template';
}

async function synthesized(users: number, selfContained: boolean): Promise<{ text: string; template: { Resources: Record<string, { Type: string; Properties?: { Code?: { ZipFile?: string } } }> } }> {
  const outdir = tmpDir(`size-${selfContained ? 'inline' : 'asset'}-${users}`);
  const { app } = await buildApp('ours', users, outdir, { selfContained });
  app.synth();
  const text = fs.readFileSync(path.join(outdir, `${BENCH_STACK_NAME}.template.json`), 'utf8');
  return { text, template: JSON.parse(text) };
}

export async function templateSizes(): Promise<TemplateSize[]> {
  const sizes: TemplateSize[] = [];
  for (const users of TEMPLATE_SIZE_USERS) {
    const inline = await synthesized(users, true);
    const asset = await synthesized(users, false);
    const resources = Object.values(inline.template.Resources);
    const zipFile = resources.find((r) => r.Type === 'AWS::Lambda::Function')?.Properties?.Code?.ZipFile;
    if (typeof zipFile !== 'string') throw new Error('the self-contained stack has no inline handler');
    const inlineBytes = Buffer.byteLength(inline.text);
    sizes.push({
      users,
      resources: resources.filter((r) => r.Type !== 'AWS::CDK::Metadata').length,
      inlineBytes,
      inlineCompactBytes: Buffer.byteLength(JSON.stringify(inline.template)),
      handlerBytes: Buffer.byteLength(zipFile),
      assetBytes: Buffer.byteLength(asset.text),
      deployPath: deployPath(inlineBytes),
    });
  }
  return sizes;
}
