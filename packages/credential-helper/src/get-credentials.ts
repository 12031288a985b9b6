/**
 * `get` without the protocol: a server URL in, Basic credentials or a reason out. The cache is consulted before any
 * AWS credentials are resolved; a failed refresh falls back to a cached token ECR still accepts.
 */
import { checkExpiry, serverText, type Logger } from '@ecr-proxy/core';
import { isFresh, isSane, isUnexpired, type AuthEntry, type TokenCache } from './cache.js';
import { cacheKey } from './cache-key.js';
import { decodeToken, type BasicCredentials, type EcrToken, type FetchToken } from './ecr-token.js';
import { isAllowed, parseEcrRegistry, type EcrRegistry } from './registry-host.js';

export interface GetDeps {
  cache: TokenCache;
  fetchToken: FetchToken;
  /** The identity the cache is keyed by, or how to learn it at `get` time; see cache-key.ts. */
  identity: string | ((registry: EcrRegistry) => Promise<string>);
  /** Registry ids and `public`; empty allows all. */
  allowed: readonly string[];
  log: Logger;
  now?: () => number;
  /** A token expiring within this many ms of now is refused (invalid_expiry). Default 0: only an expired one. */
  marginMs?: number;
}

export type GetResult =
  | { ok: true; credentials: BasicCredentials; source: 'cache' | 'ecr' | 'stale-cache' }
  | { ok: false; reason: string; kind: 'not_ecr_host' | 'not_allowed' | 'identity' | 'ecr' };

export function entryFrom(token: EcrToken, registry: EcrRegistry, requestedAt: number): AuthEntry {
  return {
    AuthorizationToken: token.authorizationToken,
    RequestedAt: new Date(requestedAt).toISOString(),
    ExpiresAt: token.expiresAt.toISOString(),
    ProxyEndpoint: token.proxyEndpoint,
    Service: registry.kind === 'public' ? 'ecr-public' : 'ecr',
  };
}

/**
 * Fetches a token and checks it: it decodes to non-empty credentials and its expiry is sane (not past, not within
 * the margin, not beyond ECR's 12 h; core's expiry.ts). Throws InvalidTokenError or ExpiryError otherwise, so a bad
 * answer never reaches the cache nor replaces a good cached token.
 */
export async function fetchCheckedToken(
  registry: EcrRegistry,
  deps: Pick<GetDeps, 'fetchToken' | 'now' | 'marginMs'>,
  signal: AbortSignal,
): Promise<{ credentials: BasicCredentials; entry: AuthEntry }> {
  const now = deps.now ?? Date.now;
  const requestedAt = now();
  const token = await deps.fetchToken(registry, signal);
  const credentials = decodeToken(token.authorizationToken);
  checkExpiry(`the ECR token of ${registry.host}`, token.expiresAt, now(), { marginMs: deps.marginMs ?? 0 });
  return { credentials, entry: entryFrom(token, registry, requestedAt) };
}

/** How long a `get` holding a token waits for the cache write (the lock may be contended by a burst). */
export const WRITE_WAIT_MS = 2000;

/**
 * Fetches a checked token and stores it. Shared with sts-init and the refresher. For a `get` the cache write is best
 * effort: with `writeSignal`, it is given up (the token still returned) when that signal fires, so a caller holding a
 * token never loses it waiting for the cache lock. With `writeRequired` (sts-init, whose job is the cached token) a
 * failed write is thrown as it came (a FileTypeError or an fs error naming the file), never logged and passed over.
 */
export async function refreshToken(
  registry: EcrRegistry,
  deps: Pick<GetDeps, 'cache' | 'fetchToken' | 'log' | 'now' | 'marginMs'> & { identity: string; writeRequired?: boolean },
  signal: AbortSignal,
  writeSignal?: AbortSignal,
): Promise<{ credentials: BasicCredentials; entry: AuthEntry }> {
  const fetched = await fetchCheckedToken(registry, deps, signal);
  if (deps.writeRequired) {
    await deps.cache.set(cacheKey(deps.identity, registry), fetched.entry);
    return fetched;
  }
  const write = deps.cache.set(cacheKey(deps.identity, registry), fetched.entry).catch((err: unknown) => {
    deps.log.warn('could not write the token cache; going on without it', { err });
  });
  if (!writeSignal) await write;
  else if (!writeSignal.aborted) {
    // At most WRITE_WAIT_MS for the cache: the caller is waiting for a token we already have.
    const limit = AbortSignal.any([writeSignal, AbortSignal.timeout(WRITE_WAIT_MS)]);
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        deps.log.warn('the token cache write did not finish in time; answering without it');
        resolve();
      };
      limit.addEventListener('abort', onAbort, { once: true });
      void write.finally(() => {
        limit.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
  return fetched;
}

async function cached(cache: TokenCache, key: string, log: Logger): Promise<AuthEntry | undefined> {
  try {
    return await cache.get(key);
  } catch (err) {
    log.warn('could not read the token cache', { err });
    return undefined;
  }
}

function usable(entry: AuthEntry | undefined, valid: boolean): BasicCredentials | undefined {
  if (!entry || !valid) return undefined;
  try {
    return decodeToken(entry.AuthorizationToken);
  } catch {
    return undefined;
  }
}

/**
 * `signal` bounds the ECR call; `writeSignal` (optional) bounds the cache write after it, so the answer goes out in
 * time whatever the cache lock does.
 */
export async function getCredentials(serverUrl: string, deps: GetDeps, signal: AbortSignal, writeSignal?: AbortSignal): Promise<GetResult> {
  const now = deps.now ?? Date.now;
  const registry = parseEcrRegistry(serverUrl);
  if (!registry) return { ok: false, reason: 'not an ECR registry host', kind: 'not_ecr_host' };
  const log = deps.log.with({ registry: registry.host });
  if (!isAllowed(registry, deps.allowed)) return { ok: false, reason: 'registry not in ECR_LOGIN_ALLOWED_REGISTRIES', kind: 'not_allowed' };

  let identity: string;
  try {
    identity = typeof deps.identity === 'string' ? deps.identity : await deps.identity(registry);
  } catch (err) {
    return { ok: false, reason: `could not resolve the AWS credentials the cache is keyed by: ${(err as Error).name}: ${serverText((err as Error).message)}`, kind: 'identity' };
  }
  const entry = await cached(deps.cache, cacheKey(identity, registry), log);
  const fresh = usable(entry, entry !== undefined && isSane(entry, now()) && isFresh(entry, now()));
  if (fresh) return { ok: true, credentials: fresh, source: 'cache' };

  try {
    const { credentials } = await refreshToken(registry, { ...deps, identity, log }, signal, writeSignal);
    return { ok: true, credentials, source: 'ecr' };
  } catch (err) {
    const stale = usable(entry, entry !== undefined && isSane(entry, now()) && isUnexpired(entry, now()));
    if (stale) {
      log.warn('refreshing the ECR token failed; serving the cached token, still valid', { err, expiresAt: entry!.ExpiresAt });
      return { ok: true, credentials: stale, source: 'stale-cache' };
    }
    return { ok: false, reason: `could not get an ECR token: ${(err as Error).name}: ${serverText((err as Error).message)}`, kind: 'ecr' };
  }
}
