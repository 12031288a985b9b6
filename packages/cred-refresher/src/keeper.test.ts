import { describe, expect, it } from 'vitest';
import { Keeper, refreshDue } from './keeper.js';
import { ManualClock } from './test-clock.js';

interface V {
  n: number;
  obtainedAt: number;
  expiresAt: number;
}

function setup(opts: { lifetimeMs?: number; fail?: () => boolean; random?: () => number; floorMs?: number; marginMs?: number; fraction?: number } = {}) {
  const clock = new ManualClock();
  const lifetime = opts.lifetimeMs ?? 10_000;
  let n = 0;
  const calls: number[] = [];
  const failures: string[] = [];
  const keeper = new Keeper<V>({
    name: 'test',
    clock,
    attemptTimeoutMs: 5000,
    random: opts.random ?? (() => 0.5),
    refresh: async () => {
      calls.push(clock.now());
      if (opts.fail?.()) throw Object.assign(new Error('boom'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
      return { n: ++n, obtainedAt: clock.now(), expiresAt: clock.now() + lifetime };
    },
    dueAt: (v) => refreshDue(v.obtainedAt, v.expiresAt, opts.fraction ?? 0.5, opts.marginMs ?? 2000),
    validUntil: (v) => v.expiresAt,
    latestAt: (v) => v.expiresAt - (opts.marginMs ?? 2000),
    ...(opts.floorMs === undefined ? {} : { floorMs: opts.floorMs }),
    onFailure: (reason) => failures.push(reason),
  });
  return { clock, keeper, calls, failures };
}

describe(refreshDue.name, () => {
  it('refreshes at the fraction of the lifetime', () => {
    expect(refreshDue(0, 3_600_000, 0.5, 25 * 60_000)).toBe(1_800_000);
  });
  it('never later than the margin before expiry', () => {
    expect(refreshDue(0, 3_600_000, 0.9, 25 * 60_000)).toBe(3_600_000 - 25 * 60_000);
  });
  it('falls back to the fraction when the lifetime is shorter than the margin', () => {
    expect(refreshDue(0, 10 * 60_000, 0.5, 25 * 60_000)).toBe(5 * 60_000);
  });
});

describe(Keeper.name, () => {
  it('refreshes at once without an initial value, then at each due time', async () => {
    const { clock, keeper, calls } = setup();
    const start = clock.now();
    keeper.start();
    await clock.advance(0);
    expect(keeper.current?.n).toBe(1);
    await clock.advance(30_000);
    // 10 s lifetime, fraction 0.5 -> every 5 s.
    expect(calls.map((t) => t - start)).toEqual([0, 5000, 10_000, 15_000, 20_000, 25_000, 30_000]);
  });

  it('starts from a loaded value and waits for its due time', async () => {
    const { clock, keeper, calls } = setup();
    keeper.start({ n: 0, obtainedAt: clock.now() - 1000, expiresAt: clock.now() + 9000 });
    await clock.advance(3999);
    expect(calls).toHaveLength(0);
    await clock.advance(1);
    expect(calls).toHaveLength(1);
  });

  it('ignores an expired initial value and refreshes now', async () => {
    const { clock, keeper } = setup();
    keeper.start({ n: 0, obtainedAt: clock.now() - 20_000, expiresAt: clock.now() - 1 });
    expect(keeper.current).toBeUndefined();
    await clock.advance(0);
    expect(keeper.current?.n).toBe(1);
  });

  it('keeps the last good value while refreshes fail, retrying with bounded backoff, and recovers', async () => {
    let failing = false;
    const { clock, keeper, calls, failures } = setup({ lifetimeMs: 60_000, fail: () => failing, random: () => 0.99 });
    keeper.start();
    await clock.advance(0);
    const good = keeper.current!;
    failing = true;
    await clock.advance(30_000); // due at 30 s: fails
    await clock.advance(20_000);
    expect(keeper.current).toBe(good);
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.every((r) => r === 'server_error')).toBe(true);
    // Retries never wait longer than a quarter of what the value has left (and at least 1 s).
    const gaps = calls.slice(2).map((t, i) => t - calls[i + 1]!);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(Math.max(1000, 30_000 / 4));
    failing = false;
    await clock.advance(10_000);
    expect(keeper.current!.n).toBeGreaterThan(good.n);
    expect(keeper.consecutiveFailures).toBe(0);
  });

  it('times out an attempt that never answers, and retries', async () => {
    const clock = new ManualClock();
    let attempts = 0;
    const reasons: string[] = [];
    const keeper = new Keeper<V>({
      name: 'hang',
      clock,
      attemptTimeoutMs: 5000,
      random: () => 0,
      refresh: (signal) => {
        attempts++;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      dueAt: (v) => v.expiresAt,
      validUntil: (v) => v.expiresAt,
      onFailure: (reason) => reasons.push(reason),
    });
    keeper.start();
    await clock.advance(5000);
    expect(reasons).toEqual(['timeout']);
    await clock.advance(1000);
    expect(attempts).toBe(2);
    expect(keeper.isAlive(clock.now())).toBe(true);
    await keeper.stop();
  });

  it('stop() clears the schedule and waits for the in-flight refresh', async () => {
    const clock = new ManualClock();
    let finishWrite!: () => void;
    let wrote = false;
    const keeper = new Keeper<V>({
      name: 'stop',
      clock,
      attemptTimeoutMs: 5000,
      refresh: async () => {
        await new Promise<void>((resolve) => (finishWrite = resolve));
        wrote = true;
        return { n: 1, obtainedAt: clock.now(), expiresAt: clock.now() + 10_000 };
      },
      dueAt: (v) => v.expiresAt,
      validUntil: (v) => v.expiresAt,
    });
    keeper.start();
    await clock.advance(0);
    const stopped = keeper.stop();
    finishWrite();
    await stopped;
    expect(wrote).toBe(true);
    expect(clock.pending()).toEqual([]);
  });

  it('the floor holds back a value that claims to be due at once, but never past expiry − margin', async () => {
    // 30 s sessions, margin 5 s, floor 1 h (the review's case: --margin 5s with the default floor held the refresh
    // until the credentials had expired).
    const { clock, keeper, calls } = setup({ lifetimeMs: 30_000, marginMs: 5000, floorMs: 3_600_000 });
    const start = clock.now();
    keeper.start();
    await clock.advance(0);
    await clock.advance(60_000);
    // Each refresh at the latest useful moment, 25 s after the previous: never with expired or in-margin values.
    expect(calls.map((t) => t - start)).toEqual([0, 25_000, 50_000]);
    expect(keeper.current!.expiresAt - 5000).toBeGreaterThan(clock.now());
  });

  it('the floor still spaces out a value that is due at once (fraction 0): one call per floor, not a loop', async () => {
    const { clock, keeper, calls } = setup({ lifetimeMs: 600_000, marginMs: 5000, floorMs: 60_000, fraction: 0 });
    const start = clock.now();
    keeper.start();
    await clock.advance(0);
    await clock.advance(180_000);
    expect(calls.map((t) => t - start)).toEqual([0, 60_000, 120_000, 180_000]);
  });

  it('once the last good value has expired, retries back off exponentially again (no 1 s loop)', async () => {
    let failing = false;
    const { clock, keeper, calls } = setup({ lifetimeMs: 8000, marginMs: 1000, fail: () => failing, random: () => 0.99 });
    keeper.start();
    await clock.advance(0);
    failing = true;
    await clock.advance(10 * 60_000);
    const afterExpiry = calls.filter((t) => t > keeper.current!.expiresAt);
    const gaps = afterExpiry.slice(1).map((t, i) => t - afterExpiry[i]!);
    // min 1 s, max 60 s, random 0.99: the gaps grow to the cap instead of staying at 1 s.
    expect(Math.max(...gaps)).toBeGreaterThan(30_000);
    expect(afterExpiry.length).toBeLessThan(30);
  });

  it('reports a missed timer as not alive', async () => {
    const { clock, keeper } = setup();
    keeper.start({ n: 0, obtainedAt: clock.now(), expiresAt: clock.now() + 10_000 });
    expect(keeper.isAlive(clock.now())).toBe(true);
    // Time passes without the timer firing (a stalled loop): 5 s due + 5 s grace.
    expect(keeper.isAlive(clock.now() + 10_001)).toBe(false);
  });
});
