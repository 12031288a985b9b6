// The enforcer in front of a tiny upstream standing in for S3 (moto in the real e2e): rejections in S3's own error
// shapes, and byte-for-byte forwarding of everything else. Expiry is driven by the fake's clock, never by waiting.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws, type IssuedCredentials } from './fake-aws.js';
import { s3ActionOf, startS3Enforcer, type S3Enforcer } from './s3-enforcer.js';

const ROLE = 'arn:aws:iam::111122223333:role/registry';

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  sha256: string;
  length: number;
}

let clock: number;
let fake: FakeAws;
let upstream: Server;
let seen: Seen[];
let enforcer: S3Enforcer;

/** Records what arrived and answers with repeated headers and a chunked body, to check the way back too. */
function startUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, sha256: hash.digest('hex'), length });
      res.writeHead(200, ['ETag', '"abc"', 'X-Amz-Meta-Twice', 'one', 'X-Amz-Meta-Twice', 'two']);
      res.write('first chunk,');
      res.end('second chunk');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeEach(async () => {
  clock = Date.now();
  seen = [];
  fake = await startFakeAws({ now: () => clock, stsLifetimeSeconds: 3600, staticKeys: ['AKIAMOTOSTATIC00000'] });
  upstream = await startUpstream();
  const port = (upstream.address() as AddressInfo).port;
  enforcer = await startS3Enforcer({ upstream: `http://127.0.0.1:${port}`, isValidKey: fake.isValidKey, now: () => clock });
});

/** closeAllConnections: the enforcer's keep-alive sockets would otherwise hold close() open. */
function closeUpstream(): Promise<unknown> {
  const closed = new Promise((resolve) => upstream.close(resolve));
  upstream.closeAllConnections();
  return closed;
}

afterEach(async () => {
  await enforcer.stop();
  await closeUpstream();
  await fake.stop();
});

interface Answer {
  status: number;
  rawHeaders: string[];
  body: string;
}

/** node:http rather than fetch: fetch would normalise the headers this test is about. */
function send(path: string, headers: string[] = [], body?: Buffer, method = body ? 'PUT' : 'GET', target = enforcer.url): Promise<Answer> {
  const { hostname, port, host } = new URL(target);
  // With headers given as a raw array, node:http adds no Host of its own.
  const raw = ['Host', host, ...headers];
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers: raw }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** The header the SDK's SigV4 signer writes (see the STS/ECR wire dump in the report); signature not checked. */
function sigv4(creds: { accessKeyId: string; sessionToken?: string }): string[] {
  const date = amzDate(clock);
  const headers = [
    'Authorization',
    `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
    'X-Amz-Date',
    date,
    'X-Amz-Content-Sha256',
    'UNSIGNED-PAYLOAD',
  ];
  return creds.sessionToken ? [...headers, 'X-Amz-Security-Token', creds.sessionToken] : headers;
}

function presigned(path: string, creds: IssuedCredentials, signedAt: number, expiresSeconds: number): string {
  const date = amzDate(signedAt);
  const query = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${creds.accessKeyId}/${date.slice(0, 8)}/us-east-1/s3/aws4_request`,
    'X-Amz-Date': date,
    'X-Amz-Expires': String(expiresSeconds),
    'X-Amz-Security-Token': creds.sessionToken,
    'X-Amz-SignedHeaders': 'host',
    'X-Amz-Signature': '0'.repeat(64),
  });
  return `${path}?${query}`;
}

const xmlField = (body: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];

