/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY for real: every role runs in a network namespace whose only way out is a
 * forward proxy on loopback (support/proxy-netns.ts), against the real AWS host names of each partition, served by
 * the local AWS behind TLS. The proxy's log says which endpoints each run reached through it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, exePath, requireBuilt } from '../support/exe.js';
import { PROXY_URL, startProxyNetwork, type ProxyNetwork } from '../support/proxy-netns.js';
import { CRED_REFRESHER, SOURCE_ROLE, STS_INIT, readStored, workDir } from './sts-init-support.js';

/** One region of each partition and its DNS suffix. */
const PARTITION_REGIONS: Array<[string, string]> = [
  ['eu-west-1', 'amazonaws.com'],
  ['cn-north-1', 'amazonaws.com.cn'],
  ['us-gov-west-1', 'amazonaws.com'],
  ['us-iso-east-1', 'c2s.ic.gov'],
  ['us-isob-east-1', 'sc2s.sgov.gov'],
  ['eu-isoe-west-1', 'cloud.adc-e.uk'],
  ['us-isof-south-1', 'csp.hci.ic.gov'],
  ['eusc-de-east-1', 'amazonaws.eu'],
];
const ECR_PUBLIC_API = 'api.ecr-public.us-east-1.amazonaws.com';

let fake: FakeAws;
let network: ProxyNetwork;

beforeAll(async () => {
  requireBuilt();
  fake = await startFakeAws({ staticKeys: ['AKIASTATICEXAMPLE'] });
  const hosts = PARTITION_REGIONS.flatMap(([region, suffix]) => [`sts.${region}.${suffix}`, `api.ecr.${region}.${suffix}`]);
  network = await startProxyNetwork(Number(new URL(fake.url).port), [...hosts, ECR_PUBLIC_API]);
});
afterAll(async () => {
  await network?.stop();
  await fake?.stop();
});

/** No endpoint overrides: the SDK's own endpoints, trusted through the test CA. */
async function baseEnv(dir: string, extra: Record<string, string | undefined> = {}) {
  return cleanEnv({ HOME: dir, AWS_EC2_METADATA_DISABLED: 'true', NODE_EXTRA_CA_CERTS: network.caFile, ...extra });
}

async function irsa(dir: string, region: string, extra: Record<string, string | undefined> = {}) {
  const tokenFile = join(dir, 'token');
  await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry:docker-registry' });
  return baseEnv(dir, { AWS_REGION: region, AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, ...extra });
}

