export { SesSmtpUser } from './ses-smtp-user';
export type { ISesSmtpUser, SesSmtpUserProps } from './ses-smtp-user';
export { AccessKeySource } from './access-key-source';
export { HandlerCode } from './handler-code';
export { RequestVerification } from './request-verification';
export type { AccessKeySourceFields } from './access-key-source';
export { SmtpPassword } from './smtp-password';
export {
  SmtpEndpoints, SmtpRegionSupport,
  SMTP_REGIONS, NO_SMTP_REGIONS, SMTP_PORTS, DEFAULT_SMTP_PORT, smtpRegionSupport, smtpHostForRegion,
} from './smtp-endpoints';
export { deriveSmtpPassword } from './handler/smtp-password';
export { CUSTOM_RESOURCE_TYPE } from './contract';
