import { BootstraplessSynthesizer, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * Where the stack's handler function gets its code. Mirrors
 * `lambda.Code.fromAsset` and `lambda.Code.fromInline`.
 */
export enum HandlerCode {
  /**
   * A file asset: `cdk deploy` uploads the handler to the CDK bootstrap
   * bucket. The template refers to the bucket and needs a bootstrapped account.
   */
  ASSET = 'ASSET',

  /**
   * Inline in the template (`Code.ZipFile`): the handler's modules bundled
   * into one readable CommonJS file at synth time, not minified. The template
   * needs no bootstrap bucket, so CloudFormation StackSets, Customizations for
   * Control Tower and Service Catalog can deploy it from S3. Pair it with a
   * synthesizer that needs no bootstrap (`BootstraplessSynthesizer`).
   */
  INLINE = 'INLINE',
}

/**
 * The handler code a SesSmtpUser asks for: the given one, or INLINE when the
 * stack's synthesizer can hold no assets (BootstraplessSynthesizer), else ASSET.
 */
export function requestedHandlerCode(scope: Construct, code: HandlerCode | undefined): HandlerCode {
  if (code !== undefined) return code;
  return Stack.of(scope).synthesizer instanceof BootstraplessSynthesizer ? HandlerCode.INLINE : HandlerCode.ASSET;
}
