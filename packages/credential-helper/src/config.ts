/** The helper's env, parsed once into a typed config. Names and meanings: docs/configuration.md. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { booleanFrom, ConfigError, durationFrom, firstSet, isLevel, listFrom, type Env, type Level } from '@ecr-proxy/core';
import { identityPlan, type IdentityPlan } from './cache-key.js';

export interface HelperConfig {
  /** undefined: no cache (disabled, or no home directory to put it in). */
  cacheDir: string | undefined;
  /**
   * Where each `get` appends its outcome for cred-refresher (run-log.ts): the cache directory when AWS_ECR_CACHE_DIR
   * names it (as the chart values do), unless ECR_LOGIN_COUNT_RUNS=false. undefined on a workstation's default
   * ~/.ecr, which no refresher reads.
   */
  runLogDir: string | undefined;
  ignoreCredsStorage: boolean;
  allowedRegistries: string[];
  timeoutMs: number;
  identity: IdentityPlan;
  /** May the SDK chain end at EC2 instance metadata? See allowInstanceRole. */
  allowInstanceRole: boolean;
  /** The default region, as the reference's Go SDK reads it (AWS_REGION, then AWS_DEFAULT_REGION); for `list`. */
  region: string | undefined;
  log: { target: 'stderr' | 'off' | { file: string }; level: Level };
}

function defaultCacheDir(env: Env): string | undefined {
  const explicit = firstSet(env, 'AWS_ECR_CACHE_DIR');
  if (explicit) return explicit.startsWith('~/') ? join(homeOf(env) ?? '', explicit.slice(2)) : explicit;
  const home = homeOf(env);
  return home ? join(home, '.ecr') : undefined;
}

function homeOf(env: Env): string | undefined {
  const home = firstSet(env, 'HOME');
  if (home) return home;
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * ECR_LOGIN_ALLOW_INSTANCE_ROLE=true|false (or the preflight's --allow-instance-role), default false: the SDK chain reaches EC2 instance metadata only when the
 * user opted in. Whatever named the source — env, or a profile in ~/.aws/config that the env never mentions — a chain
 * that reaches metadata means that source failed, and the node's role would be used by accident. (v0.12.0 falls
 * through to it; on a node that relies on the instance role, set the variable to true.)
 */
export function allowInstanceRole(env: Env, flag?: string): boolean {
  if (flag !== undefined) return booleanFrom(flag, '--allow-instance-role');
  return booleanFrom(firstSet(env, 'ECR_LOGIN_ALLOW_INSTANCE_ROLE'), 'ECR_LOGIN_ALLOW_INSTANCE_ROLE');
}

/**
 * Applies allowInstanceRole's answer to this process: without the opt-in the SDK's chain (which reads
 * AWS_EC2_METADATA_DISABLED at call time) never reaches instance metadata. For every entry point whose AWS calls go
 * through the default chain: the helper and the `preflight` subcommand.
 */
export function fenceInstanceMetadata(allowed: boolean): void {
  if (!allowed) process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

export function helperConfigFromEnv(env: Env): HelperConfig {
  const allowedRegistries = listFrom(env.ECR_LOGIN_ALLOWED_REGISTRIES);
  for (const id of allowedRegistries) {
    if (id !== 'public' && !/^\d{12}$/.test(id)) {
      throw new ConfigError(`ECR_LOGIN_ALLOWED_REGISTRIES: "${id}" is neither a 12-digit registry id nor "public"`);
    }
  }
  const level = firstSet(env, 'ECR_LOGIN_LOG_LEVEL') ?? 'info';
  if (!isLevel(level)) throw new ConfigError(`ECR_LOGIN_LOG_LEVEL: "${level}" is not one of debug, info, warn, error`);
  const cacheDir = defaultCacheDir(env);
  const logSetting = firstSet(env, 'ECR_LOGIN_LOG');
  let target: HelperConfig['log']['target'];
  if (logSetting === 'stderr' || logSetting === 'off') target = logSetting;
  else if (logSetting) target = { file: logSetting };
  else target = cacheDir ? { file: join(cacheDir, 'log', 'ecr-login.log') } : 'stderr';
  const countRuns = booleanFrom(firstSet(env, 'ECR_LOGIN_COUNT_RUNS') ?? 'true', 'ECR_LOGIN_COUNT_RUNS');
  const cacheOn = !env.AWS_ECR_DISABLE_CACHE;
  return {
    cacheDir: cacheOn ? cacheDir : undefined,
    runLogDir: cacheOn && countRuns && firstSet(env, 'AWS_ECR_CACHE_DIR') ? cacheDir : undefined,
    ignoreCredsStorage: env.AWS_ECR_IGNORE_CREDS_STORAGE === 'true',
    allowedRegistries,
    timeoutMs: durationFrom(env, 'ECR_LOGIN_TIMEOUT', 15_000, { minMs: 100, maxMs: 3_600_000 }),
    identity: identityPlan(env),
    allowInstanceRole: allowInstanceRole(env),
    region: firstSet(env, 'AWS_REGION', 'AWS_DEFAULT_REGION'),
    log: { target, level },
  };
}
