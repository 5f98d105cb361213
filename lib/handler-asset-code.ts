import { AssetStaging, CfnResource, Names, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

/**
 * The handler's directory as a deploy-time file asset: what
 * `lambda.Code.fromAsset(dir)` puts into the template and the asset
 * manifest, built from core's `AssetStaging` and the stack's synthesizer.
 *
 * `Code.fromAsset` goes through `aws-s3-assets.Asset`, which also builds an
 * `s3.IBucket` for `grantRead`. That import alone loads `aws-s3` and
 * aws-cdk-lib's region table (about 1.4 MB of JavaScript, some 70 ms of a
 * one-user stack's synth). The handler's bucket is never granted to anyone,
 * so this code does without it. The construct path (`Function/Code/Stage`),
 * the staged directory, the asset hash and the resource metadata that SAM
 * reads are the same.
 *
 * @internal
 */
export class HandlerAssetCode extends lambda.Code {
  public readonly isInline = false;
  private stagedPath?: string;

  constructor(private readonly sourcePath: string, private readonly exclude: string[]) {
    super();
  }

  public bind(scope: Construct): lambda.CodeConfig {
    if (this.stagedPath !== undefined) {
      throw new Error(`[${scope.node.path}] the handler's asset code is already bound to a function; the stack's handler makes one per function`);
    }
    const stack = Stack.of(scope);
    const asset = new Construct(scope, 'Code');
    const staging = new AssetStaging(asset, 'Stage', { sourcePath: this.sourcePath, exclude: this.exclude });
    if (!staging.isArchive) {
      throw new Error(`[${scope.node.path}] the handler asset at ${this.sourcePath} must be a directory; reinstall the package`);
    }
    this.stagedPath = staging.relativeStagedPath(stack);
    const location = stack.synthesizer.addFileAsset({
      packaging: staging.packaging,
      sourceHash: staging.assetHash,
      fileName: this.stagedPath,
      deployTime: true,
      displayName: Names.stackRelativeConstructPath(asset),
    });
    return { s3Location: { bucketName: location.bucketName, objectKey: location.objectKey } };
  }

  /** Asset metadata for local tools (SAM), when the app asks for it, as `Code.fromAsset` writes it. */
  public bindToResource(resource: CfnResource, options: lambda.ResourceBindOptions = {}): void {
    if (this.stagedPath === undefined) {
      throw new Error(`[${resource.node.path}] bindToResource() needs bind() first`);
    }
    if (!resource.node.tryGetContext(cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT)) return;
    resource.cfnOptions.metadata = {
      ...resource.cfnOptions.metadata,
      [cxapi.ASSET_RESOURCE_METADATA_PATH_KEY]: this.stagedPath,
      [cxapi.ASSET_RESOURCE_METADATA_IS_BUNDLED_KEY]: false,
      [cxapi.ASSET_RESOURCE_METADATA_PROPERTY_KEY]: options.resourceProperty ?? 'Code',
    };
  }
}
