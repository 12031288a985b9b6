/**
 * Issue 9, "Fail closed", on the built executable against the local AWS over real HTTP: the wrong principal is never
 * used silently; hostile expiries and bodies never become credentials; blocked files and FIFOs never outlive a
 * deadline; a token in hand is answered; no debugger on demand; writes refuse what they should not replace.
 * No assertion is about how long something took: a hang shows as the test's own timeout.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, exePath, requireBuilt, runExe } from '../support/exe.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import {
  credentialProcess, ECR_HOST, STS_INIT, irsaEnv, metric, readStored, SOURCE_ROLE, startRefresher, stsInit, waitFor, workDir, type RunningRefresher,
} from './sts-init-support.js';
import { loadYaml, mergeValues, overlayFile, VALUES_FILE, type Container, type Values } from '../chart/chart-values.js';

const STATIC_KEY = 'AKIASTATICEXAMPLE';
let fake: FakeAws;
let imds: { url: string; hits: string[]; server: Server };
const running: RunningRefresher[] = [];

/** A stand-in for EC2 instance metadata (IMDSv2) that hands out the node role's keys and records every hit. */
async function startImds(fakeAws: FakeAws) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('imds-session-token');
    if (req.url === '/latest/meta-data/iam/security-credentials/') return res.end('node-instance-role');
    if (req.url?.startsWith('/latest/meta-data/iam/security-credentials/node-instance-role')) {
      const c = fakeAws.issueCredentials({ roleArn: 'arn:aws:iam::123456789012:role/node-instance-role', sessionName: 'i-0123456789abcdef0' });
      return res.end(JSON.stringify({ Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: new Date(c.expiresAt).toISOString() }));
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

beforeAll(async () => {
  requireBuilt();
  fake = await startFakeAws({ stsLifetimeSeconds: 3600, staticKeys: [STATIC_KEY] });
  imds = await startImds(fake);
});
afterAll(async () => {
  await fake?.stop();
  imds?.server.close();
});
beforeEach(() => {
  fake.faults.clear();
  fake.resetCalls();
  imds.hits.length = 0;
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
});

/** The merged values of the base file and one overlay, as `helm -f base -f overlay` merges them. */
function chartValues(overlay?: string): Values {
  const base = loadYaml(VALUES_FILE);
  return overlay ? mergeValues(base, loadYaml(overlayFile(overlay))) : base;
}

/**
 * A container's env from the chart values, as the process would see it here: `/creds` moved under `root`, the AWS
 * endpoints pointed at the local AWS, and the keys that need a real S3 left out (this tier has none).
 */
function envFromValues(list: Container['env'], root: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string | undefined> = {};
  for (const { name, value } of list ?? []) {
    if (name.startsWith('REGISTRY_STORAGE_S3_')) continue;
    out[name] = typeof value === 'string' && value.startsWith('/creds') ? join(root, value) : value;
  }
  return cleanEnv({ ...out, ...fake.endpointEnv(), HOME: root, ...extra });
}

const initContainer = (v: Values, name: string): Container => (v.initContainers as Container[]).find((c) => c.name === name)!;

/** The env of a pod whose service account was not annotated: no IRSA, but instance metadata reachable. */
function unannotatedEnv(extra: Record<string, string> = {}) {
  return cleanEnv({ ...fake.endpointEnv(), AWS_REGION: 'us-east-1', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, ...extra });
}

describe('the principal', () => {
  it('sts-init with no IRSA env refuses the node instance role: exit 2, one line, nothing written, IMDS untouched', async () => {
    const work = await workDir('fc-');
    const out = await stsInit(['--dir', join(work, 'creds')], unannotatedEnv());
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/^sts-init: no credential source: .*--allow-instance-role[^\n]*\n$/);
    expect(existsSync(join(work, 'creds', 'credentials.json'))).toBe(false);
    expect(imds.hits).toEqual([]);
  });

  it('with --allow-instance-role it uses the node role, and says so: principal logged and recorded', async () => {
    const work = await workDir('fc-');
    const out = await stsInit(['--dir', join(work, 'creds'), '--allow-instance-role', 'true', '--margin', '2s'], unannotatedEnv());
    expect(out.code, out.stderr).toBe(0);
    const stored = await readStored(join(work, 'creds'));
    expect(stored.Principal).toBe('arn:aws:sts::123456789012:assumed-role/node-instance-role/i-0123456789abcdef0');
    const written = out.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'credentials written');
    expect(written).toMatchObject({ source: 'instance', principal: stored.Principal });
    expect(fake.calls('sts:GetCallerIdentity')).toHaveLength(1);
    console.log(`principal logged (instance, opted in): ${String(written?.principal)}`);
  });

  it('an EXPECTED_ROLE_ARN other than the one obtained is exit 2 with one line naming both', async () => {
    const work = await workDir('fc-');
    const env = await irsaEnv(fake, work, { EXPECTED_ROLE_ARN: 'arn:aws:iam::123456789012:role/some-other-role' });
    const out = await stsInit(['--dir', join(work, 'creds')], env);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`sts-init: the credentials act as arn:aws:sts::123456789012:assumed-role/registry-irsa/`);
    expect(out.stderr).toContain('not as the expected role arn:aws:iam::123456789012:role/some-other-role');
    expect(existsSync(join(work, 'creds', 'credentials.json'))).toBe(false);
  });

  it('IRSA: the principal comes from the AssumeRoleWithWebIdentity answer, is logged, stored and exported as a metric label', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    const out = await stsInit(['--dir', dir], env);
    expect(out.code, out.stderr).toBe(0);
    const stored = await readStored(dir);
    expect(stored.Principal).toMatch(/^arn:aws:sts::123456789012:assumed-role\/registry-irsa\/ecr-proxy-/);
    expect(fake.calls('sts:GetCallerIdentity')).toHaveLength(0);
    const r = await startRefresher(['--dir', dir, '--margin', '2s'], env);
    running.push(r);
    const metrics = (await r.get('/metrics')).body;
    expect(metric(metrics, `cred_refresher_principal_info{principal="${stored.Principal}"}`)).toBe(1);
    console.log(`principal logged (IRSA): ${stored.Principal}`);
  });

  it('the helper with a profile whose credential_process fails never falls through to instance metadata', async () => {
    const work = await workDir('fc-');
    await writeFile(join(work, 'aws-config'), `[default]\ncredential_process = ${exePath} credential-process --dir ${join(work, 'nothing-here')}\nregion = us-east-1\n`);
    const out = await runExe(['get'], {
      env: cleanEnv({ ...fake.endpointEnv(), AWS_CONFIG_FILE: join(work, 'aws-config'), AWS_SDK_LOAD_CONFIG: '1', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'stderr' }),
      stdin: ECR_HOST,
      file: exePath,
    });
    expect(out.stdout).toBe('credentials not found in native keychain\n');
    expect(imds.hits).toEqual([]);
    expect(fake.calls('ecr:GetAuthorizationToken')).toHaveLength(0);
  });

  it('the preflight subcommand with a profile whose credential_process fails never reaches instance metadata and does not pass (the helper\'s rule: ECR_LOGIN_ALLOW_INSTANCE_ROLE)', async () => {
    const work = await workDir('fc-pf-imds-');
    const config = join(work, 'config');
    await writeFile(config, '[default]\ncredential_process = /bin/false\nregion = us-east-1\n');
    const env = unannotatedEnv({ HOME: work, AWS_CONFIG_FILE: config, AWS_SDK_LOAD_CONFIG: '1' });
    const out = await runExe(['preflight'], { env, file: exePath });
    expect(imds.hits).toEqual([]);
    expect(out.code, out.stdout).toBe(1);
    expect(out.stdout).toMatch(/^preflight: FAIL sts:GetCallerIdentity on \* as unknown: /m);
    // The opt-in, the helper's own, opens it: then the node role answers.
    const allowed = await runExe(['preflight'], { env: { ...env, ECR_LOGIN_ALLOW_INSTANCE_ROLE: 'true' }, file: exePath });
    expect(imds.hits.length).toBeGreaterThan(0);
    expect(allowed.stdout).toMatch(/^preflight: ok   sts:GetCallerIdentity arn:aws:sts::123456789012:assumed-role\/node-instance-role\//m);
  });

  it('cross-account values: docs/operations.md\'s `kubectl exec … preflight` with the registry container\'s env passes (the target role\'s credentials)', async () => {
    const v = chartValues('cross-account');
    const sourceRole = String((v.serviceAccount as { annotations: Record<string, string> }).annotations['eks.amazonaws.com/role-arn']);
    const root = await workDir('fc-xacct-');
    await mkdir(join(root, 'creds'), { mode: 0o755 });
    const tokenFile = join(root, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry-cache:ecr-pull-through-cache' });
    // sts-init as the overlay runs it, with what the EKS webhook injects (IRSA of the source role).
    const init = envFromValues(initContainer(v, 'sts-init').env, root, { AWS_ROLE_ARN: sourceRole, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, PREFLIGHT: 'off' });
    const first = await stsInit([], init);
    expect(first.code, first.stderr).toBe(0);
    // The registry container: the overlay's extraEnvVars (the webhook skips it), as `kubectl exec` gives them.
    const out = await runExe(['preflight', '--ecr-registries', init.ECR_REGISTRIES!], { env: envFromValues(v.extraEnvVars as Container['env'], root), file: exePath });
    expect(out.stdout).toMatch(/^preflight: ok   sts:GetCallerIdentity arn:aws:sts::210987654321:assumed-role\/ecr-pull-through-cache-reader\/\S+ \(a session of arn:aws:iam::210987654321:role\/ecr-pull-through-cache-reader\)$/m);
    expect(out.code, out.stdout + out.stderr).toBe(0);
  });

  it('pod-identity values: an association handing out another role fails sts-init with exit 2 naming it (docs/aws-setup.md troubleshooting)', async () => {
    // The local AWS's EKS Pod Identity agent, its association naming a broader role than the values do.
    const sub = 'system:serviceaccount:registry-cache:ecr-pull-through-cache';
    fake.state.podIdentityAssociations[sub] = 'arn:aws:iam::123456789012:role/node-admin';
    try {
      const v = chartValues('pod-identity');
      const root = await workDir('fc-podid-');
      await mkdir(join(root, 'creds'), { mode: 0o755 });
      const tokenFile = join(root, 'eks-pod-identity-token');
      await fake.writeTokenFile(tokenFile, { sub, aud: 'pods.eks.amazonaws.com' });
      const env = envFromValues(initContainer(v, 'sts-init').env, root, { AWS_CONTAINER_CREDENTIALS_FULL_URI: fake.podIdentityUrl(), AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile, PREFLIGHT: 'off' });
      const out = await stsInit([], env);
      expect(out.code, out.stderr).toBe(2);
      const last = out.stderr.trim().split('\n').pop()!;
      expect(last).toContain('assumed-role/node-admin/');
      expect(last).toContain('arn:aws:iam::123456789012:role/ecr-pull-through-cache');
      expect(existsSync(join(root, 'creds', 'aws', 'credentials.json'))).toBe(false);
    } finally {
      delete fake.state.podIdentityAssociations[sub];
    }
  });

  it('the helper with a failing profile in ~/.aws/config (no AWS_* env at all) never reaches instance metadata either', async () => {
    const home = await workDir('fc-home-');
    await mkdir(join(home, '.aws'));
    // The profile sts-init writes, pointing at a credentials.json that is gone (expired, or the volume lost).
    await writeFile(join(home, '.aws', 'config'), `[default]\ncredential_process = ${exePath} credential-process --dir ${join(home, 'gone')}\nregion = us-east-1\n`);
    const out = await runExe(['get'], {
      env: cleanEnv({ ...fake.endpointEnv(), HOME: home, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, ECR_LOGIN_LOG: 'stderr' }),
      stdin: ECR_HOST,
      file: exePath,
    });
    expect(imds.hits).toEqual([]);
    expect(out.code).toBe(1);
    expect(existsSync(join(home, '.ecr', 'cache.json'))).toBe(false);
  });

  /** An STS that answers AssumeRoleWithWebIdentity with credentials of `roleArn` expiring at `expiration`; every
   * other call (GetCallerIdentity) goes to the fake, which knows those credentials. */
  async function webIdentityAnswering(roleArn: string, expiration?: string) {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (!body.includes('Action=AssumeRoleWithWebIdentity')) {
          const target = new URL(fake.url);
          const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          });
          forward.end(body);
          return;
        }
        const c = fake.issueCredentials({ roleArn, sessionName: 'pod' });
        const [, account, name] = /:(\d{12}):role\/(.+)$/.exec(roleArn)!;
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken><Expiration>${expiration ?? new Date(c.expiresAt).toISOString()}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::${account}:assumed-role/${name}/pod</Arn><AssumedRoleId>AROAX:pod</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }

  it.each([
    ['a session of another role', 'arn:aws:iam::123456789012:role/other-role', undefined, 'not as a session of AWS_ROLE_ARN'],
    ['an expiry in year 9999', SOURCE_ROLE, '9999-12-31T00:00:00Z', 'further away than the service can issue'],
    ['an expiry already past', SOURCE_ROLE, '2015-01-01T00:00:00Z', 'is already past'],
  ] as const)('the helper under IRSA refuses web identity credentials of %s: no ECR call, nothing cached', async (_name, roleArn, expiration, says) => {
    const work = await workDir('fc-');
    const sts = await webIdentityAnswering(roleArn, expiration);
    try {
      const env = await irsaEnv(fake, work, { AWS_ENDPOINT_URL_STS: sts.url, AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'stderr' });
      const out = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
      expect(out.code).toBe(1);
      expect(out.stdout).toBe('credentials not found in native keychain\n');
      expect(out.stderr).toContain(says);
      expect(fake.calls('ecr:GetAuthorizationToken')).toHaveLength(0);
      expect(existsSync(join(work, 'ecr', 'cache.json'))).toBe(false);
    } finally {
      sts.close();
    }
  });

  it('the helper under IRSA with the right role gets its token (one GetCallerIdentity on the miss)', async () => {
    const work = await workDir('fc-');
    const env = await irsaEnv(fake, work, { AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'stderr' });
    const out = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(out.code, out.stderr).toBe(0);
    expect(fake.calls('sts:GetCallerIdentity')).toHaveLength(1);
  });
});

