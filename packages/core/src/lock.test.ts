import { mkdir, mkdtemp, readdir, readFile, writeFile, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
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

  it('takes over a stale lock that is a directory and removes it: nothing is left beside the file', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'lock-')), 'cache.json');
    await mkdir(`${path}.lock`);
    const old = new Date(Date.now() - 3_600_000);
    await utimes(`${path}.lock`, old, old);
    expect(await withFileLock(path, async () => 'got it', { staleMs: 10_000 })).toBe('got it');
    expect(await readdir(dirname(path))).toEqual([]);
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

describe('the lock is released on every exit path (issue 9: a deadline exit left it behind for 10 s)', () => {
  it('process.exit while holding it removes the lock file', async () => {
    const { spawnSync } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'lock-exit-'));
    const target = join(dir, 'cache.json');
    const lockModule = new URL('./lock.ts', import.meta.url).pathname;
    const script = `const { withFileLock } = await import(${JSON.stringify(lockModule)});
await withFileLock(${JSON.stringify(target)}, async () => { process.stdout.write(String(require('node:fs').existsSync(${JSON.stringify(`${target}.lock`)}))); process.exit(3); });`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script.replace("require('node:fs')", "(await import('node:fs'))")], { encoding: 'utf8' });
    expect(out.stdout).toBe('true');
    expect(out.status).toBe(3);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });
});
