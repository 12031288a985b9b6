/**
 * What the transparent mirror does and does not protect against, with the real containerd 2.2.9 + crictl: the
 * failures containerd falls back from, and the documented limits (docs/nodes.md, "What the mirror is trusted with"
 * and "Failures that do not fall back"), pinned so that a change in containerd that alters them shows up here.
 *
 * The "mirror" is a programmable HTTP server in front of the stack's cache, so it can answer 401/404/500, challenge
 * for credentials, dribble bytes, cut or corrupt blobs, or serve another image's manifest for a tag or a digest.
 * Pull times are printed, never asserted; the bounds given to crictl (--pull-timeout) are what ends a pull that
 * containerd itself would never end, as the kubelet's own back-off or a human would.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';
import { requireTools } from '../support/tools.js';
import { requireBuilt } from '../support/exe.js';
import { kubeletEcrAuth, nodeEnv, startNode, writeHosts, type HostsConfig, type Node } from '../support/node.js';

type Mode =
  | { kind: 'status'; status: number }
  | { kind: 'basic' } // 401 with a Basic challenge, as a registry with auth would
  | { kind: 'bearer'; realm: string } // 401 with a Bearer challenge whose realm is somewhere else
  | { kind: 'swap-tag'; from: string; to: string } // serves tag `to` when asked for tag `from`
  | { kind: 'swap-digest'; digest: string; to: string } // serves tag `to`'s manifest when asked for `digest`
  | { kind: 'dribble-blobs' } // manifests at once, blob bodies 1 byte per 200 ms
  | { kind: 'redirect-dead' } // blobs redirected to a dead "S3"
  | { kind: 'stall-then-close'; ms: number } // holds every request, then closes the connection (liveness restart)
  | { kind: 'truncate-blobs' } // blob bodies cut off half way (the cache pod killed mid-transfer)
  | { kind: 'corrupt-blobs' }; // blob bodies of the right length with one byte flipped (bit rot in S3, a cache bug)

interface Mirror { url: string; mode: Mode; seen: Array<{ method: string; url: string; authorization?: string }>; stop(): Promise<void> }

async function startMirror(stack: Stack, mode: Mode): Promise<Mirror> {
  const seen: Mirror['seen'] = [];
  const timers = new Set<NodeJS.Timeout>();
  const mirror: Mirror = { url: '', mode, seen, stop: async () => {} };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const m = mirror.mode;
    const hdr = { 'Docker-Distribution-Api-Version': 'registry/2.0' };
    if (m.kind === 'stall-then-close') { const t = setTimeout(() => res.destroy(), m.ms); timers.add(t); return; }
    if (m.kind === 'status') { res.writeHead(m.status, hdr); res.end('{"errors":[]}'); return; }
    if (m.kind === 'basic') { res.writeHead(401, { ...hdr, 'WWW-Authenticate': 'Basic realm="mirror"' }); res.end(); return; }
    if (m.kind === 'bearer') {
      res.writeHead(401, { ...hdr, 'WWW-Authenticate': `Bearer realm="${m.realm}",service="mirror",scope="repository:team/app:pull"` });
      res.end(); return;
    }
    let path = (req.url ?? '/').replace(/\?.*$/, '');
    if (m.kind === 'swap-tag' && path.endsWith(`/manifests/${m.from}`)) path = path.replace(`/manifests/${m.from}`, `/manifests/${m.to}`);
    let claimDigest: string | undefined;
    if (m.kind === 'swap-digest' && path.endsWith(`/manifests/${m.digest}`)) { path = path.replace(`/manifests/${m.digest}`, `/manifests/${m.to}`); claimDigest = m.digest; }
    if (m.kind === 'redirect-dead' && path.includes('/blobs/')) { res.writeHead(307, { ...hdr, Location: 'http://127.0.0.1:1/dead-s3' + path }); res.end(); return; }
    const upstream = await fetch(`${stack.proxy.url}${path}`, { method: 'GET', headers: { Accept: String(req.headers.accept ?? '*/*') } });
    const body = Buffer.from(await upstream.arrayBuffer());
    const headers: Record<string, string> = { ...hdr };
    for (const h of ['content-type', 'docker-content-digest']) { const v = upstream.headers.get(h); if (v) headers[h] = v; }
    if (claimDigest) headers['docker-content-digest'] = claimDigest;
    headers['content-length'] = String(body.length);
    res.writeHead(upstream.status, headers);
    if (req.method === 'HEAD') { res.end(); return; }
    if (m.kind === 'truncate-blobs' && path.includes('/blobs/')) { res.write(body.subarray(0, body.length >> 1)); setTimeout(() => res.destroy(), 50); return; }
    if (m.kind === 'corrupt-blobs' && path.includes('/blobs/')) { const b = Buffer.from(body); const i = b.length >> 1; b[i] = (b[i] ?? 0) ^ 0xff; res.end(b); return; }
    if (m.kind === 'dribble-blobs' && path.includes('/blobs/')) {
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (i >= body.length) { res.end(); return; }
        res.write(body.subarray(i, i + 1)); i++;
        const t = setTimeout(tick, 200); timers.add(t);
      };
      tick(); return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mirror.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mirror.stop = () => new Promise((r) => { for (const t of timers) clearTimeout(t); server.closeAllConnections(); server.close(() => r()); });
  return mirror;
}

