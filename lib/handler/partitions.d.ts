/**
 * Declaration of partitions.js: the AWS partitions (the AWS SDK's partition
 * data, copied) and what the handler, the CLI and the construct derive from
 * them. Implemented in partitions.js, which ships in the Lambda asset.
 */
export interface Partition {
  readonly id: string;
  readonly regionRegex: string;
  readonly dnsSuffix: string;
  readonly dualStackDnsSuffix: string;
  readonly implicitGlobalRegion: string;
  readonly regions: readonly string[];
  /** S3 answers `<bucket>.s3.<dnsSuffix>` in this partition (S3 endpoint rules: `aws` only). */
  readonly s3GlobalEndpoint: boolean;
  /** S3's legacy `<bucket>.s3-<region>.<dnsSuffix>` endpoints exist in this partition. */
  readonly s3DashRegionEndpoints: boolean;
}
export declare const PARTITIONS: readonly Partition[];
export declare const LISTED_REGIONS: readonly string[];
export declare function partitionOf(region: unknown): Partition | undefined;
export declare function isRegionName(region: unknown): region is string;
export declare function isListedRegion(region: unknown): region is string;
export declare function isRegionalArn(arn: unknown, service: string, resourceType: string): arn is string;
export declare function responseBucketHosts(region: unknown): string[];
export declare function iamEventsRegion(region: unknown): string;
