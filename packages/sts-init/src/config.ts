/**
 * Flags and env of sts-init and cred-refresher, parsed once into a typed config (docs/configuration.md). Flags win
 * over env. Everything below receives this config and never reads env or argv.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { booleanFrom, checkDurationBounds, ConfigError, expectedRoleArn, firstSet, isRoleArn, fractionFrom, listFrom, parseDuration, parseFlags, type DurationBounds, type Env } from '@ecr-proxy/core';
import { cacheIdentity, parseEcrRegistry, partitionOf, PARTITIONS, type EcrRegistry } from '@ecr-proxy/credential-helper';
import { proxyEnvFrom } from '@ecr-proxy/core/proxy-env';
import { preflightEnabled } from '@ecr-proxy/preflight';
import { DEFAULT_MARGIN_MS } from './credential-process.js';
import { defaultCredentialProcessCommand } from './shell-quote.js';
import type { BaseSource, SourceConfig } from './sources.js';

export const COMMON_FLAGS = [
  'dir', 'region', 'target-role-arn', 'external-id', 'session-name', 'duration', 'profile', 'margin', 'file-mode',
  'timeout', 'credential-process-command', 'ecr-registries', 'ecr-cache-dir', 'allow-instance-role', 'expected-role-arn',
] as const;
export const REFRESHER_FLAGS = [
  ...COMMON_FLAGS, 'listen', 'refresh-fraction', 'ecr-refresh-fraction', 'refresh-floor', 'container-credentials-listen',
  'container-credentials-token-file',
] as const;

export interface CommonConfig {
  /** Absolute. */
  dir: string;
  region: string;
  source: SourceConfig;
  profile: string;
  marginMs: number;
  fileMode: 0o600 | 0o640;
  timeoutMs: number;
  /** undefined when not given and not running as the built executable (sts-init then refuses to start). */
  credentialProcessCommand: string | undefined;
  ecrRegistries: EcrRegistry[];
  ecrCacheDir: string;
  /** The ECR token cache key identity (ECR_LOGIN_CACHE_IDENTITY, else derived from env as the helper does). */
  cacheIdentity: string;
  cacheIdentityExplicit: boolean;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface RefresherConfig extends CommonConfig {
  listen: HostPort;
  refreshFraction: number;
  ecrRefreshFraction: number;
  /** After a success, the next refresh of the same kind is never sooner than this (ms). */
  refreshFloorMs: number;
  containerCredentials: { listen: HostPort; tokenFile: string } | undefined;
}

export interface ConfigInputs {
  argv: readonly string[];
  env: Env;
  /** The executable to put in credential_process: process.execPath when running as the single executable. */
  selfExecutable: string | undefined;
  hostname?: string;
}

type Lookup = (flag: string, ...envNames: string[]) => string | undefined;

function lookupFrom(flags: Map<string, string>, env: Env): Lookup {
  return (flag, ...envNames) => {
    const value = flags.get(flag);
    if (value !== undefined) return value;
    return firstSet(env, ...envNames);
  };
}

/** A duration flag or env within bounds (default 1 ms to the longest timer): out of range is a ConfigError. */
function duration(get: Lookup, flag: string, envName: string, fallbackMs: number, bounds: DurationBounds = {}): number {
  const text = get(flag, envName);
  if (text === undefined) return fallbackMs;
  return checkDurationBounds(parseDuration(text, flags(flag, envName)), text, flags(flag, envName), bounds);
}

/** STS DurationSeconds: 900 to 43200 (AssumeRole and AssumeRoleWithWebIdentity API reference). */
export const ROLE_DURATION_BOUNDS = { minMs: 900_000, maxMs: 43_200_000 } as const;

function bool(get: Lookup, flag: string, envName: string): boolean {
  return booleanFrom(get(flag, envName), flags(flag, envName));
}

const flags = (flag: string, envName: string) => `--${flag} / ${envName}`;

