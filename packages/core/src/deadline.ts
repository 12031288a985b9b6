import { timerMs } from './env.js';

/** Runs `fn` with an AbortSignal that fires after `ms` (clamped to what a timer can wait); rejects with DeadlineError
 * at the deadline even if `fn` ignores the signal, so a caller is never held longer than it asked. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/**
 * Arms a last-resort deadline for a whole one-shot role: after `ms`, writes `line` to stderr and exits 1, even when a
 * file operation is stuck in a worker thread (a FIFO or a hung mount in open(2)). Under Bun, the runtime we ship,
 * process.exit does not wait for such a thread (checked with six opens of a FIFO pending); Node's would. Held cache
 * locks are released by their 'exit' listener (lock.ts). Unref'd: it never keeps a finished process alive.
 */
export function armWatchdog(ms: number, line: string): void {
  setTimeout(() => {
    try {
      process.stderr.write(`${line}\n`);
    } catch {
      // nowhere to say it
    }
    process.exit(1);
  }, timerMs(ms)).unref();
}

export async function withDeadline<T>(ms: number, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new DeadlineError(`${what} did not finish within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, timerMs(ms));
    timer.unref();
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
