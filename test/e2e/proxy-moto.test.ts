/**
 * The proxy path against a second AWS implementation: moto's STS and ECR behind the same network namespace whose only
 * way out is a forward proxy (support/proxy-netns.ts), so proxy support does not pass only against our own fake.
 * moto's ECR answers an `expiresAt` in 2015: the answer arrives through the proxy and is refused (issue 9).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workDir, STS_INIT } from '../integration/sts-init-support.js';
import { cleanEnv, exePath, requireBuilt } from '../support/exe.js';
import { PROXY_URL, startProxyNetwork, type ProxyNetwork } from '../support/proxy-netns.js';
import { startMoto, type MotoProcess } from '../support/registry-process.js';
import { requireTools } from '../support/tools.js';

const REGION = 'eu-west-1';
const REGISTRY = `123456789012.dkr.ecr.${REGION}.amazonaws.com`;

let moto: MotoProcess;
let network: ProxyNetwork;

beforeAll(async () => {
  requireTools('motoServer');
  requireBuilt();
  moto = await startMoto();
  network = await startProxyNetwork(moto.port, [`sts.${REGION}.amazonaws.com`, `api.ecr.${REGION}.amazonaws.com`]);
});
afterAll(async () => {
  await network?.stop();
  await moto?.stop();
});

const env = (dir: string, extra: Record<string, string> = {}) =>
  cleanEnv({ HOME: dir, AWS_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true', NODE_EXTRA_CA_CERTS: network.caFile, HTTPS_PROXY: PROXY_URL, ...extra });

describe('through HTTPS_PROXY to moto', () => {
  it('the helper gets moto\'s ECR answer through the proxy, and refuses its 2015 token', async () => {
    const dir = await workDir('proxy-moto-');
    const out = await network.run(exePath, ['get'], env(dir, { AWS_ACCESS_KEY_ID: 'AKIAMOTOEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x', ECR_LOGIN_LOG: 'stderr' }), { stdin: REGISTRY });
    expect(out.stdout).toBe('credentials not found in native keychain\n');
    expect(out.stderr).toContain('expiry 2015-01-01T00:00:00.000Z is already past');
    expect(out.proxied).toEqual([`CONNECT api.ecr.${REGION}.amazonaws.com:443`]);
  });

  it('sts-init assumes the role with web identity through the proxy, and refuses to warm the cache with the 2015 token', async () => {
    const dir = await workDir('proxy-moto-');
    const tokenFile = join(dir, 'token');
    // moto does not verify the token's signature; the shape is that of a projected service-account token.
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    await writeFile(tokenFile, `${part({ alg: 'RS256' })}.${part({ sub: 'system:serviceaccount:registry:docker-registry', aud: 'sts.amazonaws.com' })}.c2ln`);
    const out = await network.run(STS_INIT, ['--dir', dir, '--timeout', '5s'], env(dir, {
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/registry-irsa',
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      ECR_REGISTRIES: REGISTRY,
      ECR_LOGIN_CACHE_IDENTITY: 'registry',
    }));
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain('"msg":"credentials written"');
    expect(out.stderr).toContain('"principal":"arn:aws:sts::123456789012:assumed-role/registry-irsa/');
    expect(out.stderr).toContain('"msg":"could not warm the ECR token cache"');
    expect(out.stderr).not.toContain('"ECR token cached"');
    // The preflight's calls (GetCallerIdentity, GetAuthorizationToken) go through the proxy too, and pass against moto.
    expect(out.stderr).toContain('preflight: passed (3 checks)');
    expect(out.proxied.slice(0, 2)).toEqual([`CONNECT sts.${REGION}.amazonaws.com:443`, `CONNECT api.ecr.${REGION}.amazonaws.com:443`]);
    expect(new Set(out.proxied)).toEqual(new Set([`CONNECT sts.${REGION}.amazonaws.com:443`, `CONNECT api.ecr.${REGION}.amazonaws.com:443`]));
  });
});
