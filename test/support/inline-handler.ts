/**
 * Runs the handler a template SHIPS: the `Code.ZipFile` of its Lambda
 * function, loaded the way Lambda loads an inline Node.js function (one
 * CommonJS file, `index.handler`), with only what the Lambda runtime offers
 * to `require`: node's built-in modules and the AWS SDK v3 clients. A module
 * the bundle left out, or any other package, fails to load here as it would
 * in Lambda.
 *
 * Configuration reaches it as in Lambda: through environment variables
 * (AWS_REGION, the role's session credentials, the function's own
 * Environment.Variables), plus AWS_ENDPOINT_URL pointing at moto. They are
 * set for the duration of one invocation and restored afterwards; the module
 * is loaded fresh for every invocation (a cold start each time), so no client
 * keeps credentials of another run.
 */
import { builtinModules, createRequire } from 'node:module';
import * as vm from 'node:vm';
import type { SessionCredentials } from './sts-assume-role';

/** The project's own require: the AWS SDK clients installed here stand in for the runtime's. */
const projectRequire = createRequire(__filename);

/** Packages the Lambda Node.js runtime provides that the handler uses and this project installs. */
const RUNTIME_PACKAGES = new Set(['@aws-sdk/client-cloudformation', '@aws-sdk/client-cloudtrail', '@aws-sdk/client-iam', '@aws-sdk/client-secrets-manager']);

export interface InlineInvocation {
  /** moto's endpoint (AWS_ENDPOINT_URL). */
  readonly endpoint: string;
  readonly region: string;
  /** The function role's session (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | SessionCredentials;
  /** The function's Environment.Variables. */
  readonly environment?: Record<string, string>;
  /**
   * Runtime packages that are not installed here, as test doubles (for
   * example `@aws-sdk/client-ssm`). Anything else not in the runtime fails.
   */
  readonly runtimeDoubles?: Record<string, unknown>;
}

type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

/** The `Code.ZipFile` of the template's one inline Lambda function. */
export function inlineCodeOf(template: object): string {
  const resources = Object.values((template as { Resources: Record<string, { Type: string; Properties?: { Code?: { ZipFile?: unknown } } }> }).Resources);
  const inline = resources
    .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Code?.ZipFile !== undefined)
    .map((r) => r.Properties!.Code!.ZipFile);
  if (inline.length !== 1 || typeof inline[0] !== 'string') {
    throw new Error(`expected exactly one Lambda function with a literal Code.ZipFile, found ${inline.length}`);
  }
  return inline[0];
}

/** Evaluates the inline code as Lambda's `index.js` and returns its exports. */
export function loadInlineModule(code: string, runtimeDoubles: Record<string, unknown> = {}): { handler?: LambdaHandler } {
  const runtimeRequire = (id: string): unknown => {
    if (id.startsWith('node:') || builtinModules.includes(id) || RUNTIME_PACKAGES.has(id)) return projectRequire(id);
    if (id in runtimeDoubles) return runtimeDoubles[id];
    throw Object.assign(new Error(`Cannot find module '${id}' from /var/task/index.js (the Lambda runtime offers node built-ins and the AWS SDK only)`), { code: 'MODULE_NOT_FOUND' });
  };
  // node:vm compiles in Node's own context, but jest runs tests (and the SDK
  // modules `require` hands out) in a context of its own, with its own
  // `console` (which the tests capture) and `process` (whose env invokeInline
  // sets): the inline code gets those, as lib/handler would under jest.
  const wrapper = vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename: '/var/task/index.js',
    contextExtensions: [{ console, process }],
  });
  const module = { exports: {} as { handler?: LambdaHandler } };
  wrapper.call(module.exports, module.exports, runtimeRequire, module, '/var/task/index.js', '/var/task');
  return module.exports;
}

/** Invokes `index.handler` of the inline code once, as Lambda would, with the invocation's environment. */
export async function invokeInline(code: string, event: unknown, context: unknown, invocation: InlineInvocation): Promise<unknown> {
  const environment: Record<string, string> = {
    ...invocation.environment,
    AWS_ENDPOINT_URL: invocation.endpoint,
    AWS_REGION: invocation.region,
    AWS_DEFAULT_REGION: invocation.region,
    AWS_ACCESS_KEY_ID: invocation.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: invocation.credentials.secretAccessKey,
    ...(invocation.credentials.sessionToken ? { AWS_SESSION_TOKEN: invocation.credentials.sessionToken } : {}),
  };
  const saved = new Map<string, string | undefined>();
  for (const name of [...Object.keys(environment), 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
    if (!saved.has(name)) saved.set(name, process.env[name]);
  }
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, environment);
  try {
    const { handler } = loadInlineModule(code, invocation.runtimeDoubles);
    if (typeof handler !== 'function') throw new Error('the inline code exports no handler function (index.handler)');
    return await handler(event, context);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
