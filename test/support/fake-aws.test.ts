// Proves the fake speaks the wire protocols of the real AWS SDK v3 clients: every call here goes through the SDK,
// pointed at the fake by AWS_ENDPOINT_URL_STS / _ECR / _ECR_PUBLIC, as the code under test will be.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BatchGetImageCommand, ECRClient, GetAuthorizationTokenCommand, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicAuthorizationTokenCommand } from '@aws-sdk/client-ecr-public';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  getDefaultRoleAssumerWithWebIdentity,
  STSClient,
  type Credentials,
} from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createStsApi } from '../../packages/sts-init/src/sts-api.js';
import { startFakeAws, type FakeAws, type FakeAwsOptions } from './fake-aws.js';

const ACCOUNT = '111122223333';
const SOURCE_ROLE = `arn:aws:iam::${ACCOUNT}:role/ecr-proxy`;
const TARGET_ROLE = 'arn:aws:iam::444455556666:role/ecr-reader';
const SUB = 'system:serviceaccount:registry:ecr-proxy';

type Identity = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

let fake: FakeAws;
let clock: number;
let dir: string;

async function start(opts: FakeAwsOptions = {}): Promise<void> {
  await fake?.stop();
  fake = await startFakeAws({ now: () => clock, roles: [SOURCE_ROLE, TARGET_ROLE], ...opts });
  for (const [name, value] of Object.entries(fake.endpointEnv())) vi.stubEnv(name, value);
}

beforeEach(async () => {
  clock = Date.now();
  dir = await mkdtemp(join(tmpdir(), 'fake-aws-'));
  // Keep the developer's ~/.aws out: a profile's endpoint_url or region would change what is being tested.
  vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'no-config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'no-credentials'));
  await start();
});

afterEach(async () => {
  await fake.stop();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

// maxAttempts 1 unless a test is about retries: a fault must surface as the error the SDK would raise.
const sts = (credentials?: Identity, extra: object = {}) => new STSClient({ region: 'us-east-1', credentials, maxAttempts: 1, ...extra });
const ecr = (credentials: Identity, region = 'us-east-1', extra: object = {}) => new ECRClient({ region, credentials, maxAttempts: 1, ...extra });
const ecrPublic = (credentials: Identity, extra: object = {}) =>
  new ECRPUBLICClient({ region: 'us-east-1', credentials, maxAttempts: 1, ...extra });

function identity(credentials: Credentials | undefined): Identity {
  return { accessKeyId: credentials!.AccessKeyId!, secretAccessKey: credentials!.SecretAccessKey!, sessionToken: credentials!.SessionToken! };
}

async function webIdentity(client = sts()): Promise<Identity> {
  const tokenFile = join(dir, 'token');
  await fake.writeTokenFile(tokenFile, { sub: SUB });
  const out = await client.send(
    new AssumeRoleWithWebIdentityCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: 's1', WebIdentityToken: await readFile(tokenFile, 'utf8') }),
  );
  return identity(out.Credentials);
}

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected the call to fail');
}

const decodePassword = (token: string | undefined) => {
  const decoded = Buffer.from(token!, 'base64').toString('utf8');
  expect(decoded.startsWith('AWS:')).toBe(true);
  return decoded.slice(4);
};


