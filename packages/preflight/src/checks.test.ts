import { describe, expect, it, vi } from 'vitest';
import { parseEcrRegistry } from '@ecr-proxy/credential-helper';
import type { PreflightApi, PrivateRegistry } from './api.js';
import { formatResult, Interrupted, isSessionOf, runChecks } from './checks.js';
import type { PreflightConfig } from './config.js';
import { FILES, statementFor } from './fix.js';

/** Statement ids come from the policy files themselves (a rename there must not break these tests). */
const sid = (file: string, action: string) => statementFor(file, action)!;

const ROLE = 'arn:aws:iam::123456789012:role/ecr-pull-through-cache';
const PRINCIPAL = 'arn:aws:sts::123456789012:assumed-role/ecr-pull-through-cache/pod-1';
const REGISTRY = parseEcrRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com') as PrivateRegistry;

const config = (over: Partial<PreflightConfig> = {}): PreflightConfig => ({
  region: 'us-east-1',
  s3: { bucket: 'cache', region: 'us-east-1', prefix: 'docker/', forcePathStyle: true },
  ecrRegistries: [REGISTRY],
  ecrRepository: 'app',
  expectedRole: ROLE,
  mode: 'same-account',
  timeoutMs: 10_000,
  allowInstanceRole: false,
  ...over,
});

const awsError = (name: string, status: number, message = '') => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
const denied = (action: string, policy: 'identity' | 'resource' = 'identity') =>
  awsError(action.startsWith('ecr') ? 'AccessDeniedException' : 'AccessDenied', 403, policy === 'resource'
    ? `User: ${PRINCIPAL} is not authorized to perform: ${action} on resource: "x" with an explicit deny in a resource-based policy`
    : `User: ${PRINCIPAL} is not authorized to perform: ${action} on resource: x because no identity-based policy allows the ${action} action`);

/** An in-memory account: a bucket, one registry, and errors to throw per action. */
function fakeApi(errors: Record<string, Error | 'hang'> = {}, principal = PRINCIPAL) {
  const objects = new Map<string, string>();
  const calls: string[] = [];
  const maybe = async (action: string, key = '') => {
    calls.push(`${action} ${key}`.trim());
    const err = errors[action];
    if (err === 'hang') return new Promise<never>(() => {});
    if (err) throw err;
  };
  const api: PreflightApi = {
    callerIdentity: async () => ({ arn: principal, account: '123456789012' }),
    putObject: async (key, body) => { await maybe('s3:PutObject', key); objects.set(key, body); return {}; },
    getObject: async (key) => {
      await maybe('s3:GetObject', key);
      const body = objects.get(key);
      if (body === undefined) throw awsError('NoSuchKey', 404);
      return body;
    },
    // As the SDK seam: the first key under the prefix only (MaxKeys 1).
    listObjects: async (prefix) => { await maybe(prefix === 'docker/' ? 's3:ListBucket' : 's3:ListBucket:list', prefix); return [...objects.keys()].filter((k) => k.startsWith(prefix)).sort().slice(0, 1); },
    deleteObject: async (key) => { await maybe('s3:DeleteObject', key); objects.delete(key); },
    ecrAuthorizationToken: async () => { await maybe('ecr:GetAuthorizationToken'); },
    ecrBatchGetImage: async () => { await maybe('ecr:BatchGetImage'); throw awsError('ImageNotFoundException', 400); },
    ecrGetDownloadUrlForLayer: async () => { await maybe('ecr:GetDownloadUrlForLayer'); throw awsError('LayersNotFoundException', 400); },
  };
  return { api, objects, calls };
}

const lines = (report: Awaited<ReturnType<typeof runChecks>>) => report.results.map((r) => formatResult(r, report.principal));

