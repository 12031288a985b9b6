/**
 * The loopback container-credentials endpoint (what AWS_CONTAINER_CREDENTIALS_FULL_URI +
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE point at): GET /credentials with the token in `Authorization`.
 * Expiration is the real one minus the margin, as credential-process reports it, so SDKs refresh early.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeFileAtomic } from '@ecr-proxy/core';
import { reportedExpiration, type StoredCredentials } from '@ecr-proxy/sts-init';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export async function writeTokenFile(path: string, token: string, mode: number): Promise<void> {
  await writeFileAtomic(path, token, { mode });
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function containerCredentialsHandler(opts: {
  token: string;
  current: () => StoredCredentials | undefined;
  marginMs: number;
  now: () => number;
}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/credentials') return send(404, { code: 'NotFound', message: 'try GET /credentials' });
    if (req.method !== 'GET') return send(405, { code: 'MethodNotAllowed', message: 'GET only' });
    const auth = req.headers.authorization;
    if (auth === undefined || auth === '') return send(401, { code: 'Unauthorized', message: 'no Authorization header' });
    if (!sameToken(auth, opts.token)) return send(403, { code: 'Forbidden', message: 'wrong authorization token' });
    const creds = opts.current();
    const now = opts.now();
    if (!creds || Date.parse(creds.Expiration) <= now) return send(503, { code: 'Unavailable', message: 'no valid credentials yet' });
    send(200, {
      AccessKeyId: creds.AccessKeyId,
      SecretAccessKey: creds.SecretAccessKey,
      Token: creds.SessionToken,
      Expiration: reportedExpiration(creds, opts.marginMs, now).toISOString(),
    });
  };
}