describe('the clock', () => {
  it('the Date header of every answer is the fake\'s clock, advanceClock included (what a host measures its skew by)', async () => {
    fake.advanceClock(-7200);
    const res = await fetch(fake.url, { method: 'POST', body: '' });
    await res.arrayBuffer();
    // Date has whole seconds: the injected clock, moved two hours back, truncated.
    expect(Date.parse(res.headers.get('date')!)).toBe(Math.floor((clock - 7_200_000) / 1000) * 1000);
  });
});
describe('the chain the proxy runs: web identity → AssumeRole → ECR tokens', () => {
  it('answers the real SDK clients in the shapes AWS uses', async () => {
    const source = await webIdentity();
    expect(source.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);

    const assumed = await sts(source).send(
      new AssumeRoleCommand({ RoleArn: TARGET_ROLE, RoleSessionName: 'cross', DurationSeconds: 900 }),
    );
    expect(assumed.AssumedRoleUser?.Arn).toBe('arn:aws:sts::444455556666:assumed-role/ecr-reader/cross');
    expect(assumed.Credentials?.Expiration).toBeInstanceOf(Date);
    expect(assumed.Credentials!.Expiration!.getTime()).toBe(Math.floor((clock + 900_000) / 1000) * 1000);
    const target = identity(assumed.Credentials);

    const who = await sts(target).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: '444455556666', Arn: 'arn:aws:sts::444455556666:assumed-role/ecr-reader/cross' });

    const east = await ecr(target, 'us-east-1').send(new GetAuthorizationTokenCommand({ registryIds: ['444455556666'] }));
    const west = await ecr(target, 'eu-west-1').send(new GetAuthorizationTokenCommand({}));
    expect(east.authorizationData?.[0]?.proxyEndpoint).toBe('https://444455556666.dkr.ecr.us-east-1.amazonaws.com');
    expect(west.authorizationData?.[0]?.proxyEndpoint).toBe('https://444455556666.dkr.ecr.eu-west-1.amazonaws.com');
    expect(east.authorizationData?.[0]?.expiresAt?.getTime()).toBe(clock + 43_200_000);

    const pub = await ecrPublic(target).send(new GetPublicAuthorizationTokenCommand({}));
    const passwords = [east, west].map((out) => decodePassword(out.authorizationData?.[0]?.authorizationToken));
    passwords.push(decodePassword(pub.authorizationData?.authorizationToken));
    expect(fake.validEcrPasswords()).toEqual(passwords);
    expect(fake.calls('ecr:GetAuthorizationToken').map((c) => c.region)).toEqual(['us-east-1', 'eu-west-1']);
    expect(fake.counts()).toEqual({
      'sts:AssumeRoleWithWebIdentity': 1,
      'sts:AssumeRole': 1,
      'sts:GetCallerIdentity': 1,
      'ecr:GetAuthorizationToken': 2,
      'ecr-public:GetAuthorizationToken': 1,
    });
  });

  it.each([
    ['cn-north-1', 'amazonaws.com.cn'],
    ['eusc-de-east-1', 'amazonaws.eu'],
    ['us-isob-east-1', 'sc2s.sgov.gov'],
  ])('answers with a proxy endpoint under the partition of %s (*.%s)', async (region, suffix) => {
    const out = await ecr(fake.issueCredentials({ roleArn: SOURCE_ROLE }), region).send(new GetAuthorizationTokenCommand({ registryIds: ['111111111111'] }));
    expect(out.authorizationData?.[0]?.proxyEndpoint).toBe(`https://111111111111.dkr.ecr.${region}.${suffix}`);
  });

  it('returns one authorization entry per asked registry', async () => {
    const creds = fake.issueCredentials({ roleArn: SOURCE_ROLE });
    const out = await ecr(creds).send(new GetAuthorizationTokenCommand({ registryIds: ['111111111111', '222222222222'] }));
    expect(out.authorizationData?.map((d) => d.proxyEndpoint)).toEqual([
      'https://111111111111.dkr.ecr.us-east-1.amazonaws.com',
      'https://222222222222.dkr.ecr.us-east-1.amazonaws.com',
    ]);
    const bad = await failure(ecr(creds).send(new GetAuthorizationTokenCommand({ registryIds: ['nope'] })));
    expect(bad.name).toBe('InvalidParameterException');
  });

  it('works through the SDK role assumer that credential providers use', async () => {
    const assume = getDefaultRoleAssumerWithWebIdentity({ region: 'us-east-1' });
    const creds = await assume({ RoleArn: SOURCE_ROLE, RoleSessionName: 'provider', WebIdentityToken: fake.signToken({ sub: SUB }) });
    expect(fake.isValidKey(creds.accessKeyId)).toBe('valid');
    expect(creds.expiration?.getTime()).toBe(Math.floor((clock + 3_600_000) / 1000) * 1000);
  });

  it('calls onEcrToken with each issued token, e.g. to write an htpasswd file', async () => {
    const seen: string[] = [];
    const unsubscribe = fake.onEcrToken((token) => seen.push(`${token.registryId}@${token.region}`));
    const creds = fake.issueCredentials({ roleArn: SOURCE_ROLE });
    await ecr(creds, 'ap-south-1').send(new GetAuthorizationTokenCommand({}));
    await ecrPublic(creds).send(new GetPublicAuthorizationTokenCommand({}));
    unsubscribe();
    await ecr(creds).send(new GetAuthorizationTokenCommand({}));
    expect(seen).toEqual([`${ACCOUNT}@ap-south-1`, 'public.ecr.aws@us-east-1']);
  });
});

