/**
 * The built executable, run as the registry runs it (`docker-credential-ecr-login get`, host on stdin), against a
 * local STS/ECR over real HTTP with the real AWS SDK inside. Each behaviour the helper promises beyond v0.12.0 is here.
 */
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, exePath, requireBuilt, runExe } from '../support/exe.js';

const HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const NOT_FOUND = 'credentials not found in native keychain\n';
const ROLE = 'arn:aws:iam::123456789012:role/registry';
let fake: FakeAws;
let work: string;

beforeAll(async () => {
  requireBuilt();
  fake = await startFakeAws({ staticKeys: ['AKIASTATICEXAMPLE'] });
  work = await mkdtemp(join(tmpdir(), 'helper-it-'));
  await chmod(work, 0o755);
});
afterAll(async () => fake?.stop());
beforeEach(() => {
  fake.faults.clear();
  fake.resetCalls();
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(work, 'case-'));
  await chmod(dir, 0o777);
  return dir;
}

/** IRSA as the EKS webhook sets it up: role ARN and a projected token file. */
async function irsaEnv(dir: string, extra: Record<string, string> = {}) {
  const tokenFile = join(dir, 'token');
  await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry:docker-registry' });
  await chmod(tokenFile, 0o644);
  return cleanEnv({
    ...fake.endpointEnv(),
    AWS_REGION: 'us-west-2',
    AWS_ROLE_ARN: ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ECR_CACHE_DIR: join(dir, 'ecr'),
    ...extra,
  });
}

function staticEnv(dir: string, extra: Record<string, string> = {}) {
  return cleanEnv({
    ...fake.endpointEnv(),
    AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'static-secret-value-not-for-logs',
    AWS_ECR_CACHE_DIR: join(dir, 'ecr'),
    ...extra,
  });
}

function parseAnswer(stdout: string) {
  return JSON.parse(stdout) as { ServerURL: string; Username: string; Secret: string };
}

