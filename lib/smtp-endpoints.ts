/**
 * Where Amazon SES offers its SMTP interface: one table, one place.
 *
 * Sources (retrieved 2026-11):
 * - AWS SDK code example "convert IAM credentials to SES SMTP credentials"
 *   (`SMTP_REGIONS`, 17 regions; it calls itself an example, not a complete list).
 * - Amazon SES Developer Guide, "Obtaining Amazon SES SMTP credentials" (2022),
 *   which said SMTP endpoints were not available in af-south-1,
 *   ap-southeast-3 and me-south-1 (it also listed eu-south-1, which the newer
 *   code example contradicts, so eu-south-1 is treated as offering SMTP).
 *
 * The list changes over time. Regions in neither list get a synth-time warning;
 * a region known to have no endpoint is an error. `SesSmtpUserProps.smtpHost`
 * overrides both.
 */

/** Regions with a documented SES SMTP endpoint. */
export const SMTP_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-2',
  'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-southeast-1', 'ap-southeast-2',
  'ca-central-1',
  'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-south-1', 'eu-north-1',
  'sa-east-1',
  'us-gov-west-1', 'us-gov-east-1',
];

/** Regions documented as having no SES SMTP endpoint. */
export const NO_SMTP_REGIONS: readonly string[] = ['af-south-1', 'ap-southeast-3', 'me-south-1'];

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

/** The standard SES SMTP host of a region. */
export function smtpHostForRegion(region: string): string {
  return `email-smtp.${region}.amazonaws.com`;
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

  /** The standard SES SMTP host of a region, `email-smtp.<region>.amazonaws.com`. */
  public static host(region: string): string {
    return smtpHostForRegion(region);
  }

  private constructor() {}
}
