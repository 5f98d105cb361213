// @ts-check
'use strict';
/**
 * The AWS partitions: every fact about region names, DNS suffixes and ARNs
 * that the handler, the CLI and the construct need, in one table.
 *
 * The partition facts (id, regionRegex, dnsSuffix, dualStackDnsSuffix,
 * implicitGlobalRegion, regions) are those of the AWS SDK for JavaScript v3's
 * partition data (`partitionsInfo`, version 1.1, in @aws-sdk/core 3.981.0's
 * client/util-endpoints submodule), without the SDK's pseudo regions
 * (`aws-global`, `aws-cn-global`, ...). They are copied, not required: that
 * module is no public API, and the SDK in the Lambda runtime is another
 * version. test/partitions.test.ts compares this table with the SDK in
 * node_modules, so an SDK update that adds a partition or a region fails it.
 *
 * This file ships in the Lambda asset; lib/contract.ts re-exports it for the
 * construct, and packages/cli/lib/partitions.js is a byte-identical copy
 * (test/cli-package.test.ts), because neither artifact can load the other's
 * files.
 *
 * @typedef {{
 *   id: string,
 *   regionRegex: string,
 *   dnsSuffix: string,
 *   dualStackDnsSuffix: string,
 *   implicitGlobalRegion: string,
 *   regions: readonly string[],
 *   s3GlobalEndpoint: boolean,
 *   s3DashRegionEndpoints: boolean,
 * }} Partition
 *   `s3GlobalEndpoint` and `s3DashRegionEndpoints` are S3 facts, not the
 *   SDK's partition data; see responseBucketHosts.
 */

/** @type {readonly Readonly<Partition>[]} */
const PARTITIONS = Object.freeze([
  {
    id: 'aws',
    regionRegex: '^(us|eu|ap|sa|ca|me|af|il|mx)\\-\\w+\\-\\d+$',
    dnsSuffix: 'amazonaws.com',
    dualStackDnsSuffix: 'api.aws',
    implicitGlobalRegion: 'us-east-1',
    regions: [
      'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
      'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
      'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2',
      'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'me-west-1', 'mx-central-1', 'sa-east-1', 'sa-west-1', 'us-east-1',
      'us-east-2', 'us-west-1', 'us-west-2',
    ],
    s3GlobalEndpoint: true,
    s3DashRegionEndpoints: true,
  },
  {
    id: 'aws-cn',
    regionRegex: '^cn\\-\\w+\\-\\d+$',
    dnsSuffix: 'amazonaws.com.cn',
    dualStackDnsSuffix: 'api.amazonwebservices.com.cn',
    implicitGlobalRegion: 'cn-northwest-1',
    regions: ['cn-north-1', 'cn-northwest-1'],
    s3GlobalEndpoint: false,
    s3DashRegionEndpoints: false,
  },
  {
    id: 'aws-eusc',
    regionRegex: '^eusc\\-(de)\\-\\w+\\-\\d+$',
    dnsSuffix: 'amazonaws.eu',
    dualStackDnsSuffix: 'api.amazonwebservices.eu',
    implicitGlobalRegion: 'eusc-de-east-1',
    regions: ['eusc-de-east-1'],
    s3GlobalEndpoint: false,
    s3DashRegionEndpoints: false,
  },
  {
    id: 'aws-iso',
    regionRegex: '^us\\-iso\\-\\w+\\-\\d+$',
    dnsSuffix: 'c2s.ic.gov',
    dualStackDnsSuffix: 'api.aws.ic.gov',
    implicitGlobalRegion: 'us-iso-east-1',
    regions: ['us-iso-east-1', 'us-iso-west-1'],
    s3GlobalEndpoint: false,
    s3DashRegionEndpoints: false,
  },
  {
    id: 'aws-iso-b',
    regionRegex: '^us\\-isob\\-\\w+\\-\\d+$',
    dnsSuffix: 'sc2s.sgov.gov',
    dualStackDnsSuffix: 'api.aws.scloud',
    implicitGlobalRegion: 'us-isob-east-1',
    regions: ['us-isob-east-1', 'us-isob-west-1'],
    s3GlobalEndpoint: false,
    s3DashRegionEndpoints: false,
  },
  {
    id: 'aws-iso-e',
    regionRegex: '^eu\\-isoe\\-\\w+\\-\\d+$',
    dnsSuffix: 'cloud.adc-e.uk',
    dualStackDnsSuffix: 'api.cloud-aws.adc-e.uk',
    implicitGlobalRegion: 'eu-isoe-west-1',
    regions: ['eu-isoe-west-1'],
    s3GlobalEndpoint: false,
    s3DashRegionEndpoints: false,
  },
  {
    id: 'aws-iso-f',
    regionRegex: '^us\\-isof\\-\\w+\\-\\d+$',
    dnsSuffix: 'csp.hci.ic.gov',
    dualStackDnsSuffix: 'api.aws.hci.ic.gov',
    implicitGlobalRegion: 'us-isof-south-1',
    regions: ['us-isof-east-1', 'us-isof-south-1'],
    s3GlobalEndpoint: false,
    s3DashRegionEndpoints: false,
  },
  {
    id: 'aws-us-gov',
    regionRegex: '^us\\-gov\\-\\w+\\-\\d+$',
    dnsSuffix: 'amazonaws.com',
    dualStackDnsSuffix: 'api.aws',
    implicitGlobalRegion: 'us-gov-west-1',
    regions: ['us-gov-east-1', 'us-gov-west-1'],
    s3GlobalEndpoint: false,
    s3DashRegionEndpoints: true,
  },
].map((p) => Object.freeze({ ...p, regions: Object.freeze([...p.regions]) })));

