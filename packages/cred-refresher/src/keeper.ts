/**
 * The one refresh mechanism: holds a value that expires, refreshes it when it is due, and on failure retries with
 * full-jitter backoff (bounded, and never so long that the value expires while waiting) until it succeeds. The last
 * good value stays current throughout: a failed refresh never replaces it. All timing goes through the Clock.
 */
import { fullJitter } from '@ecr-proxy/core';
import { classify, type FailureReason } from '@ecr-proxy/sts-init/lib';
import type { Clock } from './clock.js';

export interface KeeperInit<T> {
  name: string;
  /** Obtains and persists a new value; throws (persisting nothing) on failure. */
  refresh: (signal: AbortSignal) => Promise<T>;
  /** Epoch ms when a value should be refreshed. */
  dueAt: (value: T) => number;
  /** Epoch ms after which a value is useless. */
  validUntil: (value: T) => number;
  /** Epoch ms past which a refresh must not be held back by the floor: expiry minus the margin the consumers
   * refuse. Default `validUntil`. */
  latestAt?: (value: T) => number;
  clock: Clock;
  attemptTimeoutMs: number;
  /** After a success the next refresh is never sooner than this (ms): a value that claims to be due at once (a
   * short or hostile expiry) cannot turn the keeper into a tight loop. Default 0. */
  floorMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
  onSuccess?: (value: T) => void;
  onFailure?: (reason: FailureReason, err: unknown, retryInMs: number) => void;
}

export class AttemptTimeoutError extends Error {
  override name = 'TimeoutError';
}

export class Keeper<T> {
  private value: T | undefined;
  private timer: unknown;
  private nextAt: number | undefined;
  private inFlight: { since: number; done: Promise<void>; controller: AbortController } | undefined;
  private failures = 0;
  private stopped = false;
  private started = false;

  constructor(private readonly init: KeeperInit<T>) {}

  get current(): T | undefined {
    return this.value;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Starts with a value loaded from disk (refreshed at its due time) or none (refreshed now). */
  start(initial?: T): void {
    this.started = true;
    const now = this.init.clock.now();
    if (initial !== undefined && this.init.validUntil(initial) > now) {
      this.value = initial;
      this.schedule(this.init.dueAt(initial));
    } else {
      this.schedule(now);
    }
  }

  /** Stops scheduling; an in-flight refresh is aborted, but a write it already started finishes first. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.init.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const flight = this.inFlight;
    if (flight) {
      flight.controller.abort(new Error('stopping'));
      await flight.done;
    }
  }

  /** Alive: a refresh is running and not overdue, or one is scheduled and its timer has not been missed. */
  isAlive(now: number, graceMs = 5000): boolean {
    if (this.stopped || !this.started) return true;
    if (this.inFlight) return now - this.inFlight.since < this.init.attemptTimeoutMs + graceMs;
    return this.nextAt !== undefined && now < this.nextAt + graceMs;
  }

  get nextRefreshAt(): number | undefined {
    return this.nextAt;
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.init.clock.clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = this.init.clock.setTimeout(() => {
      this.timer = undefined;
      // A clamped long timer fires early: plan again rather than refresh early.
      if (this.init.clock.now() < at) this.schedule(at);
      else this.run();
    }, at - this.init.clock.now());
  }

  private run(): void {
    if (this.stopped || this.inFlight) return;
    const controller = new AbortController();
    const since = this.init.clock.now();
    this.nextAt = undefined;
    const done = this.attempt(controller).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = { since, done, controller };
  }

  private async attempt(controller: AbortController): Promise<void> {
    const { clock } = this.init;
    let timeout: unknown;
    const timedOut = new Promise<never>((_, reject) => {
      timeout = clock.setTimeout(() => {
        const err = new AttemptTimeoutError(`${this.init.name}: no answer within ${this.init.attemptTimeoutMs} ms`);
        controller.abort(err);
        reject(err);
      }, this.init.attemptTimeoutMs);
    });
    timedOut.catch(() => {});
    try {
      const value = await Promise.race([this.init.refresh(controller.signal), timedOut]);
      this.value = value;
      this.failures = 0;
      this.init.onSuccess?.(value);
      this.schedule(this.nextAfterSuccess(value));
    } catch (err) {
      if (this.stopped) return;
      this.failures += 1;
      const delay = this.backoff();
      this.init.onFailure?.(classify(err).reason, err, delay);
      this.schedule(clock.now() + delay);
    } finally {
      clock.clearTimeout(timeout);
    }
  }

  /**
   * Epoch ms of the next refresh after a success: its due time, held back by the floor (so a value claiming to be
   * due at once cannot make a tight loop) but never past `latestAt` (expiry − margin), where a floor longer than the
   * session would leave the consumers with expired credentials. A value already past `latestAt` (refused upstream,
   * so only a clock jump) still waits the smaller of the floor and the minimum backoff.
   */
  private nextAfterSuccess(value: T): number {
    const now = this.init.clock.now();
    const floor = this.init.floorMs ?? 0;
    const latest = Math.max(this.init.latestAt?.(value) ?? this.init.validUntil(value), now + Math.min(floor, this.init.minBackoffMs ?? 1000));
    return Math.max(this.init.dueAt(value), Math.min(now + floor, latest));
  }

  /**
   * Full jitter in [min, min(max, min·2^n)], and at most a quarter of the time the current value has left while it
   * still has some: once it has expired there is nothing to save by hurrying, and the exponential backoff is what
   * spares STS when every replica's credentials expire together.
   */
  private backoff(): number {
    const min = this.init.minBackoffMs ?? 1000;
    const max = this.init.maxBackoffMs ?? 60_000;
    const random = this.init.random ?? Math.random;
    let delay = Math.max(min, fullJitter(this.failures - 1, min, max, random));
    if (this.value !== undefined) {
      const left = this.init.validUntil(this.value) - this.init.clock.now();
      if (left > 0) delay = Math.min(delay, Math.max(min, Math.floor(left / 4)));
    }
    return delay;
  }
}

/**
 * When to refresh a value obtained at `obtainedAt` that expires at `expiresAt`: after `fraction` of its lifetime,
 * and never later than `marginMs` before expiry. A lifetime shorter than the margin falls back to the fraction alone.
 */
export function refreshDue(obtainedAt: number, expiresAt: number, fraction: number, marginMs = 0): number {
  const lifetime = expiresAt - obtainedAt;
  const byFraction = obtainedAt + lifetime * fraction;
  const byMargin = expiresAt - marginMs;
  return byMargin > obtainedAt ? Math.min(byFraction, byMargin) : byFraction;
}