describe('the cache identity follows the principal', () => {
  it('a profile whose credential_process switches from role A to role B gets a new ECR token for B, not A\'s cached one', async () => {
    const work = await workDir('fc-');
    const current = join(work, 'current.json');
    const asJson = (roleArn: string) => {
      const c = fake.issueCredentials({ roleArn, sessionName: 'switch' });
      return { akid: c.accessKeyId, json: JSON.stringify({ Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: new Date(c.expiresAt).toISOString() }) };
    };
    await writeFile(join(work, 'aws-config'), `[default]\ncredential_process = cat ${current}\nregion = us-east-1\n`);
    const env = cleanEnv({ ...fake.endpointEnv(), AWS_CONFIG_FILE: join(work, 'aws-config'), AWS_SDK_LOAD_CONFIG: '1', AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'off' });
    const a = asJson('arn:aws:iam::123456789012:role/role-a');
    await writeFile(current, a.json);
    const first = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(first.code, first.stdout).toBe(0);
    const b = asJson('arn:aws:iam::123456789012:role/role-b');
    await writeFile(current, b.json);
    const second = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(second.code, second.stdout).toBe(0);
    expect(fake.calls('ecr:GetAuthorizationToken').map((c) => c.accessKeyId)).toEqual([a.akid, b.akid]);
    expect(JSON.parse(second.stdout).Secret).not.toBe(JSON.parse(first.stdout).Secret);
    // And role B again: now a cache hit, no ECR call.
    const third = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(JSON.parse(third.stdout).Secret).toBe(JSON.parse(second.stdout).Secret);
    expect(fake.calls('ecr:GetAuthorizationToken')).toHaveLength(2);
  });
});

