/**
 * The node side, for real: containerd 2.2.9's CRI image service, driven by crictl as the kubelet drives it, configured
 * only by the hosts.toml that the DaemonSet's own script writes (node-config/daemonset/), pulls images by their ECR
 * names through the cache, and falls back to "ECR" itself whenever the cache is stopped, failing or unreachable.
 *
 * "ECR" is the stack's local front, reached by containerd under the real ECR host name over HTTPS (a CONNECT tunnel
 * through HTTPS_PROXY, a self-signed certificate in SSL_CERT_FILE), so the hosts.toml is exactly what a node gets.
 * Needs root: containerd mounts overlayfs to unpack the layers it pulls.
 *
 * Pull times are printed for docs/nodes.md, never asserted (speed belongs to bench/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedInS3, startStack, type Stack } from '../support/stack.js';
import { requireTools } from '../support/tools.js';
import { requireBuilt } from '../support/exe.js';
import { kubeletEcrAuth, nodeEnv, startBlackHole, startErrorMirror, startStalledMirror, startNode, writeHosts, type HostsConfig, type Node, type PullResult } from '../support/node.js';

const timings: Record<string, number> = {};
const cleanups: Array<() => Promise<void>> = [];

function expectPulled(result: PullResult, label: string): void {
  timings[label] = Math.round(result.ms);
  expect(result.output).toMatch(/Image is up to date for sha256:/);
  expect(result.code).toBe(0);
}

/** The registry's Prometheus counters whose name starts with `prefix`, summed over their labels. */
async function counter(stack: Stack, prefix: string): Promise<number> {
  const text = await (await fetch(`${stack.proxy.debugUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(prefix)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Access-log lines of requests containerd made to the cache for `repo`. */
const containerdRequests = (stack: Stack, repo: string) =>
  stack.proxy.logs().filter((l) => l.includes(`/v2/${repo}/`) && l.includes('containerd/'));

describe('nodes pull ECR image names through the cache and fall back to ECR (containerd 2.2.9 + crictl)', () => {
  let stack: Stack;
  let nodeA: Node;
  const digests: Record<string, string> = {};
  let hosts: HostsConfig;
  let kubeletAuth: string;

  beforeAll(async () => {
    requireTools('registry300', 'crane', 'motoServer', 'python', 'containerd', 'crictl');
    requireBuilt();
    if (process.getuid?.() !== 0) throw new Error('test/e2e/node-mirror.test.ts needs root: containerd mounts overlayfs to unpack layers');
    stack = await startStack({ ecrTls: true });
    cleanups.push(() => stack.stop());
    for (const tag of ['v1', '5xx', 'blackhole', 'stalled', 'direct', 'down', 'anon']) {
      digests[tag] = await stack.seedImage(`team/app:${tag}`, { layers: 3, layerBytes: 256 * 1024 });
    }
    digests.seed = await stack.seedImage('team/seed:v1', { layers: 2, layerBytes: 128 * 1024 });
    digests.other = await stack.seedImage('other/app:v1', { layers: 2, layerBytes: 128 * 1024 });

    // What the kubelet's ECR credential provider hands containerd for the ECR host (test/support/node.ts).
    kubeletAuth = await kubeletEcrAuth(stack);

    // The DaemonSet's defaults, but the cache listens on a free port, not 30008.
    hosts = { ecrHosts: [stack.ecrHost], mirror: `http://localhost:${stack.proxy.port}` };
    nodeA = await startNode('a', nodeEnv(stack));
    cleanups.push(() => nodeA.stop());
    const written = await writeHosts(nodeA.certsDir, 'once', hosts);
    expect(written.stderr).toContain('wrote');
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    console.log(`node-mirror pull times (ms, 3 × 256 KiB layers): ${JSON.stringify(timings)}`);
  });

  it('pulls the ECR name through the cache with no credentials at all: the cache counts it, the blobs land in S3', async () => {
    const requestsBefore = await counter(stack, 'registry_proxy_requests_total');
    const result = await nodeA.pull(`${stack.ecrHost}/team/app:v1`);
    expectPulled(result, 'through the cache');
    expect(await nodeA.repoDigests(`${stack.ecrHost}/team/app:v1`)).toContain(`${stack.ecrHost}/team/app@${digests.v1}`);
    // "ECR" refuses anonymous pulls, so the pull can only have come from the cache; its access log shows containerd.
    expect(containerdRequests(stack, 'team/app').length).toBeGreaterThan(0);
    expect(await counter(stack, 'registry_proxy_requests_total')).toBeGreaterThan(requestsBefore);
    const manifest = await (await fetch(`${stack.proxy.url}/v2/team/app/manifests/v1`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    })).json() as { layers: Array<{ digest: string }> };
    const keys = await cachedInS3(stack, 'team/app', manifest.layers.map((l) => l.digest));
    expect(keys.filter((k) => k.includes('/blobs/')).length).toBeGreaterThanOrEqual(manifest.layers.length);
  });

  it('a second node pulling the same image is served by presigned redirects from S3', async () => {
    const nodeB = await startNode('b', nodeEnv(stack));
    cleanups.push(() => nodeB.stop());
    await writeHosts(nodeB.certsDir, 'once', hosts);
    const before = stack.s3.counts().presignedGets.length;
    const hitsBefore = await counter(stack, 'registry_proxy_hits_total{type="blob"}');
    expectPulled(await nodeB.pull(`${stack.ecrHost}/team/app:v1`), 'second node, S3 redirects');
    expect(await nodeB.repoDigests(`${stack.ecrHost}/team/app:v1`)).toContain(`${stack.ecrHost}/team/app@${digests.v1}`);
    const manifest = await (await fetch(`${stack.proxy.url}/v2/team/app/manifests/v1`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    })).json() as { layers: Array<{ digest: string }> };
    const downloads = stack.s3.counts().presignedGets.slice(before);
    for (const layer of manifest.layers) expect(downloads.some((p) => p.includes(layer.digest.slice(7)))).toBe(true);
    // cache hits, counted by the registry: nothing fetched from "ECR" again
    expect(await counter(stack, 'registry_proxy_hits_total{type="blob"}')).toBeGreaterThanOrEqual(hitsBefore + manifest.layers.length);
    // and the cache answered containerd's blob requests with a redirect, not the bytes
    expect(containerdRequests(stack, 'team/app').some((l) => / 307 /.test(l))).toBe(true);
  });

  it('the seed-style localhost:<port>/<repo>:<tag> reference still works', async () => {
    const ref = `localhost:${stack.proxy.port}/team/seed:v1`;
    expectPulled(await nodeA.pull(ref), 'seed-style localhost reference');
    expect(await nodeA.repoDigests(ref)).toContain(`localhost:${stack.proxy.port}/team/seed@${digests.seed}`);
  });

  it('images of hosts that are not configured never go to the mirror', async () => {
    // The registry behind "ECR", by its own address: no hosts.toml names it, so containerd must go there directly.
    const ref = `127.0.0.1:${stack.upstream.port}/other/app:v1`;
    expectPulled(await nodeA.pull(ref), 'unconfigured host, direct');
    expect(await nodeA.repoDigests(ref)).toContain(`127.0.0.1:${stack.upstream.port}/other/app@${digests.other}`);
    expect(stack.proxy.logs().filter((l) => l.includes('/v2/other/app/'))).toEqual([]);
  });

  it('the cache answering 5xx: containerd falls back to ECR with the kubelet credentials', async () => {
    const failing = await startErrorMirror(503);
    cleanups.push(() => failing.stop());
    await writeHosts(nodeA.certsDir, 'once', { ...hosts, mirror: failing.url });
    const forwarded = stack.front.counts().forwarded;
    const result = await nodeA.pull(`${stack.ecrHost}/team/app:5xx`, { auth: kubeletAuth });
    expectPulled(result, 'cache answers 503, fallback');
    expect(await nodeA.repoDigests(`${stack.ecrHost}/team/app:5xx`)).toContain(`${stack.ecrHost}/team/app@${digests['5xx']}`);
    expect(failing.requests()).toBeGreaterThan(0); // the mirror was tried first…
    expect(stack.front.counts().forwarded).toBeGreaterThan(forwarded); // …and "ECR" served the image
    expect(nodeA.logs().some((l) => l.includes('trying next host') && l.includes('503'))).toBe(true);
    expect(containerdRequests(stack, 'team/app').filter((l) => l.includes('5xx'))).toEqual([]);
  });

  it('the cache not answering connections (black-holed): containerd falls back after dial_timeout', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.stop());
    await writeHosts(nodeA.certsDir, 'once', { ...hosts, mirror: hole.url, dialTimeout: '1s' });
    const forwarded = stack.front.counts().forwarded;
    const result = await nodeA.pull(`${stack.ecrHost}/team/app:blackhole`, { auth: kubeletAuth });
    expectPulled(result, 'cache black-holed (dial_timeout 1s), fallback');
    expect(await nodeA.repoDigests(`${stack.ecrHost}/team/app:blackhole`)).toContain(`${stack.ecrHost}/team/app@${digests.blackhole}`);
    expect(stack.front.counts().forwarded).toBeGreaterThan(forwarded);
    expect(nodeA.logs().some((l) => l.includes('trying next host') && l.includes('i/o timeout'))).toBe(true);
  });

  it('the cache accepting connections and never answering is the one failure NOT fallen back from', async () => {
    // The limit docs/nodes.md states: containerd has no answer timeout per request, and its default (transfer
    // service) pull applies image_pull_progress_timeout to blob downloads only, not to tag resolution. The kubelet
    // sets no deadline; this test bounds the hang with crictl's --pull-timeout and checks nothing reached "ECR".
    const stalled = await startStalledMirror();
    cleanups.push(() => stalled.stop());
    await writeHosts(nodeA.certsDir, 'once', { ...hosts, mirror: stalled.url });
    const forwarded = stack.front.counts().forwarded;
    const result = await nodeA.pull(`${stack.ecrHost}/team/app:stalled`, { auth: kubeletAuth, pullTimeout: '10s' });
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/DeadlineExceeded|deadline exceeded/);
    expect(stalled.connections()).toBeGreaterThan(0);
    expect(stack.front.counts().forwarded).toBe(forwarded);
    await writeHosts(nodeA.certsDir, 'once', hosts);
  });

  it('uninstalled (the script removes its file): the node pulls from ECR directly, the mirror is not asked', async () => {
    const removed = await writeHosts(nodeA.certsDir, 'remove', hosts);
    expect(removed.stderr).toContain('removed');
    const result = await nodeA.pull(`${stack.ecrHost}/team/app:direct`, { auth: kubeletAuth });
    expectPulled(result, 'no mirror configured, ECR direct');
    expect(containerdRequests(stack, 'team/app').filter((l) => l.includes('direct'))).toEqual([]);
    await writeHosts(nodeA.certsDir, 'once', hosts);
  });

  it('the cache stopped: the same pull still succeeds from ECR with the kubelet credentials, and says so', async () => {
    await stack.proxy.stop();
    const { forwarded, tunnels } = stack.front.counts();
    const result = await nodeA.pull(`${stack.ecrHost}/team/app:down`, { auth: kubeletAuth });
    expectPulled(result, 'cache stopped, fallback');
    expect(await nodeA.repoDigests(`${stack.ecrHost}/team/app:down`)).toContain(`${stack.ecrHost}/team/app@${digests.down}`);
    expect(stack.front.counts().forwarded).toBeGreaterThan(forwarded);
    expect(stack.front.counts().tunnels).toBeGreaterThan(tunnels); // over HTTPS, to the template's `server`
    expect(nodeA.logs().some((l) => l.includes('trying next host') && l.includes('connection refused'))).toBe(true);
    // Without the kubelet's credentials "ECR" refuses: the fallback really is the upstream, not some open door.
    const unauthorized = stack.front.counts().unauthorized;
    const anonymous = await nodeA.pull(`${stack.ecrHost}/team/app:anon`);
    expect(anonymous.code).not.toBe(0);
    expect(stack.front.counts().unauthorized).toBeGreaterThan(unauthorized);
  });
});
