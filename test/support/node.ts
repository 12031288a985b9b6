/**
 * A Kubernetes node's image side, for real: containerd 2.x (its CRI image service) driven by crictl with the same CRI
 * `PullImage` call the kubelet makes, its registries configured ONLY by the hosts.toml files that
 * node-config/daemonset/write-hosts.sh writes from node-config/daemonset/hosts.toml.tpl, the DaemonSet's own script.
 *
 * Each node has its own root, state, socket and certs directory under a temp dir. Needs root (containerd mounts
 * overlayfs to unpack layers) and the tools of `node scripts/provision.mjs containerd crictl`.
 */
import { execFile, spawn } from 'node:child_process';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, toolPaths } from './tools.js';
import { freePort, startChild, type Child } from './registry-process.js';
import { waitFor, type Stack } from './stack.js';

export const NODE_CONFIG_DIR = join(repoRoot, 'node-config', 'daemonset');
export const WRITE_HOSTS = join(NODE_CONFIG_DIR, 'write-hosts.sh');
export const HOSTS_TEMPLATE = join(NODE_CONFIG_DIR, 'hosts.toml.tpl');

export interface HostsConfig {
  /** Registry hosts to mirror (the DaemonSet's ECR_HOSTS). */
  ecrHosts: string[];
  /** The cache as the node reaches it, e.g. `http://127.0.0.1:5000`. */
  mirror: string;
  dialTimeout?: string;
  /** The node's IP, for `{{HOST_IP}}` in `mirror` (the DaemonSet sets it from status.hostIP). */
  hostIp?: string;
  /** The install's name in the files' marker (the DaemonSet's INSTALL; the script's default is `default`). */
  install?: string;
}

export interface ScriptResult { code: number; stderr: string }

/** Runs the DaemonSet's script (`once` or `remove`) against `certsDir`, exactly as the pod runs it. */
export function writeHosts(certsDir: string, mode: 'once' | 'remove', config: HostsConfig): Promise<ScriptResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CERTS_DIR: certsDir,
    TEMPLATE: HOSTS_TEMPLATE,
    ECR_HOSTS: config.ecrHosts.join(' '),
    MIRROR: config.mirror,
    ...(config.dialTimeout ? { DIAL_TIMEOUT: config.dialTimeout } : {}),
    ...(config.hostIp ? { HOST_IP: config.hostIp } : {}),
    ...(config.install ? { INSTALL: config.install } : {}),
  };
  return new Promise((resolve, reject) => {
    execFile('sh', [WRITE_HOSTS, mode], { env }, (err, _stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stderr });
    });
  });
}

/**
 * What the kubelet's ECR credential provider hands the runtime: GetAuthorizationToken (over real HTTP, to the stack's
 * local ECR) with the node's role, whose `authorizationToken` is the base64 `AWS:<password>` that goes into the CRI
 * PullImage request's AuthConfig.auth.
 */
export async function kubeletEcrAuth(stack: Stack): Promise<string> {
  const role = stack.fake.issueCredentials({ roleArn: 'arn:aws:iam::123456789012:role/ecr-pull-through-cache' });
  const ecr = new ECRClient({
    region: 'us-east-1',
    endpoint: stack.fake.url,
    credentials: { accessKeyId: role.accessKeyId, secretAccessKey: role.secretAccessKey, sessionToken: role.sessionToken },
    maxAttempts: 1,
  });
  try {
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken;
    if (!token) throw new Error('the local ECR returned no authorizationToken');
    return token;
  } finally {
    ecr.destroy();
  }
}

export interface PullResult {
  code: number;
  /** crictl's output: `Image is up to date for sha256:…` on success, the CRI error otherwise. */
  output: string;
  /** Wall-clock milliseconds of the crictl call (reported, never asserted). */
  ms: number;
}

