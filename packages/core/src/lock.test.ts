import { mkdtemp, readFile, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockTimeoutError, withFileLock } from './lock.js';

describe(withFileLock.name, () => {
  it('serialises read-modify-write so no increment is lost', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'lock-')), 'counter');
    await writeFile(path, '0');
    await Promise.all(
      Array.from({ length: 30 }, () =>
        withFileLock(path, async () => {
          const n = Number(await readFile(path, 'utf8'));
          await new Promise((r) => setImmediate(r));
          await writeFile(path, String(n + 1));
        }),
      ),
    );
    expect(await readFile(path, 'utf8')).toBe('30');
  });

  it('takes over a lock left by a dead holder', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'lock-')), 'f');
    await writeFile(`${path}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    expect(await withFileLock(path, async () => 'got it', { staleMs: 10_000 })).toBe('got it');
  });

  it('gives up on a live lock after the timeout', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'lock-')), 'f');
    await writeFile(`${path}.lock`, '');
    await expect(withFileLock(path, async () => 'never', { timeoutMs: 30 })).rejects.toBeInstanceOf(LockTimeoutError);
  });
});