describe('hostile answers from the local AWS never become credentials', () => {
  it.each(['expired', 'year-9999', 'empty', 'truncated', 'echo', 'huge'] as const)('STS %s: sts-init writes nothing and gives up at its deadline; stderr one line a record, no token', async (mode) => {
    const work = await workDir('fc-');
    const env = await irsaEnv(fake, work);
    const token = (await readFile(env.AWS_WEB_IDENTITY_TOKEN_FILE!, 'utf8')).trim();
    fake.faults.set('sts', { mode });
    const out = await stsInit(['--dir', join(work, 'creds'), '--timeout', '3s'], env);
    expect(out.code).not.toBe(0);
    expect(existsSync(join(work, 'creds', 'credentials.json'))).toBe(false);
    expect(out.stderr).not.toContain(token.slice(0, 40));
    for (const line of out.stderr.trim().split('\n')) expect(line.startsWith('{') || line.startsWith('sts-init: ')).toBe(true);
    const reasons = new Set(out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { reason?: string }).reason).filter(Boolean));
    // A body the SDK cannot parse, or one over the size limit (refused before parsing), is invalid_response.
    if (mode === 'truncated') expect([...reasons]).toEqual(['invalid_response']);
    // (50 MB takes the fake a while to produce: the last attempt may be cut by the deadline.)
    if (mode === 'huge') expect([...reasons].filter((r) => r !== 'timeout')).toEqual(['invalid_response']);
    // Every attempt, not just one: a client built from another copy of the SDK's HTTP handler once parsed 50 MB.
    if (mode === 'huge') {
      const attempts = out.stderr.split('\n').filter((l) => l.includes('"reason":"invalid_response"'));
      expect(attempts.length).toBeGreaterThan(0);
      for (const line of attempts) expect(line).toContain('answered more than 65536 bytes; refused before parsing');
    }
    expect(out.stderr).not.toContain('inspect the hidden field');
    const calls = fake.calls('sts:AssumeRoleWithWebIdentity').length;
    console.log(`sts-init vs STS ${mode}: ${calls} calls in its 3 s deadline (${calls * 20}/min bound), exit ${out.code}`);
  });

  it.each(['expired', 'year-9999', 'empty', 'truncated', 'echo', 'huge'] as const)('STS %s: a running refresher keeps the good credentials and counts the failures', async (mode) => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    fake.state.stsLifetimeSeconds = 20;
    try {
      const env = await irsaEnv(fake, work);
      expect((await stsInit(['--dir', dir, '--margin', '2s'], env)).code).toBe(0);
      const good = await readStored(dir);
      const r = await startRefresher(['--dir', dir, '--margin', '2s', '--refresh-fraction', '0.1'], env);
      running.push(r);
      fake.faults.set('sts', { mode });
      const since = Date.now();
      const failures = await waitFor('three failed refreshes', async () => {
        const text = (await r.get('/metrics')).body;
        const n = text.split('\n').filter((l) => l.startsWith('cred_refresher_refresh_total{kind="sts",result="failure"')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
        return n >= 3 ? text : undefined;
      }, 30_000, 100);
      const elapsedMin = (Date.now() - since) / 60_000;
      expect((await readStored(dir)).AccessKeyId).toBe(good.AccessKeyId);
      expect(metric(failures, 'cred_refresher_refresh_total{kind="sts",result="success",reason="none"}')).toBe(0);
      const reasons = failures.split('\n').filter((l) => l.startsWith('cred_refresher_refresh_total{') && l.includes('result="failure"')).map((l) => /reason="([^"]+)"/.exec(l)![1]);
      if (mode === 'expired' || mode === 'year-9999') expect(reasons).toEqual(['invalid_expiry']);
      if (mode === 'truncated' || mode === 'huge') expect(reasons).toEqual(['invalid_response']);
      // Measured from the Date of each STS answer, errors included.
      // (An answer refused before anything reads it has no Date to measure.)
      if (mode !== 'huge') expect(failures).toMatch(/^cred_refresher_clock_skew_seconds -?\d/m);
      const calls = fake.calls('sts:AssumeRoleWithWebIdentity').length - 1;
      console.log(`cred-refresher vs STS ${mode}: reasons ${reasons.join(',')}; ${calls} calls in ${(elapsedMin * 60).toFixed(1)} s`);
      expect(r.logs()).not.toContain((await readFile(env.AWS_WEB_IDENTITY_TOKEN_FILE!, 'utf8')).trim().slice(0, 40));
    } finally {
      fake.state.stsLifetimeSeconds = 3600;
    }
  });

  it('ECR expired (2015, as moto): the helper refuses it and keeps the still-valid cached token', async () => {
    const work = await workDir('fc-');
    const env = await irsaEnv(fake, work, { AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'stderr' });
    const first = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(first.code, first.stdout).toBe(0);
    const cacheBefore = await readFile(join(work, 'ecr', 'cache.json'), 'utf8');
    // Make the cached token due for refresh (requested 13 h ago: past half its life) but still valid, then answer hostile.
    const cache = JSON.parse(cacheBefore) as { Registries: Record<string, { RequestedAt: string }> };
    for (const e of Object.values(cache.Registries)) e.RequestedAt = new Date(Date.now() - 13 * 3_600_000).toISOString();
    await writeFile(join(work, 'ecr', 'cache.json'), JSON.stringify(cache));
    fake.faults.set('ecr', { mode: 'expired' });
    const second = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).Secret).toBe(JSON.parse(first.stdout).Secret);
    expect(second.stderr).toContain('is already past');
    expect(await readFile(join(work, 'ecr', 'cache.json'), 'utf8')).toBe(JSON.stringify(cache));
  });
});

