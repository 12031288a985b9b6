/**
 * sts-init's retry loop: one attempt after another until success, a permanent error, or the deadline. Transient
 * errors (throttling, 5xx, network, timeouts) wait a full-jitter backoff; each attempt gets only the time left.
 */
import { fullJitter, withDeadline, type Logger } from '@ecr-proxy/core';
import { classify, describe, SourceError } from './errors.js';

export interface RetryOptions {
  what: string;
  deadlineAt: number;
  log: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  baseMs?: number;
  capMs?: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function retryUntilDeadline<T>(attempt: (signal: AbortSignal) => Promise<T>, opts: RetryOptions): Promise<T> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? realSleep;
  let last: unknown;
  for (let n = 0; ; n++) {
    const left = opts.deadlineAt - now();
    if (left <= 0) {
      const because = last === undefined ? '' : `; last error: ${describe(last)}`;
      throw new SourceError(`${opts.what}: gave up at the deadline (--timeout / STS_TIMEOUT)${because}`, last ? classify(last).reason : 'timeout', true);
    }
    try {
      return await withDeadline(left, opts.what, attempt);
    } catch (err) {
      last = err;
      const { reason, permanent } = classify(err);
      if (permanent) throw err;
      const delay = Math.max(50, fullJitter(n, opts.baseMs ?? 250, opts.capMs ?? 5000, opts.random));
      opts.log.warn(`${opts.what} failed; retrying`, { reason, attempt: n + 1, retryInMs: delay, err });
      await sleep(Math.min(delay, Math.max(0, opts.deadlineAt - now())));
    }
  }
}
