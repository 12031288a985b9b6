import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileTokenCache, isFresh, isUnexpired, readCacheFile, type AuthEntry } from './cache.js';

const entry = (n: number): AuthEntry => ({
  AuthorizationToken: Buffer.from(`AWS:pw${n}`).toString('base64'),
  RequestedAt: '2026-01-01T00:00:00.000Z',
  ExpiresAt: '2026-01-01T12:00:00.000Z',
  ProxyEndpoint: `https://${String(n).padStart(12, '0')}.dkr.ecr.us-west-2.amazonaws.com`,
  Service: 'ecr',
});

describe(fileTokenCache.name, () => {
  it('writes the v0.12.0 format with a 0700 directory and a 0600 file', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'cache-')), 'ecr');
    await fileTokenCache(dir).set('k', entry(1));
    const file = JSON.parse(await readFile(join(dir, 'cache.json'), 'utf8'));
    expect(file).toEqual({ Registries: { k: entry(1) }, Version: '1.0' });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'cache.json'))).mode & 0o777).toBe(0o600);
  });

  it('with a group-readable file mode, makes the directory group-searchable', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'cache-')), 'ecr');
    await fileTokenCache(dir, { fileMode: 0o640 }).set('k', entry(1));
    expect((await stat(dir)).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'cache.json'))).mode & 0o777).toBe(0o640);
  });

  it('keeps every entry when 50 writers race, and leaves no temp or lock file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cache-'));
    const cache = fileTokenCache(dir);
    await Promise.all(Array.from({ length: 50 }, (_, n) => cache.set(`k${n}`, entry(n))));
    const file = await readCacheFile(join(dir, 'cache.json'));
    expect(Object.keys(file.Registries)).toHaveLength(50);
    expect(await readdir(dir)).toEqual(['cache.json']);
  });

  it('reads a torn, foreign or missing file as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cache-'));
    expect((await readCacheFile(join(dir, 'cache.json'))).Registries).toEqual({});
    await writeFile(join(dir, 'cache.json'), '{"Registries":{"k":');
    expect(await fileTokenCache(dir).get('k')).toBeUndefined();
    await writeFile(join(dir, 'cache.json'), JSON.stringify({ Registries: { k: entry(1) }, Version: '2.0' }));
    expect(await fileTokenCache(dir).get('k')).toBeUndefined();
  });

  it('drops malformed entries but keeps good ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cache-'));
    await writeFile(join(dir, 'cache.json'), JSON.stringify({ Registries: { good: entry(1), bad: { AuthorizationToken: 1 } }, Version: '1.0' }));
    expect(Object.keys((await readCacheFile(join(dir, 'cache.json'))).Registries)).toEqual(['good']);
  });
});

describe('token lifetime', () => {
  const e = entry(1); // requested 00:00, expires 12:00
  it('is fresh until half its lifetime has passed', () => {
    expect(isFresh(e, Date.parse('2026-01-01T05:59:59Z'))).toBe(true);
    expect(isFresh(e, Date.parse('2026-01-01T06:00:00Z'))).toBe(false);
  });
  it('is unexpired until ExpiresAt', () => {
    expect(isUnexpired(e, Date.parse('2026-01-01T11:59:59Z'))).toBe(true);
    expect(isUnexpired(e, Date.parse('2026-01-01T12:00:00Z'))).toBe(false);
  });
});
