/**
 * The credential flows against a second AWS implementation, moto's server (issue 9, "Two AWS implementations"):
 * its STS answers AssumeRoleWithWebIdentity with real-looking sessions, and its ECR answers GetAuthorizationToken
 * with an `expiresAt` in 2015, exactly the odd but real answer the code must survive: sts-init writes the STS
 * credentials and names their principal, refuses to cache the 2015 token; the helper never replaces a still-valid
 * cached token with it; cred-refresher never turns ready on it and counts every refusal, with bounded calls.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, exePath, requireBuilt, runExe } from '../support/exe.js';
import { startMoto, type MotoProcess } from '../support/registry-process.js';
import { requireTools } from '../support/tools.js';
import { metric, readStored, startRefresher, stsInit, waitFor, workDir, type RunningRefresher } from '../integration/sts-init-support.js';

const ROLE = 'arn:aws:iam::123456789012:role/registry';
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
let moto: MotoProcess;
const running: RunningRefresher[] = [];

beforeAll(async () => {
  requireTools('motoServer');
  requireBuilt();
  moto = await startMoto();
});
afterAll(async () => moto?.stop());
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
});

async function motoEnv(work: string, extra: Record<string, string> = {}) {
  const tokenFile = join(work, 'token');
  // moto does not verify the web identity token; any JWT-shaped text is accepted.
  await writeFile(tokenFile, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cmVnaXN0cnk6ZG9ja2VyLXJlZ2lzdHJ5In0.');
  return cleanEnv({
    HOME: work,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_STS: moto.url,
    AWS_ENDPOINT_URL_ECR: moto.url,
    AWS_ROLE_ARN: ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    ECR_LOGIN_CACHE_IDENTITY: 'moto-test',
    REFRESH_FLOOR: '200ms',
    ...extra,
  });
}

describe('against moto', () => {
  it('sts-init: writes moto\'s STS credentials with their principal, refuses to cache the 2015 ECR token', async () => {
    const work = await workDir('moto-');
    const dir = join(work, 'creds');
    const out = await stsInit(['--dir', dir, '--timeout', '4s', '--ecr-registries', HOST], await motoEnv(work));
    expect(out.code, out.stderr).toBe(0);
    const stored = await readStored(dir);
    expect(stored.Principal).toMatch(/^arn:aws:sts::123456789012:assumed-role\/registry\//);
    expect(out.stderr).toContain('"reason":"invalid_expiry"');
    expect(out.stderr).toContain('expiry 2015-01-01T00:00:00.000Z is already past');
    const cache = existsSync(join(dir, 'ecr', 'cache.json')) ? await readFile(join(dir, 'ecr', 'cache.json'), 'utf8') : '{}';
    expect(cache).not.toContain('2015-');
    console.log(`principal logged (moto): ${stored.Principal}`);
  });

  it('the helper keeps a still-valid cached token rather than moto\'s 2015 one, and answers not-found without one', async () => {
    const work = await workDir('moto-');
    const cacheDir = join(work, 'ecr');
    const env = await motoEnv(work, { AWS_ECR_CACHE_DIR: cacheDir, ECR_LOGIN_LOG: 'stderr' });
    const cold = await runExe(['get'], { env, stdin: HOST, file: exePath });
    expect(cold.stdout).toBe('credentials not found in native keychain\n');
    expect(cold.stderr).toContain('is already past');
    expect(existsSync(join(cacheDir, 'cache.json'))).toBe(false);

    // A good token from before, due for refresh but still valid for 5 h.
    const { cacheKey, parseEcrRegistry } = await import('../../packages/credential-helper/src/index.js');
    const good = {
      AuthorizationToken: Buffer.from('AWS:still-good').toString('base64'),
      RequestedAt: new Date(Date.now() - 7 * 3_600_000).toISOString(),
      ExpiresAt: new Date(Date.now() + 5 * 3_600_000).toISOString(),
      ProxyEndpoint: `https://${HOST}`,
      Service: 'ecr',
    };
    await mkdir(cacheDir, { recursive: true });
    const file = JSON.stringify({ Registries: { [cacheKey('moto-test', parseEcrRegistry(HOST)!)]: good }, Version: '1.0' });
    await writeFile(join(cacheDir, 'cache.json'), file);
    const warm = await runExe(['get'], { env, stdin: HOST, file: exePath });
    expect(warm.code, warm.stderr).toBe(0);
    expect(JSON.parse(warm.stdout).Secret).toBe('still-good');
    expect(await readFile(join(cacheDir, 'cache.json'), 'utf8')).toBe(file);
  });

  it('cred-refresher: STS refreshes succeed, the 2015 ECR token never makes it ready, refusals are counted and bounded', async () => {
    const work = await workDir('moto-');
    const dir = join(work, 'creds');
    const env = await motoEnv(work, { ECR_REGISTRIES: HOST });
    expect((await stsInit(['--dir', dir, '--timeout', '2s'], env)).code).toBe(0);
    const r = await startRefresher(['--dir', dir], env);
    running.push(r);
    const since = Date.now();
    const text = await waitFor('five refused ECR tokens', async () => {
      const body = (await r.get('/metrics')).body;
      return metric(body, 'cred_refresher_refresh_total{kind="ecr",result="failure",reason="invalid_expiry"}') >= 5 ? body : undefined;
    }, 120_000, 200);
    const seconds = (Date.now() - since) / 1000;
    const ready = await r.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain(`no ECR token for ${HOST}`);
    expect(metric(text, 'cred_refresher_refresh_total{kind="ecr",result="success",reason="none"}')).toBe(0);
    expect(metric(text, `cred_refresher_principal_info{principal="${(await readStored(dir)).Principal}"}`)).toBe(1);
    expect(existsSync(join(dir, 'ecr', 'cache.json')) ? await readFile(join(dir, 'ecr', 'cache.json'), 'utf8') : '').not.toContain('2015-');
    const refused = metric(text, 'cred_refresher_refresh_total{kind="ecr",result="failure",reason="invalid_expiry"}');
    console.log(`cred-refresher vs moto ECR (2015): ${refused} refusals in ${seconds.toFixed(1)} s (main: 348 calls in 6 s)`);
  });
});
