/**
 * The peer's credentials handler (@pepperize/cdk-ses-smtp-credentials), run
 * in this process against moto. It bundles AWS SDK v2, which has no endpoint
 * setting from the environment, so its HTTPS requests to *.amazonaws.com are
 * sent as plain HTTP to the fault proxy on 127.0.0.1 instead (moto routes
 * them by the Host header and the signature's scope, as it does the SDK v3
 * ones). Any other HTTPS request is refused: nothing leaves 127.0.0.1.
 */
import * as http from 'node:http';
// The module object itself (not an import namespace), so its request can be replaced.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import https = require('node:https');
import * as path from 'node:path';
import { PEER_HANDLER_DIR } from './common';
import { BENCH_REGION } from './stacks';

export type PeerHandler = (event: unknown) => Promise<unknown>;

let target: URL | undefined;
let patched = false;

/** Loads the peer's handler; its AWS calls go to `endpoint` (the proxy) from now on. */
export function loadPeerHandler(endpoint: string): PeerHandler {
  target = new URL(endpoint);
  if (!patched) {
    patched = true;
    const redirected = ((...args: unknown[]) => {
      const options = (typeof args[0] === 'object' && !(args[0] instanceof URL) ? args[0] : undefined) as https.RequestOptions | undefined;
      const host = String(options?.hostname ?? options?.host ?? '');
      if (!options || !host.endsWith('.amazonaws.com') || !target) {
        throw new Error(`bench: refusing an HTTPS request to '${host}' (only AWS endpoints, redirected to 127.0.0.1)`);
      }
      const callback = args.find((a) => typeof a === 'function') as ((res: http.IncomingMessage) => void) | undefined;
      return http.request({
        ...options, protocol: 'http:', hostname: target.hostname, host: target.hostname, port: target.port, agent: undefined,
        headers: { ...options.headers, host },
      }, callback);
    }) as typeof https.request;
    https.request = redirected;
  }
  // The peer's SDK v2 reads credentials and region from the environment, and
  // its handler derives the password for AWS_DEFAULT_REGION.
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_REGION = BENCH_REGION;
  process.env.AWS_DEFAULT_REGION = BENCH_REGION;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(path.join(PEER_HANDLER_DIR, 'index.js')) as { handler: PeerHandler };
  return module.handler;
}
