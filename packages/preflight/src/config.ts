/**
 * What the preflight checks, parsed once from flags and env (docs/configuration.md, "Preflight"). The S3 settings
 * use the registry's own variable names (REGISTRY_STORAGE_S3_*), so the same values configure both.
 */
import { checkDurationBounds, ConfigError, expectedRoleArn, firstSet, listFrom, parseDuration, parseFlags, type Env } from '@ecr-proxy/core';
import { allowInstanceRole, parseEcrRegistry, partitionOf, type EcrRegistry } from '@ecr-proxy/credential-helper';
import type { Mode } from './fix.js';

export const PREFLIGHT_FLAGS = [
  'region', 'bucket', 's3-region', 'rootdirectory', 's3-endpoint', 's3-force-path-style', 's3-encrypt', 's3-keyid',
  'ecr-registries', 'ecr-repository', 'expected-role-arn', 'timeout', 'allow-instance-role',
] as const;

export interface S3Target {
  bucket: string;
  region: string;
  /** Key prefix without leading slash, with a trailing one when not empty: `docker/`. */
  prefix: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Server-side encryption the registry asks for on each write (its `encrypt` and `keyid` settings). */
  encryption?: { kind: 'AES256' } | { kind: 'aws:kms'; keyId?: string };
}

export interface PreflightConfig {
  /** Region of STS calls. */
  region: string;
  s3: S3Target | undefined;
  ecrRegistries: EcrRegistry[];
  /** A repository that exists in each registry; its pull permissions are probed. */
  ecrRepository: string | undefined;
  /** The role the credentials must belong to; undefined: the principal is printed, not compared. */
  expectedRole: string | undefined;
  mode: Mode;
  timeoutMs: number;
  /** May the SDK's default chain end at EC2 instance metadata? The helper's rule (allowInstanceRole). */
  allowInstanceRole: boolean;
}

/**
 * Throws ConfigError (one line) on bad input, naming `--flag / VARIABLE`, or only the variable with `flags: false`
 * (sts-init, which takes none of these flags and passes what it already parsed as env).
 * The expected role: core's expectedRoleArn, the rule of sts-init and cred-refresher (--expected-role-arn /
 * EXPECTED_ROLE_ARN, else TARGET_ROLE_ARN, else AWS_ROLE_ARN; ECR_LOGIN_CACHE_IDENTITY is a cache key, never a role).
 * The instance role: the helper's rule (--allow-instance-role / ECR_LOGIN_ALLOW_INSTANCE_ROLE, default false).
 */
