/**
 * Atomic file replacement: a reader sees the old file or the new one, never a torn one, even after a crash or a full
 * disk. The temp file lives in the target's directory so the rename never crosses a filesystem.
 */
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ensureDir } from './ensure-dir.js';
import { refuseNonRegularTarget } from './file-guard.js';

export interface WriteOptions {
  /** File mode; 0o600 unless said otherwise, since most of what we write is a secret. */
  mode?: number;
  /** Directory mode when it has to be created. */
  dirMode?: number;
}

/** The directory mode that goes with a file mode: group-readable files (0640) need a group-searchable directory. */
export function dirModeFor(fileMode: number): number {
  return fileMode & 0o040 ? 0o750 : 0o700;
}

export function tempPathFor(path: string): string {
  // node:crypto loaded on first write, not at start-up: a warm `get`, which writes nothing, never pays for it.
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Replaces `path` with `data` atomically, with exactly `mode`. Throws FileTypeError when `path` exists and is not a
 * regular file: a rename would replace a device node, a FIFO or a symlink someone put there (`/dev/full` as a
 * token file once became a regular file holding the token).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o600;
  await ensureDir(dirname(path), opts.dirMode ?? 0o700);
  await refuseNonRegularTarget(path);
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      // open() applies the umask; chmod makes the mode exactly what was asked (e.g. 0640 under umask 077).
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    // fs errors of a write or fsync name no path ("ENOSPC: no space left on device, write"): say which file.
    // A new error: Bun's system errors have a read-only message.
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && e.path === undefined) {
      throw Object.assign(new Error(`${e.message} (writing ${path})`), { code: e.code, errno: e.errno, syscall: e.syscall, path });
    }
    throw err;
  }
  await syncDir(dirname(path));
}

/** Makes the rename itself durable; some filesystems refuse fsync on a directory, which is harmless. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

/**
 * Removes the temp files that writers killed between write and rename left beside `path` (`kill -9`, OOM). Nobody
 * reads them, but across restarts they would pile up. For a file with several writers (the ECR token cache), pass
 * `olderThanMs`: a writer holds its temp file for milliseconds, so an old one is a leftover, a young one may be in
 * flight. Only regular files are removed. A missing directory has no leftovers.
 */
export async function removeLeftoverTemps(path: string, opts: { olderThanMs?: number; now?: number } = {}): Promise<string[]> {
  const prefix = `.${basename(path)}.`;
  const dir = dirname(path);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const now = opts.now ?? Date.now();
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !/\.\d+\.[0-9a-f]{8}\.tmp$/.test(name)) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (opts.olderThanMs !== undefined && now - info.mtimeMs < opts.olderThanMs) continue;
    await unlink(join(dir, name)).then(() => removed.push(name), () => {});
  }
  return removed;
}