describe('web identity tokens', () => {
  const assume = (token: string, roleArn = SOURCE_ROLE) =>
    failure(sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 's', WebIdentityToken: token })));

  it('rejects a token signed by another key as InvalidIdentityToken', async () => {
    const other = await startFakeAws();
    const error = await assume(other.signToken({ sub: SUB }));
    await other.stop();
    expect(error).toMatchObject({ name: 'InvalidIdentityTokenException', Code: 'InvalidIdentityToken', Type: 'Sender' });
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it('rejects a tampered token and an unsigned one', async () => {
    const [head, , sig] = fake.signToken({ sub: SUB }).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', aud: 'sts.amazonaws.com', exp: 9e9 })).toString('base64url');
    expect((await assume(`${head}.${forged}.${sig}`)).name).toBe('InvalidIdentityTokenException');
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect((await assume(`${none}.${forged}.`)).name).toBe('InvalidIdentityTokenException');
  });

  it('rejects an expired token as ExpiredTokenException', async () => {
    const token = fake.signToken({ sub: SUB, expSeconds: 600 });
    clock += 601_000;
    const error = await assume(token);
    expect(error).toMatchObject({ name: 'ExpiredTokenException', Code: 'ExpiredTokenException' });
    expect(error.message).toMatch(/^Token expired: current date\/time \d+ must be before the expiration date\/time\d+$/);
  });

  it('rejects another audience, and roles it does not know or trust, as AWS does', async () => {
    expect((await assume(fake.signToken({ sub: SUB, aud: 'sigstore' }))).message).toBe('Incorrect token audience');
    const unknown = await assume(fake.signToken({ sub: SUB }), 'arn:aws:iam::111122223333:role/other');
    expect(unknown).toMatchObject({ name: 'AccessDenied', Code: 'AccessDenied' });
    expect(unknown.$metadata.httpStatusCode).toBe(403);
    await start({ roles: [{ arn: SOURCE_ROLE, subjects: ['system:serviceaccount:other:sa'] }] });
    expect((await assume(fake.signToken({ sub: SUB }))).name).toBe('AccessDenied');
  });
});

describe('session lifetimes', () => {
  it('caps DurationSeconds at the configured lifetime and accepts any lower value', async () => {
    await start({ stsLifetimeSeconds: 900 });
    const expiry = async (DurationSeconds?: number) => {
      const out = await sts().send(
        new AssumeRoleWithWebIdentityCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: 's', WebIdentityToken: fake.signToken({ sub: SUB }), DurationSeconds }),
      );
      return (out.Credentials!.Expiration!.getTime() - Math.floor(clock / 1000) * 1000) / 1000;
    };
    expect(await expiry(3600)).toBe(900);
    expect(await expiry(60)).toBe(60);
    expect(await expiry()).toBe(900);
    fake.state.stsLifetimeSeconds = 120;
    expect(await expiry()).toBe(120);
  });

  it('expires ECR passwords on the fake clock, with a lifetime changeable at runtime', async () => {
    const creds = fake.issueCredentials({ roleArn: SOURCE_ROLE, lifetimeSeconds: 86_400 });
    fake.state.ecrTokenLifetimeSeconds = 60;
    const short = await ecr(creds).send(new GetAuthorizationTokenCommand({}));
    expect(short.authorizationData?.[0]?.expiresAt?.getTime()).toBe(clock + 60_000);
    fake.state.ecrTokenLifetimeSeconds = 600;
    await ecr(creds).send(new GetAuthorizationTokenCommand({}));
    expect(fake.validEcrPasswords()).toHaveLength(2);
    clock += 61_000;
    expect(fake.validEcrTokens().map((t) => t.expiresAt - (clock - 61_000))).toEqual([600_000]);
  });
});

