/**
 * The cache key. The reference keys tokens by a hash of the temporary access key id, so under IRSA, SSO or any
 * assumed role every process misses. Where the env alone names the principal (ECR_LOGIN_CACHE_IDENTITY, a role
 * ARN, a static key id) we key by that, so the cache is looked at before any credentials are resolved and a hit
 * costs no AWS call at all. Where it does not (a profile, whose credential_process may switch roles; the default
 * chain), the identity must follow what the credentials really are: see identityPlan and docs/design.md.
 */
import { createHash } from 'node:crypto';
import { firstSet, readRegularFile, type Env } from '@ecr-proxy/core';
import type { EcrRegistry } from './registry-host.js';

/** base64(sha256(text)): the hash in the reference's key shape. */
const checksum = (text: string): string => createHash('sha256').update(text).digest('base64');

/**
 * How the helper learns its cache identity:
 * - `fixed`: from the env alone (explicit, role ARN, static key);
 * - `container`: the container endpoint's URI plus a hash of its authorization token (read at `get` time from
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN or _TOKEN_FILE): two pods' tokens are two principals;
 * - `resolved`: by the access key id the SDK chain resolves to, as the reference keys (profiles and the default
 *   chain name no stable principal; keying by the profile name served role A's token after it switched to B).
 */
export type IdentityPlan =
  | { kind: 'fixed'; identity: string }
  | { kind: 'container'; base: string; token?: string; tokenFile?: string }
  | { kind: 'resolved' };

export function identityPlan(env: Env): IdentityPlan {
  const derived = cacheIdentity(env);
  if (derived.startsWith('container:') && !firstSet(env, 'ECR_LOGIN_CACHE_IDENTITY')) {
    const token = firstSet(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN');
    const tokenFile = firstSet(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE');
    return { kind: 'container', base: derived, ...(token ? { token } : {}), ...(tokenFile ? { tokenFile } : {}) };
  }
  if (derived === 'default' || derived.startsWith('profile:')) return { kind: 'resolved' };
  return { kind: 'fixed', identity: derived };
}

/** The identity of a plan, at `get` time. `accessKeyId` resolves the chain's credentials (only for `resolved`). */
export async function resolveIdentity(plan: IdentityPlan, accessKeyId: () => Promise<string>): Promise<string> {
  if (plan.kind === 'fixed') return plan.identity;
  if (plan.kind === 'resolved') return `key:${await accessKeyId()}`;
  const token = plan.token ?? (plan.tokenFile ? (await readRegularFile(plan.tokenFile, 'container authorization token file', 64 * 1024)).trim() : '');
  return token ? `${plan.base}#${checksum(token)}` : plan.base;
}

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

/** Same shape as the reference's keys: `<region>-<hash>-<registryId>`, and `ecr-public-<hash>` for ECR Public. */
export function cacheKey(identity: string, registry: EcrRegistry): string {
  if (registry.kind === 'public') return `ecr-public-${checksum(identity)}`;
  return `${registry.region}-${checksum(identity)}-${registry.registryId}`;
}