describe('forwarding', () => {
  it('passes a request signed with a valid key through byte for byte, both ways', async () => {
    const creds = fake.issueCredentials({ roleArn: ROLE });
    const payload = randomBytes(3 * 1024 * 1024 + 7);
    const headers = [...sigv4(creds), 'x-amz-meta-Mixed-Case', 'a', 'X-Repeat', '1', 'X-Repeat', '2', 'Content-Length', String(payload.length)];
    const answer = await send('/bucket/docker/registry/v2/blobs/data?partNumber=1&uploadId=x%2By', headers, payload);

    expect(answer).toMatchObject({ status: 200, body: 'first chunk,second chunk' });
    expect(answer.rawHeaders).toEqual(expect.arrayContaining(['ETag', '"abc"', 'X-Amz-Meta-Twice', 'one', 'X-Amz-Meta-Twice', 'two']));
    const [arrived] = seen;
    expect(arrived).toMatchObject({ method: 'PUT', url: '/bucket/docker/registry/v2/blobs/data?partNumber=1&uploadId=x%2By', length: payload.length });
    expect(arrived!.sha256).toBe(createHash('sha256').update(payload).digest('hex'));
    // Host is the enforcer's, exactly as the client signed it; case, order and repeats survive.
    const host = new URL(enforcer.url).host;
    expect(arrived!.rawHeaders.slice(0, headers.length + 2)).toEqual(['Host', host, ...headers]);
    expect(enforcer.counts()).toMatchObject({ accepted: 1, rejected: 0 });
  });

  it('passes unsigned requests, static keys and unexpired presigned URLs', async () => {
    const creds = fake.issueCredentials({ roleArn: ROLE });
    expect((await send('/bucket/public')).status).toBe(200);
    expect((await send('/bucket/key', sigv4({ accessKeyId: 'AKIAMOTOSTATIC00000' }))).status).toBe(200);
    expect((await send(presigned('/bucket/blob', creds, clock - 60_000, 1200))).status).toBe(200);
    expect(seen).toHaveLength(3);
    expect(enforcer.counts().accepted).toBe(3);
    expect(enforcer.counts().presignedGets).toEqual(['/bucket/blob']); // only the one signed in its query string
  });

  it('answers 502 when the upstream is gone', async () => {
    await closeUpstream();
    const answer = await send('/bucket/key', sigv4({ accessKeyId: 'AKIAMOTOSTATIC00000' }));
    expect(answer.status).toBe(502);
    upstream = await startUpstream(); // for afterEach
  });
});