describe('callers with expired or unknown keys', () => {
  it('rejects expired STS credentials: ExpiredToken on STS, ExpiredTokenException on ECR', async () => {
    await start({ stsLifetimeSeconds: 900 });
    const source = await webIdentity();
    clock += 900_000;
    expect(fake.isValidKey(source.accessKeyId)).toBe('expired');
    const onSts = await failure(sts(source).send(new AssumeRoleCommand({ RoleArn: TARGET_ROLE, RoleSessionName: 'x' })));
    expect(onSts).toMatchObject({ name: 'ExpiredToken', Code: 'ExpiredToken' });
    expect(onSts.$metadata.httpStatusCode).toBe(403);
    const onEcr = await failure(ecr(source).send(new GetAuthorizationTokenCommand({})));
    expect(onEcr.name).toBe('ExpiredTokenException');
    expect(onEcr.$metadata.httpStatusCode).toBe(403);
    const onPublic = await failure(ecrPublic(source).send(new GetPublicAuthorizationTokenCommand({})));
    expect(onPublic.name).toBe('ExpiredTokenException');
  });

  it('rejects keys it never issued, and a session token that does not belong to the key', async () => {
    const stranger = { accessKeyId: 'AKIASTRANGER0000000', secretAccessKey: 'x' };
    const onSts = await failure(sts(stranger).send(new GetCallerIdentityCommand({})));
    expect(onSts).toMatchObject({ name: 'InvalidClientTokenId', Code: 'InvalidClientTokenId' });
    expect((await failure(ecr(stranger).send(new GetAuthorizationTokenCommand({})))).name).toBe('UnrecognizedClientException');
    const a = fake.issueCredentials({ roleArn: SOURCE_ROLE });
    const b = fake.issueCredentials({ roleArn: SOURCE_ROLE });
    const mixed = { ...a, sessionToken: b.sessionToken };
    expect((await failure(ecr(mixed).send(new GetAuthorizationTokenCommand({})))).name).toBe('UnrecognizedClientException');
  });

  it('accepts configured static keys, which never expire', async () => {
    await start({ staticKeys: ['AKIASTATIC000000000'], accountId: '999988887777' });
    const key = { accessKeyId: 'AKIASTATIC000000000', secretAccessKey: 'secret' };
    clock += 365 * 86_400_000;
    const out = await ecr(key).send(new GetAuthorizationTokenCommand({}));
    expect(out.authorizationData?.[0]?.proxyEndpoint).toBe('https://999988887777.dkr.ecr.us-east-1.amazonaws.com');
    expect((await sts(key).send(new GetCallerIdentityCommand({}))).Account).toBe('999988887777');
  });
});

