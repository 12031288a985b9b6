/**
 * AWS SDK client settings shared by every role. This module imports the SDK, so only code on a path that really makes
 * an AWS call reaches it (through a dynamic import), and a warm cache hit never pays for loading the SDK.
 */
import { homedir } from 'node:os';
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

/** The request handler settings of every client, nested ones (STS inside a credential provider) included. */
export function requestHandlerOptions() {
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
    requestHandler: requestHandlerOptions(),
  };
}
