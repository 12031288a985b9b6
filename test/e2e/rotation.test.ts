/**
 * One registry process, seconds-long credentials: STS sessions and ECR tokens rotate several times while pulls go on,
 * STS goes down for longer than a refresh period, ECR throttles, the upstream disappears. The registry is never
 * restarted; every pull that should succeed does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitFor, type Stack } from '../support/stack.js';
import { requireTools } from '../support/tools.js';
import { requireBuilt } from '../support/exe.js';

const STS_LIFETIME = 16;
const ECR_LIFETIME = 16;
const EXEC_LIFETIME_SECONDS = 3;

let stack: Stack;

/** Pulls `repo` over and over until `until()` holds; every pull must succeed. Returns how many ran. */
async function pullUntil(repo: string, until: () => boolean | Promise<boolean>, maxMs = 120_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let pulls = 0;
  while (!(await until())) {
    if (Date.now() > deadline) throw new Error(`condition not reached after ${pulls} pulls`);
    await stack.pull(repo);
    pulls++;
  }
  return pulls;
}

async function metric(name: string): Promise<string[]> {
  const text = await (await fetch(`${stack.refresher.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

beforeAll(async () => {
  requireTools();
  requireBuilt();
  stack = await startStack({
    stsLifetimeSeconds: STS_LIFETIME,
    ecrTokenLifetimeSeconds: ECR_LIFETIME,
    execLifetime: `${EXEC_LIFETIME_SECONDS}s`,
    margin: '4s',
  });
  await stack.seedImage('team/app:v1');
  await stack.seedImage('team/app:v2');
});
afterAll(async () => stack?.stop());

describe.sequential('a long-running registry with rotating credentials', () => {
  it('keeps pulling across at least 3 rotations of both STS credentials and ECR tokens, without a restart', async () => {
    const s3KeysBefore = stack.s3.counts().acceptedKeys.length;
    const passwordsBefore = stack.front.acceptedPasswords().length;
    let round = 0;
    const pulls = await pullUntil('team/app:v1', async () => {
      // A new tag now and then makes the registry fetch from upstream and write to S3 again, not only read.
      if (++round % 5 === 0) await stack.seedImage(`team/rot:r${round}`, { layers: 1, layerBytes: 64 * 1024 }).then(() => stack.pull(`team/rot:r${round}`));
      return stack.s3.counts().acceptedKeys.length >= s3KeysBefore + 3 && stack.front.acceptedPasswords().length >= passwordsBefore + 3;
    });
    expect(pulls).toBeGreaterThan(0);
    expect(stack.s3.counts().byReason.ExpiredToken).toBe(0);
    expect(stack.proxy.logs().some((l) => /panic|ExpiredToken/.test(l))).toBe(false);
    expect(await metric('cred_refresher_refresh_total{kind="sts",result="success"')).not.toEqual([]);
  });

  it('serves every pull while STS is down for longer than a refresh period, then recovers', async () => {
    // Start right after a refresh, so the credentials in place stay valid (beyond the margin) for the whole outage.
    const issued = stack.fake.issuedCredentials().length;
    await pullUntil('team/app:v1', () => stack.fake.issuedCredentials().length > issued);
    const failuresBefore = stack.fake.calls('sts:AssumeRoleWithWebIdentity').filter((c) => c.status !== 200).length;
    stack.fake.faults.set('sts', { mode: 'down' });
    const downSince = Date.now();
    // Half the lifetime is the refresh period; stay down one second past it.
    await pullUntil('team/app:v1', () => Date.now() - downSince > (STS_LIFETIME / 2 + 1) * 1000);
    const failed = stack.fake.calls('sts:AssumeRoleWithWebIdentity').filter((c) => c.status !== 200).length;
    expect(failed).toBeGreaterThan(failuresBefore);
    expect(await metric('cred_refresher_refresh_total{kind="sts",result="failure"')).not.toEqual([]);
    expect((await fetch(`${stack.refresher.url}/readyz`)).status).toBe(200);
    stack.fake.faults.clear();
    const keys = stack.s3.counts().acceptedKeys.length;
    await pullUntil('team/app:v1', () => stack.s3.counts().acceptedKeys.length > keys);
    expect(stack.s3.counts().byReason.ExpiredToken).toBe(0);
  });

  it('serves pulls from the cached ECR token while the ECR API throttles', async () => {
    stack.fake.faults.set('ecr', { mode: 'throttle' });
    const since = Date.now();
    await pullUntil('team/app:v2', () => Date.now() - since > EXEC_LIFETIME_SECONDS * 3 * 1000);
    expect(stack.fake.calls('ecr:GetAuthorizationToken').some((c) => c.status !== 200)).toBe(true);
    stack.fake.faults.clear();
  });

  it('runs the helper no more often than proxy.exec.lifetime', async () => {
    const runsOf = () => stack.helperLog().filter((l) => l.msg === 'credentials found').length;
    const before = runsOf();
    const since = Date.now();
    const pulls = await pullUntil('team/app:v1', () => Date.now() - since > EXEC_LIFETIME_SECONDS * 4 * 1000);
    const elapsed = Date.now() - since;
    const runs = runsOf() - before;
    // Every pull makes several upstream requests; with lifetime honoured the helper runs once per lifetime at most
    // (+1 for the window's edge), not once per request.
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThanOrEqual(Math.floor(elapsed / (EXEC_LIFETIME_SECONDS * 1000)) + 1);
    expect(pulls).toBeGreaterThan(runs);
  });

  it('still serves cached images when the upstream is down', async () => {
    stack.front.setDown(true);
    try {
      expect(await stack.pull('team/app:v1')).toMatch(/^sha256:/);
      const manifest = await fetch(`${stack.proxy.url}/v2/team/app/manifests/v1`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(manifest.status).toBe(200);
      expect(stack.front.counts().dropped).toBeGreaterThan(0);
    } finally {
      stack.front.setDown(false);
    }
    await waitFor('upstream back', async () => ((await stack.pull('team/app:v2')) ? true : undefined));
  });
});
