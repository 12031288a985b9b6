/**
 * Proxies that fail or lie. A proxy sees only TLS, so nothing it answers to CONNECT may reach the SDK as an AWS
 * answer: https-proxy-agent replays a non-200 reply onto the request and the SDK takes any 2xx as success, so a proxy
 * answering `201` with an ECR or STS body could forge a token or credentials. Go (v0.12.0) fails the request on any
 * reply but 200, and so do all three roles, with one line naming the proxy and its status. Also: proxy user info
 * never reaches a log or error line, and a proxy value that cannot be used is refused rather than read as something
 * else. (The proxies that work are in proxy.test.ts.)
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, requireBuilt, runExe } from '../support/exe.js';
import { CRED_REFRESHER, STS_INIT, metric, startRefresher, waitFor } from './sts-init-support.js';

let proxy: net.Server;
let proxyAddress: string;
/** The status line the proxy answers CONNECT with, per test. */
let reply = 'HTTP/1.1 201 Created';
const connects: string[] = [];
const forgedEcr = JSON.stringify({
  authorizationData: [{
    authorizationToken: Buffer.from('AWS:FORGED-BY-PROXY').toString('base64'),
    expiresAt: Math.floor(Date.now() / 1000) + 86400 * 365,
    proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
  }],
});
const forgedSts = (action: string) =>
  `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result><Credentials><AccessKeyId>ASIAFORGEDBYPROXY</AccessKeyId><SecretAccessKey>forged</SecretAccessKey><SessionToken>forged</SessionToken><Expiration>${new Date(Date.now() + 3600e3).toISOString()}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/x/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></${action}Result></${action}Response>`;

