import { timerMs } from './env.js';

/** Runs `fn` with an AbortSignal that fires after `ms` (clamped to what a timer can wait); rejects with DeadlineError
 * at the deadline even if `fn` ignores the signal, so a caller is never held longer than it asked. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
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