describe('rejections in S3 shapes', () => {
  it('answers 400 ExpiredToken once the issued key has expired, without reaching the upstream', async () => {
    const creds = fake.issueCredentials({ roleArn: ROLE, lifetimeSeconds: 900 });
    expect((await send('/bucket/key', sigv4(creds))).status).toBe(200);
    clock += 900_000;
    const answer = await send('/bucket/key', sigv4(creds), randomBytes(64 * 1024));
    expect(answer.status).toBe(400);
    expect(xmlField(answer.body, 'Code')).toBe('ExpiredToken');
    expect(xmlField(answer.body, 'Message')).toBe('The provided token has expired.');
    expect(xmlField(answer.body, 'Token-0')).toBe(creds.sessionToken);
    expect(answer.body.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Error>')).toBe(true);
    expect(seen).toHaveLength(1);
    expect(enforcer.counts()).toEqual({ accepted: 1, acceptedKeys: [creds.accessKeyId], rejected: 1, byReason: { ExpiredToken: 1, InvalidAccessKeyId: 0, RequestExpired: 0, AccessDenied: 0 }, presignedGets: [] });
  });

  it('answers 403 InvalidAccessKeyId for a key nobody issued, header or presigned', async () => {
    const answer = await send('/bucket/key', sigv4({ accessKeyId: 'AKIANOBODY000000000' }));
    expect(answer.status).toBe(403);
    expect(xmlField(answer.body, 'Code')).toBe('InvalidAccessKeyId');
    expect(xmlField(answer.body, 'AWSAccessKeyId')).toBe('AKIANOBODY000000000');
    const v2 = await send('/bucket/key', ['Authorization', 'AWS AKIANOBODY000000000:c2ln']);
    expect(v2.status).toBe(403);
    expect(seen).toHaveLength(0);
  });

  it('answers 403 AccessDenied "Request has expired" past X-Amz-Date + X-Amz-Expires', async () => {
    const creds = fake.issueCredentials({ roleArn: ROLE, lifetimeSeconds: 3600 });
    const url = presigned('/bucket/blob', creds, clock, 1200);
    expect((await send(url)).status).toBe(200);
    clock += 1_201_000;
    const answer = await send(url);
    expect(answer.status).toBe(403);
    expect(xmlField(answer.body, 'Code')).toBe('AccessDenied');
    expect(xmlField(answer.body, 'Message')).toBe('Request has expired');
    expect(xmlField(answer.body, 'X-Amz-Expires')).toBe('1200');
    expect(enforcer.counts().byReason.RequestExpired).toBe(1);
  });

  it('answers ExpiredToken for a presigned URL whose credentials expired before the URL did', async () => {
    const creds = fake.issueCredentials({ roleArn: ROLE, lifetimeSeconds: 600 });
    const url = presigned('/bucket/blob', creds, clock, 1200);
    clock += 601_000;
    const answer = await send(url, [], undefined, 'HEAD');
    expect(answer).toMatchObject({ status: 400, body: '' });
    expect(enforcer.counts().byReason.ExpiredToken).toBe(1);
  });
});

describe('injected denials (an IAM document missing a statement)', () => {
  it('refuses only the denied action, with AWS\'s AccessDenied message naming the principal and the policy kind', async () => {
    await enforcer.stop();
    const port = (upstream.address() as AddressInfo).port;
    enforcer = await startS3Enforcer({ upstream: `http://127.0.0.1:${port}`, isValidKey: fake.isValidKey, principalOf: fake.principalOf, now: () => clock });
    const creds = fake.issueCredentials({ roleArn: ROLE, sessionName: 'pod-1' });
    enforcer.denials.add({ action: 's3:PutObject', resourcePrefix: 'arn:aws:s3:::bucket/docker/' });
    enforcer.denials.add({ action: 's3:GetObject', policy: 'resource' });
    const put = await send('/bucket/docker/x', sigv4(creds), Buffer.from('x'), 'PUT');
    expect(put.status).toBe(403);
    expect(xmlField(put.body, 'Code')).toBe('AccessDenied');
    expect(xmlField(put.body, 'Message')).toBe('User: arn:aws:sts::111122223333:assumed-role/registry/pod-1 is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::bucket/docker/x because no identity-based policy allows the s3:PutObject action');
    expect(xmlField((await send('/bucket/other/x', sigv4(creds))).body, 'Message')).toMatch(/s3:GetObject on resource: &quot;arn:aws:s3:::bucket\/other\/x&quot; with an explicit deny in a resource-based policy$/);
    expect((await send('/bucket/other/x', sigv4(creds), Buffer.from('x'), 'PUT')).status).toBe(200);
    expect((await send('/bucket?list-type=2', sigv4(creds))).status).toBe(200);
    expect(enforcer.counts().byReason.AccessDenied).toBe(2);
    enforcer.denials.clear();
    expect((await send('/bucket/docker/x', sigv4(creds), Buffer.from('x'), 'PUT')).status).toBe(200);
  });

  it.each([
    ['GET', '/b?list-type=2&prefix=docker/', 's3:ListBucket', 'arn:aws:s3:::b'],
    ['HEAD', '/b', 's3:ListBucket', 'arn:aws:s3:::b'],
    ['GET', '/b?location', 's3:GetBucketLocation', 'arn:aws:s3:::b'],
    ['GET', '/b?uploads', 's3:ListBucketMultipartUploads', 'arn:aws:s3:::b'],
    ['POST', '/b?delete', 's3:DeleteObject', 'arn:aws:s3:::b/*'],
    ['GET', '/b/docker/k%20y', 's3:GetObject', 'arn:aws:s3:::b/docker/k y'],
    ['HEAD', '/b/k', 's3:GetObject', 'arn:aws:s3:::b/k'],
    ['PUT', '/b/k', 's3:PutObject', 'arn:aws:s3:::b/k'],
    ['POST', '/b/k?uploads', 's3:PutObject', 'arn:aws:s3:::b/k'],
    ['PUT', '/b/k?partNumber=1&uploadId=u', 's3:PutObject', 'arn:aws:s3:::b/k'],
    ['GET', '/b/k?uploadId=u', 's3:ListMultipartUploadParts', 'arn:aws:s3:::b/k'],
    ['DELETE', '/b/k?uploadId=u', 's3:AbortMultipartUpload', 'arn:aws:s3:::b/k'],
    ['DELETE', '/b/k', 's3:DeleteObject', 'arn:aws:s3:::b/k'],
  ])('%s %s is %s on %s', (method, url, action, resource) => {
    expect(s3ActionOf(method, url)).toEqual({ action, resource });
  });
});

describe('with a fake in another process', () => {
  it('can ask the control API whether a key is valid', async () => {
    await enforcer.stop();
    const port = (upstream.address() as AddressInfo).port;
    const isValidKey = async (akid: string) => {
      const res = await fetch(`${fake.url}/_fake/keys/${encodeURIComponent(akid)}`);
      return ((await res.json()) as { status: 'valid' | 'expired' | 'unknown' }).status;
    };
    enforcer = await startS3Enforcer({ upstream: `http://127.0.0.1:${port}`, isValidKey, now: () => clock });
    const creds = fake.issueCredentials({ roleArn: ROLE, lifetimeSeconds: 60 });
    expect((await send('/bucket/key', sigv4(creds))).status).toBe(200);
    await fetch(`${fake.url}/_fake/clock`, { method: 'POST', body: JSON.stringify({ advanceSeconds: 61 }) });
    expect((await send('/bucket/key', sigv4(creds))).status).toBe(400);
  });
});