describe('docker-credential-ecr-login get (built executable)', () => {
  it('prints the ECR credentials for a private registry', async () => {
    const dir = await freshDir();
    const out = await runExe(['get'], { env: staticEnv(dir), stdin: HOST });
    expect(out.code).toBe(0);
    const answer = parseAnswer(out.stdout);
    expect(answer).toMatchObject({ ServerURL: HOST, Username: 'AWS' });
    expect(fake.validEcrPasswords()).toContain(answer.Secret);
    expect(out.stdout.endsWith('}\n')).toBe(true);
  });

  it('prints ECR Public credentials from us-east-1', async () => {
    const dir = await freshDir();
    const out = await runExe(['get'], { env: staticEnv(dir), stdin: 'public.ecr.aws' });
    expect(out.code).toBe(0);
    expect(parseAnswer(out.stdout).Username).toBe('AWS');
    expect(fake.calls('ecr-public:GetAuthorizationToken')).toHaveLength(1);
  });

  it('under IRSA, a second get is a cache hit with no network call at all', async () => {
    const dir = await freshDir();
    const env = await irsaEnv(dir);
    const first = await runExe(['get'], { env, stdin: HOST });
    expect(first.code).toBe(0);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity')).toHaveLength(1);
    expect(fake.calls('ecr:GetAuthorizationToken')).toHaveLength(1);
    fake.resetCalls();
    const second = await runExe(['get'], { env, stdin: HOST });
    expect(second.stdout).toBe(first.stdout);
    expect(fake.counts()).toEqual({});
  });

  it('with static keys too, a cache hit makes no call', async () => {
    const dir = await freshDir();
    const env = staticEnv(dir);
    await runExe(['get'], { env, stdin: HOST });
    fake.resetCalls();
    expect((await runExe(['get'], { env, stdin: HOST })).code).toBe(0);
    expect(fake.counts()).toEqual({});
  });

  it('answers 50 concurrent gets on one cache directory; the cache keeps every entry, every run is counted, no temp file', async () => {
    const dir = await freshDir();
    // 50 cold starts on 2 cores take a while; the deadline is not what this test is about.
    const env = staticEnv(dir, { ECR_LOGIN_TIMEOUT: '120s' });
    const hosts = Array.from({ length: 50 }, (_, i) => `${String(100000000000 + i)}.dkr.ecr.us-west-2.amazonaws.com`);
    const results = await Promise.all(hosts.map((host) => runExe(['get'], { env, stdin: host })));
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    const cache = JSON.parse(await readFile(join(dir, 'ecr', 'cache.json'), 'utf8'));
    expect(Object.keys(cache.Registries)).toHaveLength(50);
    expect((await readdir(join(dir, 'ecr'))).sort()).toEqual(['cache.json', 'helper-runs', 'log']);
    // One outcome byte per run ('e': fetched from ECR), none lost to the 50 concurrent appends; mode exactly 0600.
    expect(await readFile(join(dir, 'ecr', 'helper-runs'), 'latin1')).toBe('e'.repeat(50));
    expect((await stat(join(dir, 'ecr', 'helper-runs'))).mode & 0o7777).toBe(0o600);
  });

  it('counting runs never fails a get: helper-runs as a FIFO, a symbolic link, a directory or a full file', async () => {
    const dir = await freshDir();
    const env = staticEnv(dir);
    expect((await runExe(['get'], { env, stdin: HOST })).code).toBe(0); // creates ecr/ and counts one run
    const runs = join(dir, 'ecr', 'helper-runs');
    const target = join(dir, 'elsewhere');
    await writeFile(target, '');
    const blockers: Array<[string, () => Promise<void>]> = [
      ['a FIFO with no reader', async () => void execFileSync('mkfifo', [runs])],
      ['a symbolic link', async () => symlink(target, runs)],
      ['a directory', async () => mkdir(runs)],
      ['a full file', async () => writeFile(runs, 'c'.repeat(64 * 1024), { mode: 0o600 })],
    ];
    for (const [what, block] of blockers) {
      await rm(runs, { recursive: true, force: true });
      await block();
      const out = await runExe(['get'], { env, stdin: HOST });
      expect(out.code, what).toBe(0);
      expect(parseAnswer(out.stdout).Username, what).toBe('AWS');
    }
    expect(await readFile(target, 'utf8')).toBe(''); // the link was not followed
    expect((await stat(runs)).size).toBe(64 * 1024); // the full file did not grow
  });

  it('never hangs: a slow ECR ends at ECR_LOGIN_TIMEOUT with not-found and exit 1', async () => {
    const dir = await freshDir();
    fake.faults.set('ecr', { mode: 'slow', delayMs: 60_000 });
    const out = await runExe(['get'], { env: staticEnv(dir, { ECR_LOGIN_TIMEOUT: '1s' }), stdin: HOST });
    expect(out).toMatchObject({ code: 1, stdout: NOT_FOUND });
  });

  it('retries throttling and 5xx inside the deadline', async () => {
    const dir = await freshDir();
    fake.faults.set('ecr', { mode: 'throttle', count: 2 });
    const throttled = await runExe(['get'], { env: staticEnv(dir), stdin: HOST });
    expect(throttled.code).toBe(0);
    expect(fake.calls('ecr:GetAuthorizationToken').length).toBeGreaterThanOrEqual(3);

    const dir2 = await freshDir();
    fake.faults.set('ecr', { mode: '5xx', count: 2 });
    expect((await runExe(['get'], { env: staticEnv(dir2), stdin: HOST })).code).toBe(0);
  });

  it('ECR_LOGIN_ALLOWED_REGISTRIES: other registries are not found, with no AWS call', async () => {
    const dir = await freshDir();
    const env = staticEnv(dir, { ECR_LOGIN_ALLOWED_REGISTRIES: '210987654321,public' });
    expect(await runExe(['get'], { env, stdin: HOST })).toMatchObject({ code: 1, stdout: NOT_FOUND });
    expect(await runExe(['get'], { env, stdin: '210987654321.dkr.ecr.us-west-2.amazonaws.com' })).toMatchObject({ code: 0 });
    fake.resetCalls();
    expect(await runExe(['get'], { env, stdin: HOST })).toMatchObject({ code: 1, stdout: NOT_FOUND });
    expect(fake.counts()).toEqual({});
  });

  it('hosts that are not ECR get not-found without any AWS call', async () => {
    const dir = await freshDir();
    for (const host of ['registry-1.docker.io', `${HOST}.evil.example`]) {
      expect(await runExe(['get'], { env: staticEnv(dir), stdin: host })).toMatchObject({ code: 1, stdout: NOT_FOUND });
    }
    expect(fake.counts()).toEqual({});
  });

  it('a bad setting is a one-line error naming the variable, exit 1', async () => {
    const dir = await freshDir();
    const out = await runExe(['get'], { env: staticEnv(dir, { ECR_LOGIN_TIMEOUT: 'soon' }), stdin: HOST });
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^ECR_LOGIN_TIMEOUT: "soon" is not a duration[^\n]*\n$/);
  });

  it('as uid 1000 with HOME unset and nothing writable: answers without a cache, logs to stderr', async () => {
    // The checkout may sit in a directory uid 1000 cannot enter (mktemp -d is 0700): run a copy from ours.
    const file = join(work, 'docker-credential-ecr-login');
    await copyFile(exePath, file);
    await chmod(file, 0o755);
    const env = staticEnv('/nonexistent');
    delete env.AWS_ECR_CACHE_DIR;
    const out = await runExe(['get'], { env, stdin: HOST, uid: 1000, file });
    expect(out.code).toBe(0);
    expect(parseAnswer(out.stdout).Username).toBe('AWS');

    // A root-owned directory stands in for a read-only root filesystem: uid 1000 can create nothing in it.
    const readOnly = await mkdtemp(join(work, 'ro-'));
    await chmod(readOnly, 0o755);
    const unwritable = await runExe(['get'], { env: staticEnv(readOnly), stdin: HOST, uid: 1000, file });
    expect(unwritable.code).toBe(0);
    expect(unwritable.stderr).toMatch(/"level":"warn".*could not write the token cache/);
  });

  it('logs are JSON lines and never contain a token, a secret key or a session token', async () => {
    const dir = await freshDir();
    const env = await irsaEnv(dir, { ECR_LOGIN_LOG_LEVEL: 'debug' });
    const out = await runExe(['get'], { env, stdin: HOST });
    fake.faults.set('ecr', { mode: '5xx' });
    await runExe(['get'], { env: { ...env, AWS_ECR_DISABLE_CACHE: '1', ECR_LOGIN_LOG: join(dir, 'ecr', 'log', 'ecr-login.log') }, stdin: HOST });
    const log = await readFile(join(dir, 'ecr', 'log', 'ecr-login.log'), 'utf8');
    const lines = log.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const secrets = [
      parseAnswer(out.stdout).Secret,
      ...fake.validEcrTokens().flatMap((t) => [t.password, Buffer.from(`AWS:${t.password}`).toString('base64')]),
      ...fake.issuedCredentials().flatMap((c) => [c.secretAccessKey, c.sessionToken]),
    ];
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of secrets) expect(log).not.toContain(secret);
  });

  it('serves a cached token when the refresh fails, until it really expires', async () => {
    const dir = await freshDir();
    const env = staticEnv(dir);
    const first = await runExe(['get'], { env, stdin: HOST });
    // Age the cached entry past its half-life, as six hours would.
    const path = join(dir, 'ecr', 'cache.json');
    const cache = JSON.parse(await readFile(path, 'utf8'));
    for (const entry of Object.values<{ RequestedAt: string }>(cache.Registries)) entry.RequestedAt = new Date(Date.now() - 7 * 3_600_000).toISOString();
    await writeFile(path, JSON.stringify(cache));
    fake.faults.set('ecr', { mode: '5xx' });
    const stale = await runExe(['get'], { env, stdin: HOST });
    expect(stale).toMatchObject({ code: 0, stdout: first.stdout });
    expect(fake.calls('ecr:GetAuthorizationToken').length).toBeGreaterThan(0);
  });
});

