/** /healthz, /readyz and /metrics. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readiness } from './refresher.js';

export interface StatusSource {
  isAlive(): boolean;
  readiness(): Readiness;
  metricsText(): string;
}

export function statusHandler(source: StatusSource) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return source.isAlive() ? send(200, 'ok\n') : send(503, 'refresh loop stalled\n');
      case '/readyz': {
        const r = source.readiness();
        return r.ready ? send(200, 'ready\n') : send(503, `not ready: ${r.problems.join('; ')}\n`);
      }
      case '/metrics':
        return send(200, source.metricsText(), 'text/plain; version=0.0.4; charset=utf-8');
      default:
        return send(404, 'not found\n');
    }
  };
}
