import { describe, expect, it } from 'vitest';
import { DeadlineError, withDeadline } from './deadline.js';
import { fullJitter } from './backoff.js';

describe(withDeadline.name, () => {
  it('returns what fn returns in time', async () => {
    expect(await withDeadline(1000, 'x', async () => 42)).toBe(42);
  });
  it('rejects at the deadline even when fn ignores the signal, and aborts the signal', async () => {
    let seen: AbortSignal | undefined;
    await expect(withDeadline(20, 'get', (signal) => { seen = signal; return new Promise(() => {}); })).rejects.toBeInstanceOf(DeadlineError);
    expect(seen?.aborted).toBe(true);
  });
});

describe(fullJitter.name, () => {
  it('stays within [0, min(cap, base·2^attempt))', () => {
    expect(fullJitter(0, 100, 5000, () => 0.999)).toBe(99);
    expect(fullJitter(10, 100, 5000, () => 0.5)).toBe(2500);
    expect(fullJitter(3, 100, 5000, () => 0)).toBe(0);
  });
});