describe('the other verbs (built executable)', () => {
  it('store/erase, list, version, usage', async () => {
    const dir = await freshDir();
    const env = staticEnv(dir);
    expect(await runExe(['store'], { env, stdin: '{"ServerURL":"x","Username":"u","Secret":"s"}' })).toMatchObject({ code: 1, stdout: 'not implemented\n' });
    expect(await runExe(['erase'], { env: { ...env, AWS_ECR_IGNORE_CREDS_STORAGE: 'true' }, stdin: HOST })).toMatchObject({ code: 0, stdout: '' });
    await runExe(['get'], { env, stdin: HOST });
    // As v0.12.0: ECR Public (and, with a region, the caller's default registry) is fetched first, then the cache listed.
    expect(await runExe(['list'], { env })).toMatchObject({ code: 0, stdout: `{"https://${HOST}":"AWS","https://public.ecr.aws":"AWS"}\n` });
    expect((await runExe(['version'], { env })).stdout).toBe('docker-credential-ecr-login (github.com/awslabs/amazon-ecr-credential-helper/ecr-login) 0.12.0\n');
    expect(await runExe([], { env })).toMatchObject({ code: 1, stdout: 'Usage: docker-credential-ecr-login <store|get|erase|list|version>\n' });
  });
});

describe('what the executable reads at start (built executable)', () => {
  it('ignores .env in its working directory: only the environment it was given counts', async () => {
    const dir = await freshDir();
    // A compiled Bun program loads .env by default; AWS_ECR_IGNORE_CREDS_STORAGE=true would turn `store` into exit 0.
    await writeFile(join(dir, '.env'), 'AWS_ECR_IGNORE_CREDS_STORAGE=true\n');
    const out = await runExe(['store'], { env: staticEnv(dir), cwd: dir, stdin: '{"ServerURL":"x","Username":"u","Secret":"s"}' });
    expect(out).toMatchObject({ code: 1, stdout: 'not implemented\n' });
  });

  it('ignores bunfig.toml in its working directory: it cannot preload code into the helper', async () => {
    // A compiled Bun program reads bunfig.toml by default, and its `preload` runs before our code.
    const dir = await freshDir();
    const marker = join(dir, 'preloaded');
    await writeFile(join(dir, 'preload.js'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
    await writeFile(join(dir, 'bunfig.toml'), 'preload = ["./preload.js"]\n');
    const out = await runExe(['get'], { env: staticEnv(dir), cwd: dir, stdin: HOST });
    expect(out.code, out.stderr).toBe(0);
    expect(parseAnswer(out.stdout)).toMatchObject({ ServerURL: HOST, Username: 'AWS' });
    expect(await readdir(dir)).not.toContain('preloaded');
  });
});