/** A token endpoint somewhere else, recording what credentials containerd brings it. */
async function startTokenServer(): Promise<{ url: string; seen: Array<string | undefined>; stop(): Promise<void> }> {
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => { seen.push(req.headers.authorization); res.writeHead(401); res.end(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, seen, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const cleanups: Array<() => Promise<void>> = [];

describe('the node mirror: what falls back, and the documented limits (containerd 2.2.9 + crictl)', () => {
  let stack: Stack;
  let node: Node;
  let hosts: HostsConfig;
  let auth: string; // base64 AWS:<password>, what the kubelet passes
  let password: string;
  const d: Record<string, string> = {};

  beforeAll(async () => {
    requireTools('registry300', 'crane', 'motoServer', 'python', 'containerd', 'crictl');
    requireBuilt();
    stack = await startStack({ ecrTls: true });
    cleanups.push(() => stack.stop());
    for (const tag of ['closed', 'badtoml', 'trunc', 'corrupt', 'v1', 'evil', 's401', 's404', 's500', 'basic', 'bearer', 'dribble', 'dead', 'pinned']) {
      d[tag] = await stack.seedImage(`team/app:${tag}`, { layers: 2, layerBytes: 64 * 1024 });
    }
    auth = await kubeletEcrAuth(stack);
    password = Buffer.from(auth, 'base64').toString().split(':').slice(1).join(':');
    hosts = { ecrHosts: [stack.ecrHost], mirror: 'http://127.0.0.1:1' };
    if (process.getuid?.() !== 0) throw new Error('test/e2e/node-mirror-limits.test.ts needs root: containerd mounts overlayfs to unpack layers');
    node = await startNode('limits', nodeEnv(stack));
    cleanups.push(() => node.stop());
  });

  afterAll(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}); });

  async function withMirror(mode: Mode): Promise<Mirror> {
    const m = await startMirror(stack, mode);
    cleanups.push(() => m.stop());
    const w = await writeHosts(node.certsDir, 'once', { ...hosts, mirror: m.url });
    expect(w.code).toBe(0);
    return m;
  }

  for (const status of [401, 404, 500]) {
    it(`mirror answering ${status} (no challenge): falls back to ECR and the pull succeeds`, async () => {
      const tag = `s${status}`;
      const m = await withMirror({ kind: 'status', status });
      const before = stack.front.counts().forwarded;
      const r = await node.pull(`${stack.ecrHost}/team/app:${tag}`, { auth });
      expect(r.output).toMatch(/Image is up to date/);
      expect(m.seen.length).toBeGreaterThan(0);
      expect(stack.front.counts().forwarded).toBeGreaterThan(before);
      expect(await node.repoDigests(`${stack.ecrHost}/team/app:${tag}`)).toContain(`${stack.ecrHost}/team/app@${d[tag]}`);
    });
  }

  it('documented limit: whatever answers on the mirror address and challenges with Basic auth is sent the kubelet\'s ECR token, and the pull still succeeds', async () => {
    const m = await withMirror({ kind: 'basic' });
    const r = await node.pull(`${stack.ecrHost}/team/app:basic`, { auth });
    console.log(`basic: code=${r.code} mirror requests=${m.seen.length} with Authorization=${m.seen.filter((s) => s.authorization).length}`);
    const sent = m.seen.filter((s) => s.authorization && Buffer.from(s.authorization.replace(/^Basic /, ''), 'base64').toString().includes(password));
    // containerd scopes the CRI credentials to no host (the kubelet sets no ServerAddress): why the mirror's port is
    // reserved for the cache (node-config/reserve-nodeport/) and nothing on the pull shows it.
    expect(sent.length).toBeGreaterThan(0);
    expect(r.output).toMatch(/Image is up to date/);
  });

  it('documented limit: a mirror whose Bearer challenge names a token realm elsewhere gets the ECR token sent there', async () => {
    const tokens = await startTokenServer();
    cleanups.push(() => tokens.stop());
    await withMirror({ kind: 'bearer', realm: tokens.url });
    const r = await node.pull(`${stack.ecrHost}/team/app:bearer`, { auth });
    console.log(`bearer: code=${r.code} realm requests=${tokens.seen.length} with Authorization=${tokens.seen.filter(Boolean).length}`);
    const sent = tokens.seen.filter((a) => a && Buffer.from(a.replace(/^Basic /, ''), 'base64').toString().includes(password));
    // As Basic auth, over plain HTTP, to whatever realm the mirror names.
    expect(sent.length).toBeGreaterThan(0);
    expect(r.output).toMatch(/Image is up to date/);
  });

  it('documented limit: the mirror decides what a tag means (a pull by tag takes whatever image it names)', async () => {
    await withMirror({ kind: 'swap-tag', from: 'v1', to: 'evil' });
    const r = await node.pull(`${stack.ecrHost}/team/app:v1`, { auth });
    console.log(`swap-tag: ${r.code} ${r.output.slice(-300)}`);
    expect(r.output).toMatch(/Image is up to date/);
    const got = await node.repoDigests(`${stack.ecrHost}/team/app:v1`);
    console.log(`swap-tag: asked v1 (${d.v1}), node recorded ${JSON.stringify(got)}`);
    expect(got).toContain(`${stack.ecrHost}/team/app@${d.evil}`);
    expect(got).not.toContain(`${stack.ecrHost}/team/app@${d.v1}`);
  });

  it('a pull by digest is never served other bytes: containerd refuses them; documented limit: it does not fall back, the pull fails', async () => {
    await withMirror({ kind: 'swap-digest', digest: d.pinned!, to: 'evil' });
    const r = await node.pull(`${stack.ecrHost}/team/app@${d.pinned}`, { auth });
    console.log(`swap-digest: code=${r.code} ${r.output.slice(-400)}`);
    expect(r.code).not.toBe(0); // never takes the wrong bytes, but never tries ECR either
    expect(r.output).toMatch(/unexpected commit digest/);
  });

  it('blobs redirected to a dead S3: falls back to ECR for the blob and the pull succeeds', async () => {
    const m = await withMirror({ kind: 'redirect-dead' });
    const before = stack.front.counts().forwarded;
    const r = await node.pull(`${stack.ecrHost}/team/app:dead`, { auth });
    console.log(`redirect-dead: code=${r.code} ms=${Math.round(r.ms)} ${r.output.slice(-400)}`);
    expect(r.output).toMatch(/Image is up to date/);
    expect(m.seen.some((s) => s.url.includes('/blobs/'))).toBe(true);
    expect(stack.front.counts().forwarded).toBeGreaterThan(before);
  });

  it('documented limit: a mirror dribbling blob bytes (5 B/s) is never fallen back from; only a deadline ends the pull', async () => {
    await withMirror({ kind: 'dribble-blobs' });
    const before = stack.front.counts().forwarded;
    const r = await node.pull(`${stack.ecrHost}/team/app:dribble`, { auth, pullTimeout: '10s' });
    console.log(`dribble: code=${r.code} ms=${Math.round(r.ms)} ${r.output.slice(-400)} ecr-forwarded+${stack.front.counts().forwarded - before}`);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/DeadlineExceeded|deadline exceeded/);
  });

  for (const kind of ['truncate-blobs', 'corrupt-blobs'] as const) {
    it(`documented limit: a mirror that ${kind === 'truncate-blobs' ? 'closes the connection mid-blob' : 'serves a corrupted blob'}: containerd does not fall back to ECR for it; the pull fails`, async () => {
      const tag = kind === 'truncate-blobs' ? 'trunc' : 'corrupt';
      await withMirror({ kind });
      const before = stack.front.counts().forwarded;
      const r = await node.pull(`${stack.ecrHost}/team/app:${tag}`, { auth, pullTimeout: '60s' });
      console.log(`${kind}: code=${r.code} ms=${Math.round(r.ms)} ecr-forwarded+${stack.front.counts().forwarded - before} ${r.output.slice(-300)}\n`);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(kind === 'truncate-blobs' ? /unexpected EOF/ : /unexpected commit digest/);
    });
  }

  it('a frozen cache whose connections are then closed (its liveness restart) is fallen back from', async () => {
    await withMirror({ kind: 'stall-then-close', ms: 2000 });
    const before = stack.front.counts().forwarded;
    const r = await node.pull(`${stack.ecrHost}/team/app:closed`, { auth, pullTimeout: '60s' });
    console.log(`stall-then-close: code=${r.code} ms=${Math.round(r.ms)} ecr-forwarded+${stack.front.counts().forwarded - before} ${r.output.slice(-200)}`);
    expect(r.output).toMatch(/Image is up to date/);
    expect(stack.front.counts().forwarded).toBeGreaterThan(before);
  });

  it('a hosts.toml containerd cannot parse does not stop pulls: the upstream serves them', async () => {
    const { writeFileSync } = await import('node:fs');
    await writeHosts(node.certsDir, 'remove', hosts);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(`${node.certsDir}/${stack.ecrHost}`, { recursive: true });
    writeFileSync(`${node.certsDir}/${stack.ecrHost}/hosts.toml`, 'server = "https://x"\n[host."http://127.0.0.1:1"\n');
    const r = await node.pull(`${stack.ecrHost}/team/app:badtoml`, { auth });
    expect(r.output).toMatch(/Image is up to date/);
    await writeHosts(node.certsDir, 'remove', hosts).catch(() => undefined);
  });
});
