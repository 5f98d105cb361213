/**
 * Derives the Amazon SES SMTP password (version 0x04) for a long-term IAM
 * secret access key and an SMTP region. Implemented in smtp-password.js, which
 * ships in the Lambda asset; this declaration lets TypeScript and jsii see it.
 */
export declare function deriveSmtpPassword(secretAccessKey: string, region: string): string;