describe('faults', () => {
  let creds: Identity;
  beforeEach(() => {
    creds = fake.issueCredentials({ roleArn: SOURCE_ROLE });
  });
  const ecrCall = (extra: object = {}) => ecr(creds, 'us-east-1', extra).send(new GetAuthorizationTokenCommand({}));
  const publicCall = (extra: object = {}) => ecrPublic(creds, extra).send(new GetPublicAuthorizationTokenCommand({}));
  const stsCall = (extra: object = {}) => sts(creds, extra).send(new GetCallerIdentityCommand({}));

  it('throttles with the real error shapes: Throttling (query, 400) and ThrottlingException (JSON, 400)', async () => {
    fake.faults.set('all', { mode: 'throttle' });
    const onSts = await failure(stsCall());
    expect(onSts).toMatchObject({ name: 'Throttling', Code: 'Throttling', Type: 'Sender', message: 'Rate exceeded' });
    expect(onSts.$metadata.httpStatusCode).toBe(400);
    for (const call of [ecrCall, publicCall]) {
      const error = await failure(call());
      expect(error.name).toBe('ThrottlingException');
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
    fake.faults.clear();
    await expect(ecrCall()).resolves.toBeDefined();
  });

  it('answers 500 InternalFailure and 503 ServiceUnavailable', async () => {
    fake.faults.set('sts', { mode: '5xx' });
    fake.faults.set('ecr', { mode: '5xx', status: 503 });
    const onSts = await failure(stsCall());
    expect(onSts).toMatchObject({ name: 'InternalFailure', Type: 'Receiver', $fault: 'server' });
    expect(onSts.$metadata.httpStatusCode).toBe(500);
    const onEcr = await failure(ecrCall());
    expect(onEcr.name).toBe('ServiceUnavailableException');
    expect(onEcr.$metadata.httpStatusCode).toBe(503);
    await expect(publicCall()).resolves.toBeDefined(); // faults are per service
  });

  it('hostile modes bend real answers: expired, year 9999, empty, truncated, and an error echoing the request', async () => {
    const webCall = () => webIdentity().catch((e: unknown) => e as Error);
    fake.faults.set('sts', { mode: 'expired', count: 1 });
    const expired = await sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: 's', WebIdentityToken: fake.signToken({ sub: SUB }) }));
    expect(expired.Credentials!.Expiration!.getTime()).toBeLessThan(fake.now());
    fake.faults.set('ecr', { mode: 'expired', count: 1 });
    expect((await ecrCall()).authorizationData![0]!.expiresAt!.toISOString()).toBe('2015-01-01T00:00:00.000Z');
    fake.faults.set('all', { mode: 'year-9999', count: 2 });
    expect((await ecrCall()).authorizationData![0]!.expiresAt!.getUTCFullYear()).toBe(9999);
    expect((await publicCall()).authorizationData!.expiresAt!.getUTCFullYear()).toBe(9999);
    for (const mode of ['empty', 'truncated'] as const) {
      fake.faults.set('ecr', { mode, count: 1 });
      const answer = await ecrCall().catch((e: unknown) => e);
      expect(answer instanceof Error || !(answer as { authorizationData?: unknown[] }).authorizationData?.length).toBe(true);
    }
    const token = fake.signToken({ sub: SUB });
    fake.faults.set('sts', { mode: 'echo', count: 1 });
    const echoed = await failure(sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: 's', WebIdentityToken: token })));
    expect(echoed.name).toBe('InvalidParameterValue');
    expect(echoed.message).toContain(token);
    expect(await webCall()).not.toBeInstanceOf(Error);
  });

  it('drops the connection when down', async () => {
    fake.faults.set('ecr-public', { mode: 'down' });
    const error = await failure(publicCall());
    expect(`${error.code} ${error.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect(fake.calls('ecr-public')[0]).toMatchObject({ status: 0, fault: 'down' });
  });

  it('holds the answer when slow, long enough to trip a client timeout', async () => {
    fake.faults.set('ecr', { mode: 'slow', delayMs: 60_000 });
    // This SDK only logs a warning on requestTimeout unless throwOnRequestTimeout is set.
    const error = await failure(ecrCall({ requestHandler: { requestTimeout: 100, throwOnRequestTimeout: true } }));
    expect(error.name).toBe('TimeoutError');
    fake.faults.set('ecr', { mode: 'slow', delayMs: 150 });
    const started = performance.now();
    await ecrCall();
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('uses up a counted fault, so the SDK retry succeeds', async () => {
    fake.faults.set('ecr', { mode: '5xx', count: 1 });
    fake.faults.set('sts', { mode: 'throttle', count: 1 });
    await ecrCall({ maxAttempts: 2 });
    await stsCall({ maxAttempts: 2 });
    expect(fake.calls('ecr:GetAuthorizationToken').map((c) => c.status)).toEqual([500, 200]);
    expect(fake.calls('sts:GetCallerIdentity').map((c) => c.errorCode ?? c.status)).toEqual(['Throttling', 200]);
    expect(fake.faults.list()).toEqual([]);
  });

  it('adds latencyMs to every AWS call', async () => {
    fake.state.latencyMs = 120;
    const started = performance.now();
    await ecrCall();
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });
});

describe('injected denials (an IAM document missing a statement)', () => {
  it('refuses only the denied action, in the protocol\'s AccessDenied shape, naming principal, resource and policy kind', async () => {
    const creds = await webIdentity();
    fake.denials.add({ action: 'ecr:BatchGetImage', resourcePrefix: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/private/` });
    const denied = await failure(ecr(creds).send(new BatchGetImageCommand({ repositoryName: 'private/app', imageIds: [{ imageTag: 'v1' }] })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toBe(`User: arn:aws:sts::${ACCOUNT}:assumed-role/ecr-proxy/s1 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:${ACCOUNT}:repository/private/app because no identity-based policy allows the ecr:BatchGetImage action`);
    // Other repositories and actions are untouched; an allowed pull of an absent image answers as ECR does.
    const other = await ecr(creds).send(new BatchGetImageCommand({ repositoryName: 'public/app', imageIds: [{ imageTag: 'v1' }] }));
    expect(other.failures?.[0]?.failureCode).toBe('ImageNotFound');
    expect((await failure(ecr(creds).send(new GetDownloadUrlForLayerCommand({ repositoryName: 'private/app', layerDigest: `sha256:${'0'.repeat(64)}` })))).name).toBe('LayersNotFoundException');
    expect((await ecr(creds).send(new GetAuthorizationTokenCommand({}))).authorizationData).toHaveLength(1);

    fake.denials.add({ action: 'sts:AssumeRole', policy: 'resource' });
    const chained = await failure(sts(creds).send(new AssumeRoleCommand({ RoleArn: TARGET_ROLE, RoleSessionName: 't' })));
    expect(chained.name).toBe('AccessDenied');
    expect(chained.message).toMatch(/sts:AssumeRole on resource: "arn:aws:iam::444455556666:role\/ecr-reader" with an explicit deny in a resource-based policy$/);
    // GetCallerIdentity is never refused, on AWS either.
    expect((await sts(creds).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ecr-proxy/s1`);
    expect(fake.principalOf(creds.accessKeyId)).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ecr-proxy/s1`);
  });

  it('is driven through the control API too, and refuses what is not an IAM action', async () => {
    const post = (body: unknown) => fetch(`${fake.url}/_fake/denials`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post({ action: 'ecr:GetAuthorizationToken' })).status).toBe(200);
    expect((await post({ action: 'GetAuthorizationToken' })).status).toBe(400);
    const creds = await webIdentity();
    expect((await failure(ecr(creds).send(new GetAuthorizationTokenCommand({})))).name).toBe('AccessDeniedException');
    expect((await fetch(`${fake.url}/_fake/denials`, { method: 'DELETE' })).status).toBe(200);
    expect((await ecr(creds).send(new GetAuthorizationTokenCommand({}))).authorizationData).toHaveLength(1);
  });
});

