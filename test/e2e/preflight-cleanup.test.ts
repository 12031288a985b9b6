/**
 * The preflight's probe and failure lines against moto's S3, with the built executable: nothing is left behind in a
 * plain bucket, a SIGTERM/SIGINT mid-check still removes the probe, what a versioned bucket keeps is what
 * chart-values/aws/lifecycle.json expires, server text is scrubbed, a missing bucket is reported as such.
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/preflight-cleanup.test.ts
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateBucketCommand, GetBucketLifecycleConfigurationCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand, S3Client, type LifecycleRule,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, repoRoot, requireBuilt, runExe } from '../support/exe.js';
import { STS_INIT, workDir } from '../integration/sts-init-support.js';
import { startMoto, type MotoProcess } from '../support/registry-process.js';
import { requireTools } from '../support/tools.js';

const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjPreflightCleanupSessionTokenThatMustNeverBePrinted0123456789';
let moto: MotoProcess;
let s3: S3Client;

const env = (extra: Record<string, string> = {}) => cleanEnv({
  AWS_ACCESS_KEY_ID: 'AKIDPREFLIGHT', AWS_SECRET_ACCESS_KEY: 'preflightsecret', AWS_REGION: 'us-east-1',
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
  for (const b of ['probe-plain', 'probe-versioned', 'probe-hang', 'probe-hang-int', 'probe-hang-sts-init']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'probe-versioned', VersioningConfiguration: { Status: 'Enabled' } }));
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

describe('the probe leaves nothing behind', () => {
  it('a plain bucket is left empty', async () => {
    const result = await runExe(args('probe-plain', moto.url), { env: env() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await keys('probe-plain')).toEqual([]);
  });

  it('a versioned bucket keeps only the probe\'s versions and delete markers, all under the prefix chart-values/aws/lifecycle.json expires', async () => {
    const lifecycle = JSON.parse(readFileSync(join(repoRoot, 'chart-values', 'aws', 'lifecycle.json'), 'utf8')) as { Rules: LifecycleRule[] };
    // moto validates the document as S3 does (it does not run the expiry): the file is applied as docs/aws-setup.md says.
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'probe-versioned', LifecycleConfiguration: lifecycle }));
    const rules = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'probe-versioned' }))).Rules ?? [];
    const probeRules = rules.filter((r) => r.Status === 'Enabled' && r.Filter?.Prefix === '.preflight/');
    expect(probeRules.some((r) => r.Expiration?.Days === 1 && r.NoncurrentVersionExpiration?.NoncurrentDays === 1)).toBe(true);
    expect(probeRules.some((r) => r.Expiration?.ExpiredObjectDeleteMarker === true)).toBe(true);

    // The values' layout: no root directory, so the probe is .preflight/<id> at the bucket root.
    const result = await runExe(args('probe-versioned', moto.url).filter((a, i, all) => a !== '--rootdirectory' && all[i - 1] !== '--rootdirectory'), { env: env() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await keys('probe-versioned')).toEqual([]); // the current view is empty
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'probe-versioned' }));
    const left = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => v.Key!);
    // S3 keeps a deleted object's versions (the role has no s3:DeleteObjectVersion, by design): the lifecycle rule
    // removes them within two days. Pinned here, so a change that leaves anything elsewhere fails.
    expect(left.length).toBeGreaterThan(0);
    for (const key of left) expect(key.startsWith('.preflight/'), key).toBe(true);
  });

  it.each([['SIGTERM', 143, 'probe-hang'], ['SIGINT', 130, 'probe-hang-int']] as const)(
    '%s while S3 hangs after the write (the kubelet stopping the init container) removes the probe, exit %i',
    async (signal, exitCode, bucket) => {
      const proxy = await hangingProxy(moto.url);
      try {
        const child = spawn(requireBuilt(), args(bucket, proxy.url), { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
        await proxy.sawProbeGet; // the probe is written, its read is held
        child.kill(signal);
        expect(await exited, out).toBe(exitCode);
        expect(out).toMatch(new RegExp(`^preflight: FAIL s3:GetObject on \\S+ as \\S+: no answer: interrupted by ${signal}`, 'm'));
        expect(out).toMatch(/^preflight: ok +s3:DeleteObject \S+ \(probe removed\)/m);
        expect(await keys(bucket)).toEqual([]);
      } finally {
        proxy.close();
      }
    },
  );

  it('sts-init: the kubelet\'s SIGTERM during its preflight removes the probe, exit 143 with a line saying so', async () => {
    const proxy = await hangingProxy(moto.url);
    try {
      const work = await workDir('preflight-sigterm-');
      const tokenFile = join(work, 'token');
      // moto does not verify the web identity token; its AssumeRoleWithWebIdentity gives the credentials.
      await writeFile(tokenFile, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cmVnaXN0cnk6ZG9ja2VyLXJlZ2lzdHJ5In0.');
      const child = spawn(STS_INIT, ['--dir', join(work, 'creds')], {
        env: cleanEnv({
          HOME: work, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_STS: moto.url, AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/registry', AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
          REGISTRY_STORAGE_S3_BUCKET: 'probe-hang-sts-init', REGISTRY_STORAGE_S3_ROOTDIRECTORY: '/docker',
          REGISTRY_STORAGE_S3_REGIONENDPOINT: proxy.url, REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      await proxy.sawProbeGet;
      child.kill('SIGTERM');
      expect(await exited, out).toBe(143);
      expect(out).toContain('probe removed');
      expect(out.trim().split('\n').at(-1)).toMatch(/^sts-init: interrupted by SIGTERM during the preflight/);
      expect(await keys('probe-hang-sts-init')).toEqual([]);
    } finally {
      proxy.close();
    }
  });
});

describe('lines a failing check prints', () => {
  it('server text is scrubbed (core/server-text.ts), as everywhere else: no session token in the output', async () => {
    const echo = await echoingServer();
    try {
      const result = await runExe(args('probe-plain', echo.url), { env: env({ AWS_SESSION_TOKEN: SESSION_TOKEN }) });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^preflight: FAIL s3:ListBucket /m);
      expect(result.stdout + result.stderr).not.toContain(SESSION_TOKEN.slice(0, 40));
    } finally {
      echo.close();
    }
  });

  it('a missing bucket does not report scheduler-state.json as "absent: the registry starts empty"', async () => {
    const result = await runExe(args('probe-no-such-bucket', moto.url), { env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^preflight: FAIL s3:ListBucket .*NoSuchBucket/m);
    expect(result.stdout).not.toMatch(/^preflight: ok +s3:GetObject .*scheduler-state\.json/m);
  });
});
