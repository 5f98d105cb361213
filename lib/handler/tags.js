// @ts-check
'use strict';
/**
 * Names the construct and the handler share (this file ships inside the
 * Lambda asset; lib/contract.ts re-exports them for the construct).
 *
 * The one key under which the construct writes a registration into template
 * Metadata: on the primary secret of a rotating SesSmtpUser (what a rotation
 * may touch) and on the custom resource of one that follows a key source
 * (what a sync may touch). The handler reads it back through CloudFormation
 * (DescribeStackResource), so only a stack update can change it.
 */
const REGISTRATION_METADATA_KEY = 'SesSmtpCredentials:Registration';

/**
 * Tags CloudFormation itself puts on what it creates. The aws: prefix is
 * reserved, so no principal can add or change them: they tell a secret of
 * this stack from one merely tagged to look like it, for the handler role's
 * IAM conditions and for the handler.
 */
const STACK_ID_TAG = 'aws:cloudformation:stack-id';
const LOGICAL_ID_TAG = 'aws:cloudformation:logical-id';

/** CloudFormation resource type of the custom resource. Public API: never rename. */
const CUSTOM_RESOURCE_TYPE = 'Custom::SesSmtpCredentials';

module.exports = { REGISTRATION_METADATA_KEY, STACK_ID_TAG, LOGICAL_ID_TAG, CUSTOM_RESOURCE_TYPE };
