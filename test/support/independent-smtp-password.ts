/**
 * A second SES SMTP password implementation, on WebCrypto instead of
 * node:crypto's createHmac, written from AWS's documented steps. Tests and the
 * fake SES server use it so that a bug in lib/ cannot agree with itself.
 */
import { webcrypto } from 'node:crypto';

export async function independentSmtpPassword(secretAccessKey: string, region: string): Promise<string> {
  const enc = new TextEncoder();
  let key: Uint8Array = enc.encode(`AWS4${secretAccessKey}`);
  for (const message of ['11111111', region, 'ses', 'aws4_request', 'SendRawEmail']) {
    const hmacKey = await webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    key = new Uint8Array(await webcrypto.subtle.sign('HMAC', hmacKey, enc.encode(message)));
  }
  return Buffer.concat([Buffer.from([4]), Buffer.from(key)]).toString('base64');
}
