import { createLogger, nullSink } from '@ecr-proxy/core';
import type { AuthEntry, FetchToken, TokenCache } from '@ecr-proxy/credential-helper';
import { parseEcrRegistry } from '@ecr-proxy/credential-helper';
import { validateCredentials, type StoredCredentials } from '@ecr-proxy/sts-init';
import type { TemporaryCredentials } from '@ecr-proxy/sts-init/lib';
import { describe, expect, it } from 'vitest';
import { Refresher, type RefresherDeps } from './refresher.js';
import { ManualClock } from './test-clock.js';

const REGISTRY = parseEcrRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com')!;

function memoryCache(): TokenCache & { entries: Map<string, AuthEntry> } {
  const entries = new Map<string, AuthEntry>();
  return { entries, get: async (k) => entries.get(k), set: async (k, e) => void entries.set(k, e), list: async () => [...entries.values()] };
}

function setup(opts: { stored?: StoredCredentials; registries?: boolean } = {}) {
  const clock = new ManualClock();
  let n = 0;
  let stsDown = false;
  let writeFails = false;
  const written: StoredCredentials[] = [];
  const cache = memoryCache();
  const obtain = async (): Promise<TemporaryCredentials> => {
    if (stsDown) throw Object.assign(new Error('unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    n++;
    return { accessKeyId: `ASIA${n}`, secretAccessKey: `secret${n}`, sessionToken: `token${n}`, expiration: new Date(clock.now() + 60_000), roleArn: 'arn:aws:iam::123456789012:role/r' };
  };
  let signedWith: string[] = [];
  const ecrFetcher = (creds: () => Promise<TemporaryCredentials>): FetchToken => async () => {
    signedWith.push((await creds()).accessKeyId);
    return { authorizationToken: Buffer.from(`AWS:pw${clock.now()}`).toString('base64'), expiresAt: new Date(clock.now() + 100_000), proxyEndpoint: `https://${REGISTRY.host}` };
  };
  const deps: RefresherDeps = {
    clock,
    log: createLogger({ sink: nullSink }),
    obtain,
    readCredentials: async () => {
      if (!opts.stored) throw new Error('no credentials.json');
      return opts.stored;
    },
    writeCredentials: async (c) => {
      if (writeFails) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      written.push(validateCredentials(c));
    },
    tokenCache: cache,
    ecrFetcher,
    random: () => 0.5,
  };
  const refresher = new Refresher(
    { marginMs: 10_000, refreshFraction: 0.5, ecrRefreshFraction: 0.4, ecrRegistries: opts.registries ? [REGISTRY] : [], cacheIdentity: 'id', timeoutMs: 5000, refreshFloorMs: 1000 },
    deps,
  );
  return {
    clock, refresher, written, cache,
    signedWith: () => signedWith,
    setStsDown: (v: boolean) => (stsDown = v),
    setWriteFails: (v: boolean) => (writeFails = v),
  };
}

describe(Refresher.name, () => {
  it('obtains credentials when none are stored, and is not ready before', async () => {
    const t = setup();
    expect(t.refresher.readiness().ready).toBe(false);
    await t.refresher.start();
    await t.clock.advance(0);
    expect(t.written.map((c) => c.AccessKeyId)).toEqual(['ASIA1']);
    expect(t.refresher.readiness()).toEqual({ ready: true, problems: [] });
  });

  it('keeps the stored credentials through an STS outage, then goes not-ready within the margin', async () => {
    const t = setup();
    await t.refresher.start();
    await t.clock.advance(0);
    t.setStsDown(true);
    await t.clock.advance(45_000); // due at 30 s; failing since
    expect(t.refresher.sts.current?.AccessKeyId).toBe('ASIA1');
    expect(t.written).toHaveLength(1);
    expect(t.refresher.readiness().ready).toBe(true);
    expect(t.refresher.metrics.count('sts', 'failure', 'server_error')).toBeGreaterThan(0);
    await t.clock.advance(6_000); // 51 s: within the 10 s margin of the 60 s expiry
    expect(t.refresher.readiness().problems).toEqual(['AWS credentials are within the margin of expiry']);
    t.setStsDown(false);
    await t.clock.advance(5_000);
    expect(t.refresher.sts.current?.AccessKeyId).toBe('ASIA2');
    expect(t.refresher.readiness().ready).toBe(true);
  });

  it('a failed write is a failed refresh: the old credentials stay current and the failure is counted as write', async () => {
    const t = setup();
    await t.refresher.start();
    await t.clock.advance(0);
    t.setWriteFails(true);
    await t.clock.advance(32_000);
    expect(t.refresher.sts.current?.AccessKeyId).toBe('ASIA1');
    expect(t.refresher.metrics.count('sts', 'failure', 'write')).toBeGreaterThan(0);
    t.setWriteFails(false);
    await t.clock.advance(5_000);
    expect(t.written.at(-1)?.AccessKeyId).not.toBe('ASIA1');
    expect(t.refresher.sts.current?.AccessKeyId).toBe(t.written.at(-1)?.AccessKeyId);
  });

  it('loads stored credentials and refreshes them only when due', async () => {
    const clock = new ManualClock();
    const stored: StoredCredentials = {
      Version: 1, AccessKeyId: 'ASIAOLD', SecretAccessKey: 's', SessionToken: 't',
      RefreshedAt: new Date(clock.now() - 10_000).toISOString(), Expiration: new Date(clock.now() + 50_000).toISOString(),
    };
    const t = setup({ stored });
    await t.refresher.start();
    await t.clock.advance(19_000);
    expect(t.written).toHaveLength(0);
    expect(t.refresher.sts.current?.AccessKeyId).toBe('ASIAOLD');
    await t.clock.advance(1_000);
    expect(t.written.map((c) => c.AccessKeyId)).toEqual(['ASIA1']);
  });

  it('keeps ECR tokens warm with the current credentials, at the ECR fraction', async () => {
    const t = setup({ registries: true });
    await t.refresher.start();
    await t.clock.advance(0);
    expect(t.cache.entries.size).toBe(1);
    expect(t.refresher.readiness().ready).toBe(true);
    await t.clock.advance(40_000); // token lifetime 100 s, fraction 0.4
    expect(t.refresher.metrics.count('ecr', 'success')).toBe(2);
    expect(t.signedWith()).toEqual(['ASIA1', 'ASIA2']);
    const text = t.refresher.metricsText();
    expect(text).toContain(`cred_refresher_ecr_token_expiry_seconds{registry="${REGISTRY.host}"} 100`);
    expect(text).toContain('cred_refresher_refresh_total{kind="ecr",result="success",reason="none"} 2');
  });

  it('is not ready while a configured registry has no token', async () => {
    const t = setup({ registries: true });
    t.setStsDown(true);
    await t.refresher.start();
    await t.clock.advance(0);
    expect(t.refresher.readiness().problems).toEqual(['no AWS credentials', `no ECR token for ${REGISTRY.host}`]);
    expect(t.refresher.isAlive()).toBe(true);
  });
});