describe('the EKS Pod Identity agent endpoint', () => {
  it('serves the associated role through the SDK container provider; a trust denial, a bad token and no association as the agent answers them', async () => {
    await start({ podIdentityAssociations: { [SUB]: SOURCE_ROLE } });
    const tokenFile = join(dir, 'eks-pod-identity-token');
    await fake.writeTokenFile(tokenFile, { sub: SUB, aud: 'pods.eks.amazonaws.com' });
    // sts-init's own container source (the SDK's fromHttp), with the env the EKS webhook injects.
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', fake.podIdentityUrl());
    vi.stubEnv('AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', tokenFile);
    const creds = await createStsApi('us-east-1').fromSource({ kind: 'container' }, AbortSignal.timeout(10_000));
    expect(fake.principalOf(creds.accessKeyId)).toMatch(/^arn:aws:sts::111122223333:assumed-role\/ecr-proxy\/eks-/);
    expect(creds.expiration!.getTime()).toBeGreaterThan(clock);

    const get = async (token: string) => {
      const res = await fetch(fake.podIdentityUrl(), { headers: { authorization: token } });
      return `${res.status} ${await res.text()}`;
    };
    const token = fake.signToken({ sub: SUB });
    fake.denials.add({ action: 'sts:AssumeRole', resourcePrefix: SOURCE_ROLE, policy: 'resource' });
    expect(await get(token)).toMatch(/^400 \[\S+\]: \(AccessDeniedException\): .*User: pods\.eks\.amazonaws\.com is not authorized to perform: sts:AssumeRole on resource: "arn:aws:iam::111122223333:role\/ecr-proxy".*, fault: client\n$/);
    fake.denials.clear();
    expect(await get('not-a-jwt')).toMatch(/^400 .*\(InvalidTokenException\)/);
    expect(await get(fake.signToken({ sub: 'system:serviceaccount:other:sa' }))).toMatch(/^404 .*\(ResourceNotFoundException\): No Pod Identity association found for other:sa/);
    expect(fake.calls('eks-auth:AssumeRoleForPodIdentity').map((c) => c.status)).toEqual([200, 400, 400, 404]);
  });
});