export function preflightConfig(argv: readonly string[], env: Env, opts: { flags?: boolean } = {}): PreflightConfig {
  const flags = parseFlags(argv, PREFLIGHT_FLAGS);
  // sts-init passes no flags of the preflight's: its errors name only the variable it reads.
  const name = (flag: string, variable: string) => (opts.flags === false ? variable : `--${flag} / ${variable}`);
  const get = (flag: string, ...names: string[]) => flags.get(flag) ?? firstSet(env, ...names);
  const region = get('region', 'AWS_REGION', 'AWS_DEFAULT_REGION') ?? 'us-east-1';
  if (!partitionOf(region)) throw new ConfigError(`${name('region', 'AWS_REGION')}: "${region}" is not a region of any AWS partition`);

  const bucket = get('bucket', 'REGISTRY_STORAGE_S3_BUCKET');
  let s3: S3Target | undefined;
  if (bucket) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ConfigError(`${name('bucket', 'REGISTRY_STORAGE_S3_BUCKET')}: "${bucket}" is not an S3 bucket name`);
    }
    const s3Region = get('s3-region', 'REGISTRY_STORAGE_S3_REGION') ?? region;
    if (!partitionOf(s3Region)) throw new ConfigError(`${name('s3-region', 'REGISTRY_STORAGE_S3_REGION')}: "${s3Region}" is not a region of any AWS partition`);
    const root = (get('rootdirectory', 'REGISTRY_STORAGE_S3_ROOTDIRECTORY') ?? '').replace(/^\/+|\/+$/g, '');
    // S3 keys are not paths: `docker/../other` is a key of its own, not `other`, so the probe would not be where the
    // registry writes (and the lifecycle rule expires).
    if (root && root.split('/').some((seg) => seg === '.' || seg === '..' || seg === '')) {
      throw new ConfigError(`${name('rootdirectory', 'REGISTRY_STORAGE_S3_ROOTDIRECTORY')}: "${root}" has an empty, "." or ".." segment; give the registry's root directory, e.g. /docker`);
    }
    const endpoint = get('s3-endpoint', 'REGISTRY_STORAGE_S3_REGIONENDPOINT');
    if (endpoint && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
      throw new ConfigError(`${name('s3-endpoint', 'REGISTRY_STORAGE_S3_REGIONENDPOINT')}: "${endpoint}" is not an http(s) URL`);
    }
    const encrypt = bool(get('s3-encrypt', 'REGISTRY_STORAGE_S3_ENCRYPT'), name('s3-encrypt', 'REGISTRY_STORAGE_S3_ENCRYPT'));
    const keyId = get('s3-keyid', 'REGISTRY_STORAGE_S3_KEYID');
    s3 = {
      bucket,
      region: s3Region,
      prefix: root ? `${root}/` : '',
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: bool(get('s3-force-path-style', 'REGISTRY_STORAGE_S3_FORCEPATHSTYLE'), name('s3-force-path-style', 'REGISTRY_STORAGE_S3_FORCEPATHSTYLE')),
      // As the registry's s3-aws driver: encrypt with a keyid is SSE-KMS, encrypt alone SSE-S3.
      ...(encrypt ? { encryption: keyId ? { kind: 'aws:kms' as const, keyId } : { kind: 'AES256' as const } } : {}),
    };
  }

  const ecrRegistries = listFrom(get('ecr-registries', 'ECR_REGISTRIES')).map((host) => {
    const registry = parseEcrRegistry(host);
    if (!registry) throw new ConfigError(`${name('ecr-registries', 'ECR_REGISTRIES')}: "${host}" is not an ECR registry host (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com)`);
    return registry;
  });
  const ecrRepository = get('ecr-repository', 'PREFLIGHT_ECR_REPOSITORY');
  if (ecrRepository && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(ecrRepository)) {
    throw new ConfigError(`${name('ecr-repository', 'PREFLIGHT_ECR_REPOSITORY')}: "${ecrRepository}" is not an ECR repository name`);
  }

  // The rule sts-init and cred-refresher follow (core's principal.ts); only --expected-role-arn is a flag here.
  const expectedRole = expectedRoleArn((flag, envName) => (flag === 'expected-role-arn' ? get(flag, envName) : firstSet(env, envName)));
  const target = firstSet(env, 'TARGET_ROLE_ARN');

  const timeoutText = get('timeout', 'PREFLIGHT_TIMEOUT');
  const timeoutMs = timeoutText === undefined ? 30_000 : parseDuration(timeoutText, name('timeout', 'PREFLIGHT_TIMEOUT'));
  if (timeoutMs <= 0) throw new ConfigError(`${name('timeout', 'PREFLIGHT_TIMEOUT')}: must be greater than zero, got "${timeoutText}"`);
  // At most 1 h, as STS_TIMEOUT: 2^31 ms and more would overflow the deadline's timer to 1 ms.
  if (timeoutText !== undefined) checkDurationBounds(timeoutMs, timeoutText, name('timeout', 'PREFLIGHT_TIMEOUT'), { maxMs: 3_600_000 });

  return {
    region,
    s3,
    ecrRegistries,
    ecrRepository,
    expectedRole,
    mode: target ? 'cross-account' : 'same-account',
    timeoutMs,
    allowInstanceRole: allowInstanceRole(env, flags.get('allow-instance-role')),
  };
}

function bool(text: string | undefined, name: string): boolean {
  if (text === undefined) return false;
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new ConfigError(`${name}: "${text}" must be true or false`);
}

/** `PREFLIGHT=off` (or `--preflight off`) turns sts-init's preflight off; anything else but on/off is an error. */
export function preflightEnabled(text: string | undefined): boolean {
  if (text === undefined || text === '' || /^(on|true|1)$/i.test(text)) return true;
  if (/^(off|false|0)$/i.test(text)) return false;
  throw new ConfigError(`--preflight / PREFLIGHT: "${text}" must be on or off`);
}
