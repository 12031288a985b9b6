import { describe, expect, it } from 'vitest';
import { classify } from './errors.js';
import { fromSdkSource, fromWebIdentity, sourceFor } from './sources.js';
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

describe(fromSdkSource.name, () => {
  it('Pod Identity: the token file is read on every call and sent without its trailing newline (a header cannot carry it)', async () => {
    const sts = new FakeSts();
    let token = 'pod-token-1';
    const provider = fromSdkSource({ source: { kind: 'container', tokenFile: '/pi' }, sts, readFile: async () => `${token}\n` });
    await provider(signal);
    token = 'pod-token-2';
    await provider(signal);
    expect(sts.sourceCalls).toEqual([{ kind: 'container', authorizationToken: 'pod-token-1' }, { kind: 'container', authorizationToken: 'pod-token-2' }]);
  });

  it('a token file with a line break inside, or empty, or missing: one permanent token_file error naming the file, no call', async () => {
    const sts = new FakeSts();
    for (const readFile of [async () => 'a\r\nb', async () => '\n', async () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); }]) {
      const err = await fromSdkSource({ source: { kind: 'container', tokenFile: '/pi' }, sts, readFile })(signal).catch((e: unknown) => e);
      expect(classify(err)).toEqual({ reason: 'token_file', permanent: true });
      expect((err as Error).message).toMatch(/^Pod Identity token file \/pi \(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\) /);
    }
    expect(sts.sourceCalls).toHaveLength(0);
  });

  it('no token file (ECS, a relative URI): the SDK source as configured', async () => {
    const sts = new FakeSts();
    await fromSdkSource({ source: { kind: 'container' }, sts })(signal);
    expect(sts.sourceCalls).toEqual([{ kind: 'container' }]);
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

describe('the principal rule (issue 9: the node instance role was used silently)', () => {
  const NODE = 'arn:aws:sts::123456789012:assumed-role/node-instance-role/i-0123456789abcdef0';

  it('asks GetCallerIdentity once per new set when the source names no principal, and records it', async () => {
    const sts = new FakeSts([], temp('ASIACONTAINER'));
    sts.callerArn = 'arn:aws:sts::123456789012:assumed-role/src/eks-pod';
    const source = sourceFor({ base: { kind: 'container' }, sessionName: 's', durationSeconds: 3600, expectedRoleArn: ROLE }, sts);
    const creds = await source(signal);
    expect(creds.principalArn).toBe('arn:aws:sts::123456789012:assumed-role/src/eks-pod');
    expect(sts.callerIdentityCalls.map((c) => c.accessKeyId)).toEqual(['ASIACONTAINER']);
  });

  it('takes the principal from the AssumeRole answer without another call', async () => {
    const sts = new FakeSts();
    const creds = await sourceFor({ base: { kind: 'web-identity', roleArn: ROLE, tokenFile: '/t' }, sessionName: 'pod', durationSeconds: 900, expectedRoleArn: ROLE }, sts, { readFile: async () => 'jwt' })(signal);
    expect(creds.principalArn).toBe('arn:aws:sts::123456789012:assumed-role/src/pod');
    expect(sts.callerIdentityCalls).toHaveLength(0);
  });

  it('a principal other than the expected role is a permanent wrong_principal failure naming both', async () => {
    const sts = new FakeSts([], temp('ASIANODE'));
    sts.callerArn = NODE;
    const source = sourceFor({ base: { kind: 'instance' }, sessionName: 's', durationSeconds: 3600, expectedRoleArn: ROLE }, sts);
    const err = (await source(signal).catch((e: unknown) => e)) as Error;
    expect(classify(err)).toEqual({ reason: 'wrong_principal', permanent: true });
    expect(err.message).toBe(`the credentials act as ${NODE}, not as the expected role ${ROLE}`);
  });

  it('matches a role with a path by partition, account and name (assumed-role ARNs drop the path)', async () => {
    const sts = new FakeSts([], temp('ASIAX'));
    sts.callerArn = 'arn:aws:sts::123456789012:assumed-role/src/x';
    const withPath = 'arn:aws:iam::123456789012:role/team/a/src';
    await expect(sourceFor({ base: { kind: 'container' }, sessionName: 's', durationSeconds: 3600, expectedRoleArn: withPath }, sts)(signal)).resolves.toMatchObject({ accessKeyId: 'ASIAX' });
    const otherAccount = 'arn:aws:iam::999999999999:role/src';
    await expect(sourceFor({ base: { kind: 'container' }, sessionName: 's', durationSeconds: 3600, expectedRoleArn: otherAccount }, sts)(signal)).rejects.toMatchObject({ reason: 'wrong_principal' });
  });
});

describe('the expiry rule (issue 9: expiries were trusted blindly)', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it.each([
    ['already past', now - 1],
    ['within the margin', now + 60_000],
    ['year 9999', Date.parse('9999-12-31T23:59:59Z')],
    ['13 h away (STS issues 12 h at most)', now + 13 * 3_600_000],
  ])('%s is a transient invalid_expiry failure, never a success', async (_, expiresAt) => {
    const sts = new FakeSts([temp('ASIAHOSTILE', expiresAt)]);
    const source = sourceFor({ base: { kind: 'web-identity', roleArn: ROLE, tokenFile: '/t' }, sessionName: 's', durationSeconds: 3600 }, sts, { readFile: async () => 'jwt', marginMs: 5 * 60_000, now: () => now });
    const err = await source(signal).catch((e: unknown) => e);
    expect(classify(err)).toEqual({ reason: 'invalid_expiry', permanent: false });
  });

  it('accepts 12 h and a few minutes of skew', async () => {
    const sts = new FakeSts([temp('ASIAOK', now + 12 * 3_600_000 + 60_000)]);
    const source = sourceFor({ base: { kind: 'web-identity', roleArn: ROLE, tokenFile: '/t' }, sessionName: 's', durationSeconds: 43200 }, sts, { readFile: async () => 'jwt', marginMs: 5 * 60_000, now: () => now });
    await expect(source(signal)).resolves.toMatchObject({ accessKeyId: 'ASIAOK' });
  });
});
