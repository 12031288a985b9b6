/**
 * `list` as docker-credential-ecr-login v0.12.0 does it (`ecr.go` List, `api/client.go` ListCredentials): prime the
 * cache with a token for the caller's default registry (GetAuthorizationToken without registry ids, in the default
 * region) and for ECR Public (unless its cached token is still fresh), then list EVERY entry of the cache file as
 * `{"<ProxyEndpoint>":"<user name>"}`. Failed calls are not errors: whatever the cache holds is listed.
 * With the cache disabled, or with no AWS credentials at all, the reference's cache is a null cache and it prints
 * `{}`; we print the same without making the calls, whose answers could not show.
 */
import { checkExpiry, type Logger } from '@ecr-proxy/core';
import { isFresh, type TokenCache } from './cache.js';
import { cacheKey } from './cache-key.js';
import type { EcrToken, FetchToken } from './ecr-token.js';
import { entryFrom, refreshToken } from './get-credentials.js';
import { parseEcrRegistry, type EcrRegistry } from './registry-host.js';

/** What `list` needs from AWS beyond FetchToken; loaded lazily like it. */
export interface ListAws {
  /** Whether the default credential chain yields credentials at all (the reference disables its cache if not). */
  hasCredentials(signal: AbortSignal): Promise<boolean>;
  /** GetAuthorizationToken without registry ids in `region` (undefined: the SDK's own region lookup). */
  fetchDefaultToken(region: string | undefined, signal: AbortSignal): Promise<EcrToken>;
}

export interface ListDeps {
  /** undefined: the cache is disabled. */
  cache: TokenCache | undefined;
  fetchToken: FetchToken;
  aws: ListAws;
  /** The cache identity, or how to learn it (cache-key.ts). */
  identity: string | ((registry: EcrRegistry) => Promise<string>);
  /** AWS_REGION, else AWS_DEFAULT_REGION, as the Go SDK reads them. */
  region: string | undefined;
  log: Logger;
  now?: () => number;
}

const PUBLIC: EcrRegistry = { kind: 'public', region: 'us-east-1', host: 'public.ecr.aws' };

/**
 * The reference's extractToken: strict base64, split at the first colon; an empty user name is allowed. The user
 * name as raw bytes: Go keeps them so, and its encoder writes invalid UTF-8 as `\ufffd`.
 */
function userOf(token: string): Buffer | undefined {
  const clean = token.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  const decoded = Buffer.from(clean, 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : Buffer.from(decoded.slice(0, colon), 'latin1');
}

/** Primes the cache (both calls bounded by `signal`), then returns [endpoint, user] pairs, unsorted. */
export async function listCredentials(deps: ListDeps, signal: AbortSignal): Promise<Array<[string, Buffer]>> {
  const { cache, log } = deps;
  if (!cache) return [];
  const now = deps.now ?? Date.now;
  try {
    if (!(await deps.aws.hasCredentials(signal))) return [];
  } catch (err) {
    log.debug('no AWS credentials; listing nothing, as the reference does', { err });
    return [];
  }
  let identity: string;
  try {
    // ECR Public's region: the one registry list always asks for.
    identity = typeof deps.identity === 'string' ? deps.identity : await deps.identity(PUBLIC);
  } catch (err) {
    log.debug('could not resolve the cache identity; listing what the cache holds', { err });
    return cachedPairs(cache);
  }
  try {
    const requestedAt = now();
    const token = await deps.aws.fetchDefaultToken(deps.region, signal);
    const registry = parseEcrRegistry(token.proxyEndpoint);
    if (!registry) throw new Error(`ECR answered with a proxy endpoint that is not an ECR host: ${token.proxyEndpoint}`);
    if (userOf(token.authorizationToken) === undefined) throw new Error('ECR answered with a malformed authorization token');
    // Expiry sanity as everywhere (core's expiry.ts): an expired or absurd token is not cached.
    checkExpiry(`the ECR token of ${registry.host}`, token.expiresAt, now(), { marginMs: 0 });
    await cache.set(cacheKey(identity, registry), entryFrom(token, registry, requestedAt));
  } catch (err) {
    log.debug('could not get a token for the default registry', { err });
  }
  try {
    const cached = await cache.get(cacheKey(identity, PUBLIC));
    if (!cached || !isFresh(cached, now())) await refreshToken(PUBLIC, { ...deps, identity, cache }, signal);
  } catch (err) {
    log.debug('could not get a token for ECR Public', { err });
  }
  return cachedPairs(cache);
}

/** Every entry of the cache file whose token decodes, as [ProxyEndpoint, user name]. */
export async function cachedPairs(cache: TokenCache): Promise<Array<[string, Buffer]>> {
  const entries = await cache.list().catch(() => []);
  return entries.flatMap((e) => {
    const user = userOf(e.AuthorizationToken);
    return user === undefined ? [] : [[e.ProxyEndpoint, user] as [string, Buffer]];
  });
}
