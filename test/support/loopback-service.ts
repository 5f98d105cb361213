/**
 * An AWS service stand-in on a free loopback port (127.0.0.1 only): it
 * reads each request's whole body, hands it to the stand-in's answer, and
 * writes that answer with a request id, as AWS does. CloudFormation's
 * records (cfn-records.ts) and CloudTrail's (cloudtrail-records.ts) serve
 * the handler's SDK clients through one each.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

export interface LoopbackAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export type Answer = (request: http.IncomingMessage, body: string) => LoopbackAnswer | Promise<LoopbackAnswer>;

export class LoopbackService {
  private server?: http.Server;
  private port = 0;

  constructor(private readonly answer: Answer) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void Promise.resolve(this.answer(req, Buffer.concat(chunks).toString('utf8'))).then((answer) => {
          res.writeHead(answer.status, { 'content-type': answer.contentType, 'x-amzn-requestid': randomUUID() });
          res.end(answer.body);
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
