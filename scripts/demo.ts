/**
 * The main job: the whole keyless pull-through cache on this machine. Starts the local AWS, S3, "ECR", runs sts-init,
 * starts cred-refresher and the real registry 3.0.0 configured from chart-values/, pulls an image through the cache,
 * shows where its blobs landed and the credential refreshes it saw, tears everything down.
 *
 *   pnpm demo            ends with `demo ok: …` (or `demo failed: …` and exit 1)
 *   pnpm demo --keep     leaves the stack running and prints how to use it (Ctrl-C stops it)
 */
import { startStack, type Stack } from '../test/support/stack.js';
import { requireTools } from '../test/support/tools.js';
import { requireBuilt } from '../test/support/exe.js';

const keep = process.argv.includes('--keep');
const LIFETIME = 20; // seconds: short, so refreshes happen while you watch
const started = Date.now();
const say = (line: string) => console.log(`demo [${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

async function refreshCounts(stack: Stack): Promise<{ sts: number; ecr: number }> {
  const text = await (await fetch(`${stack.refresher.url}/metrics`)).text();
  const sum = (kind: string) =>
    text.split('\n').filter((l) => l.startsWith(`cred_refresher_refresh_total{`) && l.includes(`kind="${kind}"`) && l.includes('result="success"'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  return { sts: sum('sts'), ecr: sum('ecr') };
}

async function main(): Promise<void> {
  requireTools();
  requireBuilt();
  const stack = await startStack({ stsLifetimeSeconds: LIFETIME, ecrTokenLifetimeSeconds: LIFETIME, execLifetime: '5s', margin: '5s', progress: say });
  const stop = async () => stack.stop();
  try {
    say('pushing a sample image (3 layers) into "ECR"');
    const digest = await stack.seedImage('demo/app:v1', { layers: 3, layerBytes: 1024 * 1024 });
    say(`pulling ${stack.ecrHost}/demo/app:v1 through the cache at ${stack.proxy.url}`);
    const pulled = await stack.pull('demo/app:v1');
    if (pulled !== digest) throw new Error(`pulled ${pulled}, upstream has ${digest}`);
    say(`pulled ${pulled} (same digest as upstream)`);

    say('waiting for one refresh of the STS credentials and of the ECR token, pulling meanwhile');
    const before = await refreshCounts(stack);
    const keysBefore = stack.s3.counts().acceptedKeys.length;
    let pulls = 1;
    for (;;) {
      const now = await refreshCounts(stack);
      if (now.sts > before.sts && now.ecr > before.ecr && stack.s3.counts().acceptedKeys.length > keysBefore) break;
      if (Date.now() - started > 180_000) throw new Error('no refresh seen within 3 minutes');
      await stack.pull('demo/app:v1');
      pulls++;
    }
    const blobs = (await stack.s3Keys()).filter((k) => k.includes('/blobs/'));
    say(`blobs in S3 (s3://registry-cache/):\n${blobs.map((k) => `        ${k}`).join('\n')}`);
    const refreshes = await refreshCounts(stack);
    const helperRuns = stack.helperLog().filter((l) => l.msg === 'credentials found');
    const fromCache = helperRuns.filter((l) => l.source === 'cache').length;
    const s3 = stack.s3.counts();
    say(`credential refreshes: STS ${refreshes.sts}, ECR ${refreshes.ecr}; S3 saw ${s3.acceptedKeys.length} different session keys, rejected ${s3.rejected} requests`);
    say(`the registry ran the helper ${helperRuns.length} times, ${fromCache} answered from the cache with no AWS call`);
    if (s3.rejected > 0) throw new Error(`S3 rejected ${s3.rejected} requests`);

    if (keep) {
      console.log(`
The stack is running. Try:
  .tools/bin/crane pull --insecure ${stack.proxy.url.replace('http://', '')}/demo/app:v1 /tmp/app.tar
  curl ${stack.refresher.url}/metrics        # cred-refresher
  curl ${stack.proxy.debugUrl}/metrics       # registry
  ls -l ${stack.credsDir}                    # what sts-init and cred-refresher keep fresh
Ctrl-C stops it.`);
      await new Promise<void>((resolve) => { process.once('SIGINT', () => resolve()); process.once('SIGTERM', () => resolve()); });
    }
    await stop();
    console.log(
      `demo ok: pulled demo/app:v1 (${digest.slice(0, 19)}…) ${pulls} times through registry 3.0.0; ${blobs.length} blobs in S3; ` +
        `${refreshes.sts} STS and ${refreshes.ecr} ECR refreshes, no static keys, ${helperRuns.length - fromCache} helper runs needed AWS`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
