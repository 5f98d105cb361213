/** Declaration of tags.js: the tag the construct sets and the rotation function reads. */
export declare const REGISTRATION_TAG: 'SesSmtpCredentials:Registration';
export declare const REGISTRATION_PREFIX: '/ses-smtp-credentials/';
