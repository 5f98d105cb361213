// @ts-check
'use strict';
/**
 * Reads the credentials a SesSmtpUser stored in Secrets Manager.
 *
 * @typedef {{ username: string, password: string, host: string, port: number, region: string }} SmtpCredentials
 * @typedef {{ credentials: SmtpCredentials, writtenAt: Date | undefined }} StoredCredentials
 */
const { CliError, EXIT } = require('./errors');

/** The fields the construct's handler writes, in its order (a test keeps this equal to the handler's). */
const SECRET_FIELDS = Object.freeze(['username', 'password', 'host', 'port', 'region']);

/**
 * Reads AWSCURRENT of the secret. Errors name neither the secret id nor the
 * region given on the command line, only where they came from.
 * @param {string} secretId
 * @param {string | undefined} region --region, already validated
 * @returns {Promise<StoredCredentials>}
 */
async function fetchCredentials(secretId, region) {
  const sdk = require('@aws-sdk/client-secrets-manager');
  const client = new sdk.SecretsManagerClient(region ? { region } : {});
  const where = () => {
    if (region) return 'in the region given by --region';
    const env = process.env.AWS_REGION ? 'AWS_REGION' : process.env.AWS_DEFAULT_REGION ? 'AWS_DEFAULT_REGION' : undefined;
    return env ? `in region ${process.env[env]} (from ${env})` : 'in the region of your AWS config';
  };
  let out;
  try {
    // By stage on purpose: the current version, whatever else is labelled.
    out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
  } catch (e) {
    const err = /** @type {{ name?: string, message?: string }} */ (e);
    switch (err.name) {
      case 'CredentialsProviderError':
        throw new CliError(`no AWS credentials found (${err.message}). Run on a host with an instance/task role, or set AWS_PROFILE or AWS_ACCESS_KEY_ID.`, EXIT.ACCESS);
      case 'AccessDeniedException':
      case 'AccessDenied':
        throw new CliError('access denied reading the secret (--secret-id). Grant this role read access (SesSmtpUser.grantRead, or secretsmanager:GetSecretValue plus kms:Decrypt).', EXIT.ACCESS);
      case 'ResourceNotFoundException':
        if (await existsWithoutValue(client, sdk, secretId, err.message)) {
          throw new CliError(`the secret (--secret-id) exists ${where()} but has no value yet: the stack that owns it has not finished its first deployment, or that deployment failed. `
            + 'Wait for the deployment to finish and run this again; if it failed, the stack\'s events in CloudFormation say why: fix that and deploy again.', EXIT.NOT_READY);
        }
        throw new CliError(`the secret (--secret-id) was not found ${where()}. Check the name/ARN and the region (--region or AWS_REGION); the secret lives where the stack was deployed.`, EXIT.NOT_FOUND);
      default:
        if (/region/i.test(err.message ?? '') && !region) {
          throw new CliError(`no AWS region configured: pass --region or set AWS_REGION. (${err.message})`, EXIT.USAGE);
        }
        throw new CliError(`could not read the secret (--secret-id): ${err.name}: ${err.message}`, EXIT.ERROR);
    }
  } finally {
    client.destroy();
  }
  return { credentials: parseCredentials(out.SecretString), writtenAt: out.CreatedDate };
}

/**
 * Whether a secret GetSecretValue did not find exists, only without a current
 * value. Secrets Manager answers ResourceNotFoundException for both (an empty
 * secret: boto/boto3#2794), so DescribeSecret, which SesSmtpUser.grantRead
 * allows, tells them apart. A role that may not call it still gets AWS's own
 * wording for a missing version: "Secrets Manager can't find the specified
 * secret value for staging label: AWSCURRENT" (aws/aws-sdk-js-v3#7701).
 * @param {import('@aws-sdk/client-secrets-manager').SecretsManagerClient} client
 * @param {typeof import('@aws-sdk/client-secrets-manager')} sdk
 * @param {string} secretId
 * @param {string | undefined} message GetSecretValue's error message
 * @returns {Promise<boolean>}
 */
async function existsWithoutValue(client, sdk, secretId, message) {
  try {
    await client.send(new sdk.DescribeSecretCommand({ SecretId: secretId }));
    return true;
  } catch (e) {
    if (/** @type {{ name?: string }} */ (e).name === 'ResourceNotFoundException') return false;
    return /secret value for staging label/i.test(message ?? '');
  }
}

/**
 * @param {string | undefined} secretString
 * @returns {SmtpCredentials}
 */
function parseCredentials(secretString) {
  let doc;
  try {
    doc = JSON.parse(secretString ?? '');
  } catch {
    throw new CliError('the secret is not SES SMTP credentials: its value is not JSON.', EXIT.NOT_OURS);
  }
  // A deployment's claim (lib/handler/journal.js): a secret's first version is AWSCURRENT whatever it
  // holds, so until the first deployment writes credentials, or after it failed first, the claim is current.
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc) && typeof doc.sesSmtpClaim === 'string' && doc.username === undefined) {
    throw new CliError('the secret (--secret-id) holds no credentials yet: the stack\'s first deployment has claimed it and not written credentials, '
      + 'either because it is still running or because it failed. Wait for the deployment to finish and run this again; if it failed, '
      + 'the stack\'s events in CloudFormation say why: fix that and deploy again.', EXIT.NOT_READY);
  }
  // What the construct's handler leaves when a first deployment's credentials are withdrawn
  // (it deletes the key it had created; withdraw in lib/handler/settle.js).
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc) && Object.keys(doc).length === 0) {
    throw new CliError('the secret (--secret-id) holds {} and no credentials: this is what the stack\'s first deployment leaves when its '
      + 'credentials are withdrawn after it failed (the access key it had created is deleted too). The stack\'s events in CloudFormation '
      + 'say why it failed: fix that and deploy again; this command works once a deployment succeeds.', EXIT.NOT_READY);
  }
  const missing = SECRET_FIELDS.filter((field) => doc == null || doc[field] === undefined || doc[field] === '');
  if (missing.length > 0) {
    throw new CliError(`the secret is not SES SMTP credentials: missing ${missing.join(', ')} (expected fields: ${SECRET_FIELDS.join(', ')}).`, EXIT.NOT_OURS);
  }
  const credentials = { username: String(doc.username), password: String(doc.password), host: String(doc.host), port: Number(doc.port), region: String(doc.region) };
  // Values that end up in main.cf and in a map key must be what they claim: a host name and a port.
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(credentials.host) || !Number.isInteger(credentials.port) || credentials.port < 1 || credentials.port > 65535
    || /[\s:]/.test(credentials.username) || /\s/.test(credentials.password)) {
    throw new CliError('the secret is not SES SMTP credentials: host, port, username or password has an impossible value.', EXIT.NOT_OURS);
  }
  return credentials;
}

module.exports = { SECRET_FIELDS, fetchCredentials, parseCredentials };
