/** Declaration of tags.js: tag keys the construct sets and the rotation function reads. */
export declare const ROTATION_TAGS: {
  readonly USER_NAME: 'SesSmtpCredentials:UserName';
  readonly SECRET_PREFIX: 'SesSmtpCredentials:Secret:';
  readonly SOURCE: 'SesSmtpCredentials:Source';
  readonly SOURCE_ID_FIELD: 'SesSmtpCredentials:SourceIdField';
  readonly SOURCE_KEY_FIELD: 'SesSmtpCredentials:SourceKeyField';
  readonly SOURCE_KEY_ID: 'SesSmtpCredentials:SourceKeyId';
};
