/**
 * dist/bin/cred-refresher against a local STS/ECR issuing seconds-long credentials, over real HTTP: rotation seen
 * through credential-process, an STS outage, kill -9 mid-rotation, SIGTERM, /readyz, /metrics, the container endpoint.
 * Every wait is a bounded poll for a condition; no assertion is about how long something took.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireBuilt, runExe } from '../support/exe.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import {
  credentialProcess, CRED_REFRESHER, ECR_HOST, irsaEnv, TARGET_ROLE, metric, readStored, startRefresher, stsInit, waitFor, workDir, type RunningRefresher,
} from './sts-init-support.js';

const MARGIN_MS = 2000;
let fake: FakeAws;
const running: RunningRefresher[] = [];

beforeAll(async () => {
  requireBuilt();
  fake = await startFakeAws({ stsLifetimeSeconds: 8 });
});
afterAll(async () => fake?.stop());
beforeEach(() => {
  fake.faults.clear();
  fake.resetCalls();
  fake.state.stsLifetimeSeconds = 8;
  fake.state.ecrTokenLifetimeSeconds = 43200;
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
});

async function setup(extraArgs: string[] = [], envExtra: Record<string, string> = {}) {
  const work = await workDir('refresher-');
  const dir = join(work, 'creds');
  const env = await irsaEnv(fake, work, envExtra);
  const init = await stsInit(['--dir', dir, '--margin', '2s', ...extraArgs], env);
  expect(init.code, init.stderr).toBe(0);
  return { work, dir, env };
}

async function refresher(dir: string, env: Record<string, string>, args: string[] = [], opts: { container?: boolean } = {}) {
  const r = await startRefresher(['--dir', dir, '--margin', '2s', ...args], env, opts);
  running.push(r);
  return r;
}

describe('cred-refresher', () => {
  it('an unassignable REFRESHER_LISTEN address: exit 2, one line naming the address, its setting and what to do', async () => {
    const work = await workDir('refresher-listen-');
    const env = await irsaEnv(fake, work, { CREDENTIALS_DIR: join(work, 'aws'), REFRESHER_LISTEN: '192.0.2.1:9101' });
    const out = await runExe([], { env, file: CRED_REFRESHER });
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n').at(-1)).toBe('cred-refresher: cannot listen on 192.0.2.1:9101 (--listen / REFRESHER_LISTEN): EADDRNOTAVAIL; this host has no such address; use 0.0.0.0 (every address of the pod) or one of its own');
  });

  it('rotates the credentials again and again; a consumer through credential-process always gets keys valid for the margin', async () => {
    const { dir, env } = await setup();
    const first = (await readStored(dir)).AccessKeyId;
    const r = await refresher(dir, env);
    const seen = new Set([first]);
    let answers = 0;
    await waitFor('three rotations', async () => {
      // The consumer: what the registry's SDK does whenever the Expiration it was given has passed.
      const asked = Date.now();
      const out = await credentialProcess(dir, '2s');
      expect(out.code, out.stderr).toBe(0);
      const answer = JSON.parse(out.stdout) as { AccessKeyId: string; Expiration: string };
      const issued = fake.issuedCredentials().find((c) => c.accessKeyId === answer.AccessKeyId)!;
      expect(fake.isValidKey(answer.AccessKeyId)).toBe('valid');
      expect(issued.expiresAt - asked).toBeGreaterThanOrEqual(MARGIN_MS);
      expect(Date.parse(answer.Expiration)).toBeGreaterThan(asked);
      answers++;
      seen.add((await readStored(dir)).AccessKeyId);
      return seen.size >= 4 ? true : undefined;
    }, 60_000, 100);
    expect(answers).toBeGreaterThan(3);
    const metrics = (await r.get('/metrics')).body;
    expect(metric(metrics, 'cred_refresher_refresh_total{kind="sts",result="success",reason="none"}')).toBeGreaterThanOrEqual(3);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity').length).toBeGreaterThanOrEqual(3);
  });

  it('an STS outage longer than a refresh period loses nothing: old credentials stay, ready while valid, failures counted', async () => {
    fake.state.stsLifetimeSeconds = 12;
    const { dir, env } = await setup();
    const r = await refresher(dir, env);
    // Start the outage right after a fresh rotation.
    const before = (await readStored(dir)).AccessKeyId;
    const fresh = await waitFor('a rotation', async () => {
      const s = await readStored(dir);
      return s.AccessKeyId !== before ? s : undefined;
    }, 30_000);
    fake.faults.set('sts', { mode: '5xx', status: 503 });
    const outageStart = Date.now();
    const expiry = Date.parse(fresh.Expiration);
    // Through a whole refresh period (6 s) and at least two failed attempts, nothing changes and we stay ready.
    await waitFor('failed refreshes over a refresh period', async () => {
      const now = Date.now();
      const stored = await readStored(dir);
      expect(stored.AccessKeyId).toBe(fresh.AccessKeyId);
      const ready = await r.get('/readyz');
      const metrics = (await r.get('/metrics')).body;
      if (Date.now() < expiry - MARGIN_MS - 300) expect(ready.status, ready.body).toBe(200);
      const failures = metric(metrics, 'cred_refresher_refresh_total{kind="sts",result="failure",reason="server_error"}');
      return failures >= 2 && now - outageStart > 6000 ? true : undefined;
    }, 30_000, 100);
    fake.faults.clear();
    const after = await waitFor('a rotation after the outage', async () => {
      const s = await readStored(dir);
      return s.AccessKeyId !== fresh.AccessKeyId ? s : undefined;
    }, 30_000);
    expect(fake.isValidKey(after.AccessKeyId)).toBe('valid');
    expect((await r.get('/readyz')).status).toBe(200);
  });

  it('kill -9 during rotations never leaves a torn or invalid credentials.json', async () => {
    fake.state.stsLifetimeSeconds = 3;
    const { dir, env } = await setup();
    for (let round = 0; round < 5; round++) {
      const r = await refresher(dir, env);
      const before = (await readStored(dir)).AccessKeyId;
      await waitFor('a rotation', async () => ((await readStored(dir)).AccessKeyId !== before ? true : undefined), 30_000, 5);
      // Kill at a varying point of the next write cycle.
      await new Promise((resolve) => setTimeout(resolve, round * 300));
      r.child.kill('SIGKILL');
      await r.exited;
      const raw = await readFile(join(dir, 'credentials.json'), 'utf8');
      const stored = await readStored(dir);
      expect(raw.endsWith('}\n')).toBe(true);
      expect(fake.issuedCredentials().some((c) => c.accessKeyId === stored.AccessKeyId && c.secretAccessKey === stored.SecretAccessKey)).toBe(true);
      running.splice(running.indexOf(r), 1);
    }
    // Whatever temp files the kills left (and one planted for certain) are gone once a refresher starts again.
    await writeFile(join(dir, '.credentials.json.99999.deadbeef.tmp'), '{"AccessKeyId":');
    await refresher(dir, env);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('SIGTERM while an STS call hangs: exit 0, credentials intact', async () => {
    const { dir, env } = await setup();
    const before = await readStored(dir);
    fake.faults.set('sts', { mode: 'slow', delayMs: 60_000 });
    const r = await refresher(dir, env);
    await waitFor('a hanging STS call', () => (fake.calls('sts:AssumeRoleWithWebIdentity').length > 0 ? true : undefined), 30_000);
    r.child.kill('SIGTERM');
    expect(await r.exited).toEqual({ code: 0, signal: null });
    expect((await readStored(dir)).AccessKeyId).toBe(before.AccessKeyId);
    expect(r.logs()).toContain('"msg":"stopped"');
  });

  it('SIGTERM when idle: exit 0', async () => {
    const { dir, env } = await setup();
    const r = await refresher(dir, env);
    expect((await r.get('/healthz')).status).toBe(200);
    r.child.kill('SIGTERM');
    expect(await r.exited).toEqual({ code: 0, signal: null });
  });

  it('/readyz is 503 until credentials exist; /healthz 200 throughout; /metrics has the four families', async () => {
    const work = await workDir('refresher-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work, { ECR_LOGIN_CACHE_IDENTITY: 'pod' });
    fake.faults.set('all', { mode: '5xx' });
    const r = await refresher(dir, env, ['--ecr-registries', ECR_HOST]);
    await waitFor('a failed refresh', async () => (metric((await r.get('/metrics')).body, 'cred_refresher_refresh_total{kind="sts",result="failure",reason="server_error"}') > 0 ? true : undefined));
    const notReady = await r.get('/readyz');
    expect(notReady).toEqual({ status: 503, body: `not ready: no AWS credentials; no ECR token for ${ECR_HOST}\n` });
    expect((await r.get('/healthz')).status).toBe(200);
    fake.faults.clear();
    await waitFor('ready', async () => ((await r.get('/readyz')).status === 200 ? true : undefined));
    const text = (await r.get('/metrics')).body;
    for (const family of ['credentials_expiry_seconds gauge', 'ecr_token_expiry_seconds gauge', 'refresh_total counter', 'last_refresh_timestamp_seconds gauge']) {
      expect(text).toContain(`# TYPE cred_refresher_${family}`);
    }
    expect(metric(text, 'cred_refresher_credentials_expiry_seconds')).toBeGreaterThan(2);
    expect(metric(text, `cred_refresher_ecr_token_expiry_seconds{registry="${ECR_HOST}"}`)).toBeGreaterThan(40_000);
    expect(metric(text, 'cred_refresher_refresh_total{kind="ecr",result="success",reason="none"}')).toBe(1);
    expect(metric(text, 'cred_refresher_last_refresh_timestamp_seconds{kind="sts"}')).toBeGreaterThan(1.7e9);
    const stored = await readStored(dir);
    expect(r.logs()).not.toContain(stored.SecretAccessKey);
    expect(r.logs()).not.toContain(stored.SessionToken);
  });

  it('keeps the ECR token cache warm: the helper keeps answering from the cache with no AWS call', async () => {
    fake.state.ecrTokenLifetimeSeconds = 5;
    const { dir, env } = await setup([], { ECR_LOGIN_CACHE_IDENTITY: 'pod' });
    const r = await refresher(dir, env, ['--ecr-registries', ECR_HOST]);
    await waitFor('three ECR refreshes', async () => (metric((await r.get('/metrics')).body, 'cred_refresher_refresh_total{kind="ecr",result="success",reason="none"}') >= 3 ? true : undefined), 30_000, 100);
    const tokenCalls = fake.calls('ecr:GetAuthorizationToken').length;
    const helperEnv = { PATH: env.PATH!, HOME: env.HOME!, ECR_LOGIN_CACHE_IDENTITY: 'pod', AWS_ECR_CACHE_DIR: join(dir, 'ecr'), ECR_LOGIN_LOG: 'off', ...fake.endpointEnv() };
    const got = await runExe(['get'], { env: helperEnv, stdin: ECR_HOST });
    expect(got.code, got.stdout).toBe(0);
    expect(fake.validEcrPasswords()).toContain(Buffer.from(JSON.parse(got.stdout).Secret).toString());
    // The helper's env has no AWS credentials at all: it can only have answered from the cache the refresher keeps.
    expect(fake.calls('ecr:GetAuthorizationToken').every((c) => c.accessKeyId?.startsWith('ASIA'))).toBe(true);
    expect(tokenCalls).toBeGreaterThanOrEqual(3);
  });

  it('serves the container-credentials endpoint with a token file; the AWS CLI uses it', async () => {
    const { dir, env } = await setup();
    const r = await refresher(dir, env, ['--container-credentials-listen', '127.0.0.1:0'], { container: true });
    const tokenFile = join(dir, 'container-token');
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token.length).toBeGreaterThan(30);
    expect((await import('node:fs')).statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect((await fetch(r.containerUrl!)).status).toBe(401);
    expect((await fetch(r.containerUrl!, { headers: { authorization: 'nope' } })).status).toBe(403);
    const ok = await fetch(r.containerUrl!, { headers: { authorization: token } });
    const body = (await ok.json()) as { AccessKeyId: string; Expiration: string; Token: string };
    const stored = await readStored(dir);
    expect(body.AccessKeyId).toBe(stored.AccessKeyId);
    expect(Date.parse(body.Expiration)).toBe(Date.parse(stored.Expiration) - MARGIN_MS);
    fake.resetCalls();
    const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile('aws', ['sts', 'get-caller-identity', '--output', 'json'], {
        env: { PATH: env.PATH!, HOME: env.HOME!, AWS_DEFAULT_REGION: 'us-east-1', ...fake.endpointEnv(), AWS_CONTAINER_CREDENTIALS_FULL_URI: r.containerUrl!, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile },
        encoding: 'utf8',
      }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    );
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).Arn).toMatch(/assumed-role\/registry-irsa\//);

    // sts-init's default-chain source (as with EKS Pod Identity), chained into a target role.
    const other = join(dir, '..', 'from-container');
    fake.resetCalls();
    const init = await stsInit(['--dir', other, '--target-role-arn', TARGET_ROLE, '--margin', '2s'], {
      PATH: env.PATH!, HOME: env.HOME!, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', ...fake.endpointEnv(),
      AWS_CONTAINER_CREDENTIALS_FULL_URI: r.containerUrl!, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    expect(init.code, init.stderr).toBe(0);
    expect((await readStored(other)).RoleArn).toBe(TARGET_ROLE);
    expect(fake.calls('sts:AssumeRole').map((c) => c.accessKeyId)).toEqual([stored.AccessKeyId]);
  });
});
