/** A full disk mid-write: the old credentials.json must stay whole, and no temp file may be left behind. */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

let failNextWrite = false;
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      if (!failNextWrite || args[1] !== 'wx') return handle;
      failNextWrite = false;
      return new Proxy(handle, {
        get(target, prop) {
          if (prop === 'writeFile') {
            return async (data: string) => {
              await target.writeFile(data.slice(0, 10)); // a torn half...
              throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }); // ...then a full disk
            };
          }
          const value = Reflect.get(target, prop) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
});

const { readCredentials, writeCredentials } = await import('./credentials-file.js');

const creds = (id: string) => ({
  Version: 1 as const, AccessKeyId: id, SecretAccessKey: 's', SessionToken: 't',
  Expiration: '2030-01-01T01:00:00.000Z', RefreshedAt: '2030-01-01T00:00:00.000Z',
});

describe(writeCredentials.name, () => {
  it('leaves the previous file intact when the disk fills mid-write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creds-'));
    await writeCredentials(dir, creds('ASIAOLD'));
    failNextWrite = true;
    await expect(writeCredentials(dir, creds('ASIANEW'))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect((await readCredentials(dir)).AccessKeyId).toBe('ASIAOLD');
    expect(await readdir(dir)).toEqual(['credentials.json']);
  });

  it('refuses to write incomplete credentials over good ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creds-'));
    await writeCredentials(dir, creds('ASIAOLD'));
    await expect(writeCredentials(dir, { ...creds('ASIANEW'), SessionToken: '' })).rejects.toThrow(/no SessionToken/);
    expect(JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8')).AccessKeyId).toBe('ASIAOLD');
  });
});
