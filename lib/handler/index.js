// @ts-check
'use strict';
/**
 * Lambda entry point of Custom::SesSmtpCredentials. One function per stack
 * serves every SesSmtpUser in it. AWS SDK v3 comes from the Lambda runtime;
 * it honours AWS_ENDPOINT_URL, which is how the tests reach moto.
 */
const { IAMClient } = require('@aws-sdk/client-iam');
const { SecretsManagerClient } = require('@aws-sdk/client-secrets-manager');
const { AwsPort } = require('./aws');
const { createHandler } = require('./dispatch');

/** Short per-request timeouts so a hung call fails the step instead of the deadline. */
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 5_000 };
// No SDK retries: CreateAccessKey is not idempotent (a retry after a lost
// answer would make a second key). The handler retries what is safe itself,
// within its deadline (AwsPort.send).
const iam = new IAMClient({ maxAttempts: 1, requestHandler });
const secrets = new SecretsManagerClient({ maxAttempts: 1, requestHandler });

/**
 * SSM, created on first use: only rotation steps read their registration
 * parameter, so CloudFormation requests never load it. @aws-sdk/client-ssm
 * ships with the Lambda runtime like the other clients, but is not a
 * dependency of this package (the name is held in a variable so the
 * type-checker does not look for it).
 * @type {{ client: { send: Function }, GetParameterCommand: new (input: { Name: string }) => unknown } | undefined}
 */
let ssm;
const SSM_PACKAGE = '@aws-sdk/client-ssm';
function loadSsm() {
  if (!ssm) {
    const { SSMClient, GetParameterCommand } = require(SSM_PACKAGE);
    ssm = { client: new SSMClient({ maxAttempts: 1, requestHandler }), GetParameterCommand };
  }
  return ssm;
}

exports.handler = createHandler((signal, undoSignal) => new AwsPort(iam, secrets, signal, { undoSignal, ssm: loadSsm }));
