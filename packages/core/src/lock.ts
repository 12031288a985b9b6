/**
 * A cross-process lock on a file path, for read-modify-write of a shared file (the ECR token cache is written by the
 * helper, by every concurrent `get` and by the refresher). The lock is a sibling file created with O_EXCL; a holder
 * that died leaves it behind, so a lock older than `staleMs` is taken over.
 */
import { unlinkSync } from 'node:fs';
import { lstat, open, rename, rm, unlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fullJitter } from './backoff.js';

export interface LockOptions {
  /** Give up after this long; the caller decides whether to go on without the lock. */
  timeoutMs?: number;
  /** A lock file older than this belongs to a dead holder. Holders keep it for milliseconds. */
  staleMs?: number;
  signal?: AbortSignal;
}

export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError';
}

/** Locks this process holds: released on every exit path, process.exit at a deadline included. */
const held = new Set<string>();
let exitHookInstalled = false;

function releaseOnExit(lockPath: string): void {
  held.add(lockPath);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const path of held) {
      try {
        unlinkSync(path);
      } catch {
        // gone already
      }
    }
  });
}

export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const staleMs = opts.staleMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw new LockTimeoutError(`gave up waiting for the lock of ${path}`);
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      releaseOnExit(lockPath);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await takeOverIfStale(lockPath, staleMs);
    if (Date.now() >= deadline) throw new LockTimeoutError(`could not lock ${path} within ${timeoutMs} ms`);
    await delay(fullJitter(attempt, 2, 50), undefined, opts.signal ? { signal: opts.signal } : {});
  }
  try {
    return await fn();
  } finally {
    held.delete(lockPath);
    await unlink(lockPath).catch(() => {});
  }
}

async function takeOverIfStale(lockPath: string, staleMs: number): Promise<void> {
  try {
    const info = await lstat(lockPath);
    if (Date.now() - info.mtimeMs < staleMs) return;
    // Renaming first means only one waiter removes the stale lock, not a fresh one taken in between. Whatever it is
    // (a file, or a directory or symlink someone left there), it goes: unlink alone left a directory behind for good.
    const aside = `${lockPath}.stale.${process.pid}`;
    await rename(lockPath, aside);
    await rm(aside, { recursive: true, force: true });
  } catch {
    // gone already, or another waiter took it over
  }
}
