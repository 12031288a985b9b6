/**
 * The refresher against hostile or broken answers (issue 9, "Expiries are trusted blindly"): STS or the container
 * endpoint answering an expiry already past, within the margin, or in year 9999; ECR answering a 2015 expiry as
 * moto does. The real rule chain (sourceFor with a fake STS) and the real Keeper on a manual clock: the last good
 * value stays, each failure is counted as invalid_expiry, and the calls per simulated minute stay bounded.
 */
import { createLogger, nullSink } from '@ecr-proxy/core';
import { parseEcrRegistry, type AuthEntry, type FetchToken, type TokenCache } from '@ecr-proxy/credential-helper';
import { validateCredentials, type StoredCredentials } from '@ecr-proxy/sts-init';
import { sourceFor, type TemporaryCredentials } from '@ecr-proxy/sts-init/lib';
import { FakeSts, temp } from '../../sts-init/src/test-fakes.js';
import { describe, expect, it } from 'vitest';
import { Refresher } from './refresher.js';
import { ManualClock } from './test-clock.js';

const REGISTRY = parseEcrRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com')!;
const ROLE = 'arn:aws:iam::123456789012:role/registry';
const MINUTE = 60_000;
const H = 3_600_000;

type Answer = (now: number) => TemporaryCredentials;
const good: Answer = (now) => temp(`ASIAGOOD${now}`, now + H);
const HOSTILE: Record<string, Answer> = {
  expired: (now) => temp('ASIAEXPIRED', now - 1000),
  'within the margin': (now) => temp('ASIASOON', now + 60_000),
  'year 9999': () => temp('ASIA9999', Date.parse('9999-12-31T23:59:59Z')),
  'not a date': () => ({ ...temp('ASIANAN'), expiration: new Date(Number.NaN) }),
};

function memoryCache(): TokenCache & { entries: Map<string, AuthEntry> } {
  const entries = new Map<string, AuthEntry>();
  return { entries, get: async (k) => entries.get(k), set: async (k, e) => void entries.set(k, e), list: async () => [...entries.values()] };
}

function setup(opts: { ecrExpiry?: (now: number) => Date } = {}) {
  const clock = new ManualClock();
  let answer: Answer = good;
  const sts = new FakeSts();
  let stsCalls = 0;
  // Every AssumeRoleWithWebIdentity answers what the test says, through the real rule chain.
  sts.assumeRoleWithWebIdentity = async (input) => {
    stsCalls++;
    return { ...answer(clock.now()), roleArn: input.roleArn, principalArn: `arn:aws:sts::123456789012:assumed-role/registry/${input.sessionName}` };
  };
  const obtain = sourceFor(
    { base: { kind: 'web-identity', roleArn: ROLE, tokenFile: '/t' }, sessionName: 's', durationSeconds: 3600, expectedRoleArn: ROLE },
    sts,
    { marginMs: 5 * MINUTE, now: () => clock.now(), readFile: async () => 'jwt' },
  );
  let ecrCalls = 0;
  const ecrFetcher = (): FetchToken => async () => {
    ecrCalls++;
    const n = clock.now();
    return { authorizationToken: Buffer.from(`AWS:pw${n}`).toString('base64'), expiresAt: opts.ecrExpiry?.(n) ?? new Date(n + 12 * H), proxyEndpoint: `https://${REGISTRY.host}` };
  };
  const written: StoredCredentials[] = [];
  const cache = memoryCache();
  const refresher = new Refresher(
    { marginMs: 5 * MINUTE, refreshFraction: 0.5, ecrRefreshFraction: 0.5, ecrRegistries: [REGISTRY], cacheIdentity: 'id', timeoutMs: 5000, refreshFloorMs: MINUTE },
    {
      clock, log: createLogger({ sink: nullSink }), obtain,
      readCredentials: async () => { throw new Error('none'); },
      writeCredentials: async (c) => void written.push(validateCredentials(c)),
      tokenCache: cache, ecrFetcher, random: () => 0.5,
    },
  );
  return {
    clock, refresher, written, cache,
    setAnswer: (a: Answer) => (answer = a),
    stsCalls: () => stsCalls,
    ecrCalls: () => ecrCalls,
  };
}

/** The most calls in any one simulated minute over `minutes`. */
async function worstMinute(t: ReturnType<typeof setup>, calls: () => number, minutes: number): Promise<number> {
  let worst = 0;
  for (let m = 0; m < minutes; m++) {
    const before = calls();
    await t.clock.advance(MINUTE);
    worst = Math.max(worst, calls() - before);
  }
  return worst;
}

