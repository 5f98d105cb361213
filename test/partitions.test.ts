/**
 * One partition table (lib/handler/partitions.js) for the handler, the CLI
 * and the construct: it holds the AWS SDK's partition facts, and everything
 * that needs region syntax, DNS suffixes or ARNs takes them from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { AccessKeySource, HandlerCode, SesSmtpUser } from '../lib';
import {
  LISTED_REGIONS, PARTITIONS, isListedRegion, isRegionName, isRegionalArn, partitionOf, responseBucketHosts,
} from '../lib/handler/partitions';
import { isCloudFormationResponseUrl } from '../lib/handler/authority';
import { regionOfHost } from '../packages/cli/lib/diagnose';

interface SdkPartition {
  id: string;
  regionRegex: string;
  outputs: { dnsSuffix: string; dualStackDnsSuffix: string; implicitGlobalRegion: string; name: string };
  regions: Record<string, unknown>;
}

/**
 * The partition data of the AWS SDK in node_modules. It is no public API, so
 * only this test reads it: if the SDK moves it, this fails and says where it looked.
 */
function sdkPartitions(): SdkPartition[] {
  const core = path.dirname(require.resolve('@aws-sdk/core/package.json'));
  const file = path.join(core, 'dist-es', 'submodules', 'client', 'util-endpoints', 'lib', 'aws', 'partitions.js');
  if (!fs.existsSync(file)) throw new Error(`the AWS SDK's partition data is not at ${file} any more; find it in @aws-sdk/core and point this test at it`);
  const source = fs.readFileSync(file, 'utf8');
  const json = /^export const partitionsInfo = ([\s\S]*);\s*$/.exec(source)?.[1];
  if (json === undefined) throw new Error(`${file} no longer has the form 'export const partitionsInfo = {...};'`);
  return (JSON.parse(json) as { partitions: SdkPartition[] }).partitions;
}

describe('the partition table', () => {
  const sdk = sdkPartitions();

  test('has exactly the SDK\'s partitions, with its facts and its regions (without the SDK\'s pseudo regions such as aws-global)', () => {
    const fromSdk = sdk.map((p) => ({
      id: p.id,
      regionRegex: p.regionRegex,
      dnsSuffix: p.outputs.dnsSuffix,
      dualStackDnsSuffix: p.outputs.dualStackDnsSuffix,
      implicitGlobalRegion: p.outputs.implicitGlobalRegion,
      regions: Object.keys(p.regions).filter((r) => new RegExp(p.regionRegex).test(r)).sort(),
    }));
    const ours = PARTITIONS.map((p) => ({
      id: p.id,
      regionRegex: p.regionRegex,
      dnsSuffix: p.dnsSuffix,
      dualStackDnsSuffix: p.dualStackDnsSuffix,
      implicitGlobalRegion: p.implicitGlobalRegion,
      regions: [...p.regions].sort(),
    }));

    expect(ours).toEqual(fromSdk);
  });

  test('resolves every region to the partition the SDK\'s own resolver gives', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { awsEndpointFunctions } = require('@aws-sdk/core/client') as { awsEndpointFunctions: { partition(region: string): { name: string; dnsSuffix: string } } };
    const probes = [...LISTED_REGIONS, 'eu-west-9', 'us-gov-north-7', 'eusc-de-west-2', 'cn-south-1', 'us-isob-north-3'];

    for (const region of probes) {
      const theirs = awsEndpointFunctions.partition(region);
      expect([region, partitionOf(region)?.id, partitionOf(region)?.dnsSuffix]).toEqual([region, theirs.name, theirs.dnsSuffix]);
    }
  });

  test('knows every region aws-cdk-lib\'s region list knows, in the same partition (or the library is behind: update the table)', () => {
    const behind = RegionInfo.regions.filter((r) => partitionOf(r.name)?.id !== r.partition || !isListedRegion(r.name));

    expect(behind.map((r) => `${r.name} (${r.partition})`)).toEqual([]);
  });

  test.each([
    ['eu-west-1', 'aws'], ['us-gov-west-1', 'aws-us-gov'], ['cn-north-1', 'aws-cn'], ['eusc-de-east-1', 'aws-eusc'],
    ['us-iso-east-1', 'aws-iso'], ['us-isob-east-1', 'aws-iso-b'], ['eu-isoe-west-1', 'aws-iso-e'], ['us-isof-south-1', 'aws-iso-f'],
    ['eu-west-9', 'aws'], ['eusc-de-north-2', 'aws-eusc'],
  ])('takes %s as a region name of %s', (region, partition) => {
    expect(isRegionName(region)).toBe(true);
    expect(partitionOf(region)?.id).toBe(partition);
  });

  test.each(['EU-WEST-1', 'eu_west_1', 'eu-west', 'Ireland', 'xx-north-9', 'eusc-fr-east-1', 'eu-west-1 ', '', 'aws-global', 'arn:aws:iam'])(
    'takes %j as no region name', (name) => {
      expect(isRegionName(name)).toBe(false);
      expect(partitionOf(name)).toBeUndefined();
    });

  test.each([
    ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf', true],
    ['arn:aws-eusc:secretsmanager:eusc-de-east-1:123456789012:secret:smtp-AbCdEf', true],
    ['arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:smtp-AbCdEf', true],
    ['arn:aws:secretsmanager:eusc-de-east-1:123456789012:secret:smtp-AbCdEf', false],
    ['arn:aws-eusc:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf', false],
    ['arn:aws:secretsmanager:eu-west-1:12345:secret:smtp', false],
    ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:', false],
    ['arn:aws:ssm:eu-west-1:123456789012:secret:smtp', false],
  ])('judges %s a secret ARN: %s', (arn, ok) => {
    expect(isRegionalArn(arn, 'secretsmanager', 'secret')).toBe(ok);
  });
});

