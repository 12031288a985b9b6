// A reverse proxy in front of an S3-compatible server (moto) that makes it behave like S3 about the one thing moto
// ignores: credentials expire. Requests signed with a key the fake STS issued are rejected once that key has
// expired, as S3 does, and presigned URLs past their X-Amz-Date + X-Amz-Expires are rejected too. Everything else
// is forwarded untouched (same method, path, headers including Host, streamed body), so the upstream's own
// signature check, computed over the Host the client signed, still passes.
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { accessDeniedMessage, Denials } from './fake-aws/denials.js';
import type { KeyStatus } from './fake-aws/keys.js';
import { parseCredentialScope, xmlEscape } from './fake-aws/wire.js';

export type { KeyStatus } from './fake-aws/keys.js';

export interface S3EnforcerOptions {
  /** Base URL of the S3-compatible server, e.g. `http://127.0.0.1:5000`. */
  upstream: string;
  /** Usually `fake.isValidKey`; may be async (e.g. asking a standalone fake's control API). */
  isValidKey: (accessKeyId: string) => KeyStatus | Promise<KeyStatus>;
  /** Epoch milliseconds, for presigned URL expiry. Default Date.now. */
  now?: () => number;
  /** Per-action denials (`s3:PutObject`…) answered with S3's AccessDenied; a new empty table when absent. */
  denials?: Denials;
  /** Who a key belongs to, for the AccessDenied message (usually `fake.principalOf`); else the key id. */
  principalOf?: (accessKeyId: string) => string | undefined;
  host?: string;
  port?: number;
}

export type RejectReason = 'ExpiredToken' | 'InvalidAccessKeyId' | 'RequestExpired' | 'AccessDenied';

export interface S3EnforcerCounts {
  accepted: number;
  /** Distinct access keys of accepted signed requests, in the order first seen: shows credentials rotating. */
  acceptedKeys: string[];
  rejected: number;
  byReason: Record<RejectReason, number>;
  /** Paths of accepted GETs signed in the query string: downloads by clients the registry redirected here. */
  presignedGets: string[];
}

export interface S3Enforcer {
  url: string;
  /** Switch per-action denials on and off at runtime. */
  denials: Denials;
  counts(): S3EnforcerCounts;
  stop(): Promise<void>;
}

/** What the request says about its signer: the access key and, for a presigned URL, when it stops being valid. */
interface Signature {
  accessKeyId: string;
  /** Epoch milliseconds; presigned URLs only. */
  expiresAt?: number;
  expiresSeconds?: string;
}

interface Rejection {
  status: number;
  reason: RejectReason;
  body: string;
}