describe('a running refresher facing hostile STS expiries', () => {
  it.each(Object.keys(HOSTILE))('%s: keeps the good credentials, counts invalid_expiry, calls STS a bounded number of times', async (kind) => {
    const t = setup();
    await t.refresher.start();
    await t.clock.advance(0);
    const goodKey = t.refresher.sts.current!.AccessKeyId;
    expect(t.refresher.sts.current!.Principal).toBe('arn:aws:sts::123456789012:assumed-role/registry/s');
    t.setAnswer(HOSTILE[kind]!);
    const calls = t.stsCalls();
    const worst = await worstMinute(t, () => t.stsCalls(), 40); // the good credentials last 60 min, due at 30
    expect(t.refresher.sts.current!.AccessKeyId).toBe(goodKey);
    expect(t.written.map((c) => c.AccessKeyId)).toEqual([goodKey]);
    expect(t.refresher.metrics.count('sts', 'failure', 'invalid_expiry')).toBe(t.stsCalls() - calls);
    expect(t.refresher.metrics.count('sts', 'success')).toBe(1);
    expect(t.stsCalls() - calls).toBeGreaterThan(0);
    // Backoff: 1 s doubling to 60 s, never a tight loop (main made ~1000 calls a minute here).
    expect(worst).toBeLessThanOrEqual(15);
    expect(t.refresher.readiness().ready).toBe(true);
    t.setAnswer(good);
    await t.clock.advance(2 * MINUTE);
    expect(t.refresher.sts.current!.AccessKeyId).not.toBe(goodKey);
  });

  it('after a success the next refresh waits at least the floor, even when the answer says it is due at once', async () => {
    const t = setup();
    // Valid for 6 min with a 5 min margin: due immediately by the margin rule.
    t.setAnswer((now) => temp(`ASIA${now}`, now + 6 * MINUTE));
    await t.refresher.start();
    await t.clock.advance(0);
    const worst = await worstMinute(t, () => t.stsCalls(), 10);
    expect(worst).toBeLessThanOrEqual(1);
    expect(t.refresher.metrics.count('sts', 'failure')).toBe(0);
  });
});

describe('a running refresher facing ECR expiries from 2015 (moto)', () => {
  it('keeps the cached good token, counts invalid_expiry, calls ECR a bounded number of times', async () => {
    let hostile = false;
    const t = setup({ ecrExpiry: (now) => (hostile ? new Date('2015-01-01T00:00:00Z') : new Date(now + 12 * H)) });
    await t.refresher.start();
    await t.clock.advance(0);
    const cached = [...t.cache.entries.values()][0]!;
    hostile = true;
    await t.clock.advance(6 * H); // due at half of 12 h
    const calls = t.ecrCalls();
    const worst = await worstMinute(t, () => t.ecrCalls(), 30);
    expect([...t.cache.entries.values()]).toEqual([cached]);
    expect(t.refresher.metrics.count('ecr', 'failure', 'invalid_expiry')).toBeGreaterThan(0);
    expect(t.ecrCalls() - calls).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(15);
    expect(t.refresher.readiness().problems.filter((p) => p.includes('ECR'))).toEqual([]);
  });

  it('never becomes ready on a 2015 token, and says why', async () => {
    const t = setup({ ecrExpiry: () => new Date('2015-01-01T00:00:00Z') });
    await t.refresher.start();
    await t.clock.advance(MINUTE);
    expect(t.cache.entries.size).toBe(0);
    expect(t.refresher.readiness().problems).toEqual([`no ECR token for ${REGISTRY.host}`]);
    expect(t.refresher.metrics.count('ecr', 'failure', 'invalid_expiry')).toBeGreaterThan(0);
  });
});

describe('stored values that are not sane are not held', () => {
  it('a credentials.json expiring in year 9999 is replaced at start, not kept for ever', async () => {
    const t = setup();
    const stored: StoredCredentials = {
      Version: 1, AccessKeyId: 'ASIA9999', SecretAccessKey: 's', SessionToken: 't',
      RefreshedAt: new Date(t.clock.now()).toISOString(), Expiration: '9999-12-31T23:59:59.000Z',
    };
    const refresher = t.refresher as unknown as { deps: { readCredentials: () => Promise<StoredCredentials> } };
    refresher.deps.readCredentials = async () => stored;
    await t.refresher.start();
    await t.clock.advance(0);
    expect(t.refresher.sts.current!.AccessKeyId).not.toBe('ASIA9999');
    expect(t.written).toHaveLength(1);
  });
});
