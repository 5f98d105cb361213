// @ts-check
'use strict';
/**
 * Lambda entry point of Custom::SesSmtpCredentials. One function per stack
 * serves every SesSmtpUser in it. AWS SDK v3 comes from the Lambda runtime;
 * it honours AWS_ENDPOINT_URL, which is how the tests reach moto.
 */
const { IAMClient } = require('@aws-sdk/client-iam');
const { SecretsManagerClient } = require('@aws-sdk/client-secrets-manager');
const { CloudFormationClient } = require('@aws-sdk/client-cloudformation');
const { CloudTrailClient } = require('@aws-sdk/client-cloudtrail');
const { AwsPort } = require('./aws');
const { selfFromEnvironment } = require('./authority');
const { iamEventsRegion } = require('./partitions');
const { StackEventCache } = require('./event-cache');
const { createHandler } = require('./dispatch');

/** Short per-request timeouts so a hung call fails the step instead of the deadline. */
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 5_000 };
// No SDK retries: CreateAccessKey is not idempotent (a retry after a lost
// answer would make a second key). The handler retries what is safe itself,
// within its deadline (AwsPort.send).
const iam = new IAMClient({ maxAttempts: 1, requestHandler });
const secrets = new SecretsManagerClient({ maxAttempts: 1, requestHandler });
const cloudformation = new CloudFormationClient({ maxAttempts: 1, requestHandler });
const self = selfFromEnvironment();
// IAM is global: CloudTrail records its events in the partition's IAM region (key-origin.js).
const cloudtrail = new CloudTrailClient({ maxAttempts: 1, requestHandler, region: iamEventsRegion(self.region) });

// What this container read of the stack's events, for the requests it serves next (event-cache.js).
const eventCache = new StackEventCache();

exports.handler = createHandler((signal, undoSignal) => new AwsPort(iam, secrets, signal, { undoSignal, cloudformation, cloudtrail, self, eventCache }), self);