export interface Node {
  name: string;
  /** containerd's config_path: the DaemonSet's hostPath. */
  certsDir: string;
  /**
   * `crictl pull`; `auth` is the base64 `user:password` the kubelet gets from its ECR credential provider (the ECR
   * API's authorizationToken), passed as the kubelet passes it: in the CRI request's AuthConfig.
   */
  pull(ref: string, opts?: { auth?: string; pullTimeout?: string }): Promise<PullResult>;
  /** The image's repo digests as containerd recorded them (`crictl inspecti`). */
  repoDigests(ref: string): Promise<string[]>;
  /** containerd's log lines so far. */
  logs(): string[];
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/**
 * How a node reaches the stack's "ECR" under its real host name, over HTTPS as on EKS: through the front's CONNECT
 * tunnel (HTTPS_PROXY), trusting its self-signed certificate (SSL_CERT_FILE). Go never proxies localhost or loopback
 * addresses, so the mirror and S3's presigned URLs are reached directly. Needs `startStack({ ecrTls: true })`.
 */
export function nodeEnv(stack: Stack): Record<string, string> {
  if (!stack.ecrCaFile) throw new Error('nodeEnv: start the stack with { ecrTls: true }');
  return { HTTPS_PROXY: stack.front.url, SSL_CERT_FILE: stack.ecrCaFile };
}

/**
 * Starts containerd with a config of its own: version 3, private root/state/socket, CRI registry `config_path` =
 * this node's certs dir and nothing else about registries. `env` reaches containerd (usually `nodeEnv(stack)`).
 */
export async function startNode(name: string, env: Record<string, string> = {}): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), `node-${name}-`));
  const certsDir = join(dir, 'certs.d');
  mkdirSync(certsDir, { mode: 0o755 });
  const socket = join(dir, 'containerd.sock');
  const metricsPort = await freePort();
  const config = `version = 3
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[debug]
  address = "${join(dir, 'debug.sock')}"
  level = "debug"

[metrics]
  address = "127.0.0.1:${metricsPort}"

[plugins."io.containerd.cri.v1.images".registry]
  config_path = "${certsDir}"

# Everything else of its own too, so nothing lands in the host's /opt or /var/run/nri (a real containerd's). Only an
# empty /run/containerd is made regardless: containerd 2.2.9 hard-codes it as the shims' socket root.
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"

[plugins."io.containerd.nri.v1.nri"]
  disable = true
`;
  const configPath = join(dir, 'config.toml');
  writeFileSync(configPath, config);
  let child: Child;
  try {
    child = await startChild(toolPaths.containerd, ['--config', configPath], { ...env, HOME: dir }, `http://127.0.0.1:${metricsPort}/v1/metrics`, () => {});
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `unix://${socket}`;
  const crictlEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  // A config of its own, so neither a host's /etc/crictl.yaml nor its absence (a warning per call) comes into it.
  const crictlConfig = join(dir, 'crictl.yaml');
  writeFileSync(crictlConfig, `runtime-endpoint: ${endpoint}\nimage-endpoint: ${endpoint}\ntimeout: 300\n`);
  const crictl = (args: string[]) => run(toolPaths.crictl, ['--config', crictlConfig, ...args], crictlEnv);
  const stop = async () => {
    await child.stop();
    // Unpacked layers are overlay mounts only while a container uses them; none does, so the tree can go.
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The metrics server answers before the CRI plugin has loaded: wait until the image service does.
    await waitFor(`${name}: containerd's CRI image service`, async () => ((await crictl(['images'])).code === 0 ? true : undefined));
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; containerd said: ${child.logs().slice(-5).join(' | ')}`);
  }
  return {
    name,
    certsDir,
    async pull(ref, opts = {}) {
      const started = performance.now();
      const flags = [...(opts.auth ? ['--auth', opts.auth] : []), ...(opts.pullTimeout ? ['--pull-timeout', opts.pullTimeout] : [])];
      const result = await crictl(['pull', ...flags, ref]);
      return { code: result.code, output: `${result.stdout}${result.stderr}`.trim(), ms: performance.now() - started };
    },
    async repoDigests(ref) {
      const result = await crictl(['inspecti', '-o', 'json', ref]);
      if (result.code !== 0) throw new Error(`crictl inspecti ${ref}: ${result.stderr.trim()}`);
      return (JSON.parse(result.stdout) as { status: { repoDigests: string[] } }).status.repoDigests;
    },
    logs: () => child.logs(),
    stop,
  };
}

/**
 * A mirror that never answers the connection: a listening socket whose accept queue is full, so the kernel drops
 * further SYNs (as a black-holed node port or an unreachable pod IP does). Python, because Node always accepts.
 */
export async function startBlackHole(): Promise<{ url: string; stop(): Promise<void> }> {
  const script = [
    'import socket, sys, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0); port = s.getsockname()[1]',
    'fill = []',
    'for _ in range(4):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.1", port))',
    '    except BlockingIOError: pass',
    '    fill.append(c)',
    'print(port, flush=True)',
    'sys.stdin.read()', // until the test closes our stdin
  ].join('\n');
  const child = spawn(toolPaths.python, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`black hole exited ${code}`)));
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** A mirror that answers every request with `status` (a cache whose storage or upstream is failing). */
export async function startErrorMirror(status = 503): Promise<{ url: string; requests(): number; stop(): Promise<void> }> {
  const { createServer } = await import('node:http');
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(status, { 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'service unavailable', detail: null }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A mirror that accepts connections and never answers (a frozen cache process): counts the connections. */
export async function startStalledMirror(): Promise<{ url: string; connections(): number; stop(): Promise<void> }> {
  const { createServer } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    stop: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
