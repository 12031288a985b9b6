import { describe, expect, it } from 'vitest';
import { cacheKey } from './cache-key.js';
import { getCredentials, entryFrom } from './get-credentials.js';
import { parseEcrRegistry } from './registry-host.js';
import { capturingLogger, memoryCache, scriptedFetch, tokenFor } from './test-fakes.js';

const HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const registry = parseEcrRegistry(HOST)!;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const H = 3_600_000;
const never = new AbortController().signal;

function deps(over: Partial<Parameters<typeof getCredentials>[1]> = {}) {
  return { cache: memoryCache().cache, identity: 'role:arn', allowed: [], log: capturingLogger().log, now: () => T0, ...over } as Parameters<typeof getCredentials>[1];
}

describe(getCredentials.name, () => {
  it('fetches on a miss, splits the token on the first colon, and caches it', async () => {
    const { cache, entries } = memoryCache();
    const { fetchToken, calls } = scriptedFetch(tokenFor('pass:with:colons', new Date(T0 + 12 * H)));
    const result = await getCredentials(HOST, deps({ cache, fetchToken }), never);
    expect(result).toEqual({ ok: true, source: 'ecr', credentials: { username: 'AWS', password: 'pass:with:colons' } });
    expect(calls).toEqual([HOST]);
    expect(entries[cacheKey('role:arn', registry)]).toMatchObject({ Service: 'ecr', RequestedAt: new Date(T0).toISOString() });
  });

  it('answers a fresh cache entry without calling AWS', async () => {
    const { cache } = memoryCache({ [cacheKey('role:arn', registry)]: entryFrom(tokenFor('cached', new Date(T0 + 12 * H)), registry, T0) });
    const { fetchToken, calls } = scriptedFetch(new Error('must not be called'));
    const result = await getCredentials(HOST, deps({ cache, fetchToken, now: () => T0 + 5 * H }), never);
    expect(result).toMatchObject({ ok: true, source: 'cache', credentials: { password: 'cached' } });
    expect(calls).toEqual([]);
  });

  it('refreshes once half the lifetime has passed', async () => {
    const { cache } = memoryCache({ [cacheKey('role:arn', registry)]: entryFrom(tokenFor('old', new Date(T0 + 12 * H)), registry, T0) });
    const { fetchToken, calls } = scriptedFetch(tokenFor('new', new Date(T0 + 18 * H)));
    const result = await getCredentials(HOST, deps({ cache, fetchToken, now: () => T0 + 6 * H }), never);
    expect(result).toMatchObject({ ok: true, source: 'ecr', credentials: { password: 'new' } });
    expect(calls).toHaveLength(1);
  });

  it('serves the stale token when the refresh fails and ECR still accepts it', async () => {
    const { cache } = memoryCache({ [cacheKey('role:arn', registry)]: entryFrom(tokenFor('old', new Date(T0 + 12 * H)), registry, T0) });
    const { fetchToken } = scriptedFetch(new Error('ThrottlingException'));
    const result = await getCredentials(HOST, deps({ cache, fetchToken, now: () => T0 + 7 * H }), never);
    expect(result).toMatchObject({ ok: true, source: 'stale-cache', credentials: { password: 'old' } });
  });

  it('does not serve an expired token when the refresh fails', async () => {
    const { cache } = memoryCache({ [cacheKey('role:arn', registry)]: entryFrom(tokenFor('old', new Date(T0 + 12 * H)), registry, T0) });
    const { fetchToken } = scriptedFetch(new Error('ServiceUnavailable'));
    const result = await getCredentials(HOST, deps({ cache, fetchToken, now: () => T0 + 12 * H }), never);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('ServiceUnavailable') });
  });

  it('refuses a token with an empty username or password, and does not cache it', async () => {
    const { cache, entries } = memoryCache();
    for (const token of [tokenFor('', new Date(T0 + H)), tokenFor('pw', new Date(T0 + H), ''), { ...tokenFor('x', new Date(T0 + H)), authorizationToken: Buffer.from('nocolon').toString('base64') }]) {
      const { fetchToken } = scriptedFetch(token);
      expect(await getCredentials(HOST, deps({ cache, fetchToken }), never)).toMatchObject({ ok: false });
    }
    expect(entries).toEqual({});
  });

  it('answers hosts that are not ECR, or not allowed, without calling AWS', async () => {
    const { fetchToken, calls } = scriptedFetch(tokenFor('x', new Date(T0 + H)));
    expect(await getCredentials('registry-1.docker.io', deps({ fetchToken }), never)).toMatchObject({ ok: false });
    expect(await getCredentials(HOST, deps({ fetchToken, allowed: ['210987654321', 'public'] }), never)).toMatchObject({ ok: false });
    expect(calls).toEqual([]);
  });

  it('goes on without the cache when it cannot be read or written', async () => {
    const broken = { get: async () => { throw new Error('EROFS'); }, set: async () => { throw new Error('EROFS'); }, list: async () => [] };
    const { fetchToken } = scriptedFetch(tokenFor('pw', new Date(T0 + H)));
    const { log, lines } = capturingLogger();
    expect(await getCredentials(HOST, deps({ cache: broken, fetchToken, log }), never)).toMatchObject({ ok: true, source: 'ecr' });
    expect(lines.join('')).toContain('could not write the token cache');
  });
});