describe('answers over the size limit are refused before parsing (invalid_response), whatever sent them', () => {
  it('ECR answering 50 MB: the helper fails in one line and caches nothing', async () => {
    const work = await workDir('fc-');
    const env = await irsaEnv(fake, work, { AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'stderr' });
    fake.faults.set('ecr', { mode: 'huge' });
    const out = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('credentials not found in native keychain\n');
    expect(out.stderr).toContain('answered more than 65536 bytes; refused before parsing');
    expect(existsSync(join(work, 'ecr', 'cache.json'))).toBe(false);
  });

  it('STS GetCallerIdentity answering 50 MB (Pod Identity, whose principal it asks): sts-init fails, reason invalid_response, writes nothing', async () => {
    const work = await workDir('fc-');
    const endpoint = createServer((_req, res) => {
      const c = fake.issueCredentials({ roleArn: 'arn:aws:iam::123456789012:role/registry-pod-identity', sessionName: 'eks-pod' });
      res.end(JSON.stringify({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: new Date(c.expiresAt).toISOString() }));
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const env = cleanEnv({ ...fake.endpointEnv(), HOME: work, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/creds` });
      fake.faults.set('sts', { mode: 'huge' });
      const out = await stsInit(['--dir', join(work, 'creds'), '--timeout', '2s'], env);
      expect(out.code).toBe(1);
      expect(fake.calls('sts:GetCallerIdentity').length).toBeGreaterThan(0);
      const reasons = new Set(out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { reason?: string }).reason).filter(Boolean));
      expect([...reasons]).toEqual(['invalid_response']);
      expect(existsSync(join(work, 'creds', 'credentials.json'))).toBe(false);
    } finally {
      endpoint.close();
    }
  });

  it('the container credentials endpoint answering 50 MB: sts-init fails, reason invalid_response, writes nothing', async () => {
    const work = await workDir('fc-');
    const huge = Buffer.alloc(50 * 1024 * 1024, 0x20);
    const server = createServer((_req, res) => {
      // Chunked, no Content-Length: the size shows only by reading.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"AccessKeyId":"AKIA');
      res.write(huge);
      res.end('","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"}');
      res.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const env = cleanEnv({ ...fake.endpointEnv(), HOME: work, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds` });
      // The SDK's container provider retries 3 times itself (about 3.5 s) before sts-init sees its failure.
      const out = await stsInit(['--dir', join(work, 'creds'), '--timeout', '8s'], env);
      expect(out.code).toBe(1);
      const reasons = new Set(out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { reason?: string }).reason).filter(Boolean));
      expect(reasons).toContain('invalid_response');
      expect([...reasons].filter((r) => r !== 'invalid_response' && r !== 'timeout')).toEqual([]);
      expect(out.stderr).toContain('answered more than 65536 bytes; refused before parsing');
      expect(existsSync(join(work, 'creds', 'credentials.json'))).toBe(false);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('failure reasons by the kind of error (issue 10: a reset was counted as timeout)', () => {
  /** A server that accepts and at once resets every connection (SO_LINGER 0). */
  async function resetter() {
    const { createServer: createTcp } = await import('node:net');
    const server = createTcp((socket) => socket.once('data', () => socket.resetAndDestroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }

  it.each([
    ['connection_refused', async () => ({ url: 'http://127.0.0.1:1', close: () => {} })],
    ['connection_reset', resetter],
    ['dns', async () => ({ url: 'http://sts.no-such-host.invalid', close: () => {} })],
  ] as const)('%s', async (reason, endpoint) => {
    const work = await workDir('fc-');
    const server = await endpoint();
    try {
      const env = await irsaEnv(fake, work, { AWS_ENDPOINT_URL_STS: server.url });
      const out = await stsInit(['--dir', join(work, 'creds'), '--timeout', '1s'], env);
      expect(out.code).toBe(1);
      const reasons = new Set(out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { reason?: string }).reason));
      expect([...reasons]).toEqual([reason]);
    } finally {
      server.close();
    }
  });
});

describe('deadlines hold on blocked files', () => {
  const fifo = (path: string) => execFileSync('mkfifo', [path]);

  it('a FIFO as the web identity token file: sts-init fails at once with one line, permanent', async () => {
    const work = await workDir('fc-');
    const env = await irsaEnv(fake, work);
    await import('node:fs/promises').then((fs) => fs.rm(env.AWS_WEB_IDENTITY_TOKEN_FILE!));
    fifo(env.AWS_WEB_IDENTITY_TOKEN_FILE!);
    const out = await stsInit(['--dir', join(work, 'creds')], env);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('is a FIFO, not a regular file');
  });

  it('a profile credential_process that hangs is killed when the helper gives up at its deadline, not left orphaned', async () => {
    const work = await workDir('fc-');
    const pidFile = join(work, 'pid');
    const script = join(work, 'hang.sh');
    await writeFile(script, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 1000\n`, { mode: 0o755 });
    await writeFile(join(work, 'aws-config'), `[default]\ncredential_process = ${script}\nregion = us-east-1\n`);
    const out = await runExe(['get'], {
      env: cleanEnv({ ...fake.endpointEnv(), AWS_CONFIG_FILE: join(work, 'aws-config'), AWS_EC2_METADATA_DISABLED: 'true', AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'stderr', ECR_LOGIN_TIMEOUT: '1s' }),
      stdin: ECR_HOST,
      file: exePath,
    });
    expect(out.stdout).toBe('credentials not found in native keychain\n');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    // Gone, or a zombie waiting for init to reap it: either way no longer running.
    await waitFor('the credential_process to be gone', async () => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
      return stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? true : undefined;
    }, 5000);
  });

  it('a full disk: sts-init fails in one line that names the file it could not write (ENOSPC), nothing left behind', async () => {
    const work = await workDir('fc-');
    const mount = join(work, 'vol');
    await mkdir(mount);
    const dir = join(mount, 'aws');
    const env = await irsaEnv(fake, work);
    // A 64 KiB tmpfs filled up, in a private mount namespace: gone with the process.
    const script = `mount -t tmpfs -o size=64k tmpfs ${mount} && (dd if=/dev/zero of=${mount}/fill bs=4096 2>/dev/null; true) && ` +
      `${STS_INIT} --dir ${dir}; echo "exit $?"; ls -A ${dir}`;
    const out = await runExe(['-m', '/bin/sh', '-c', script], { env, file: '/usr/bin/unshare' });
    const lines = out.stdout.trim().split("\n");
    expect(lines[0]).not.toBe('exit 0');
    expect(lines.slice(1)).toEqual([]);
    // A local environment error (exit 2: only more space fixes it), naming the file, not a redacted path.
    expect(out.stderr.trim().split('\n').pop()).toBe(`sts-init: local environment: write ${JSON.stringify(join(dir, 'credentials.json'))} failed with ENOSPC`);
    expect(lines[0]).toBe('exit 2');
  });

  it('a FIFO where sts-init writes credentials.json: exit 2 (a path to fix), one line saying what to do, FIFO untouched', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    await mkdir(dir, { mode: 0o700 });
    fifo(join(dir, 'credentials.json'));
    const out = await stsInit(['--dir', dir], await irsaEnv(fake, work));
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n').pop()).toBe(`sts-init: file ${join(dir, 'credentials.json')} is a FIFO, not a regular file; remove it or point the setting at another path`);
    expect((await stat(join(dir, 'credentials.json'))).isFIFO()).toBe(true);
  });

  it('a FIFO as credentials.json: credential-process fails with one line', async () => {
    const work = await workDir('fc-');
    fifo(join(work, 'credentials.json'));
    const out = await credentialProcess(work, '2s');
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(`credential-process: credentials.json ${join(work, 'credentials.json')} is a FIFO, not a regular file; remove it or point the setting at another path\n`);
  });

  it('FIFOs as cache.json and as the log file: the helper still answers from ECR', async () => {
    const work = await workDir('fc-');
    await mkdir(join(work, 'ecr', 'log'), { recursive: true });
    fifo(join(work, 'ecr', 'cache.json'));
    fifo(join(work, 'ecr', 'log', 'ecr-login.log'));
    const env = await irsaEnv(fake, work, { AWS_ECR_CACHE_DIR: join(work, 'ecr') });
    const out = await runExe(['get'], { env, stdin: ECR_HOST, file: exePath });
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).Username).toBe('AWS');
    expect((await stat(join(work, 'ecr', 'cache.json'))).isFIFO()).toBe(true);
  });
});

describe('a token in hand is answered', () => {
  it('100 simultaneous cold gets on one cache: every caller gets credentials', async () => {
    const work = await workDir('fc-');
    const env = await irsaEnv(fake, work, { AWS_ECR_CACHE_DIR: join(work, 'ecr'), ECR_LOGIN_LOG: 'off' });
    const outs = await Promise.all(Array.from({ length: 100 }, () => runExe(['get'], { env, stdin: ECR_HOST, file: exePath })));
    const failed = outs.filter((o) => o.code !== 0);
    expect(failed.map((o) => o.stdout)).toEqual([]);
    expect(existsSync(join(work, 'ecr', 'cache.json.lock'))).toBe(false);
    expect((await readdir(join(work, 'ecr'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    console.log(`100 cold gets: ${outs.length - failed.length} answered, ${fake.calls('ecr:GetAuthorizationToken').length} ECR calls`);
  }, 180_000);
});

describe('no debugger on demand', () => {
  const portOpen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });

  it('kill -USR1 opens no inspector and does not kill the refresher; NODE_OPTIONS=--inspect is ignored', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    expect((await stsInit(['--dir', dir], env)).code).toBe(0);
    const r = await startRefresher(['--dir', dir], { ...env, NODE_OPTIONS: '--inspect=127.0.0.1:9339' });
    running.push(r);
    expect(await portOpen(9339)).toBe(false);
    r.child.kill('SIGUSR1');
    // The signal is handled once /healthz answers again after it; then nothing may listen on 9229.
    await waitFor('healthz after SIGUSR1', async () => ((await r.get('/healthz')).status === 200 ? true : undefined));
    expect(await portOpen(9229)).toBe(false);
    expect(r.child.exitCode).toBe(null);
    expect(r.logs()).not.toContain('Debugger listening');
  });

  it('SIGHUP stops the refresher as SIGTERM does: orderly, exit 0', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    expect((await stsInit(['--dir', dir], env)).code).toBe(0);
    const r = await startRefresher(['--dir', dir], env);
    r.child.kill('SIGHUP');
    expect(await r.exited).toEqual({ code: 0, signal: null });
    expect(r.logs()).toContain('"signal":"SIGHUP"');
  });
});

describe('writes', () => {
  it('a FIFO as ecr/cache.json: sts-init does not report "ECR token cached" nor exit 0; exit 2, the last line naming the file', async () => {
    const root = await workDir('fc-fifo-');
    const dir = join(root, 'aws');
    await mkdir(join(dir, 'ecr'), { recursive: true, mode: 0o700 });
    execFileSync('mkfifo', ['-m', '0600', join(dir, 'ecr', 'cache.json')]);
    const env = await irsaEnv(fake, root, { CREDENTIALS_DIR: dir, PREFLIGHT: 'off', ECR_REGISTRIES: ECR_HOST, ECR_LOGIN_CACHE_IDENTITY: SOURCE_ROLE, AWS_EC2_METADATA_DISABLED: 'true' });
    const out = await stsInit([], env);
    const msgs = out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).not.toContain('ECR token cached');
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n').pop()).toMatch(new RegExp(`^sts-init: .*${join(dir, 'ecr', 'cache.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is a FIFO`));
  });

  it('refuses to replace a device node given as the container token file, and leaves it a device', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    expect((await stsInit(['--dir', dir], env)).code).toBe(0);
    const device = join(work, 'full');
    execFileSync('mknod', [device, 'c', '1', '7']);
    const child = spawn(exePath, ['cred-refresher', '--dir', dir, '--listen', '127.0.0.1:0', '--container-credentials-listen', '127.0.0.1:0', '--container-credentials-token-file', device], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toContain('is a character device, not a regular file');
    expect((await stat(device)).isCharacterDevice()).toBe(true);
  });

  it('under umask 077 --file-mode 0640 still gives 0750 directories, so the registry\'s group can read', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work, { ECR_REGISTRIES: ECR_HOST });
    const out = await runExe(['-c', `umask 077; exec ${exePath} sts-init --dir ${dir} --file-mode 0640`], { env, file: '/bin/sh' });
    expect(out.code, out.stderr).toBe(0);
    expect((await stat(dir)).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'ecr'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o640);
  });

  it('a credentials directory writable by others is refused: exit 2, one line', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    await mkdir(dir);
    await chmod(dir, 0o777);
    const out = await stsInit(['--dir', dir], await irsaEnv(fake, work));
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(`sts-init: credentials directory ${dir} is writable by others (mode 777); chmod go-w it or use another directory\n`);
  });

  it('temp files a kill -9 left (credentials, profiles, container token, ECR cache) are removed at start', async () => {
    const work = await workDir('fc-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    expect((await stsInit(['--dir', dir], env)).code).toBe(0);
    await mkdir(join(dir, 'ecr'), { recursive: true });
    const leftovers = [
      join(dir, '.credentials.json.123.0a1b2c3d.tmp'), join(dir, '.aws-config.123.0a1b2c3d.tmp'),
      join(dir, '.container-token.123.0a1b2c3d.tmp'), join(dir, 'ecr', '.cache.json.123.0a1b2c3d.tmp'),
    ];
    const old = new Date(Date.now() - 3_600_000);
    for (const path of leftovers) {
      await writeFile(path, 'secret');
      await utimes(path, old, old);
    }
    const r = await startRefresher(['--dir', dir], env);
    running.push(r);
    await waitFor('the leftovers gone', async () => (leftovers.every((p) => !existsSync(p)) ? true : undefined), 10_000);
  });
});
