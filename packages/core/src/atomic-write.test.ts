import { mkdtemp, readdir, readFile, stat, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeLeftoverTemps, tempPathFor, writeFileAtomic } from './atomic-write.js';

describe(writeFileAtomic.name, () => {
  it('replaces the file whole, with mode 0600 by default, and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aw-'));
    const path = join(dir, 'f');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('applies the mode asked for, whatever the umask', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'aw-')), 'f');
    await writeFileAtomic(path, 'x', { mode: 0o640 });
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it('keeps the old file and removes the temp file when the write fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aw-'));
    const path = join(dir, 'f');
    await writeFile(path, 'old');
    // A directory where the file should be makes the final rename fail after the temp file was written.
    const blocked = join(dir, 'blocked');
    await mkdir(blocked);
    await writeFile(join(blocked, 'inside'), '');
    await expect(writeFileAtomic(blocked, 'new')).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(dir)).sort()).toEqual(['blocked', 'f']);
  });

  it('fails cleanly in a directory it cannot write', async () => {
    if (process.getuid?.() === 0) {
      // root ignores directory modes; a path under a file is unwritable for everyone.
      const file = join(await mkdtemp(join(tmpdir(), 'aw-')), 'file');
      await writeFile(file, '');
      await expect(writeFileAtomic(join(file, 'f'), 'x')).rejects.toThrow(/ENOTDIR|EEXIST/);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'aw-'));
    await chmod(dir, 0o500);
    await expect(writeFileAtomic(join(dir, 'f'), 'x')).rejects.toThrow(/EACCES/);
  });
});

describe(removeLeftoverTemps.name, () => {
  it('removes the temp files of the given file only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aw-'));
    const path = join(dir, 'credentials.json');
    await writeFile(path, '{}');
    const leftover = tempPathFor(path);
    await writeFile(leftover, '{"half":');
    await writeFile(tempPathFor(join(dir, 'other.json')), '');
    expect(await removeLeftoverTemps(path)).toHaveLength(1);
    const left = await readdir(dir);
    expect(left).toContain('credentials.json');
    expect(left.filter((n) => n.startsWith('.credentials.json.'))).toEqual([]);
    expect(left.filter((n) => n.startsWith('.other.json.'))).toHaveLength(1);
  });
});
