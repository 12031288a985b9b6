/**
 * Atomic file replacement: a reader sees the old file or the new one, never a torn one, even after a crash or a full
 * disk. The temp file lives in the target's directory so the rename never crosses a filesystem.
 */
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ensureDir } from './ensure-dir.js';

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

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o600;
  await ensureDir(dirname(path), opts.dirMode ?? 0o700);
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
 * reads them, but across restarts they would pile up. Only for a file with one writer at a time: another writer's
 * temp file in flight would be removed under it.
 */
export async function removeLeftoverTemps(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.`;
  const dir = dirname(path);
  const leftovers = (await readdir(dir)).filter((name) => name.startsWith(prefix) && /\.\d+\.[0-9a-f]{8}\.tmp$/.test(name));
  for (const name of leftovers) await unlink(join(dir, name)).catch(() => {});
  return leftovers;
}
