/**
 * "ECR" for the end-to-end stack: a real registry 3.0.0 holds the images, and this front accepts only Basic
 * `AWS:<password>` where the password is an ECR token the local AWS issued and has not yet expired — as ECR does.
 * (The registry's own htpasswd keeps one hash per user, so it cannot accept every valid token at once.)
 *
 * It answers both origin-form requests and the absolute-form ones a client sends through HTTP_PROXY: the proxy
 * registry is configured with the real ECR hostname (so our helper recognises it) and reaches this front as its proxy.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EcrFront {
  url: string;
  /** While down, every request's connection is dropped, as an unreachable upstream. */
  setDown(down: boolean): void;
  counts(): { forwarded: number; unauthorized: number; dropped: number };
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

export async function startEcrFront(opts: { upstream: string; validPasswords: () => string[] }): Promise<EcrFront> {
  const upstream = new URL(opts.upstream);
  const counts = { forwarded: 0, unauthorized: 0, dropped: 0 };
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
