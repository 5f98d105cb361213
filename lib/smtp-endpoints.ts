import { Aws, Token } from 'aws-cdk-lib';
import { partitionOf } from './contract';

/**
 * Where Amazon SES offers its SMTP interface, per partition: one table, one
 * place. Hosts are `email-smtp.<region>.<the partition's DNS suffix>`
 * (lib/handler/partitions.js).
 *
 * Sources, looked up 2026-12-07:
 * 1. Amazon SES Developer Guide, "Obtaining Amazon SES SMTP credentials"
 *    (https://docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html), current
 *    text: "SMTP endpoints are not currently available in Africa (Cape Town),
 *    Asia Pacific (Jakarta), Europe (Milan), Israel (Tel Aviv), and Middle East
 *    (Bahrain)." It names Israel (Tel Aviv), so it postdates that region's
 *    2023 launch; the 2022 text this table used before lacked it.
 * 2. AWS SDK Code Examples, "Generate credentials to connect to an Amazon SES
 *    SMTP endpoint" (https://docs.aws.amazon.com/code-library/latest/ug/ses_example_ses_Scenario_GenerateSmtpCredentials_section.html),
 *    current: `SMTP_REGIONS`, 17 regions; it is an example, not a complete list.
 * 3. AWS General Reference, "Amazon Simple Email Service endpoints and
 *    quotas", section SMTP endpoints
 *    (https://docs.aws.amazon.com/general/latest/gr/ses.html#ses_smtp_endpoints),
 *    the complete list. The stored copy the search tool serves shows only the
 *    page's first table (API endpoints); its SMTP table was read from a copy
 *    quoted verbatim in Review Board's tests
 *    (reviewboard/notifications/tests/test_email_backend.py, "taken from
 *    gr/ses.html"): it adds us-west-1 and eu-west-3, and FIPS hosts in
 *    us-east-1, us-west-2 and us-gov-west-1 (give those with `smtpHosts`).
 * 4. ap-northeast-3 (Osaka): listed by the peer construct
 *    (@pepperize/cdk-ses-smtp-credentials 0.3.692, `SMTP_REGIONS`) and by a
 *    third-party copy of the General Reference table (with its region names);
 *    no AWS page in reach lists it either way. Third-party evidence only.
 *
 * Conflicts and gaps:
 * - eu-south-1 (Milan): the code example lists it, the Developer Guide says it
 *   has no endpoint. The table does not know it (a warning), rather than
 *   guess either way.
 * - aws-us-gov: us-gov-west-1 (source 3, and its FIPS host) and us-gov-east-1
 *   (source 2; the GovCloud user guide, "Amazon SES in AWS GovCloud (US)",
 *   lists SES in both GovCloud regions).
 * - aws-cn, aws-eusc (the European Sovereign Cloud) and the ISO partitions:
 *   no source found says whether SES SMTP exists there. Their regions are
 *   real (a warning, host `email-smtp.<region>.<suffix>`, e.g.
 *   `email-smtp.eusc-de-east-1.amazonaws.eu`); `smtpHosts` names the host.
 *
 * The lists change over time. A region with no endpoint is an error, a real
 * region the table does not know is a warning, and `SesSmtpUserProps.smtpHosts`
 * overrides both. test/smtp-endpoints.test.ts holds the README's list to this
 * table.
 */
export const SMTP_BY_PARTITION: { readonly [partition: string]: { readonly smtp: readonly string[]; readonly noSmtp: readonly string[] } } = {
  'aws': {
    smtp: [
      'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
      'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
      'ca-central-1',
      'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1',
      'sa-east-1',
    ],
    noSmtp: ['af-south-1', 'ap-southeast-3', 'il-central-1', 'me-south-1'],
  },
  'aws-us-gov': { smtp: ['us-gov-west-1', 'us-gov-east-1'], noSmtp: [] },
};

/** Regions with a documented SES SMTP endpoint. */
export const SMTP_REGIONS: readonly string[] = Object.values(SMTP_BY_PARTITION).flatMap((p) => p.smtp);

/** Regions documented as having no SES SMTP endpoint. */
export const NO_SMTP_REGIONS: readonly string[] = Object.values(SMTP_BY_PARTITION).flatMap((p) => p.noSmtp);

/** Ports the SES SMTP interface listens on (STARTTLS: 25, 587, 2587; TLS wrapper: 465, 2465). */
export const SMTP_PORTS: readonly number[] = [25, 465, 587, 2465, 2587];

/** The port written into the secret unless another is chosen. */
export const DEFAULT_SMTP_PORT = 587;

/** What the table knows about a region. */
export enum SmtpRegionSupport {
  /** The region has a documented SMTP endpoint. */
  SUPPORTED = 'SUPPORTED',
  /** The region is documented as having no SMTP endpoint. */
  UNSUPPORTED = 'UNSUPPORTED',
  /** The table does not know the region. */
  UNKNOWN = 'UNKNOWN',
}

/** Looks a region up in the table. */
export function smtpRegionSupport(region: string): SmtpRegionSupport {
  if (SMTP_REGIONS.includes(region)) return SmtpRegionSupport.SUPPORTED;
  if (NO_SMTP_REGIONS.includes(region)) return SmtpRegionSupport.UNSUPPORTED;
  return SmtpRegionSupport.UNKNOWN;
}

/** The regions with a documented SMTP endpoint in one partition. */
export function smtpRegionsInPartition(partition: string): readonly string[] {
  return SMTP_BY_PARTITION[partition]?.smtp ?? [];
}

/**
 * The standard SES SMTP host of a region, `email-smtp.<region>.<DNS suffix of
 * the region's partition>` (`amazonaws.com`, `amazonaws.com.cn`,
 * `amazonaws.eu`, ...). For a deploy-time region (a token) the suffix is the
 * deploy-time `AWS::URLSuffix`; for a name no partition claims, the `aws`
 * partition's, as the AWS SDK does.
 */
export function smtpHostForRegion(region: string): string {
  const suffix = Token.isUnresolved(region) ? Aws.URL_SUFFIX : partitionOf(region)?.dnsSuffix ?? 'amazonaws.com';
  return `email-smtp.${region}.${suffix}`;
}

/**
 * The SES SMTP endpoint table as a class, for languages that have no free
 * functions or module constants (jsii). Same data as the exports above.
 */
export class SmtpEndpoints {
  /** Regions with a documented SES SMTP endpoint. */
  public static readonly REGIONS: string[] = [...SMTP_REGIONS];

  /** Regions documented as having no SES SMTP endpoint. */
  public static readonly REGIONS_WITHOUT_SMTP: string[] = [...NO_SMTP_REGIONS];

  /** Ports the SES SMTP interface listens on. */
  public static readonly PORTS: number[] = [...SMTP_PORTS];

  /** The port written into the secret unless another is chosen. */
  public static readonly DEFAULT_PORT: number = DEFAULT_SMTP_PORT;

  /** What the table knows about a region. */
  public static support(region: string): SmtpRegionSupport {
    return smtpRegionSupport(region);
  }

  /**
   * The standard SES SMTP host of a region,
   * `email-smtp.<region>.<DNS suffix of the region's partition>`, for example
   * `email-smtp.eu-west-1.amazonaws.com` or `email-smtp.eusc-de-east-1.amazonaws.eu`.
   */
  public static host(region: string): string {
    return smtpHostForRegion(region);
  }

  private constructor() {}
}
