import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDir, ensureDirSync } from './ensure-dir.js';

describe(ensureDir.name, () => {
  it('creates every missing level with the mode, and accepts an existing directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ed-'));
    await ensureDir(join(root, 'a', 'b', 'c'), 0o700);
    await ensureDir(join(root, 'a', 'b', 'c'), 0o700);
    expect((await stat(join(root, 'a', 'b', 'c'))).mode & 0o777).toBe(0o700);
    ensureDirSync(join(root, 'x', 'y'));
    expect((await stat(join(root, 'x', 'y'))).isDirectory()).toBe(true);
  });

  it('fails instead of looping where the filesystem will not create the directory', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ed-')), 'file');
    await writeFile(file, '');
    await expect(ensureDir(join(file, 'sub'))).rejects.toThrow(/ENOTDIR/);
    await expect(ensureDir('/proc/1/no-such-dir/x')).rejects.toThrow();
    expect(() => ensureDirSync('/proc/1/no-such-dir/x')).toThrow();
  });
});
