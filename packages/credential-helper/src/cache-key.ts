/**
 * The cache key. The reference keys tokens by a hash of the temporary access key id, so under IRSA, SSO or any
 * assumed role every process misses. We key by a stable identity read from the env alone, so the cache is looked at
 * before any credentials are resolved and a hit costs no AWS call at all.
 */
import { firstSet, sha256Base64, type Env } from '@ecr-proxy/core';
import type { EcrRegistry } from './registry-host.js';

export function cacheIdentity(env: Env): string {
  const explicit = firstSet(env, 'ECR_LOGIN_CACHE_IDENTITY');
  if (explicit) return explicit;
  const roleArn = firstSet(env, 'AWS_ROLE_ARN');
  if (roleArn) return `role:${roleArn}`;
  const keyId = firstSet(env, 'AWS_ACCESS_KEY_ID');
  if (keyId) return `key:${keyId}`;
  const profile = firstSet(env, 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE');
  const files = [firstSet(env, 'AWS_CONFIG_FILE'), firstSet(env, 'AWS_SHARED_CREDENTIALS_FILE')].filter(Boolean);
  if (profile || files.length > 0) return `profile:${profile ?? 'default'}@${files.join(',')}`;
  const container = firstSet(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI');
  if (container) return `container:${container}`;
  return 'default';
}

// Not node:crypto: loading it is a fifth of a warm get's start-up (see core's sha256.ts).
const checksum = sha256Base64;

/** Same shape as the reference's keys: `<region>-<hash>-<registryId>`, and `ecr-public-<hash>` for ECR Public. */
export function cacheKey(identity: string, registry: EcrRegistry): string {
  if (registry.kind === 'public') return `ecr-public-${checksum(identity)}`;
  return `${registry.region}-${checksum(identity)}-${registry.registryId}`;
}
