import { createLogger, nullSink } from '@ecr-proxy/core';
import { describe, expect, it } from 'vitest';
import { retryUntilDeadline } from './retry.js';
import { awsError } from './test-fakes.js';

const log = createLogger({ sink: nullSink });

function clock() {
  let t = 0;
  const sleeps: number[] = [];
  return { now: () => t, sleep: async (ms: number) => { sleeps.push(ms); t += ms; }, sleeps };
}

describe(retryUntilDeadline.name, () => {
  it('retries transient errors with jittered backoff until success', async () => {
    const c = clock();
    const errors = [awsError('Throttling', 400), awsError('InternalFailure', 500)];
    let calls = 0;
    const result = await retryUntilDeadline(async () => {
      calls++;
      const e = errors.shift();
      if (e) throw e;
      return 'ok';
    }, { what: 'x', deadlineAt: 60_000, log, now: c.now, sleep: c.sleep, random: () => 0.5 });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(c.sleeps).toEqual([125, 250]);
  });

  it('does not retry a permanent error', async () => {
    const c = clock();
    let calls = 0;
    const err = await retryUntilDeadline(async () => { calls++; throw awsError('AccessDenied', 403); }, { what: 'x', deadlineAt: 60_000, log, now: c.now, sleep: c.sleep })
      .catch((e: unknown) => e as Error);
    expect(calls).toBe(1);
    expect(err).toMatchObject({ name: 'AccessDenied' });
  });

  it('gives up at the deadline, naming the last error', async () => {
    const c = clock();
    const err = await retryUntilDeadline(async () => { throw awsError('ServiceUnavailable', 503); }, { what: 'obtaining', deadlineAt: 10_000, log, now: c.now, sleep: c.sleep })
      .catch((e: unknown) => e as Error);
    expect(err.message).toMatch(/obtaining: gave up at the deadline .* last error: ServiceUnavailable/);
  });
});