/**
 * Region names are DNS labels joined by dashes, in lower case. The SDK's
 * regionRegex alone allows `\w` (capitals, underscores), which no region has
 * and which would sign an SMTP password for a name SES never uses.
 */
const REGION_LABELS = /^[a-z0-9]+(?:-[a-z0-9]+)+$/;

/** The compiled regionRegex of each partition. */
const REGION_REGEXES = new Map(PARTITIONS.map((p) => [p, new RegExp(p.regionRegex)]));

/**
 * The partition of a region name: the one that lists it, else the one whose
 * regionRegex it matches (as the SDK resolves a region newer than its data).
 * Unlike the SDK, a name no partition claims has no partition (the SDK falls
 * back to `aws`).
 * @param {unknown} region
 * @returns {Readonly<Partition> | undefined}
 */
function partitionOf(region) {
  if (typeof region !== 'string' || !REGION_LABELS.test(region)) return undefined;
  return PARTITIONS.find((p) => p.regions.includes(region))
    ?? PARTITIONS.find((p) => /** @type {RegExp} */ (REGION_REGEXES.get(p)).test(region));
}

/**
 * Whether a string has the syntax of a region of some partition, listed or
 * not: `eu-west-1`, `us-gov-west-1`, `eusc-de-east-1`, and also a region newer
 * than this table. A deploy-time check cannot tell more without asking AWS.
 * @param {unknown} region
 * @returns {region is string}
 */
function isRegionName(region) {
  return partitionOf(region) !== undefined;
}

/**
 * Whether some partition lists the region (the SDK's data as of this table).
 * @param {unknown} region
 * @returns {region is string}
 */
function isListedRegion(region) {
  return typeof region === 'string' && PARTITIONS.some((p) => p.regions.includes(region));
}

/** Every region the table lists, in partition order. */
const LISTED_REGIONS = Object.freeze(PARTITIONS.flatMap((p) => p.regions));

/**
 * Whether a string is an ARN of a resource of the given service and type whose
 * partition and region go together:
 * `arn:<partition>:<service>:<region>:<12-digit account>:<type>:<name>`, where
 * <region> is a region name of <partition>.
 * @param {unknown} arn
 * @param {string} service e.g. `secretsmanager`
 * @param {string} resourceType e.g. `secret`
 * @returns {arn is string}
 */
