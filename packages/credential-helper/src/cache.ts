/**
 * The ECR token cache, in the file format of docker-credential-ecr-login v0.12.0 (`cache.json`, version "1.0"),
 * so either helper can read what the other wrote. Unlike the reference, writers take a lock and merge, so
 * concurrent `get`s never lose each other's entries.
 */
import { join } from 'node:path';
import { dirModeFor, ensureDir, expiryProblem, readRegularFile, withFileLock, writeFileAtomic } from '@ecr-proxy/core';

export interface AuthEntry {
  AuthorizationToken: string;
  RequestedAt: string;
  ExpiresAt: string;
  ProxyEndpoint: string;
  Service: 'ecr' | 'ecr-public';
}

export interface RegistryCache {
  Registries: Record<string, AuthEntry>;
  Version: '1.0';
}

export interface TokenCache {
  get(key: string): Promise<AuthEntry | undefined>;
  set(key: string, entry: AuthEntry): Promise<void>;
  list(): Promise<AuthEntry[]>;
}

const VERSION = '1.0';

/** Fresh until half its lifetime has passed, as in the reference (about 6 h of ECR's 12 h). */
export function isFresh(entry: AuthEntry, now: number): boolean {
  const requested = Date.parse(entry.RequestedAt);
  const expires = Date.parse(entry.ExpiresAt);
  return now < requested + (expires - requested) / 2;
}

/** Still accepted by ECR: what we fall back to when a refresh fails. */
export function isUnexpired(entry: AuthEntry, now: number): boolean {
  return now < Date.parse(entry.ExpiresAt);
}

/**
 * An entry whose expiry makes sense: not past, and not further away than ECR can issue (12 h plus the skew
 * allowance). A year-9999 entry (a foreign or tampered cache file) would otherwise stay "fresh" for ever.
 */
export function isSane(entry: AuthEntry, now: number): boolean {
  return expiryProblem(Date.parse(entry.ExpiresAt), now, { marginMs: 0 }) === undefined && Date.parse(entry.RequestedAt) <= Date.parse(entry.ExpiresAt);
}

function isEntry(value: unknown): value is AuthEntry {
  const e = value as Partial<AuthEntry> | null;
  return (
    typeof e === 'object' && e !== null &&
    typeof e.AuthorizationToken === 'string' && typeof e.ProxyEndpoint === 'string' &&
    !Number.isNaN(Date.parse(String(e.RequestedAt))) && !Number.isNaN(Date.parse(String(e.ExpiresAt)))
  );
}

/**
 * A missing, unreadable, torn or foreign-version file reads as empty: the cache only ever saves calls. As the
 * reference's cache/file.go, which decodes into a cache whose Version is already "1.0": a file without `Version`
 * is current, one with another Version is not. Registries is a prototype-free record, so an entry keyed
 * `__proto__` is an entry like any other.
 */
export async function readCacheFile(path: string): Promise<RegistryCache> {
  const empty: RegistryCache = { Registries: Object.create(null) as Record<string, AuthEntry>, Version: VERSION };
  let parsed: unknown;
  try {
    // Only a regular file, opened non-blocking: a FIFO or device here must not hang a `get`.
    parsed = JSON.parse(await readRegularFile(path, 'ECR token cache', 16 << 20));
  } catch {
    return empty;
  }
  const file = parsed as Partial<RegistryCache> | null;
  if (typeof file !== 'object' || file === null || (file.Version !== undefined && file.Version !== VERSION)) return empty;
  if (typeof file.Registries !== 'object' || file.Registries === null || Array.isArray(file.Registries)) return empty;
  const registries = Object.create(null) as Record<string, AuthEntry>;
  for (const [key, entry] of Object.entries(file.Registries)) if (isEntry(entry)) registries[key] = entry;
  return { Registries: registries, Version: VERSION };
}

export function fileTokenCache(dir: string, opts: { fileMode?: number } = {}): TokenCache {
  const path = join(dir, 'cache.json');
  const mode = opts.fileMode ?? 0o600;
  return {
    async get(key) {
      return (await readCacheFile(path)).Registries[key];
    },
    async set(key, entry) {
      await ensureDir(dir, dirModeFor(mode));
      await withFileLock(path, async () => {
        const current = await readCacheFile(path);
        current.Registries[key] = entry;
        await writeFileAtomic(path, JSON.stringify(current, null, 2), { mode, dirMode: dirModeFor(mode) });
      });
    },
    async list() {
      return Object.values((await readCacheFile(path)).Registries);
    },
  };
}

export const nullTokenCache: TokenCache = {
  get: async () => undefined,
  set: async () => {},
  list: async () => [],
};
