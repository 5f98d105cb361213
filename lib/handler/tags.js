// @ts-check
'use strict';
/**
 * The one tag the rotation function reads. A rotation event names only the
 * secret, so the primary secret carries the name of its registration: the
 * SSM parameter the deployment wrote with the user, the target secrets and
 * the key source. The tag is a hint and grants nothing: the handler reads the
 * parameter and refuses unless it registers this very secret (rotation.js).
 * Defined here, inside the Lambda asset, and re-exported by lib/contract.ts
 * for the construct.
 */
const REGISTRATION_TAG = 'SesSmtpCredentials:Registration';

/** Every registration parameter's name starts with this, then the stack's hash. */
const REGISTRATION_PREFIX = '/ses-smtp-credentials/';

module.exports = { REGISTRATION_TAG, REGISTRATION_PREFIX };