function isRegionalArn(arn, service, resourceType) {
  if (typeof arn !== 'string') return false;
  const [prefix, partitionId, arnService, region, account, type, ...name] = arn.split(':');
  return prefix === 'arn' && arnService === service && /^\d{12}$/.test(account ?? '') && type === resourceType
    && name.join(':').length > 0 && partitionOf(region)?.id === partitionId;
}

/**
 * The host names under which CloudFormation's response bucket for a region
 * (`cloudformation-custom-resource-response-<region without dashes>`) can
 * appear in a ResponseURL. Bucket names are unique only within a partition
 * (the GovCloud user guide, "Amazon S3 in AWS GovCloud (US)": bucket names
 * there are not shared with other regions), so every host is one of S3's
 * endpoints in the region's own partition:
 *
 * - `<bucket>.s3.<region>.<dnsSuffix>`, `<bucket>.s3-fips.<region>.<dnsSuffix>`
 *   and their `.dualstack.` forms: the virtual-hosted endpoints of the S3
 *   endpoint rules in the AWS SDKs' S3 client model
 *   (`https://{Bucket}.s3.{Region}.{partitionResult#dnsSuffix}`, and the
 *   `s3-fips` / `s3.dualstack` variants), for every partition;
 * - `<bucket>.s3.<dnsSuffix>`: the rules' global endpoint, which they give
 *   for the `aws` partition only (region `aws-global`, or us-east-1 with the
 *   legacy global endpoint). Under amazonaws.com it reaches the `aws`
 *   partition, so it is never right for GovCloud;
 * - `<bucket>.s3-<region>.<dnsSuffix>`: S3's legacy dash endpoints (S3 user
 *   guide, "Virtual hosting of buckets", backward compatibility), in `aws`
 *   and `aws-us-gov` (`s3-us-gov-west-1.amazonaws.com`).
 *
 * Public samples exist for `aws` (`.s3.amazonaws.com`, `.s3.<region>.amazonaws.com`,
 * `.s3-<region>.amazonaws.com`) and `aws-cn` (`.s3.cn-north-1.amazonaws.com.cn`).
 * GovCloud's and the European Sovereign Cloud's forms have none: they are
 * derived from the S3 endpoint rules above (for aws-eusc:
 * `cloudformation-custom-resource-response-euscdeeast1.s3.eusc-de-east-1.amazonaws.eu`).
 *
 * Empty for a string that is no region name.
 * @param {unknown} region the function's own region
 * @returns {string[]}
 */
function responseBucketHosts(region) {
  const partition = partitionOf(region);
  if (!partition || typeof region !== 'string') return [];
  const bucket = `cloudformation-custom-resource-response-${region.replace(/-/g, '')}`;
  const suffix = partition.dnsSuffix;
  const hosts = [
    `${bucket}.s3.${region}.${suffix}`,
    `${bucket}.s3-fips.${region}.${suffix}`,
    `${bucket}.s3.dualstack.${region}.${suffix}`,
    `${bucket}.s3-fips.dualstack.${region}.${suffix}`,
  ];
  if (partition.s3GlobalEndpoint) hosts.push(`${bucket}.s3.${suffix}`);
  if (partition.s3DashRegionEndpoints) hosts.push(`${bucket}.s3-${region}.${suffix}`);
  return hosts;
}

/**
 * Where CloudTrail's event history holds IAM's events for a region's
 * partition: IAM is a global service whose events are recorded in the region
 * of its endpoint ("us-east-1" in the aws partition, CloudTrail User Guide,
 * global service events). That is the partition's implicit global region,
 * except in aws-cn, whose IAM endpoint is iam.cn-north-1.amazonaws.com.cn
 * (AWS General Reference, IAM endpoints); no public sample confirms the
 * lookup there.
 * @param {unknown} region
 * @returns {string} us-east-1 for a region of no known partition
 */
function iamEventsRegion(region) {
  const partition = partitionOf(region);
  if (!partition) return 'us-east-1';
  return partition.id === 'aws-cn' ? 'cn-north-1' : partition.implicitGlobalRegion;
}

module.exports = { PARTITIONS, LISTED_REGIONS, partitionOf, isRegionName, isListedRegion, isRegionalArn, responseBucketHosts, iamEventsRegion };
