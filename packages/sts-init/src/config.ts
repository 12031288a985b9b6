/**
 * Flags and env of sts-init and cred-refresher, parsed once into a typed config (docs/configuration.md). Flags win
 * over env. Everything below receives this config and never reads env or argv.
 */
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError, firstSet, fractionFrom, listFrom, parseDuration, parseFlags, type Env } from '@ecr-proxy/core';
import { cacheIdentity, parseEcrRegistry, partitionOf, PARTITIONS, type EcrRegistry } from '@ecr-proxy/credential-helper';
import { proxyEnvFrom } from '@ecr-proxy/core/proxy-env';
import { DEFAULT_MARGIN_MS } from './credential-process.js';
import { defaultCredentialProcessCommand } from './shell-quote.js';
import type { SourceConfig } from './sources.js';

export const COMMON_FLAGS = [
  'dir', 'region', 'target-role-arn', 'external-id', 'session-name', 'duration', 'profile', 'margin', 'file-mode',
  'timeout', 'credential-process-command', 'ecr-registries', 'ecr-cache-dir',
] as const;
export const REFRESHER_FLAGS = [
  ...COMMON_FLAGS, 'listen', 'refresh-fraction', 'ecr-refresh-fraction', 'container-credentials-listen',
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

function duration(get: Lookup, flag: string, envName: string, fallbackMs: number): number {
  const text = get(flag, envName);
  if (text === undefined) return fallbackMs;
  const ms = parseDuration(text, flags(flag, envName));
  if (ms <= 0) throw new ConfigError(`${flags(flag, envName)}: must be greater than zero, got "${text}"`);
  return ms;
}

const flags = (flag: string, envName: string) => `--${flag} / ${envName}`;

/** STS accepts [\w+=,.@-]{2,64}; a pod name can be longer or carry other characters. */
export function sessionNameFor(host: string): string {
  return `ecr-proxy-${host}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/;

function sourceConfig(get: Lookup, env: Env, host: string): SourceConfig {
  const roleArn = firstSet(env, 'AWS_ROLE_ARN');
  const tokenFile = firstSet(env, 'AWS_WEB_IDENTITY_TOKEN_FILE');
  if (roleArn && !tokenFile) throw new ConfigError('AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not; set both (IRSA) or neither');
  if (tokenFile && !roleArn) throw new ConfigError('AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not; set both (IRSA) or neither');
  if (roleArn && !ROLE_ARN.test(roleArn)) throw new ConfigError(`AWS_ROLE_ARN: "${roleArn}" is not an IAM role ARN`);
  const targetRoleArn = get('target-role-arn', 'TARGET_ROLE_ARN');
  if (targetRoleArn && !ROLE_ARN.test(targetRoleArn)) {
    throw new ConfigError(`--target-role-arn / TARGET_ROLE_ARN: "${targetRoleArn}" is not an IAM role ARN`);
  }
  const externalId = get('external-id', 'TARGET_EXTERNAL_ID');
  if (externalId && !targetRoleArn) throw new ConfigError('--external-id / TARGET_EXTERNAL_ID needs --target-role-arn / TARGET_ROLE_ARN');
  const sessionName = get('session-name', 'ROLE_SESSION_NAME') ?? sessionNameFor(host);
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    throw new ConfigError(`--session-name / ROLE_SESSION_NAME: "${sessionName}" must be 2 to 64 characters of letters, digits and +=,.@_-`);
  }
  const durationMs = duration(get, 'duration', 'ROLE_DURATION', 3_600_000);
  if (durationMs % 1000 !== 0) throw new ConfigError('--duration / ROLE_DURATION: must be whole seconds');
  return {
    ...(roleArn && tokenFile ? { webIdentity: { roleArn, tokenFile } } : {}),
    ...(targetRoleArn ? { target: { roleArn: targetRoleArn, ...(externalId ? { externalId } : {}) } } : {}),
    sessionName,
    durationSeconds: durationMs / 1000,
  };
}

function fileMode(text: string | undefined): 0o600 | 0o640 {
  if (text === undefined || text === '0600' || text === '600') return 0o600;
  if (text === '0640' || text === '640') return 0o640;
  throw new ConfigError(`--file-mode / CREDENTIALS_FILE_MODE: "${text}" must be 0600 or 0640`);
}

export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ConfigError(`${what}: "${text}" is not host:port (e.g. 0.0.0.0:9101, 127.0.0.1:9911, [::1]:9911)`);
  return { host: (m[1] ?? m[2])!, port };
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
  const marginMs = duration(get, 'margin', 'CREDENTIALS_MARGIN', DEFAULT_MARGIN_MS);
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
    timeoutMs: duration(get, 'timeout', 'STS_TIMEOUT', 120_000),
    credentialProcessCommand:
      givenCommand ?? (inputs.selfExecutable ? defaultCredentialProcessCommand(inputs.selfExecutable, dir, marginMs) : undefined),
    ecrRegistries: registries,
    ecrCacheDir: absolute(get('ecr-cache-dir', 'AWS_ECR_CACHE_DIR') ?? join(dir, 'ecr')),
    cacheIdentity: cacheIdentity(env),
    cacheIdentityExplicit: firstSet(env, 'ECR_LOGIN_CACHE_IDENTITY') !== undefined,
  };
}

export function stsInitConfig(inputs: ConfigInputs): CommonConfig {
  const get = lookupFrom(parseFlags(inputs.argv, COMMON_FLAGS), inputs.env);
  const config = commonFrom(get, inputs);
  if (!config.credentialProcessCommand) {
    throw new ConfigError('not running as the built executable, so the credential_process command is unknown; pass --credential-process-command');
  }
  return config;
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
    containerCredentials,
  };
}