describe(runChecks.name, () => {
  it('passes when every action is allowed, one line per check, and removes its probe', async () => {
    const { api, objects, calls } = fakeApi();
    const report = await runChecks(config(), api, { probeId: 'p1' });
    expect(report.ok).toBe(true);
    expect(lines(report)).toEqual([
      `preflight: ok   sts:GetCallerIdentity ${PRINCIPAL} (a session of ${ROLE})`,
      'preflight: ok   s3:ListBucket arn:aws:s3:::cache (bucket exists, lists docker/)',
      'preflight: ok   s3:PutObject arn:aws:s3:::cache/docker/.preflight/p1',
      'preflight: ok   s3:GetObject arn:aws:s3:::cache/docker/.preflight/p1 (read back)',
      'preflight: ok   s3:ListBucket arn:aws:s3:::cache (lists the probe just written)',
      'preflight: ok   s3:DeleteObject arn:aws:s3:::cache/docker/.preflight/p1 (probe removed)',
      'preflight: ok   s3:GetObject arn:aws:s3:::cache/docker/scheduler-state.json (absent: the registry starts empty)',
      'preflight: ok   ecr:GetAuthorizationToken * (token for 123456789012.dkr.ecr.us-east-1.amazonaws.com)',
      'preflight: ok   ecr:BatchGetImage arn:aws:ecr:us-east-1:123456789012:repository/app (allowed: ImageNotFoundException for a probe that does not exist)',
      'preflight: ok   ecr:GetDownloadUrlForLayer arn:aws:ecr:us-east-1:123456789012:repository/app (allowed: LayersNotFoundException for a probe that does not exist)',
    ]);
    expect(objects.size).toBe(0);
    // Delete is proved on the absent probe before anything is written.
    expect(calls.indexOf('s3:DeleteObject docker/.preflight/p1')).toBeLessThan(calls.indexOf('s3:PutObject docker/.preflight/p1'));
  });

  it('a denied write names the action, the object ARN, the principal and the statement to fix', async () => {
    const { api, objects } = fakeApi({ 's3:PutObject': denied('s3:PutObject') });
    const report = await runChecks(config(), api, { probeId: 'p2' });
    expect(report.ok).toBe(false);
    expect(lines(report)).toContain(
      `preflight: FAIL s3:PutObject on arn:aws:s3:::cache/docker/.preflight/p2 as ${PRINCIPAL}: AccessDenied (because no identity-based policy allows the s3:PutObject action); fix chart-values/aws/s3-cache-policy.json (statement ${sid(FILES.s3Policy, 's3:PutObject')})`,
    );
    expect(objects.size).toBe(0);
  });

  it('never writes when delete is denied, so no probe can be left behind', async () => {
    const { api, calls, objects } = fakeApi({ 's3:DeleteObject': denied('s3:DeleteObject') });
    const report = await runChecks(config(), api, { probeId: 'p3' });
    expect(calls.some((c) => c.startsWith('s3:PutObject'))).toBe(false);
    expect(objects.size).toBe(0);
    expect(lines(report).find((l) => l.includes('FAIL'))).toMatch(/s3:DeleteObject on arn:aws:s3:::cache\/docker\/\.preflight\/p3 .*fix chart-values\/aws\/s3-cache-policy\.json/);
  });

  it('an explicit deny in the bucket policy names the bucket policy', async () => {
    const { api } = fakeApi({ 's3:GetObject': denied('s3:GetObject', 'resource') });
    const report = await runChecks(config(), api, { probeId: 'p4' });
    const fails = lines(report).filter((l) => l.includes('FAIL'));
    expect(fails).toHaveLength(2); // the probe and scheduler-state.json
    expect(fails[1]).toBe(`preflight: FAIL s3:GetObject on arn:aws:s3:::cache/docker/scheduler-state.json as ${PRINCIPAL}: AccessDenied; fix chart-values/aws/bucket-policy.json`);
  });

  it('in cross-account mode S3 denials point at the cross-account bucket policy', async () => {
    const { api } = fakeApi({ 's3:ListBucket': denied('s3:ListBucket', 'resource') });
    const report = await runChecks(config({ mode: 'cross-account' }), api, { probeId: 'p5' });
    expect(lines(report)[1]).toMatch(new RegExp(`fix chart-values/aws/bucket-policy-cross-account\\.json \\(statement ${sid(FILES.bucketPolicyCrossAccount, 's3:ListBucket')}\\)$`));
  });

  it('a bucket in another region is named as a values fix, not a permission', async () => {
    const moved = Object.assign(awsError('PermanentRedirect', 301), { $response: { headers: { 'x-amz-bucket-region': 'eu-west-1' } } });
    const { api } = fakeApi({ 's3:ListBucket': moved });
    const report = await runChecks(config(), api, { probeId: 'r' });
    expect(lines(report)[1]).toBe(`preflight: FAIL s3:ListBucket on arn:aws:s3:::cache as ${PRINCIPAL}: the bucket is in eu-west-1, configured us-east-1; fix chart-values/values-s3-ecr-proxy.yaml (key s3.region)`);
  });

  it('fails when the credentials are not a session of the expected role', async () => {
    const { api } = fakeApi({}, 'arn:aws:sts::123456789012:assumed-role/node-role/i-0abc');
    const report = await runChecks(config(), api);
    expect(report.ok).toBe(false);
    expect(lines(report)[0]).toBe(
      `preflight: FAIL sts:GetCallerIdentity on arn:aws:sts::123456789012:assumed-role/node-role/i-0abc as arn:aws:sts::123456789012:assumed-role/node-role/i-0abc: the credentials are not a session of the expected role ${ROLE}; fix chart-values/values-s3-ecr-proxy.yaml (key EXPECTED_ROLE_ARN, or what gives the pod its role: serviceAccount.annotations eks.amazonaws.com/role-arn, TARGET_ROLE_ARN, the Pod Identity association)`,
    );
  });

  it('ECR: a denied pull action names the EcrPullOnly statement; a denied token the EcrLoginToken one', async () => {
    const { api } = fakeApi({ 'ecr:BatchGetImage': denied('ecr:BatchGetImage'), 'ecr:GetAuthorizationToken': denied('ecr:GetAuthorizationToken') });
    const fails = lines(await runChecks(config({ s3: undefined }), api)).filter((l) => l.includes('FAIL'));
    expect(fails).toEqual([
      expect.stringMatching(new RegExp(`^preflight: FAIL ecr:GetAuthorizationToken on \\* as .*; fix chart-values/aws/ecr-pull-policy\\.json \\(statement ${sid(FILES.ecrPolicy, 'ecr:GetAuthorizationToken')}\\)$`)),
      expect.stringMatching(new RegExp(`^preflight: FAIL ecr:BatchGetImage on arn:aws:ecr:us-east-1:123456789012:repository/app as .*; fix chart-values/aws/ecr-pull-policy\\.json \\(statement ${sid(FILES.ecrPolicy, 'ecr:BatchGetImage')}\\)$`)),
    ]);
  });

  it('SSE-KMS: a refused data key is named as the KMS action, not as s3:PutObject', async () => {
    const kms = awsError('KMS.AccessDeniedException', 403, 'User is not authorized to perform kms:GenerateDataKey on arn:aws:kms:us-east-1:123456789012:key/abcd');
    const { api } = fakeApi({ 's3:PutObject': kms });
    const fail = lines(await runChecks(config(), api, { probeId: 'k' })).find((l) => l.includes('FAIL'));
    expect(fail).toMatch(/^preflight: FAIL kms:GenerateDataKey on arn:aws:kms:us-east-1:123456789012:key\/abcd as .*fix chart-values\/aws\/s3-cache-policy\.json$/);
  });

  it('a bucket whose name says kms is not mistaken for a KMS refusal', async () => {
    const { api } = fakeApi({ 's3:PutObject': denied('s3:PutObject') });
    const report = await runChecks(config({ s3: { bucket: 'kms-cache', region: 'us-east-1', prefix: 'docker/', forcePathStyle: true } }), api, { probeId: 'n' });
    expect(lines(report).find((l) => l.includes('FAIL'))).toMatch(/^preflight: FAIL s3:PutObject on arn:aws:s3:::kms-cache\/docker\/\.preflight\/n /);
  });

  it('an S3 that hangs past the SDK\'s request timeout: the line ends in what to do, not in the SDK\'s text', async () => {
    // What @smithy/node-http-handler throws when core's requestTimeout passes (seen with the default PREFLIGHT_TIMEOUT).
    const sdkTimeout = Object.assign(new Error('@smithy/node-http-handler - [ERROR] a request has exceeded the configured 10000 ms requestTimeout.'), { name: 'TimeoutError' });
    const { api } = fakeApi({ 's3:ListBucket': sdkTimeout });
    const fail = lines(await runChecks(config(), api, { probeId: 't' })).find((l) => l.includes('FAIL'))!;
    expect(fail).toMatch(/^preflight: FAIL s3:ListBucket on arn:aws:s3:::cache as \S+: no answer \(TimeoutError\): the endpoint did not answer in time; check that it is reachable from here \(network, proxy, VPC endpoint\) and answers$/);
    expect(fail).not.toContain('smithy');
  });

  it('is bounded: a call that never answers fails at the deadline, and the probe is still removed', async () => {
    const { api, objects, calls } = fakeApi({ 's3:ListBucket:list': 'hang' });
    const report = await runChecks(config({ timeoutMs: 200 }), api, { probeId: 'h' });
    expect(report.ok).toBe(false);
    expect(lines(report).find((l) => l.includes('FAIL'))).toMatch(/s3:ListBucket .*no answer: the preflight's deadline \(200 ms\) passed/);
    expect(calls).toContain('s3:DeleteObject docker/.preflight/h');
    expect(objects.size).toBe(0);
  });
});

describe(statementFor.name, () => {
  it('finds a granting statement for every action the preflight checks, in each document it names', () => {
    for (const action of ['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
      expect(statementFor(FILES.s3Policy, action), action).toBeTruthy();
      expect(statementFor(FILES.bucketPolicyCrossAccount, action), action).toBeTruthy();
    }
    for (const action of ['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']) expect(statementFor(FILES.ecrPolicy, action), action).toBeTruthy();
    expect(statementFor(FILES.ecrPolicy, 'ecr:PutImage')).toBeUndefined();
  });
});

describe('identity given with the credentials', () => {
  it('is compared without a GetCallerIdentity call', async () => {
    const { api } = fakeApi();
    const callerIdentity = vi.spyOn(api, 'callerIdentity');
    const report = await runChecks(config({ s3: undefined, ecrRegistries: [] }), api, { principal: 'arn:aws:sts::123456789012:assumed-role/other/s' });
    expect(callerIdentity).not.toHaveBeenCalled();
    expect(lines(report)[0]).toMatch(/^preflight: FAIL identity on arn:aws:sts::123456789012:assumed-role\/other\/s as .*not a session of the expected role/);
  });
});

describe(isSessionOf.name, () => {
  it('matches sessions of the role, with or without a path, and nothing else', () => {
    expect(isSessionOf(PRINCIPAL, ROLE)).toBe(true);
    expect(isSessionOf(PRINCIPAL, 'arn:aws:iam::123456789012:role/team/ecr-pull-through-cache')).toBe(true);
    expect(isSessionOf('arn:aws:sts::123456789012:assumed-role/ecr-pull-through-cache-2/s', ROLE)).toBe(false);
    expect(isSessionOf('arn:aws:sts::210987654321:assumed-role/ecr-pull-through-cache/s', ROLE)).toBe(false);
  });
});

describe('what a failed check prints', () => {
  it('server text is scrubbed: an endpoint echoing the session token does not get it printed', async () => {
    const token = 'IQoJb3JpZ2luX2VjEchoedSessionTokenFromABrokenProxy0123456789abcdef';
    const { api } = fakeApi({ 's3:ListBucket': awsError('InvalidArgument', 400, `echo ${token}`) });
    const report = await runChecks(config(), api, { probeId: 'p' });
    const text = lines(report).join('\n');
    expect(text).toMatch(/FAIL s3:ListBucket .*InvalidArgument: echo \[redacted\]/);
    expect(text).not.toContain(token.slice(0, 32));
  });

  it('the "because" clause of a long AccessDenied message survives the bound', async () => {
    const long = `User: ${PRINCIPAL}-${'x'.repeat(150)} is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::cache/docker/.preflight/p" because no identity-based policy allows the s3:PutObject action`;
    const { api } = fakeApi({ 's3:PutObject': awsError('AccessDenied', 403, long) });
    const report = await runChecks(config(), api, { probeId: 'p' });
    expect(lines(report).join('\n')).toMatch(/FAIL s3:PutObject .*AccessDenied \(because no identity-based policy allows the s3:PutObject action\)/);
  });

  it('a missing bucket is not reported as an absent scheduler-state.json', async () => {
    const noBucket = awsError('NoSuchBucket', 404, 'The specified bucket does not exist');
    const { api } = fakeApi({ 's3:ListBucket': noBucket, 's3:DeleteObject': noBucket, 's3:GetObject': noBucket });
    const report = await runChecks(config(), api, { probeId: 'p' });
    expect(report.ok).toBe(false);
    expect(lines(report).join('\n')).not.toMatch(/ok +s3:GetObject .*scheduler-state\.json/);
  });
});

describe('the probe', () => {
  it('has a unique name per run (time and random), under <root>/.preflight/', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { api, calls } = fakeApi();
      await runChecks(config(), api);
      keys.push(calls.find((c) => c.startsWith('s3:PutObject '))!.split(' ')[1]!);
    }
    for (const key of keys) expect(key).toMatch(/^docker\/\.preflight\/\d{13}-[0-9a-f]{12}$/);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('read back as different bytes than written fails the read check (and is still removed)', async () => {
    const { api, objects } = fakeApi();
    const get = api.getObject;
    api.getObject = async (key, signal) => (key.includes('.preflight/') ? 'not what was written' : get(key, signal));
    const report = await runChecks(config(), api, { probeId: 'p' });
    expect(report.ok).toBe(false);
    expect(lines(report)).toContain('preflight: FAIL s3:GetObject on arn:aws:s3:::cache/docker/.preflight/p as ' + `${PRINCIPAL}: read back different bytes than written`);
    expect(objects.size).toBe(0);
  });

  it('a listing that does not show the probe just written fails the list check', async () => {
    const { api } = fakeApi();
    const list = api.listObjects;
    // The probe's prefix listed, but another key only (a listing restricted by policy or a broken endpoint).
    api.listObjects = async (prefix, signal) => (prefix.includes('.preflight/') ? ['docker/.preflight/someone-else'] : list(prefix, signal));
    const report = await runChecks(config(), api, { probeId: 'p' });
    expect(report.ok).toBe(false);
    expect(lines(report)).toContain(`preflight: FAIL s3:ListBucket on arn:aws:s3:::cache as ${PRINCIPAL}: the probe just written is missing from the listing of docker/.preflight/p`);
  });

  it('an abort (SIGTERM) while a call hangs fails the checks left with its reason and still removes the probe', async () => {
    const { api, objects } = fakeApi({ 's3:GetObject': 'hang' });
    const controller = new AbortController();
    const put = api.putObject;
    api.putObject = async (key, body, signal) => {
      const out = await put(key, body, signal);
      queueMicrotask(() => controller.abort(new Interrupted('SIGTERM')));
      return out;
    };
    const report = await runChecks(config(), api, { probeId: 'p', signal: controller.signal });
    expect(report.ok).toBe(false);
    const text = lines(report);
    expect(text).toContain(`preflight: FAIL s3:GetObject on arn:aws:s3:::cache/docker/.preflight/p as ${PRINCIPAL}: no answer: interrupted by SIGTERM`);
    expect(text).toContain('preflight: ok   s3:DeleteObject arn:aws:s3:::cache/docker/.preflight/p (probe removed)');
    expect(objects.size).toBe(0);
  });
});