export async function startS3Enforcer(opts: S3EnforcerOptions): Promise<S3Enforcer> {
  const now = opts.now ?? Date.now;
  const upstream = new URL(opts.upstream);
  const counts: S3EnforcerCounts = { accepted: 0, acceptedKeys: [], rejected: 0, byReason: { ExpiredToken: 0, InvalidAccessKeyId: 0, RequestExpired: 0, AccessDenied: 0 }, presignedGets: [] };
  const denials = opts.denials ?? new Denials();

  const server = createServer((req, res) => {
    check(req, opts.isValidKey, now()).then(
      (expired) => {
        const rejection = expired ?? denied(req, denials, opts.principalOf);
        if (rejection) {
          counts.rejected += 1;
          counts.byReason[rejection.reason] += 1;
          return sendXml(req, res, rejection.status, rejection.body);
        }
        counts.accepted += 1;
        const key = signatureOf(req)?.accessKeyId;
        if (key && !counts.acceptedKeys.includes(key)) counts.acceptedKeys.push(key);
        const url = new URL(req.url ?? '/', 'http://placeholder');
        if (req.method === 'GET' && url.searchParams.has('X-Amz-Signature')) counts.presignedGets.push(url.pathname);
        forward(req, res, upstream);
      },
      (error: unknown) => sendXml(req, res, 500, s3Error('InternalError', `isValidKey failed: ${String(error)}`, {})),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    denials,
    counts: () => structuredClone(counts),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Presigned expiry first (it needs no lookup), then the key. Unsigned requests are the upstream's business. */
async function check(req: IncomingMessage, isValidKey: S3EnforcerOptions['isValidKey'], nowMs: number): Promise<Rejection | undefined> {
  const signature = signatureOf(req);
  if (!signature) return undefined;
  if (signature.expiresAt !== undefined && signature.expiresAt < nowMs) {
    return {
      status: 403,
      reason: 'RequestExpired',
      body: s3Error('AccessDenied', 'Request has expired', {
        'X-Amz-Expires': signature.expiresSeconds,
        Expires: new Date(signature.expiresAt).toISOString(),
        ServerTime: new Date(nowMs).toISOString(),
      }),
    };
  }
  const status = await isValidKey(signature.accessKeyId);
  if (status === 'expired') {
    const token = headerOrQuery(req, 'x-amz-security-token', 'X-Amz-Security-Token');
    return { status: 400, reason: 'ExpiredToken', body: s3Error('ExpiredToken', 'The provided token has expired.', { 'Token-0': token }) };
  }
  if (status === 'unknown') {
    return {
      status: 403,
      reason: 'InvalidAccessKeyId',
      body: s3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: signature.accessKeyId }),
    };
  }
  return undefined;
}

/**
 * The IAM action and resource of a path-style S3 request (the registry and the preflight use path style here),
 * after the S3 authorization reference ("Actions, resources, and condition keys for Amazon S3").
 */
export function s3ActionOf(method: string, url: string): { action: string; resource: string } | undefined {
  const parsed = new URL(url, 'http://s3');
  const [, bucket = '', ...rest] = parsed.pathname.split('/');
  if (!bucket) return undefined;
  let key = rest.join('/');
  try {
    key = decodeURIComponent(key);
  } catch {
    // Not valid percent-encoding: S3 would refuse the request itself; the raw key is good enough to match denials.
  }
  const q = parsed.searchParams;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (!key) {
    if (q.has('location')) return { action: 's3:GetBucketLocation', resource: bucketArn };
    if (q.has('uploads')) return { action: 's3:ListBucketMultipartUploads', resource: bucketArn };
    if (q.has('delete') && method === 'POST') return { action: 's3:DeleteObject', resource: `${bucketArn}/*` };
    if (method === 'GET' || method === 'HEAD') return { action: 's3:ListBucket', resource: bucketArn };
    return undefined;
  }
  const objectArn = `${bucketArn}/${key}`;
  if (q.has('uploadId')) {
    if (method === 'DELETE') return { action: 's3:AbortMultipartUpload', resource: objectArn };
    if (method === 'GET') return { action: 's3:ListMultipartUploadParts', resource: objectArn };
    return { action: 's3:PutObject', resource: objectArn };
  }
  const byMethod: Record<string, string> = { GET: 's3:GetObject', HEAD: 's3:GetObject', PUT: 's3:PutObject', POST: 's3:PutObject', DELETE: 's3:DeleteObject' };
  const action = byMethod[method];
  return action ? { action, resource: objectArn } : undefined;
}

function denied(req: IncomingMessage, denials: Denials, principalOf: S3EnforcerOptions['principalOf']): Rejection | undefined {
  if (denials.isEmpty()) return undefined;
  const signature = signatureOf(req);
  const target = s3ActionOf(req.method ?? 'GET', req.url ?? '/');
  if (!signature || !target) return undefined;
  const denial = denials.match(target.action, target.resource);
  if (!denial) return undefined;
  const principal = principalOf?.(signature.accessKeyId) ?? signature.accessKeyId;
  return { status: 403, reason: 'AccessDenied', body: s3Error('AccessDenied', accessDeniedMessage(principal, target.action, target.resource, denial.policy), {}) };
}

/** SigV4 header, SigV4 presigned query, or the legacy SigV2 header `AWS AKID:signature`. */
function signatureOf(req: IncomingMessage): Signature | undefined {
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('AWS4-')) {
    const credential = /Credential=([^,\s]+)/.exec(authorization)?.[1];
    const scope = credential ? parseCredentialScope(credential) : undefined;
    return scope ? { accessKeyId: scope.accessKeyId } : undefined;
  }
  if (authorization?.startsWith('AWS ')) return { accessKeyId: authorization.slice(4).split(':')[0] ?? '' };
  const query = new URL(req.url ?? '/', 'http://s3').searchParams;
  const scope = parseCredentialScope(query.get('X-Amz-Credential') ?? '');
  if (!scope) return undefined;
  const amzDate = query.get('X-Amz-Date') ?? undefined;
  const expiresSeconds = query.get('X-Amz-Expires') ?? undefined;
  const signedAt = amzDate ? parseAmzDate(amzDate) : undefined;
  const expiresAt = signedAt !== undefined && expiresSeconds ? signedAt + Number(expiresSeconds) * 1000 : undefined;
  return { accessKeyId: scope.accessKeyId, expiresAt, expiresSeconds };
}

/** `20250101T120000Z` → epoch milliseconds. */
function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

function headerOrQuery(req: IncomingMessage, header: string, param: string): string | undefined {
  const value = req.headers[header];
  if (typeof value === 'string') return value;
  return new URL(req.url ?? '/', 'http://s3').searchParams.get(param) ?? undefined;
}

function s3Error(code: string, message: string, extra: Record<string, string | undefined>): string {
  const fields = Object.entries(extra)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<${name}>${xmlEscape(value!)}</${name}>`)
    .join('');
  const ids = `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId><HostId>${randomBytes(32).toString('base64')}</HostId>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${fields}${ids}</Error>`;
}

/** The request body is not read before answering, so the connection is closed rather than reused. */
function sendXml(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body); // Node itself leaves the body out of a HEAD answer.
  req.resume();
}

/** Raw headers both ways, so case, order and repeated headers reach the other side as they were sent. */
function forward(req: IncomingMessage, res: ServerResponse, upstream: URL): void {
  const outgoing = request(
    { host: upstream.hostname, port: upstream.port || 80, method: req.method, path: req.url, headers: req.rawHeaders },
    (incoming) => {
      res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, incoming.rawHeaders);
      pipeline(incoming, res, () => {});
    },
  );
  outgoing.on('error', (error) => {
    if (res.headersSent) return res.destroy();
    const body = s3Error('ServiceUnavailable', `upstream ${upstream.origin}: ${error.message}`, {});
    res.writeHead(502, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  pipeline(req, outgoing, () => {});
}
