import { describe, expect, it } from 'vitest';
import { classify } from './errors.js';
import { fromWebIdentity, sourceFor } from './sources.js';
import { FakeSts, temp } from './test-fakes.js';

const signal = new AbortController().signal;
const ROLE = 'arn:aws:iam::123456789012:role/src';
const TARGET = 'arn:aws:iam::210987654321:role/dst';

describe(fromWebIdentity.name, () => {
  it('reads the token file on every call (the kubelet rotates it)', async () => {
    const sts = new FakeSts();
    let token = 'jwt-1';
    const provider = fromWebIdentity({ roleArn: ROLE, tokenFile: '/t', sessionName: 's', durationSeconds: 900, sts, readFile: async () => `${token}\n` });
    await provider(signal);
    token = 'jwt-2';
    await provider(signal);
    expect(sts.webIdentityCalls.map((c) => c.webIdentityToken)).toEqual(['jwt-1', 'jwt-2']);
    expect(sts.webIdentityCalls[0]).toMatchObject({ roleArn: ROLE, sessionName: 's', durationSeconds: 900 });
  });

  it('a missing or empty token file is a permanent token_file error, with no STS call', async () => {
    const sts = new FakeSts();
    const missing = fromWebIdentity({ roleArn: ROLE, tokenFile: '/nope', sessionName: 's', durationSeconds: 900, sts, readFile: async () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); } });
    const err = await missing(signal).catch((e: unknown) => e);
    expect(classify(err)).toEqual({ reason: 'token_file', permanent: true });
    expect(String((err as Error).message)).toContain('/nope');
    const empty = fromWebIdentity({ roleArn: ROLE, tokenFile: '/e', sessionName: 's', durationSeconds: 900, sts, readFile: async () => ' \n' });
    expect(classify(await empty(signal).catch((e: unknown) => e)).reason).toBe('token_file');
    expect(sts.webIdentityCalls).toHaveLength(0);
  });
});

describe(sourceFor.name, () => {
  it('chains the target role with the web identity credentials of the same call', async () => {
    const sts = new FakeSts([temp('ASIASRC'), temp('ASIADST')]);
    const source = sourceFor({ base: { kind: 'web-identity', roleArn: ROLE, tokenFile: '/t' }, target: { roleArn: TARGET, externalId: 'ext' }, sessionName: 's', durationSeconds: 3600 }, sts, { readFile: async () => 'jwt' });
    const creds = await source(signal);
    expect(creds.accessKeyId).toBe('ASIADST');
    expect(sts.assumeRoleCalls[0]!.source.accessKeyId).toBe('ASIASRC');
    expect(sts.assumeRoleCalls[0]!.input).toEqual({ roleArn: TARGET, externalId: 'ext', sessionName: 's', durationSeconds: 3600 });
  });

  it('uses exactly the named SDK source without web identity; refuses long-term keys unless chained', async () => {
    const sts = new FakeSts([], { accessKeyId: 'AKIA', secretAccessKey: 'x' });
    const plain = sourceFor({ base: { kind: 'static' }, sessionName: 's', durationSeconds: 3600 }, sts);
    expect(classify(await plain(signal).catch((e: unknown) => e))).toEqual({ reason: 'no_credentials', permanent: true });
    expect(sts.sourceCalls).toEqual([{ kind: 'static' }]);
    const chained = sourceFor({ base: { kind: 'static' }, target: { roleArn: TARGET }, sessionName: 's', durationSeconds: 3600 }, sts);
    expect((await chained(signal)).roleArn).toBe(TARGET);
    expect(sts.assumeRoleCalls[0]!.source.accessKeyId).toBe('AKIA');
  });
});
