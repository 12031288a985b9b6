/**
 * Review of issue 14 (branch review-14): reproductions against moto's S3, each stating what SHOULD happen. The ones
 * marked FAILS-ON-MAIN fail with the preflight as merged (and on this branch: not fixed here); "fixed on review-14"
 * ones failed on main and pass with the two small fixes in packages/preflight/src/checks.ts; the rest pin behaviour.
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/review-14-preflight.test.ts
 */
import { spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, ListObjectVersionsCommand, PutBucketVersioningCommand, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, requireBuilt, runExe } from '../support/exe.js';
import { startMoto, type MotoProcess } from '../support/registry-process.js';
import { requireTools } from '../support/tools.js';

const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjReviewFourteenSessionTokenThatMustNeverBePrinted0123456789';
let moto: MotoProcess;
let s3: S3Client;

const env = (extra: Record<string, string> = {}) => cleanEnv({
  AWS_ACCESS_KEY_ID: 'AKIDREVIEW14', AWS_SECRET_ACCESS_KEY: 'review14secret', AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_STS: moto.url, AWS_EC2_METADATA_DISABLED: 'true', HOME: '/nonexistent', ...extra,
});
const args = (bucket: string, endpoint: string, ...more: string[]) =>
  ['preflight', '--bucket', bucket, '--rootdirectory', '/docker', '--s3-endpoint', endpoint, '--s3-force-path-style', 'true', ...more];
const keys = async (bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((c) => c.Key!);

/** A proxy to moto that holds every GET of a probe forever (S3 hanging after the write), and says when one came. */
function hangingProxy(upstream: string): Promise<{ url: string; sawProbeGet: Promise<void>; close: () => void }> {
  let resolveGet!: () => void;
  const sawProbeGet = new Promise<void>((r) => (resolveGet = r));
  const held: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.includes('/.preflight/') && !req.url.includes('list-type')) {
      held.push(() => res.destroy());
      resolveGet();
      return;
    }
    const u = new URL(upstream);
    const out = request({ host: u.hostname, port: u.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sawProbeGet,
    close: () => { held.forEach((h) => h()); server.close(); },
  })));
}

/** An S3 endpoint that answers every request with an error echoing the request's session token (a broken proxy). */
function echoingServer(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume();
    const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>echo ${req.headers['x-amz-security-token'] ?? ''}</Message></Error>`;
    res.writeHead(400, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  })));
}

beforeAll(async () => {
  requireTools('motoServer');
  requireBuilt();
  moto = await startMoto();
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  for (const b of ['review-plain', 'review-versioned', 'review-hang']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'review-versioned', VersioningConfiguration: { Status: 'Enabled' } }));
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

describe('the probe leaves nothing behind', () => {
  it('pinned: a plain bucket is left empty', async () => {
    const result = await runExe(args('review-plain', moto.url), { env: env() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await keys('review-plain')).toEqual([]);
  });

  it('FAILS-ON-MAIN: a versioned bucket keeps no probe version and no delete marker', async () => {
    const result = await runExe(args('review-versioned', moto.url), { env: env() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await keys('review-versioned')).toEqual([]); // passes: the current view is empty
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'review-versioned' }));
    // On main: the probe's 84-byte version and a delete marker stay, one more of each per pod start.
    expect([...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => v.Key)).toEqual([]);
  });

  it('FAILS-ON-MAIN: SIGTERM while S3 hangs after the write (the kubelet stopping the init container) still removes the probe', async () => {
    const proxy = await hangingProxy(moto.url);
    try {
      const child = spawn(requireBuilt(), args('review-hang', proxy.url), { env: env(), stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      await proxy.sawProbeGet; // the probe is written, its read is held
      child.kill('SIGTERM');
      await exited;
      expect(await keys('review-hang')).toEqual([]);
    } finally {
      proxy.close();
    }
  });
});

describe('lines a failing check prints', () => {
  it('fixed on review-14 (failed on main): server text is scrubbed (core/server-text.ts), as everywhere else: no session token in the output', async () => {
    const echo = await echoingServer();
    try {
      const result = await runExe(args('review-plain', echo.url), { env: env({ AWS_SESSION_TOKEN: SESSION_TOKEN }) });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^preflight: FAIL s3:ListBucket /m);
      expect(result.stdout + result.stderr).not.toContain(SESSION_TOKEN.slice(0, 40));
    } finally {
      echo.close();
    }
  });

  it('fixed on review-14 (failed on main): a missing bucket does not report scheduler-state.json as "absent: the registry starts empty"', async () => {
    const result = await runExe(args('review-no-such-bucket', moto.url), { env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^preflight: FAIL s3:ListBucket .*NoSuchBucket/m);
    expect(result.stdout).not.toMatch(/^preflight: ok +s3:GetObject .*scheduler-state\.json/m);
  });
});
