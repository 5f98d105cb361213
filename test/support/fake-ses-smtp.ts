/**
 * An SMTP server on 127.0.0.1 that authenticates like SES's SMTP interface:
 * STARTTLS first, then AUTH PLAIN/LOGIN where the user name is an access key
 * id and the password must be that key's SMTP password for this server's
 * region. The key's secret comes from moto's state dump; whether the key
 * still exists and is active comes from IAM (ListAccessKeys against moto),
 * because moto's dump also lists deleted keys.
 *
 * By default it speaks STARTTLS with smtp-server's built-in self-signed
 * certificate; pass a key and certificate (e.g. one openssl made for
 * 'localhost' in the test) for clients that verify it, like Postfix with
 * smtp_tls_security_level = secure, and `implicitTls` for ports 465/2465.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { SMTPServer } from 'smtp-server';
import { independentSmtpPassword } from './independent-smtp-password';

export interface ReceivedMail { from: string; to: string[]; data: string; user: string; overTls: boolean }

export interface FakeSesOptions {
  /** PEM key and certificate the server presents. @default smtp-server's built-in self-signed pair */
  readonly tls?: { key: string; cert: string };
  /** TLS from the first byte, as SES on 465 and 2465. @default false (STARTTLS) */
  readonly implicitTls?: boolean;
}

export interface FakeSes {
  readonly port: number;
  readonly received: ReceivedMail[];
  readonly authFailures: string[];
  /**
   * Refuse keys younger than this, as SES does while a new key propagates.
   * Settable per test. @default 0
   */
  minKeyAgeMs: number;
  stop(): Promise<void>;
}

interface MotoAccessKey { access_key_id: string; secret_access_key: string; user_name: string }

function motoAccessKeys(motoEndpoint: string): Promise<MotoAccessKey[]> {
  return new Promise((resolve, reject) => {
    http.get(`${motoEndpoint}/moto-api/data.json`, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        try {
          resolve((JSON.parse(body).iam?.AccessKey ?? []) as MotoAccessKey[]);
        } catch (e) {
          reject(e);
        }
      });
    }).on('error', reject);
  });
}

async function isActive(iam: IAMClient, key: MotoAccessKey, minKeyAgeMs: number): Promise<boolean> {
  try {
    const out = await iam.send(new ListAccessKeysCommand({ UserName: key.user_name }));
    return (out.AccessKeyMetadata ?? []).some((k) => k.AccessKeyId === key.access_key_id && k.Status === 'Active'
      && Date.now() - (k.CreateDate?.getTime() ?? 0) >= minKeyAgeMs);
  } catch {
    return false; // the user is gone
  }
}

export async function startFakeSes(region: string, motoEndpoint: string, iam: IAMClient, options: FakeSesOptions = {}): Promise<FakeSes> {
  const received: ReceivedMail[] = [];
  const authFailures: string[] = [];
  const state = { minKeyAgeMs: 0 };
  const server = new SMTPServer({
    secure: options.implicitTls ?? false, // STARTTLS unless asked otherwise, like ports 25/587/2587
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false, // AUTH only after STARTTLS, as SES requires
    logger: false,
    async onAuth(auth, _session, callback) {
      const keys = await motoAccessKeys(motoEndpoint);
      const key = keys.find((k) => k.access_key_id === auth.username);
      if (key && await isActive(iam, key, state.minKeyAgeMs) && auth.password === await independentSmtpPassword(key.secret_access_key, region)) {
        callback(null, { user: auth.username });
        return;
      }
      authFailures.push(String(auth.username));
      callback(Object.assign(new Error('Authentication Credentials Invalid'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (c: Buffer) => { data += c.toString('utf8'); });
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
          user: String(session.user),
          overTls: session.secure,
        });
        callback();
      });
    },
  });
  // A client that hangs up mid-handshake (a wrong TLS mode, an untrusted certificate) is an expected event here.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = ((server as unknown as { server: http.Server }).server.address() as AddressInfo).port;
  return {
    port,
    received,
    authFailures,
    get minKeyAgeMs() { return state.minKeyAgeMs; },
    set minKeyAgeMs(ms: number) { state.minKeyAgeMs = ms; },
    // Postfix may hold a cached session open: close ends it rather than waiting for QUIT.
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections ?? []) connection.close();
    }),
  };
}
