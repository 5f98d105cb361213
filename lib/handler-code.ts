import { Annotations, BootstraplessSynthesizer, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
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
   * synthesizer that needs no bootstrap (`BootstraplessSynthesizer`): with
   * `DefaultStackSynthesizer` (the default) synth warns, because that
   * synthesizer still adds a bootstrap version check (the `BootstrapVersion`
   * parameter, read from SSM) that fails in an account without CDK bootstrap.
   */
  INLINE = 'INLINE',
}

/** Id of the warning that INLINE does not make a template bootstrapless by itself. */
export const INLINE_NEEDS_BOOTSTRAP_WARNING = 'ses-smtp-credentials:inlineNeedsBootstrap';

/** Stacks already warned about INLINE with a bootstrapped synthesizer (once per stack). */
const warnedStacks = new WeakSet<Stack>();

/**
 * The handler code a SesSmtpUser asks for: the given one, or INLINE when the
 * stack's synthesizer can hold no assets (BootstraplessSynthesizer), else ASSET.
 *
 * INLINE with a DefaultStackSynthesizer (other than a bootstrapless one) is
 * worth a warning, once per stack: the user chose INLINE to deploy without
 * bootstrap, and that synthesizer adds a bootstrap version check to the
 * template. Its options cannot be read here, so one built with
 * `generateBootstrapVersionRule: false` (no check) is warned about too;
 * acknowledging the warning is the answer there. Other synthesizers
 * (CliCredentialsStackSynthesizer, LegacyStackSynthesizer) add no such check.
 */
export function requestedHandlerCode(scope: Construct, code: HandlerCode | undefined): HandlerCode {
  const stack = Stack.of(scope);
  const bootstrapless = stack.synthesizer instanceof BootstraplessSynthesizer;
  const checksBootstrap = stack.synthesizer instanceof DefaultStackSynthesizer && !bootstrapless;
  if (code === HandlerCode.INLINE && checksBootstrap && !warnedStacks.has(stack)) {
    warnedStacks.add(stack);
    Annotations.of(scope).addWarningV2(INLINE_NEEDS_BOOTSTRAP_WARNING,
      `handlerCode is HandlerCode.INLINE, but stack '${stack.stackName}' synthesizes with ${stack.synthesizer.constructor.name}, `
      + 'which adds a bootstrap version check (the BootstrapVersion parameter, read from SSM): the template still needs a CDK-bootstrapped account. '
      + 'To deploy without bootstrap (StackSets, Customizations for Control Tower, Service Catalog), give the stack '
      + '`synthesizer: new BootstraplessSynthesizer()`. If the synthesizer adds no such check (generateBootstrapVersionRule: false), '
      + `acknowledge this warning: Annotations.of(stack).acknowledgeWarning('${INLINE_NEEDS_BOOTSTRAP_WARNING}').`);
  }
  if (code !== undefined) return code;
  return bootstrapless ? HandlerCode.INLINE : HandlerCode.ASSET;
}
