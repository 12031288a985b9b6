/**
 * The main job: the whole keyless pull-through cache on this machine. Starts the local AWS, S3, "ECR", runs sts-init,
 * starts cred-refresher and the real registry 3.0.0 configured from chart-values/, pulls an image through the cache,
 * shows where its blobs landed and the credential refreshes it saw; then a node (containerd 2.2.9 driven by crictl,
 * configured by node-config/'s hosts.toml) pulls by the ECR name through the cache, and again with the cache stopped,
 * falling back to "ECR" with the kubelet's credentials; tears everything down.
 *
 *   pnpm demo            ends with `demo ok: …` (or `demo failed: …` and exit 1); the node part needs root
 *   pnpm demo --keep     leaves the stack running and prints how to use it (Ctrl-C stops it)
 *   pnpm demo --no-node  without the node part (for a user who is not root)
 */
import { startStack, type Stack } from '../test/support/stack.js';
import { requireTools } from '../test/support/tools.js';
import { requireBuilt } from '../test/support/exe.js';
import { kubeletEcrAuth, nodeEnv, startNode, writeHosts } from '../test/support/node.js';

const keep = process.argv.includes('--keep');
const withNode = !process.argv.includes('--no-node');
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

/**
 * One node, two pulls by the ECR name: with the cache up (through it) and with it stopped (ECR fallback). Returns the
 * `demo ok:` line's part about them. Which path each took is read off what the cache and "ECR" saw, not assumed.
 */
async function nodePulls(stack: Stack): Promise<string> {
  const up = `${stack.ecrHost}/demo/app:v1`;
  const down = `${stack.ecrHost}/demo/app:v2`;
  say('pushing a second image (demo/app:v2) into "ECR"');
  await stack.seedImage('demo/app:v2', { layers: 3, layerBytes: 1024 * 1024 });
  say('starting a node: containerd 2.2.9, configured by node-config/daemonset/write-hosts.sh (the DaemonSet\'s script)');
  const node = await startNode('demo', nodeEnv(stack));
  try {
    const wrote = await writeHosts(node.certsDir, 'once', { ecrHosts: [stack.ecrHost], mirror: `http://localhost:${stack.proxy.port}` });
    if (wrote.code !== 0) throw new Error(`write-hosts.sh failed: ${wrote.stderr.trim()}`);
    say(`hosts.toml: ${node.certsDir}/${stack.ecrHost}/hosts.toml (mirror first, ECR as fallback)`);

    const seenBefore = stack.proxy.logs().filter((l) => l.includes('containerd/')).length;
    say(`crictl pull ${up} (no credentials: only the cache can serve it)`);
    const first = await node.pull(up);
    if (first.code !== 0) throw new Error(`node pull with the cache up failed: ${first.output}`);
    const viaCache = stack.proxy.logs().filter((l) => l.includes('containerd/')).length > seenBefore;
    if (!viaCache) throw new Error('the node pull succeeded but the cache saw no request from containerd');
    say(`pulled through the cache in ${(first.ms / 1000).toFixed(1)}s`);

    say('stopping the cache');
    await stack.proxy.stop();
    const auth = await kubeletEcrAuth(stack);
    const forwarded = stack.front.counts().forwarded;
    say(`crictl pull --auth <ECR token> ${down} (the kubelet passes its ECR credentials the same way)`);
    const second = await node.pull(down, { auth });
    if (second.code !== 0) throw new Error(`node pull with the cache down failed: ${second.output}`);
    const viaEcr = stack.front.counts().forwarded > forwarded;
    const refused = node.logs().some((l) => l.includes('trying next host') && l.includes('connection refused'));
    if (!viaEcr || !refused) throw new Error('the node pull with the cache down did not visibly fall back to ECR');
    say(`containerd: mirror refused, "trying next host"; pulled from ECR in ${(second.ms / 1000).toFixed(1)}s`);
    return `node (containerd, ECR image names): demo/app:v1 via the cache in ${(first.ms / 1000).toFixed(1)}s, ` +
      `demo/app:v2 with the cache stopped via ECR fallback in ${(second.ms / 1000).toFixed(1)}s`;
  } finally {
    await node.stop();
  }
}

async function main(): Promise<void> {
  requireTools('registry300', 'crane', 'motoServer', 'python', ...(withNode ? (['containerd', 'crictl'] as const) : []));
  requireBuilt();
  if (withNode && process.getuid?.() !== 0) {
    throw new Error('the node part runs containerd, which needs root (it mounts overlayfs): run as root, or pass --no-node');
  }
  const stack = await startStack({ ecrTls: withNode, stsLifetimeSeconds: LIFETIME, ecrTokenLifetimeSeconds: LIFETIME, execLifetime: '5s', margin: '5s', progress: say });
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
    const nodePart = withNode ? `; ${await nodePulls(stack)}` : '';
    await stop();
    console.log(
      `demo ok: pulled demo/app:v1 (${digest.slice(0, 19)}…) ${pulls} times through registry 3.0.0; ${blobs.length} blobs in S3; ` +
        `${refreshes.sts} STS and ${refreshes.ecr} ECR refreshes, no static keys, ${helperRuns.length - fromCache} helper runs needed AWS${nodePart}`,
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
