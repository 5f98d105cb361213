/**
 * SSM Parameter Store against moto, for tests. @aws-sdk/client-ssm is not a
 * dependency of this project (the Lambda runtime ships it, and the handler
 * loads it only there), so the two calls the tests need are made by hand:
 * one SigV4-signed JSON 1.1 POST each, always to the given loopback endpoint
 * with the harness credentials.
 *
 * `MotoSsmClient` has the shape the handler's AwsPort expects of an
 * SSMClient (`send(command, { abortSignal })`), and `GetParameterCommand`
 * carries its input the way the SDK's command does, so the handler's own
 * code path (errors, retries, deadline) runs unchanged in tests.
 */
import { createHash, createHmac } from 'node:crypto';

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** An SSM error as SDK v3 reports a parsed 4xx: name, message, $fault, $metadata. */
export class SsmError extends Error {
  public readonly $fault: 'client' | 'server';
  public readonly $metadata: { httpStatusCode: number };

  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status };
  }
}

export class GetParameterCommand {
  constructor(public readonly input: { Name: string; WithDecryption?: boolean }) {}
}

export class MotoSsmClient {
  /** Called before each request with the operation name and input: a returned error is thrown instead (fault injection). */
  public intercept?: (operation: string, input: Record<string, unknown>) => Error | undefined;

  constructor(private readonly endpoint: string, private readonly region = 'eu-west-1') {}

  async send(command: GetParameterCommand, options: { abortSignal?: AbortSignal } = {}): Promise<unknown> {
    if (!(command instanceof GetParameterCommand)) throw new Error('MotoSsmClient only sends GetParameter');
    return this.call('GetParameter', command.input, options.abortSignal);
  }

  async putParameter(name: string, value: string): Promise<void> {
    await this.call('PutParameter', { Name: name, Value: value, Type: 'String', Overwrite: true });
  }

  async getParameter(name: string): Promise<string | undefined> {
    try {
      const out = await this.call('GetParameter', { Name: name }) as { Parameter: { Value: string } };
      return out.Parameter.Value;
    } catch (e) {
      if ((e as Error).name === 'ParameterNotFound') return undefined;
      throw e;
    }
  }

  private async call(operation: string, input: object, abortSignal?: AbortSignal): Promise<unknown> {
    const injected = this.intercept?.(operation, input as Record<string, unknown>);
    if (injected) throw injected;
    const body = JSON.stringify(input);
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'host': new URL(this.endpoint).host,
      'x-amz-date': amzDate,
      'x-amz-target': `AmazonSSM.${operation}`,
    };
    const signed = Object.keys(headers).sort();
    const canonical = ['POST', '/', '', ...signed.map((h) => `${h}:${headers[h]}`), '', signed.join(';'), sha256(body)].join('\n');
    const scope = `${day}/${this.region}/ssm/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    const key = hmac(hmac(hmac(hmac('AWS4testing', day), this.region), 'ssm'), 'aws4_request');
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    const { host: _host, ...sent } = headers; // fetch sets Host itself
    const response = await fetch(`${this.endpoint}/`, {
      method: 'POST',
      headers: { ...sent, authorization: `AWS4-HMAC-SHA256 Credential=testing/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}` },
      body,
      signal: abortSignal,
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) as Record<string, unknown> : {};
    if (response.status !== 200) {
      const name = String(parsed.__type ?? 'UnknownError').replace(/^.*#/, '');
      throw new SsmError(name, String(parsed.message ?? parsed.Message ?? text.slice(0, 200)), response.status);
    }
    return parsed;
  }
}