beforeAll(async () => {
  requireBuilt();
  proxy = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', (d) => {
      const head = d.toString('latin1').split('\r\n')[0]!;
      connects.push(head);
      const body = head.includes('sts') ? forgedSts('AssumeRole') : forgedEcr;
      s.end(`${reply}\r\nContent-Type: ${head.includes('sts') ? 'text/xml' : 'application/x-amz-json-1.1'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyAddress = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
});
afterAll(() => proxy?.close());

// Endpoints under .invalid: never loopback (so the proxy is used), never resolvable (so nothing leaves the machine).
const base = (extra: Record<string, string> = {}) => cleanEnv({
  HOME: '/nonexistent', AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE', AWS_SECRET_ACCESS_KEY: 'static-secret', AWS_EC2_METADATA_DISABLED: 'true',
  AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_ECR: 'https://ecr.aws.invalid', AWS_ENDPOINT_URL_STS: 'https://sts.aws.invalid',
  HTTPS_PROXY: `http://proxy-user:PROXY-SECRET@${proxyAddress}`, ECR_LOGIN_TIMEOUT: '5s', ECR_LOGIN_LOG: 'stderr', ...extra,
});
const tmp = () => mkdtemp(join(tmpdir(), 'proxy-failures-'));
const ROLE = ['--target-role-arn', 'arn:aws:iam::123456789012:role/x'];

describe('a CONNECT reply other than 200 fails the call, naming the proxy and its status', () => {
  it('helper: a 201 with an ECR body is no token (nothing printed, nothing cached)', async () => {
    reply = 'HTTP/1.1 201 Created';
    const dir = await tmp();
    const r = await runExe(['get'], { env: base({ AWS_ECR_CACHE_DIR: dir }), stdin: '123456789012.dkr.ecr.us-east-1.amazonaws.com' });
    expect(connects).toContain('CONNECT ecr.aws.invalid:443 HTTP/1.1');
    expect({ stdout: r.stdout, code: r.code }).toEqual({ stdout: 'credentials not found in native keychain\n', code: 1 });
    expect(r.stderr).toContain(`proxy ${proxyAddress} answered CONNECT ecr.aws.invalid:443 with 201`);
    expect(r.stderr).not.toContain('PROXY-SECRET');
    await expect(readFile(join(dir, 'cache.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('sts-init: a 201 with an STS body is no credentials', async () => {
    reply = 'HTTP/1.1 201 Created';
    const dir = await tmp();
    const r = await runExe(['--dir', dir, '--timeout', '3s', ...ROLE], { env: base(), file: STS_INIT });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`proxy ${proxyAddress} answered CONNECT sts.aws.invalid:443 with 201`);
    expect(r.stderr).not.toContain('PROXY-SECRET');
    await expect(readFile(join(dir, 'credentials.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('sts-init: a 407 is not retried (the proxy wants credentials), and is named as such, not as a parse error', async () => {
    reply = 'HTTP/1.1 407 Proxy Authentication Required';
    const r = await runExe(['--dir', await tmp(), '--timeout', '60s', ...ROLE], { env: base(), file: STS_INIT });
    expect(r.code).toBe(1);
    const last = r.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain(`proxy ${proxyAddress} answered CONNECT sts.aws.invalid:443 with 407`);
    expect(r.stderr).not.toMatch(/parse|Unknown/i);
  });

  it('cred-refresher: counts it as reason="proxy" and keeps nothing forged', async () => {
    reply = 'HTTP/1.1 502 Bad Gateway';
    const dir = await tmp();
    const refresher = await startRefresher(['--dir', dir, ...ROLE], base());
    try {
      await waitFor('a proxy failure', () => (refresher.logs().includes('answered CONNECT sts.aws.invalid:443 with 502') ? true : undefined), 15_000);
      const metrics = (await refresher.get('/metrics')).body;
      expect(metric(metrics, 'cred_refresher_refresh_total{kind="sts",result="failure",reason="proxy"}')).toBeGreaterThan(0);
      expect(refresher.logs()).not.toContain('PROXY-SECRET');
    } finally {
      await refresher.stop();
    }
    await expect(readFile(join(dir, 'credentials.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});

describe('proxy values that cannot be used', () => {
  it.each([
    ['socks5://user:SECRETPW@proxy.invalid:99999'],
    ['http://user:SECRETPW@proxy.invalid:99999'],
    ['http://user:SECRETPW@[::1'],
  ])('%s: sts-init and cred-refresher exit 2 with one line naming HTTPS_PROXY, never the password', async (value) => {
    for (const [file, flags] of [[STS_INIT, ['--timeout', '3s']], [CRED_REFRESHER, ['--listen', '127.0.0.1:0']]] as const) {
      const r = await runExe(['--dir', await tmp(), ...flags, ...ROLE], { env: base({ HTTPS_PROXY: value }), file });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('HTTPS_PROXY: "');
      expect(r.stderr).not.toContain('SECRETPW');
    }
  });

  it('helper: fails the call with that line rather than going direct or to a proxy at host "http"', async () => {
    const r = await runExe(['get'], { env: base({ HTTPS_PROXY: 'http://user:SECRETPW@proxy.invalid:99999', AWS_ECR_DISABLE_CACHE: '1' }),
      stdin: '123456789012.dkr.ecr.us-east-1.amazonaws.com' });
    expect({ stdout: r.stdout, code: r.code }).toEqual({ stdout: 'credentials not found in native keychain\n', code: 1 });
    expect(r.stderr).toContain('HTTPS_PROXY: \\"http://xxxxx@proxy.invalid:99999\\" is not a proxy URL');
    expect(r.stderr).not.toMatch(/SECRETPW|ENOTFOUND/);
  });
});

it('a password in the server URL is not logged', async () => {
  const r = await runExe(['get'], { env: cleanEnv({ HOME: '/nonexistent', AWS_ECR_DISABLE_CACHE: '1', ECR_LOGIN_LOG: 'stderr' }),
    stdin: 'https://user:S3CRETPW@123456789012.dkr.ecr.us-east-1.amazonaws.com' });
  expect(r.stderr).toContain('"serverUrl":"https://xxxxx@123456789012.dkr.ecr.us-east-1.amazonaws.com"');
  expect(r.stderr).not.toContain('S3CRETPW');
});
