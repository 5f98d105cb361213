import { deriveSmtpPassword } from './handler/smtp-password';

/**
 * Amazon SES SMTP passwords. The same derivation as `deriveSmtpPassword`,
 * as a static method for languages that have no free functions (jsii).
 */
export class SmtpPassword {
  /**
   * Derives the SES SMTP password (version 0x04) for a long-term IAM secret
   * access key. Passwords are region specific.
   *
   * @param secretAccessKey the IAM secret access key
   * @param region the SES SMTP region, e.g. `eu-west-1`
   */
  public static derive(secretAccessKey: string, region: string): string {
    return deriveSmtpPassword(secretAccessKey, region);
  }

  private constructor() {}
}
