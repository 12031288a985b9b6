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

describe('expiry sanity in the helper (issue 9: a 2015 token replaced a still-valid cached one)', () => {
  const key = cacheKey('role:arn', registry);

  it.each([
    ['2015, as moto answers', new Date('2015-01-01T00:00:00Z')],
    ['year 9999', new Date('9999-12-31T23:59:59Z')],
    ['not a date', new Date(Number.NaN)],
  ])('an ECR answer expiring %s is refused; the still-valid cached token is served and stays cached', async (_, expiresAt) => {
    const good = entryFrom(tokenFor('good', new Date(T0 + 12 * H)), registry, T0);
    const { cache, entries } = memoryCache({ [key]: good });
    const { fetchToken } = scriptedFetch(tokenFor('hostile', expiresAt));
    const result = await getCredentials(HOST, deps({ cache, fetchToken, now: () => T0 + 7 * H }), never);
    expect(result).toMatchObject({ ok: true, source: 'stale-cache', credentials: { password: 'good' } });
    expect(entries[key]).toEqual(good);
  });

  it('a cached entry claiming year 9999 is not served as fresh', async () => {
    const forever = { ...entryFrom(tokenFor('forever', new Date('9999-12-31T23:59:59Z')), registry, T0) };
    const { cache } = memoryCache({ [key]: forever });
    const { fetchToken, calls } = scriptedFetch(tokenFor('new', new Date(T0 + 12 * H)));
    const result = await getCredentials(HOST, deps({ cache, fetchToken }), never);
    expect(result).toMatchObject({ ok: true, source: 'ecr', credentials: { password: 'new' } });
    expect(calls).toHaveLength(1);
  });
});

describe('the answer first, the cache second (issue 9: 47 of 100 cold gets answered not-found)', () => {
  it('answers with the fetched token when the cache write does not finish in time', async () => {
    const stuck = { ...memoryCache().cache, set: () => new Promise<void>(() => {}) };
    const { fetchToken } = scriptedFetch(tokenFor('fresh', new Date(T0 + 12 * H)));
    const write = new AbortController();
    const pending = getCredentials(HOST, deps({ cache: stuck, fetchToken }), never, write.signal);
    setTimeout(() => write.abort(), 0);
    await expect(pending).resolves.toMatchObject({ ok: true, source: 'ecr', credentials: { password: 'fresh' } });
  });
});

describe('the cache identity follows the principal (issue 9: a profile switching roles kept role A\'s token)', () => {
  it('keys by what the identity resolves to at get time', async () => {
    const { cache, entries } = memoryCache();
    let accessKey = 'ASIAROLEA';
    const identity = async () => `key:${accessKey}`;
    const a = scriptedFetch(tokenFor('token-a', new Date(T0 + 12 * H)));
    await getCredentials(HOST, deps({ cache, fetchToken: a.fetchToken, identity }), never);
    accessKey = 'ASIAROLEB';
    const b = scriptedFetch(tokenFor('token-b', new Date(T0 + 12 * H)));
    const result = await getCredentials(HOST, deps({ cache, fetchToken: b.fetchToken, identity }), never);
    expect(result).toMatchObject({ ok: true, source: 'ecr', credentials: { password: 'token-b' } });
    expect(b.calls).toHaveLength(1);
    expect(Object.keys(entries)).toHaveLength(2);
  });

  it('a failure to resolve the identity is not-found with the reason, no ECR call', async () => {
    const { fetchToken, calls } = scriptedFetch(tokenFor('x', new Date(T0 + 12 * H)));
    const identity = async () => { throw new Error('credential_process exited 1'); };
    const result = await getCredentials(HOST, deps({ fetchToken, identity }), never);
    expect(result).toEqual({ ok: false, reason: 'could not resolve the AWS credentials the cache is keyed by: Error: credential_process exited 1', kind: 'identity' });
    expect(calls).toHaveLength(0);
  });
});
