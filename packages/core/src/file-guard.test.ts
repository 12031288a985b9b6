import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write.js';
import { ensureDir } from './ensure-dir.js';
import { FileTypeError, readRegularFile } from './file-guard.js';
import { fileSinkOrStderr } from './log.js';

const work = () => mkdtemp(join(tmpdir(), 'guard-'));
const fifo = (path: string) => execFileSync('mkfifo', [path]);

describe(readRegularFile.name, () => {
  it('reads a regular file, also through a symlink (the kubelet projects tokens as ..data symlinks)', async () => {
    const dir = await work();
    await writeFile(join(dir, 'real'), 'jwt');
    await symlink(join(dir, 'real'), join(dir, 'link'));
    expect(await readRegularFile(join(dir, 'link'))).toBe('jwt');
  });

  it('refuses a FIFO at once instead of blocking in open(2) (issue 9: a FIFO kept every role past its deadline)', async () => {
    const dir = await work();
    fifo(join(dir, 'token'));
    await expect(readRegularFile(join(dir, 'token'), 'web identity token file')).rejects.toThrow(`web identity token file ${join(dir, 'token')} is a FIFO, not a regular file; remove it or point the setting at another path`);
  });

  it('refuses directories and devices, naming the kind', async () => {
    const dir = await work();
    await expect(readRegularFile(dir)).rejects.toThrow(/is a directory/);
    await expect(readRegularFile('/dev/zero')).rejects.toThrow(/is a character device/);
    await expect(readRegularFile('/dev/zero')).rejects.toBeInstanceOf(FileTypeError);
  });
});

describe('writes refuse what they should not replace (issue 9: /dev/full became a regular file holding the token)', () => {
  it('refuses to rename over a device, a FIFO, a directory or a symlink, and leaves it as it was', async () => {
    const dir = await work();
    fifo(join(dir, 'fifo'));
    await mkdir(join(dir, 'dir'));
    await symlink('/dev/null', join(dir, 'link'));
    for (const name of ['fifo', 'dir', 'link']) {
      const before = await stat(join(dir, name), { bigint: false }).catch(() => undefined);
      await expect(writeFileAtomic(join(dir, name), 'secret')).rejects.toBeInstanceOf(FileTypeError);
      const after = await stat(join(dir, name)).catch(() => undefined);
      expect(after?.mode).toBe(before?.mode);
    }
  });

  it('still replaces a regular file', async () => {
    const dir = await work();
    await writeFile(join(dir, 'f'), 'old');
    await writeFileAtomic(join(dir, 'f'), 'new');
    expect(await readFile(join(dir, 'f'), 'utf8')).toBe('new');
  });
});

describe('directories get the intended mode whatever the umask (issue 9: 0640 files under umask 077 sat in 0700 dirs)', () => {
  it('creates every missing level with exactly the mode asked', async () => {
    const dir = await work();
    const old = process.umask(0o077);
    try {
      await ensureDir(join(dir, 'a', 'b'), 0o750);
      await writeFileAtomic(join(dir, 'c', 'f'), 'x', { mode: 0o640, dirMode: 0o750 });
    } finally {
      process.umask(old);
    }
    expect((await stat(join(dir, 'a'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'a', 'b'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'c'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'c', 'f'))).mode & 0o777).toBe(0o640);
  });
});

describe(fileSinkOrStderr.name, () => {
  it('falls back to stderr for a FIFO log file instead of blocking on open', async () => {
    const dir = await work();
    fifo(join(dir, 'log'));
    const sink = fileSinkOrStderr(join(dir, 'log'));
    expect(sink.name).toBe('stderrSink');
  });
});
