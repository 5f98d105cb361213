/**
 * STS AssumeRole as one SigV4-signed query call, for tests against moto.
 * @aws-sdk/client-sts is not a dependency of this project; the call is small
 * enough to make by hand (node:crypto, fetch), always to the given loopback
 * endpoint and always with the harness credentials.
 */
import { createHash, createHmac } from 'node:crypto';

export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

function xmlField(xml: string, name: string): string {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  if (!match) throw new Error(`AssumeRole answer has no ${name}: ${xml.slice(0, 500)}`);
  return match[1];
}

export async function assumeRole(
  endpoint: string,
  roleArn: string,
  sessionName: string,
  credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' },
  region = 'us-east-1',
): Promise<SessionCredentials> {
  const body = new URLSearchParams({ Action: 'AssumeRole', Version: '2011-06-15', RoleArn: roleArn, RoleSessionName: sessionName }).toString();
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    'host': new URL(endpoint).host,
    'x-amz-date': amzDate,
  };
  const signedHeaders = Object.keys(headers).sort();
  const canonicalRequest = ['POST', '/', '', ...signedHeaders.map((h) => `${h}:${headers[h]}`), '', signedHeaders.join(';'), sha256(body)].join('\n');
  const scope = `${day}/${region}/sts/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 'sts'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  const { host: _host, ...sent } = headers; // fetch sets Host itself
  const response = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: { ...sent, authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}` },
    body,
  });
  const xml = await response.text();
  if (response.status !== 200) throw new Error(`AssumeRole answered ${response.status}: ${xml.slice(0, 500)}`);
  return {
    accessKeyId: xmlField(xml, 'AccessKeyId'),
    secretAccessKey: xmlField(xml, 'SecretAccessKey'),
    sessionToken: xmlField(xml, 'SessionToken'),
  };
}
