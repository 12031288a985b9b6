/**
 * "ECR" for the end-to-end stack: a real registry 3.0.0 holds the images, and this front accepts only Basic
 * `AWS:<password>` where the password is an ECR token the local AWS issued and has not yet expired — as ECR does.
 * (The registry's own htpasswd keeps one hash per user, so it cannot accept every valid token at once.)
 *
 * It answers both origin-form requests and the absolute-form ones a client sends through HTTP_PROXY: the proxy
 * registry is configured with the real ECR hostname (so our helper recognises it) and reaches this front as its proxy.
 * With `tls`, it also answers HTTPS_PROXY's CONNECT tunnels and serves HTTPS inside them with that certificate, so a
 * client that insists on https://<ECR host> (containerd with no hosts.toml) reaches it too.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface EcrFront {
  url: string;
  /** While down, every request's connection is dropped, as an unreachable upstream. */
  setDown(down: boolean): void;
  counts(): { forwarded: number; unauthorized: number; dropped: number; tunnels: number };
  /** Distinct ECR passwords accepted, in the order first seen: shows tokens rotating. */
  acceptedPasswords(): string[];
  stop(): Promise<void>;
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="ecr"', 'Docker-Distribution-Api-Version': 'registry/2.0' });
  res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
}

function passwordOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  return decoded.startsWith('AWS:') ? decoded.slice(4) : undefined;
}

export async function startEcrFront(opts: {
  upstream: string;
  validPasswords: () => string[];
  /** PEM key and certificate for the ECR host name, to serve HTTPS inside CONNECT tunnels. */
  tls?: { key: string; cert: string };
  /** The refusal message when the token's principal may not do `action` (ecr:BatchGetImage for a manifest,
   * ecr:GetDownloadUrlForLayer for a blob) on the repository; undefined: allowed. */
  denied?: (action: string, repository: string, password: string) => string | undefined;
}): Promise<EcrFront> {
  const upstream = new URL(opts.upstream);
  const counts = { forwarded: 0, unauthorized: 0, dropped: 0, tunnels: 0 };
  let down = false;
  const accepted: string[] = [];
  const server = createServer((req, res) => {
    if (down) {
      counts.dropped++;
      req.socket.destroy();
      return;
    }
    const password = passwordOf(req);
    if (password === undefined || !opts.validPasswords().includes(password)) {
      counts.unauthorized++;
      unauthorized(res);
      return;
    }
    // ECR checks the token's principal's IAM permission per request: 403 DENIED names the action.
    const route = /^\/v2\/(.+)\/(manifests|blobs)\/[^/]+$/.exec(new URL(req.url ?? '/', 'http://placeholder').pathname);
    const refusal = route && opts.denied?.(route[2] === 'manifests' ? 'ecr:BatchGetImage' : 'ecr:GetDownloadUrlForLayer', route[1]!, password);
    if (refusal) {
      counts.unauthorized++;
      res.writeHead(403, { 'Content-Type': 'application/json; charset=utf-8', 'Docker-Distribution-Api-Version': 'registry/2.0' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: refusal }] }));
      return;
    }
    counts.forwarded++;
    if (!accepted.includes(password)) accepted.push(password);
    const target = new URL(req.url ?? '/', 'http://placeholder');
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: upstream.host };
    delete headers.authorization;
    delete headers['proxy-connection'];
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: `${target.pathname}${target.search}`, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connect', (_req: IncomingMessage, socket, head: Buffer) => {
    if (down || !opts.tls) {
      counts.dropped++;
      socket.destroy();
      return;
    }
    counts.tunnels++;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    // The tunnel's bytes are a TLS client hello: terminate TLS here and hand the plain stream to the same handler.
    const tls = new TLSSocket(socket as import('node:net').Socket, { isServer: true, key: opts.tls.key, cert: opts.tls.cert });
    tls.on('error', () => socket.destroy());
    server.emit('connection', tls);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setDown: (value) => {
      down = value;
      if (value) server.closeAllConnections();
    },
    counts: () => ({ ...counts }),
    acceptedPasswords: () => [...accepted],
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
