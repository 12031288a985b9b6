/** Time and timers, injected: the keeper is the only user of timers, and unit tests drive a manual clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

import { timerMs } from '@ecr-proxy/core';

/** setTimeout holds at most 2^31-1 ms (24.8 days); longer waits are clamped (the keeper re-plans on firing). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, timerMs(ms)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
