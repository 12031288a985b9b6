/** Hand-written fakes for the helper's seams, checked against the real interfaces with `satisfies`. */
import { createLogger, type Logger } from '@ecr-proxy/core';
import type { AuthEntry, TokenCache } from './cache.js';
import type { EcrToken, FetchToken } from './ecr-token.js';

export function memoryCache(initial: Record<string, AuthEntry> = {}) {
  const entries = { ...initial };
  const cache = {
    get: async (key: string) => entries[key],
    set: async (key: string, entry: AuthEntry) => {
      entries[key] = entry;
    },
    list: async () => Object.values(entries),
  } satisfies TokenCache;
  return { cache, entries };
}

export function tokenFor(password: string, expiresAt: Date, user = 'AWS'): EcrToken {
  return {
    authorizationToken: Buffer.from(`${user}:${password}`).toString('base64'),
    expiresAt,
    proxyEndpoint: 'https://123456789012.dkr.ecr.us-west-2.amazonaws.com',
  };
}

/** A FetchToken that answers from a script of results, counting calls. */
export function scriptedFetch(...results: Array<EcrToken | Error | 'hang'>) {
  const calls: string[] = [];
  const fetchToken: FetchToken = async (registry, signal) => {
    calls.push(registry.host);
    const next = results.length > 1 ? results.shift()! : results[0]!;
    if (next === 'hang') {
      return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetchToken, calls };
}

export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ sink: (l) => lines.push(l), level: 'debug' }), lines };
}
