// A switch in front of an S3-compatible server (moto): passes requests through untouched, or answers every one with
// the 503 ServiceUnavailable S3 sends when it is in trouble, so tests can take "S3" down and bring it back without
// losing what the server stores. It also records which bucket keys the clients asked for, to measure where in the
// bucket a registry reads and writes.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

export interface S3Request {
  method: string;
  /** The object key (path-style: after `/<bucket>/`), '' for a bucket-level request. */
  key: string;
  /** `prefix` of a list request, if any. */
  prefix?: string;
}

export interface S3Gate {
  url: string;
  /** true: every request fails with 503 ServiceUnavailable; false: requests pass to the upstream. */
  setFailing(failing: boolean): void;
  /** Requests received so far (failed ones included), path-style addressing assumed. */
  requests(): S3Request[];
  stop(): Promise<void>;
}

/** Starts the gate on a free loopback port in front of `upstream` (e.g. `http://127.0.0.1:5000`), passing. */
export async function startS3Gate(upstream: string): Promise<S3Gate> {
  const target = new URL(upstream);
  let failing = false;
  const seen: S3Request[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://s3');
    const [, , ...rest] = url.pathname.split('/'); // '', bucket, key…
    const prefix = url.searchParams.get('prefix') ?? undefined;
    seen.push({ method: req.method ?? 'GET', key: decodeURIComponent(rest.join('/')), ...(prefix !== undefined ? { prefix } : {}) });
    if (failing) {
      const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>';
      res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      req.resume();
      return;
    }
    const out = request(
      { host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers: req.rawHeaders },
      (incoming) => {
        res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, incoming.rawHeaders);
        pipeline(incoming, res, () => {});
      },
    );
    out.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    pipeline(req, out, () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setFailing: (value) => { failing = value; },
    requests: () => [...seen],
    stop: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