/** STS accepts [\w+=,.@-]{2,64}; a pod name can be longer or carry other characters. */
export function sessionNameFor(host: string): string {
  return `ecr-proxy-${host}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}


/**
 * The base source, named by the env the platform set up; never "whatever the SDK finds", which on EKS ends at the
 * node's instance role when the IRSA webhook did not run.
 */
function baseSource(get: Lookup, env: Env, webIdentity: { roleArn: string; tokenFile: string } | undefined): BaseSource {
  if (webIdentity) return { kind: 'web-identity', ...webIdentity };
  if (firstSet(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')) {
    const tokenFile = firstSet(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE');
    return { kind: 'container', ...(tokenFile ? { tokenFile } : {}) };
  }
  if (firstSet(env, 'AWS_ACCESS_KEY_ID')) return { kind: 'static' };
  const profile = firstSet(env, 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE');
  if (profile || firstSet(env, 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE')) return { kind: 'profile', profile: profile ?? 'default' };
  if (bool(get, 'allow-instance-role', 'ALLOW_INSTANCE_ROLE')) return { kind: 'instance' };
  throw new ConfigError(
    'no credential source: set up IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE) or EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI); the EC2 instance role is used only with --allow-instance-role / ALLOW_INSTANCE_ROLE=true',
  );
}

function sourceConfig(get: Lookup, env: Env, host: string): SourceConfig {
  const roleArn = firstSet(env, 'AWS_ROLE_ARN');
  const tokenFile = firstSet(env, 'AWS_WEB_IDENTITY_TOKEN_FILE');
  if (roleArn && !tokenFile) throw new ConfigError('AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not; set both (IRSA) or neither');
  if (tokenFile && !roleArn) throw new ConfigError('AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not; set both (IRSA) or neither');
  if (roleArn && !isRoleArn(roleArn)) throw new ConfigError(`AWS_ROLE_ARN: "${roleArn}" is not an IAM role ARN`);
  const targetRoleArn = get('target-role-arn', 'TARGET_ROLE_ARN');
  if (targetRoleArn && !isRoleArn(targetRoleArn)) {
    throw new ConfigError(`--target-role-arn / TARGET_ROLE_ARN: "${targetRoleArn}" is not an IAM role ARN`);
  }
  const externalId = get('external-id', 'TARGET_EXTERNAL_ID');
  if (externalId && !targetRoleArn) throw new ConfigError('--external-id / TARGET_EXTERNAL_ID needs --target-role-arn / TARGET_ROLE_ARN');
  const sessionName = get('session-name', 'ROLE_SESSION_NAME') ?? sessionNameFor(host);
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    throw new ConfigError(`--session-name / ROLE_SESSION_NAME: "${sessionName}" must be 2 to 64 characters of letters, digits and +=,.@_-`);
  }
  const durationMs = duration(get, 'duration', 'ROLE_DURATION', 3_600_000, ROLE_DURATION_BOUNDS);
  if (durationMs % 1000 !== 0) throw new ConfigError('--duration / ROLE_DURATION: must be whole seconds');
  // The shared rule (core's principal.ts): EXPECTED_ROLE_ARN, else the target role, else AWS_ROLE_ARN.
  const expected = expectedRoleArn((flag, envName) => (flag ? get(flag, envName) : firstSet(env, envName)));
  return {
    base: baseSource(get, env, roleArn && tokenFile ? { roleArn, tokenFile } : undefined),
    ...(targetRoleArn ? { target: { roleArn: targetRoleArn, ...(externalId ? { externalId } : {}) } } : {}),
    sessionName,
    durationSeconds: durationMs / 1000,
    ...(expected ? { expectedRoleArn: expected } : {}),
  };
}

function fileMode(text: string | undefined): 0o600 | 0o640 {
  if (text === undefined || text === '0600' || text === '600') return 0o600;
  if (text === '0640' || text === '640') return 0o640;
  throw new ConfigError(`--file-mode / CREDENTIALS_FILE_MODE: "${text}" must be 0600 or 0640`);
}

/** A listen address: an IPv4 literal, a bracketed IPv6 literal or a DNS name (RFC 1123 labels), and a port. */
export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(?:\[([^\]]*)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  const host = m ? (m[1] ?? m[2])! : '';
  const validHost = m?.[1] !== undefined ? isIP(host) === 6 : isIP(host) === 4 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host) && !/^[\d.]+$/.test(host);
  if (!m || port > 65535 || !validHost) throw new ConfigError(`${what}: "${text}" is not host:port (e.g. 0.0.0.0:9101, 127.0.0.1:9911, [::1]:9911)`);
  return { host, port };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

function commonFrom(get: Lookup, inputs: ConfigInputs): CommonConfig {
  const { env } = inputs;
  const dirText = get('dir', 'CREDENTIALS_DIR');
  if (!dirText) throw new ConfigError('no credentials directory; pass --dir or set CREDENTIALS_DIR');
  const dir = absolute(dirText);
  const region = get('region', 'AWS_REGION', 'AWS_DEFAULT_REGION') ?? 'us-east-1';
  if (!partitionOf(region)) {
    throw new ConfigError(
      `--region / AWS_REGION: ${JSON.stringify(region)} is not a region of any AWS partition (${PARTITIONS.map((p) => p.id).join(', ')}), e.g. us-east-1, cn-north-1, eusc-de-east-1`,
    );
  }
  // Checked here so a bad proxy URL is a configuration error (exit 2); the AWS clients read the same variables.
  proxyEnvFrom(env);
  const source = sourceConfig(get, env, inputs.hostname ?? hostname());
  const profile = get('profile', 'CREDENTIALS_PROFILE') ?? 'default';
  if (!/^[A-Za-z0-9_+@,-]{1,64}$/.test(profile)) throw new ConfigError(`--profile / CREDENTIALS_PROFILE: "${profile}" may hold letters, digits and _+@,- only`);
  const marginMs = duration(get, 'margin', 'CREDENTIALS_MARGIN', DEFAULT_MARGIN_MS, { minMs: 100, maxMs: 43_200_000 });
  if (marginMs >= source.durationSeconds * 1000) {
    throw new ConfigError(`--margin / CREDENTIALS_MARGIN (${marginMs} ms) must be shorter than --duration / ROLE_DURATION (${source.durationSeconds} s)`);
  }
  const registries = listFrom(get('ecr-registries', 'ECR_REGISTRIES')).map((host) => {
    const registry = parseEcrRegistry(host);
    if (!registry) throw new ConfigError(`--ecr-registries / ECR_REGISTRIES: "${host}" is not an ECR registry host (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com)`);
    return registry;
  });
  const givenCommand = get('credential-process-command', 'CREDENTIAL_PROCESS_COMMAND');
  return {
    dir,
    region,
    source,
    profile,
    marginMs,
    fileMode: fileMode(get('file-mode', 'CREDENTIALS_FILE_MODE')),
    timeoutMs: duration(get, 'timeout', 'STS_TIMEOUT', 120_000, { minMs: 1000, maxMs: 3_600_000 }),
    credentialProcessCommand:
      givenCommand ?? (inputs.selfExecutable ? defaultCredentialProcessCommand(inputs.selfExecutable, dir, marginMs) : undefined),
    ecrRegistries: registries,
    ecrCacheDir: absolute(get('ecr-cache-dir', 'AWS_ECR_CACHE_DIR') ?? join(dir, 'ecr')),
    cacheIdentity: cacheIdentity(env),
    cacheIdentityExplicit: firstSet(env, 'ECR_LOGIN_CACHE_IDENTITY') !== undefined,
  };
}

export interface StsInitConfig extends CommonConfig {
  /** Run the preflight (packages/preflight) once credentials are written: --preflight / PREFLIGHT, on by default. */
  preflight: boolean;
}

export function stsInitConfig(inputs: ConfigInputs): StsInitConfig {
  const get = lookupFrom(parseFlags(inputs.argv, [...COMMON_FLAGS, 'preflight']), inputs.env);
  const config = commonFrom(get, inputs);
  if (!config.credentialProcessCommand) {
    throw new ConfigError('not running as the built executable, so the credential_process command is unknown; pass --credential-process-command');
  }
  return { ...config, preflight: preflightEnabled(get('preflight', 'PREFLIGHT')) };
}

export function refresherConfig(inputs: ConfigInputs): RefresherConfig {
  const get = lookupFrom(parseFlags(inputs.argv, REFRESHER_FLAGS), inputs.env);
  const common = commonFrom(get, inputs);
  const containerListen = get('container-credentials-listen', 'CONTAINER_CREDENTIALS_LISTEN');
  let containerCredentials: RefresherConfig['containerCredentials'];
  if (containerListen && containerListen !== 'off') {
    const listen = parseHostPort(containerListen, '--container-credentials-listen / CONTAINER_CREDENTIALS_LISTEN');
    if (!isLoopback(listen.host)) {
      throw new ConfigError(`--container-credentials-listen / CONTAINER_CREDENTIALS_LISTEN: "${listen.host}" is not a loopback address; the endpoint serves secrets`);
    }
    const tokenFile = absolute(get('container-credentials-token-file', 'CONTAINER_CREDENTIALS_TOKEN_FILE') ?? join(common.dir, 'container-token'));
    containerCredentials = { listen, tokenFile };
  }
  return {
    ...common,
    listen: parseHostPort(get('listen', 'REFRESHER_LISTEN') ?? '0.0.0.0:9101', '--listen / REFRESHER_LISTEN'),
    refreshFraction: fractionFrom(get('refresh-fraction', 'REFRESH_FRACTION'), '--refresh-fraction / REFRESH_FRACTION', 0.5),
    ecrRefreshFraction: fractionFrom(get('ecr-refresh-fraction', 'ECR_REFRESH_FRACTION'), '--ecr-refresh-fraction / ECR_REFRESH_FRACTION', 0.4),
    refreshFloorMs: duration(get, 'refresh-floor', 'REFRESH_FLOOR', 60_000, { minMs: 100, maxMs: 3_600_000 }),
    containerCredentials,
  };
}
