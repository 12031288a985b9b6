/**
 * AWS SDK client settings shared by every role. This module imports the SDK, so only code on a path that really makes
 * an AWS call reaches it (through a dynamic import), and a warm cache hit never pays for loading the SDK.
 */
import { homedir } from 'node:os';
import { PassThrough, type Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { fullJitter } from './backoff.js';
import type { Agent } from 'agent-base';
import { ConfigError } from './env.js';
import { EnvProxyAgent, FailingProxyAgent, installEnvProxy } from './proxy-agent.js';
import { hasProxyEnv, proxyEnvFrom } from './proxy-env.js';

/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (proxy-env.ts). sts-init and cred-refresher have validated them at start-up
 * (exit 2 on a bad value). For the helper an unusable value fails every AWS call with its one-line reason: v0.12.0
 * fails them too (it reads `http://u:p@proxy:99999` as a proxy it cannot dial, `http://…@[::1` as a proxy at host
 * `http`), and going direct would bypass the proxy the user set (docs/design.md, "Proxies").
 */
function proxyAgentFromEnv(): Agent | undefined {
  if (!hasProxyEnv(process.env)) return undefined;
  try {
    return installEnvProxy(new EnvProxyAgent(proxyEnvFrom(process.env)));
  } catch (err) {
    if (err instanceof ConfigError) return installEnvProxy(new FailingProxyAgent(err));
    throw err;
  }
}

const proxyAgent = proxyAgentFromEnv();

/**
 * The SDK finds ~/.aws/config through HOME, else os.homedir(), which throws (uv_os_homedir ENOENT) for a uid with no
 * passwd entry: a systemd unit, Nomad, a wrapper that clears the env. Every client would then fail. Without a home
 * there are no shared files to read, as for the Go SDK (the reference answers in that env): HOME is pointed at a
 * directory that does not exist, so the SDK finds none, and AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE still apply.
 */
function ensureHomeForSdk(): void {
  if (process.env.HOME) return;
  try {
    homedir();
  } catch {
    process.env.HOME = '/nonexistent';
  }
}

ensureHomeForSdk();

/**
 * The largest answer body any AWS call of ours may have, in bytes. STS (AssumeRole*, GetCallerIdentity), ECR and
 * ECR Public GetAuthorizationToken and the container credentials endpoint answer with a few KB; a hostile or broken
 * endpoint answering 50 MB used to cost gigabytes in parsing (an OOM kill under the chart's 192Mi limit).
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** An answer body over MAX_RESPONSE_BYTES; classified as `invalid_response`, never retried by the SDK itself. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
}

/** Reads `body` into memory, at most `limit` bytes: more destroys the stream (closing the socket) and throws. */
export async function readBounded(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > limit) {
      body.destroy();
      throw new ResponseTooLargeError(`${what} answered more than ${limit} bytes; refused before parsing`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

type HandlerOut = Awaited<ReturnType<NodeHttpHandler['handle']>>;
type HandlerArgs = Parameters<NodeHttpHandler['handle']>;

/** Replaces the answer's body stream with its bytes, read within MAX_RESPONSE_BYTES (ResponseTooLargeError past it). */
async function bounded(out: HandlerOut, request: HandlerArgs[0]): Promise<HandlerOut> {
  const body = out.response.body as Readable | undefined;
  if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') return out;
  const what = `${request.hostname ?? 'the endpoint'}${request.port ? `:${request.port}` : ''}`;
  const declared = Number(out.response.headers['content-length'] ?? out.response.headers['Content-Length']);
  if (declared > MAX_RESPONSE_BYTES) {
    body.destroy();
    throw new ResponseTooLargeError(`${what} answered ${declared} bytes, more than ${MAX_RESPONSE_BYTES}; refused before parsing`);
  }
  const buffered = new PassThrough();
  buffered.end(await readBounded(body, MAX_RESPONSE_BYTES, what));
  out.response.body = buffered;
  return out;
}

const unboundedHandle = NodeHttpHandler.prototype.handle;

/**
 * The request handler of every client we build, nested ones (the STS client inside fromIni and the default chain)
 * included: the SDK's NodeHttpHandler, with each answer body read within MAX_RESPONSE_BYTES before the SDK parses it.
 * An instance, not options: the bundle can hold two copies of @smithy/node-http-handler (its ESM and CJS builds,
 * reached by different importers), and a client given options builds its handler from its own copy.
 */
export class BoundedHttpHandler extends NodeHttpHandler {
  override async handle(...args: HandlerArgs): Promise<HandlerOut> {
    return bounded(await unboundedHandle.apply(this, args), args[0]);
  }
}

/**
 * The container endpoint provider (fromHttp) builds its own handler and takes none from us: the same bound is put on
 * the prototype of our copy of the class, which is the copy fromHttp uses (checked on the built executable by
 * test/integration/fail-closed.test.ts). Instance metadata (opt-in only) uses node:http directly and is not covered.
 */
function boundResponseBodies(): void {
  const proto = NodeHttpHandler.prototype as { handle: NodeHttpHandler['handle']; __bounded?: true };
  if (proto.__bounded) return;
  proto.handle = async function handle(this: NodeHttpHandler, ...args: HandlerArgs) {
    return bounded(await unboundedHandle.apply(this, args), args[0]);
  };
  proto.__bounded = true;
}

boundResponseBodies();

/** A new request handler for one client (a client destroys its handler with itself). */
export function requestHandler(): BoundedHttpHandler {
  return new BoundedHttpHandler(requestHandlerOptions());
}

function requestHandlerOptions() {
  return {
    // Without these a black-holed endpoint holds a call until the OS gives up, minutes later.
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    throwOnRequestTimeout: true,
    ...(proxyAgent ? { httpAgent: proxyAgent, httpsAgent: proxyAgent } : {}),
  };
}

export interface ClientSettings {
  /** Absent: the SDK's own lookup (AWS_REGION, then the profile). */
  region?: string;
  /** Attempts per call, first one included. Throttling, 5xx and network errors are retried; the caller's deadline
   * (an AbortSignal on each command) bounds the whole. */
  maxAttempts?: number;
}

export function clientConfig(settings: ClientSettings) {
  const maxAttempts = settings.maxAttempts ?? 6;
  return {
    ...(settings.region === undefined ? {} : { region: settings.region }),
    maxAttempts,
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, (attempt: number) => 50 + fullJitter(attempt, 100, 4000)),
    requestHandler: requestHandler(),
  };
}