describe('the credential helper', () => {
  const keys = { AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE', AWS_SECRET_ACCESS_KEY: 'static-secret', AWS_ECR_DISABLE_CACHE: '1', ECR_LOGIN_LOG: 'stderr' };

  it('without a proxy reaches nothing (the namespace has no other way out)', async () => {
    const dir = await workDir('proxy-helper-');
    const out = await network.run(exePath, ['get'], await baseEnv(dir, keys), { stdin: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect({ code: out.code, stdout: out.stdout, proxied: out.proxied }).toEqual({ code: 1, stdout: 'credentials not found in native keychain\n', proxied: [] });
  });

  it.each(['HTTPS_PROXY', 'https_proxy'])('goes through %s for ECR and ECR Public', async (name) => {
    const dir = await workDir('proxy-helper-');
    const env = await baseEnv(dir, { ...keys, [name]: PROXY_URL });
    const priv = await network.run(exePath, ['get'], env, { stdin: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(priv.code, priv.stderr).toBe(0);
    expect(fake.validEcrPasswords()).toContain(JSON.parse(priv.stdout).Secret);
    expect(priv.proxied).toEqual(['CONNECT api.ecr.eu-west-1.amazonaws.com:443']);
    const pub = await network.run(exePath, ['get'], env, { stdin: 'public.ecr.aws' });
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.proxied).toEqual([`CONNECT ${ECR_PUBLIC_API}:443`]);
  });

  it('sends the user and password of the proxy URL as Proxy-Authorization', async () => {
    const dir = await workDir('proxy-helper-');
    const env = await baseEnv(dir, { ...keys, HTTPS_PROXY: 'http://proxy-user:p%40ss@127.0.0.1:3128' });
    const out = await network.run(exePath, ['get'], env, { stdin: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(out.code, out.stderr).toBe(0);
    expect(out.proxied).toEqual([`CONNECT api.ecr.eu-west-1.amazonaws.com:443 (Basic ${Buffer.from('proxy-user:p@ss').toString('base64')})`]);
  });

  it.each([
    ['socks5://127.0.0.1:1080', 'SOCKS5 CONNECT api.ecr.eu-west-1.amazonaws.com:443'],
    // As Go, socks5:// sends the host name too (nothing is resolved locally: the namespace has no DNS).
    ['socks5h://sock-user:s%40cret@127.0.0.1', 'SOCKS5 CONNECT api.ecr.eu-west-1.amazonaws.com:443 (sock-user:s@cret)'],
  ])('speaks SOCKS5 to HTTPS_PROXY=%s, as v0.12.0 does', async (proxy, logged) => {
    const dir = await workDir('proxy-helper-');
    const out = await network.run(exePath, ['get'], await baseEnv(dir, { ...keys, HTTPS_PROXY: proxy }), { stdin: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(out.code, out.stderr).toBe(0);
    expect(fake.validEcrPasswords()).toContain(JSON.parse(out.stdout).Secret);
    expect(out.proxied).toEqual([logged]);
  });

  it('makes CONNECTs through an ftp:// proxy with a port, as Go does for a scheme it has no dialer for', async () => {
    const dir = await workDir('proxy-helper-');
    const out = await network.run(exePath, ['get'], await baseEnv(dir, { ...keys, HTTPS_PROXY: 'ftp://127.0.0.1:3128' }), { stdin: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(out.code, out.stderr).toBe(0);
    expect(out.proxied).toEqual(['CONNECT api.ecr.eu-west-1.amazonaws.com:443']);
  });

  it('with IRSA, takes the web identity call of the SDK credential chain through the proxy too', async () => {
    const dir = await workDir('proxy-helper-');
    const env = await irsa(dir, 'eu-west-1', { HTTPS_PROXY: PROXY_URL, AWS_ECR_DISABLE_CACHE: '1', ECR_LOGIN_LOG: 'stderr' });
    const out = await network.run(exePath, ['get'], env, { stdin: '123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu' });
    expect(out.code, out.stderr).toBe(0);
    expect(out.proxied).toEqual(['CONNECT sts.eusc-de-east-1.amazonaws.eu:443', 'CONNECT api.ecr.eusc-de-east-1.amazonaws.eu:443']);
  });
});

describe('sts-init', () => {
  it.each(PARTITION_REGIONS)('in %s (*.%s): STS and ECR of that partition, through HTTPS_PROXY', async (region, suffix) => {
    const dir = await workDir('proxy-sts-');
    const registry = `123456789012.dkr.ecr.${region}.${suffix}`;
    const env = await irsa(dir, region, { HTTPS_PROXY: PROXY_URL, ECR_REGISTRIES: registry, ECR_LOGIN_CACHE_IDENTITY: 'registry' });
    const out = await network.run(STS_INIT, ['--dir', dir], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain('"ECR token cached"');
    // Then the preflight's GetCallerIdentity and GetAuthorizationToken, through the proxy too (over the same tunnels or
    // new ones, as keep-alive allows).
    expect(out.stderr).toContain('preflight: passed (3 checks)');
    expect(out.proxied.slice(0, 2)).toEqual([`CONNECT sts.${region}.${suffix}:443`, `CONNECT api.ecr.${region}.${suffix}:443`]);
    expect(new Set(out.proxied)).toEqual(new Set([`CONNECT sts.${region}.${suffix}:443`, `CONNECT api.ecr.${region}.${suffix}:443`]));
    expect(fake.isValidKey((await readStored(dir)).AccessKeyId)).toBe('valid');
  });

  it('goes through a SOCKS5 proxy for STS and ECR', async () => {
    const dir = await workDir('proxy-sts-');
    const env = await irsa(dir, 'cn-north-1', { HTTPS_PROXY: 'socks5://127.0.0.1:1080', ECR_REGISTRIES: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn' });
    const out = await network.run(STS_INIT, ['--dir', dir], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.proxied).toEqual(['SOCKS5 CONNECT sts.cn-north-1.amazonaws.com.cn:443', 'SOCKS5 CONNECT api.ecr.cn-north-1.amazonaws.com.cn:443']);
  });

  it('goes straight to a host NO_PROXY names, and through the proxy for the rest', async () => {
    const dir = await workDir('proxy-sts-');
    const env = await irsa(dir, 'eu-west-1', {
      HTTPS_PROXY: PROXY_URL,
      NO_PROXY: '169.254.169.254, .svc,sts.eu-west-1.amazonaws.com',
      ECR_REGISTRIES: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    });
    const out = await network.run(STS_INIT, ['--dir', dir], env, { direct: ['sts.eu-west-1.amazonaws.com'] });
    expect(out.code, out.stderr).toBe(0);
    // The preflight's calls too: STS straight, ECR through the proxy.
    expect(out.stderr).toContain('preflight: passed');
    expect(new Set(out.proxied)).toEqual(new Set(['CONNECT api.ecr.eu-west-1.amazonaws.com:443']));
    expect(fake.isValidKey((await readStored(dir)).AccessKeyId)).toBe('valid');
  });

  it('sends http:// endpoints through HTTP_PROXY', async () => {
    const dir = await workDir('proxy-sts-');
    // The preflight off: this fake network answers the web identity exchange only.
    const env = await irsa(dir, 'eu-west-1', { HTTP_PROXY: PROXY_URL, AWS_ENDPOINT_URL_STS: 'http://sts.local-aws.test', PREFLIGHT: 'off' });
    const out = await network.run(STS_INIT, ['--dir', dir], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.proxied).toEqual(['POST http://sts.local-aws.test/']);
  });
});

describe('cred-refresher', () => {
  it('refreshes credentials and ECR tokens through HTTPS_PROXY', async () => {
    const dir = await workDir('proxy-refresher-');
    const env = await irsa(dir, 'eusc-de-east-1', {
      HTTPS_PROXY: PROXY_URL,
      ECR_REGISTRIES: '123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu',
      ECR_LOGIN_CACHE_IDENTITY: 'registry',
    });
    const { child, proxied } = network.spawn(CRED_REFRESHER, ['--dir', dir, '--listen', '127.0.0.1:0'], env);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (stderr.includes('"credentials refreshed"') && stderr.includes('"ECR token refreshed"')) resolve();
      });
      void exited.then((code) => reject(new Error(`cred-refresher exited ${code}: ${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(proxied()).toEqual(['CONNECT sts.eusc-de-east-1.amazonaws.eu:443', 'CONNECT api.ecr.eusc-de-east-1.amazonaws.eu:443']);
  });
});
