import { timerMs } from './env.js';

/** Runs `fn` with an AbortSignal that fires after `ms` (clamped to what a timer can wait); rejects with DeadlineError
 * at the deadline even if `fn` ignores the signal, so a caller is never held longer than it asked. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

let fired = false;

/** True once any withDeadline in this process has expired: something may still be stuck (see hardExit). */
export function deadlineFired(): boolean {
  return fired;
}

/**
 * Ends the process now with `code`-like failure even when a thread-pool call is stuck (a FIFO or a hung mount in
 * open(2)): process.exit would wait for that thread for ever. Runs the 'exit' listeners first (held cache locks
 * are released there), then SIGKILLs itself, so the exit status is 137 rather than `code` for a non-zero code.
 */
export function hardExit(code: number): never {
  try {
    process.emit('exit', code);
  } catch {
    // exiting regardless
  }
  if (code === 0) process.exit(0);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

/**
 * Arms a last-resort deadline for a whole one-shot role: after `ms`, writes `line` to stderr and hardExits(1).
 * Unref'd: it never keeps a finished process alive.
 */
export function armWatchdog(ms: number, line: string): void {
  setTimeout(() => {
    fired = true;
    try {
      process.stderr.write(`${line}\n`);
    } catch {
      // nowhere to say it
    }
    hardExit(1);
  }, timerMs(ms)).unref();
}

export async function withDeadline<T>(ms: number, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      fired = true;
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
