/** Declaration of tags.js: the template Metadata key the construct writes and the handler reads, and CloudFormation's reserved tags. */
export declare const REGISTRATION_METADATA_KEY: 'SesSmtpCredentials:Registration';
export declare const STACK_ID_TAG: 'aws:cloudformation:stack-id';
export declare const LOGICAL_ID_TAG: 'aws:cloudformation:logical-id';
export declare const CUSTOM_RESOURCE_TYPE: 'Custom::SesSmtpCredentials';
