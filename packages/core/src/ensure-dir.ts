/**
 * `mkdir -p` without Node's recursive mkdir, which loops forever on filesystems that answer ENOENT for a directory
 * whose parent exists (procfs, some FUSE and overlay mounts): a helper on a strange read-only root must fail, not hang.
 * Creates the missing levels top-down, each once, and reports the first error. A level it creates gets exactly
 * `mode` whatever the umask (mkdir(2) applies it, so 0750 under umask 077 would become 0700 and lock the group out);
 * directories that already exist are left as they are.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

function missingLevels(path: string): string[] {
  const levels: string[] = [];
  for (let p = path; dirname(p) !== p; p = dirname(p)) levels.unshift(p);
  return levels;
}

function tolerateExisting(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
}

async function makeLevel(level: string, mode: number): Promise<void> {
  await mkdir(level, { mode });
  await chmod(level, mode);
}

export async function ensureDir(path: string, mode = 0o700): Promise<void> {
  try {
    await makeLevel(path, mode);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const level of missingLevels(path)) await makeLevel(level, mode).catch(tolerateExisting);
}

export function ensureDirSync(path: string, mode = 0o700): void {
  for (const level of missingLevels(path)) {
    try {
      mkdirSync(level, { mode });
      chmodSync(level, mode);
    } catch (err) {
      tolerateExisting(err);
    }
  }
}