describe('CloudFormation\'s response bucket', () => {
  test.each([
    ['eu-west-1', 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x'],
    ['eu-west-1', 'https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/x'],
    ['us-east-1', 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x'],
    ['cn-north-1', 'https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x'],
    ['us-gov-west-1', 'https://cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com/x'],
    ['us-gov-west-1', 'https://cloudformation-custom-resource-response-usgovwest1.s3-fips.us-gov-west-1.amazonaws.com/x'],
    ['us-gov-east-1', 'https://cloudformation-custom-resource-response-usgoveast1.s3-us-gov-east-1.amazonaws.com/x'],
    ['eusc-de-east-1', 'https://cloudformation-custom-resource-response-euscdeeast1.s3.eusc-de-east-1.amazonaws.eu/x'],
    ['eusc-de-east-1', 'https://cloudformation-custom-resource-response-euscdeeast1.s3.dualstack.eusc-de-east-1.amazonaws.eu/x'],
  ])('in %s is answered at %s', (region, url) => {
    expect(isCloudFormationResponseUrl(url, region)).toBe(true);
  });

  test.each([
    // The global endpoint under amazonaws.com is the aws partition's namespace, where anyone may own a bucket of that name.
    ['us-gov-west-1', 'https://cloudformation-custom-resource-response-usgovwest1.s3.amazonaws.com/x'],
    ['eusc-de-east-1', 'https://cloudformation-custom-resource-response-euscdeeast1.s3.amazonaws.com/x'],
    ['eusc-de-east-1', 'https://cloudformation-custom-resource-response-euscdeeast1.s3.eusc-de-east-1.amazonaws.com/x'],
    ['cn-north-1', 'https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com/x'],
    ['eu-west-1', 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.eu/x'],
    ['eu-west-1', 'https://cloudformation-custom-resource-response-euwest2.s3.eu-west-2.amazonaws.com/x'],
    ['eu-west-1', 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com.evil.example/x'],
    ['eu-west-1', 'http://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x'],
    ['Ireland', 'https://cloudformation-custom-resource-response-ireland.s3.Ireland.amazonaws.com/x'],
    [undefined, 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x'],
  ])('in %s is not at %s', (region, url) => {
    expect(isCloudFormationResponseUrl(url, region)).toBe(false);
  });

  test('has hosts in every partition, all under that partition\'s DNS suffix', () => {
    for (const partition of PARTITIONS) {
      const hosts = responseBucketHosts(partition.implicitGlobalRegion);
      expect(hosts.length).toBeGreaterThanOrEqual(4);
      for (const host of hosts) expect(host.endsWith(`.${partition.dnsSuffix}`)).toBe(true);
    }
  });
});

describe('the CLI\'s reading of an SMTP host (check\'s wrong-region diagnosis)', () => {
  test.each([
    ['email-smtp.eu-west-1.amazonaws.com', 'eu-west-1'],
    ['email-smtp-fips.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['vpce-0123-abcd.email-smtp.eu-west-1.vpce.amazonaws.com', 'eu-west-1'],
    ['email-smtp.eusc-de-east-1.amazonaws.eu', 'eusc-de-east-1'],
    ['email-smtp.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ['email-smtp.eusc-de-east-1.amazonaws.com', undefined],
    ['email-smtp.eu-west-1.amazonaws.com.example.net', undefined],
    ['smtp.example.net', undefined],
  ])('finds in %s the region %s', (host, region) => {
    expect(regionOfHost(host)).toBe(region);
  });
});

describe('a stack in the AWS European Sovereign Cloud', () => {
  const ACCOUNT = '111122223333';
  const STAGING = { account: ACCOUNT, region: 'eusc-de-east-1' };

  /** Every feature that writes an ARN: identities, a KMS key, rotation, a key source that is followed, both handler codes. */
  function stacks(env: { account?: string; region?: string } | undefined): Stack[] {
    const app = new App();
    const rotating = new Stack(app, 'Rotating', { env });
    const identity = new ses.EmailIdentity(rotating, 'Identity', { identity: ses.Identity.domain('example.com') });
    new SesSmtpUser(rotating, 'Smtp', {
      user: iam.User.fromUserName(rotating, 'User', 'legacy-mail'),
      identities: [identity],
      encryptionKey: new kms.Key(rotating, 'Key'),
      rotateEvery: Duration.days(30),
      smtpHosts: env?.region ? { [env.region]: `email-smtp.${env.region}.amazonaws.eu` } : undefined,
    });
    const following = new Stack(app, 'Following', { env });
    new SesSmtpUser(following, 'Smtp', {
      user: iam.User.fromUserName(following, 'User', 'legacy-mail'),
      keySource: AccessKeySource.fromSecret(secretsmanager.Secret.fromSecretNameV2(following, 'Source', 'iam/legacy-mail')),
      followKeySource: true,
      handlerCode: HandlerCode.INLINE,
    });
    return [rotating, following];
  }

  /** Every string in a template that starts an ARN with a partition written out. */
  function literalArns(template: unknown): string[] {
    return [...JSON.stringify(template).matchAll(/arn:aws[a-z-]*:[^"\\]*/g)].map((m) => m[0]);
  }

  test('synthesizes with hosts under amazonaws.eu, warning that SES SMTP there is not known', () => {
    const [stack] = stacks(STAGING).slice(1);

    Annotations.fromStack(stack).hasWarning('/Following/Smtp', Match.stringLikeRegexp("does not know region 'eusc-de-east-1'; assuming email-smtp\\.eusc-de-east-1\\.amazonaws\\.eu"));
    Template.fromStack(stack).hasResourceProperties('Custom::SesSmtpCredentials', {
      Targets: [Match.objectLike({ Region: 'eusc-de-east-1', Host: 'email-smtp.eusc-de-east-1.amazonaws.eu' })],
    });
  });

  test.each([
    ['in eusc-de-east-1', STAGING],
    ['region-agnostic', undefined],
  ])('writes no ARN with a partition of its own making (%s): every one uses AWS::Partition', (_what, env) => {
    for (const stack of stacks(env)) {
      const template = Template.fromStack(stack).toJSON();

      expect([stack.stackName, literalArns(template)]).toEqual([stack.stackName, []]);
      expect(JSON.stringify(template)).toContain('{"Ref":"AWS::Partition"}');
    }
  });
});
