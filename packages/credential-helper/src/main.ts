/** Wiring only: env → config → dependencies → one protocol call. */
import { armWatchdog, ConfigError, killChildrenOnExit, createLogger, fileSinkOrStderr, nullSink, readStdinBytes, readStreamBytes, stderrSink, type Env, type Sink } from '@ecr-proxy/core';
import { fileTokenCache, nullTokenCache } from './cache.js';
import { resolveIdentity } from './cache-key.js';
import { fenceInstanceMetadata, helperConfigFromEnv, type HelperConfig } from './config.js';
import type { FetchToken } from './ecr-token.js';
import type { ListAws } from './list.js';
import { runProtocol, type Outcome } from './protocol.js';
import { recordRun, type RunOutcome } from './run-log.js';

const lazyFetchToken: FetchToken = async (registry, signal) =>
  (await import('./ecr-api.js')).fetchEcrToken(registry, signal);

const lazyAccessKeyId = (region: string) => async () => (await import('./ecr-api.js')).resolvedAccessKeyId(region);

const lazyListAws: ListAws = {
  hasCredentials: async (signal) => (await import('./ecr-api.js')).listAws.hasCredentials(signal),
  fetchDefaultToken: async (region, signal) => (await import('./ecr-api.js')).listAws.fetchDefaultToken(region, signal),
};

function sinkFor(target: HelperConfig['log']['target']): Sink {
  if (target === 'stderr') return stderrSink;
  if (target === 'off') return nullSink;
  return fileSinkOrStderr(target.file);
}

export async function helperMain(
  args: readonly string[],
  env: Env,
  // Without a stream, fd 0 is read directly (core's stdio.ts says why process.stdin is avoided).
  io: { stdin?: NodeJS.ReadableStream; fetchToken?: FetchToken; listAws?: ListAws } = {},
): Promise<Outcome> {
  let config: HelperConfig;
  try {
    config = helperConfigFromEnv(env);
  } catch (err) {
    if (err instanceof ConfigError) return { stdout: `${err.message}\n`, exitCode: 1 };
    throw err;
  }
  const log = createLogger({ sink: sinkFor(config.log.target), level: config.log.level, fields: { role: 'credential-helper' } });
  // The SDK reads this itself, at call time; the helper's own process is the only one it affects.
  fenceInstanceMetadata(config.allowInstanceRole);
  // A profile's credential_process still running at our deadline must not outlive us.
  if (!io.stdin) killChildrenOnExit();
  const plan = config.identity;
  return runProtocol(args, {
    readStdin: () => (io.stdin ? readStreamBytes(io.stdin) : readStdinBytes()),
    cache: config.cacheDir ? fileTokenCache(config.cacheDir) : nullTokenCache,
    fetchToken: io.fetchToken ?? lazyFetchToken,
    identity: plan.kind === 'fixed' ? plan.identity : (registry) => resolveIdentity(plan, lazyAccessKeyId(registry.region)),
    allowedRegistries: config.allowedRegistries,
    ignoreCredsStorage: config.ignoreCredsStorage,
    timeoutMs: config.timeoutMs,
    log,
    // The protocol answers at its deadline; this ends the process even if something it waits on is stuck.
    ...(io.stdin ? {} : { onDeadlineStart: (ms: number) => armWatchdog(ms + 2000, 'docker-credential-ecr-login: no answer within ECR_LOGIN_TIMEOUT; exiting') }),
    list: { aws: io.listAws ?? lazyListAws, region: config.region, cacheEnabled: config.cacheDir !== undefined },
    // Outcomes counted beside the token cache, for cred-refresher to export (run-log.ts); off with the cache.
    ...(config.runLogDir ? { recordRun: (outcome: RunOutcome) => void recordRun(config.runLogDir!, outcome) } : {}),
  });
}
