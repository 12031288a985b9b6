/**
 * A network where the AWS endpoints are reachable only through an HTTP proxy, for testing HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY for real: each command runs in a fresh network namespace (`unshare -n`, only loopback up, so DNS and
 * every direct connection fail), beside netns-gateway.mjs, the forward proxy on 127.0.0.1. The proxy tunnels to a
 * TLS front for the local AWS (real AWS host names, a certificate from a CA made here and trusted through
 * NODE_EXTRA_CA_CERTS) over a Unix socket, the one path out of the namespace. Needs root (namespaces, a private mount
 * for /etc/hosts), as the rest of the integration tier does for uid changes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { RunResult } from './exe.js';

const GATEWAY = join(dirname(fileURLToPath(import.meta.url)), 'netns-gateway.mjs');
export const PROXY_URL = 'http://127.0.0.1:3128';

export interface ProxyNetwork {
  /** PEM of the CA the TLS front's certificate is issued by: give it as NODE_EXTRA_CA_CERTS. */
  caFile: string;
  run(file: string, args: string[], env: Record<string, string>, opts?: NetnsOptions): Promise<RunResult & { proxied: string[] }>;
  spawn(file: string, args: string[], env: Record<string, string>, opts?: NetnsOptions): { child: ChildProcess; proxied: () => string[] };
  stop(): Promise<void>;
}

export interface NetnsOptions {
  /** Host names resolved to 127.0.0.1 inside the namespace, where port 443 leads to the TLS front without the proxy. */
  direct?: string[];
  stdin?: string;
}

function certificates(dir: string, hosts: string[]) {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=local AWS test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=local AWS');
  writeFileSync(join(dir, 'leaf.ext'), `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'leaf.ext');
  return { key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.pem')) };
}

const listenOn = (server: net.Server, path: string) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));

/**
 * Starts the fronts of the local AWS at `awsPort` (127.0.0.1, plain HTTP) for the given AWS host names; each
 * `run`/`spawn` gets a namespace of its own with a fresh proxy log.
 */
export async function startProxyNetwork(awsPort: number, hosts: string[]): Promise<ProxyNetwork> {
  if (process.getuid?.() !== 0) throw new Error('the proxy tests need root: they create network namespaces (unshare -n)');
  const dir = await mkdtemp(join(tmpdir(), 'proxy-net-'));
  const toAws = (client: net.Socket) => {
    const upstream = net.connect(awsPort, '127.0.0.1');
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  };
  const tlsFront = tls.createServer(certificates(dir, hosts), toAws);
  const httpFront = net.createServer(toAws);
  await listenOn(tlsFront, join(dir, 'tls.sock'));
  await listenOn(httpFront, join(dir, 'http.sock'));
  let runs = 0;

  const start = (file: string, args: string[], env: Record<string, string>, opts: NetnsOptions) => {
    const logFile = join(dir, `proxy-${++runs}.log`);
    writeFileSync(logFile, '');
    const hostsFile = join(dir, `hosts-${runs}`);
    writeFileSync(hostsFile, `127.0.0.1 localhost\n${(opts.direct ?? []).map((h) => `127.0.0.1 ${h}\n`).join('')}`);
    // A private mount namespace too, so /etc/hosts can be this run's without touching the machine's.
    const script = 'ip link set lo up && mount --bind "$NETNS_HOSTS" /etc/hosts && unset NETNS_HOSTS && exec "$0" "$@"';
    const child = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, process.execPath, GATEWAY, file, ...args], {
      env: {
        ...env,
        NETNS_HOSTS: hostsFile,
        NETNS_PROXY_PORT: new URL(PROXY_URL).port,
        NETNS_TLS_SOCKET: join(dir, 'tls.sock'),
        NETNS_HTTP_SOCKET: join(dir, 'http.sock'),
        NETNS_PROXY_LOG: logFile,
        ...(opts.direct?.length ? { NETNS_DIRECT_443: '1' } : {}),
      },
      cwd: '/',
    });
    const proxied = () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    return { child, proxied };
  };

  return {
    caFile: join(dir, 'ca.pem'),
    spawn: (file, args, env, opts = {}) => start(file, args, env, opts),
    run: (file, args, env, opts = {}) =>
      new Promise((resolve, reject) => {
        const { child, proxied } = start(file, args, env, opts);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d) => (stdout += d));
        child.stderr!.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ stdout, stderr, code, proxied: proxied() }));
        child.stdin!.end(opts.stdin ?? '');
      }),
    stop: async () => {
      await Promise.all([tlsFront, httpFront].map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}
