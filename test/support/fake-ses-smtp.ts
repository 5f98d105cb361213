/**
 * An SMTP server on 127.0.0.1 that authenticates like SES's SMTP interface:
 * STARTTLS first, then AUTH PLAIN/LOGIN where the user name is an access key
 * id and the password must be that key's SMTP password for this server's
 * region. The key's secret comes from moto's state dump; whether the key
 * still exists and is active comes from IAM (ListAccessKeys against moto),
 * because moto's dump also lists deleted keys.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { SMTPServer } from 'smtp-server';
import { independentSmtpPassword } from './independent-smtp-password';

export interface ReceivedMail { from: string; to: string[]; data: string; user: string; overTls: boolean }

export interface FakeSes {
  readonly port: number;
  readonly received: ReceivedMail[];
  readonly authFailures: string[];
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

async function isActive(iam: IAMClient, key: MotoAccessKey): Promise<boolean> {
  try {
    const out = await iam.send(new ListAccessKeysCommand({ UserName: key.user_name }));
    return (out.AccessKeyMetadata ?? []).some((k) => k.AccessKeyId === key.access_key_id && k.Status === 'Active');
  } catch {
    return false; // the user is gone
  }
}

export async function startFakeSes(region: string, motoEndpoint: string, iam: IAMClient): Promise<FakeSes> {
  const received: ReceivedMail[] = [];
  const authFailures: string[] = [];
  const server = new SMTPServer({
    secure: false, // STARTTLS, like ports 25/587/2587; smtp-server's built-in self-signed certificate
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false, // AUTH only after STARTTLS, as SES requires
    logger: false,
    async onAuth(auth, _session, callback) {
      const keys = await motoAccessKeys(motoEndpoint);
      const key = keys.find((k) => k.access_key_id === auth.username);
      if (key && await isActive(iam, key) && auth.password === await independentSmtpPassword(key.secret_access_key, region)) {
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = ((server as unknown as { server: http.Server }).server.address() as AddressInfo).port;
  return {
    port,
    received,
    authFailures,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