describe('control API', () => {
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fake.url}/_fake/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status).toBe(200);
    return (await res.json()) as any;
  };

  it('drives faults, settings, the clock and the logs from another process', async () => {
    const { token } = await control('POST', 'tokens', { sub: SUB, expSeconds: 60 });
    const out = await sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: 'c', WebIdentityToken: token }));
    const creds = identity(out.Credentials);

    await control('POST', 'faults', { target: 'ecr', mode: 'throttle', count: 1 });
    expect((await failure(ecr(creds).send(new GetAuthorizationTokenCommand({})))).name).toBe('ThrottlingException');
    await control('POST', 'settings', { ecrTokenLifetimeSeconds: 30 });
    const ok = await ecr(creds).send(new GetAuthorizationTokenCommand({}));
    expect(await control('GET', 'ecr-passwords')).toEqual([decodePassword(ok.authorizationData?.[0]?.authorizationToken)]);
    expect((await control('GET', 'calls?key=ecr:GetAuthorizationToken')).map((c: any) => c.status)).toEqual([400, 200]);
    expect(await control('GET', `keys/${creds.accessKeyId}`)).toEqual({ accessKeyId: creds.accessKeyId, status: 'valid' });

    await control('POST', 'clock', { advanceSeconds: 3600 });
    expect(await control('GET', 'ecr-passwords')).toEqual([]);
    expect((await control('GET', `keys/${creds.accessKeyId}`)).status).toBe('expired');
    const state = await control('GET', 'state');
    expect(state.counts).toEqual({ 'sts:AssumeRoleWithWebIdentity': 1, 'ecr:GetAuthorizationToken': 2 });
    expect((await fetch(`${fake.url}/_fake/faults`, { method: 'POST', body: '{"mode":"explode"}' })).status).toBe(400);
  });

  it('names what it received when a request is no AWS protocol it speaks', async () => {
    const res = await fetch(fake.url, { method: 'POST', headers: { 'smithy-protocol': 'rpc-v2-cbor', 'content-type': 'application/cbor' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain('smithy-protocol=rpc-v2-cbor');
  });
});

describe('standalone process', () => {
  it('prints its url as one JSON line and serves the SDK', async () => {
    const main = new URL('./fake-aws-main.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--sts-lifetime', '900', '--role', SOURCE_ROLE], {
      env: { ...process.env, FAKE_AWS_ECR_TOKEN_LIFETIME: '120' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const [line] = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
      const { url } = JSON.parse(line!) as { url: string };
      const { token } = (await (await fetch(`${url}/_fake/tokens`, { method: 'POST', body: JSON.stringify({ sub: SUB }) })).json()) as { token: string };
      const client = new STSClient({ region: 'us-east-1', endpoint: url, maxAttempts: 1 });
      const out = await client.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: 'p', WebIdentityToken: token }));
      expect(out.Credentials!.Expiration!.getTime() - Date.now()).toBeLessThanOrEqual(900_000);
      const settings = (await (await fetch(`${url}/_fake/state`)).json()) as { settings: { ecrTokenLifetimeSeconds: number } };
      expect(settings.settings.ecrTokenLifetimeSeconds).toBe(120);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 20_000);
});
