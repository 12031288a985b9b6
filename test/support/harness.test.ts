// Proves the test harness drives the real tools. A missing tool fails every test with the provisioning hint.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craneDigest, craneManifest, makeTestImage, writeDockerConfig } from './crane.js';
import { startMoto, startRegistry, writeHtpasswd, type RegistryProcess } from './registry-process.js';
import { requireTools, toolPaths } from './tools.js';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

// Generous bounds: real processes on a busy 2-core CI machine. They are deadlines, not expectations.
const TIMEOUT = 120_000;

describe('test harness', { timeout: TIMEOUT }, () => {
  let dir: string;
  const running: Array<{ stop(): Promise<void> }> = [];
  const track = <T extends { stop(): Promise<void> }>(p: T): T => (running.push(p), p);
  const fsConfig = (name: string, extra: Record<string, unknown> = {}) => ({
    version: 0.1,
    log: { level: 'info' },
    storage: { filesystem: { rootdirectory: join(dir, name) } },
    ...extra,
  });

  beforeAll(() => {
    requireTools('registry300', 'crane', 'motoServer', 'python');
    dir = mkdtempSync(join(tmpdir(), 'harness-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, TIMEOUT);

  it('starts registry 3.0.0 from a minimal filesystem config', async () => {
    const registry = track(await startRegistry({ binary: toolPaths.registry300, config: fsConfig('plain') }));
    const res = await fetch(`${registry.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(registry.logs().join('\n')).toContain('listening on 127.0.0.1:');
    await registry.stop();
  });

  describe('an htpasswd-protected registry', () => {
    let registry: RegistryProcess;
    let htpasswd: string;

    beforeAll(async () => {
      htpasswd = join(dir, 'htpasswd');
      writeHtpasswd(htpasswd, 'AWS', ['first-token']);
      const auth = { htpasswd: { realm: 'test', path: htpasswd } };
      registry = track(await startRegistry({ binary: toolPaths.registry300, config: fsConfig('auth', { auth }) }));
    }, TIMEOUT);

    it('rejects a wrong password and accepts the right one', async () => {
      const anonymous = await fetch(`${registry.url}/v2/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="test"');
      expect((await fetch(`${registry.url}/v2/`, { headers: basic('AWS', 'wrong') })).status).toBe(401);
      expect((await fetch(`${registry.url}/v2/`, { headers: basic('AWS', 'first-token') })).status).toBe(200);
    });

    it('picks up a rewritten file: the new password works, the old one no longer does', async () => {
      writeHtpasswd(htpasswd, 'AWS', ['second-token']);
      expect((await fetch(`${registry.url}/v2/`, { headers: basic('AWS', 'second-token') })).status).toBe(200);
      expect((await fetch(`${registry.url}/v2/`, { headers: basic('AWS', 'first-token') })).status).toBe(401);
      writeHtpasswd(htpasswd, 'AWS', ['first-token']);
    });

    it('takes an OCI image pushed by crane and gives back its digest', async () => {
      const host = new URL(registry.url).host;
      const env = { DOCKER_CONFIG: writeDockerConfig(join(dir, 'docker'), { auths: { [host]: { username: 'AWS', password: 'first-token' } } }) };
      const image = await makeTestImage({ ref: `${host}/harness/app:v1`, layers: 3, layerBytes: 100_000, env });

      const digest = await craneDigest(image.ref, { env });
      expect(digest).toMatchObject({ code: 0, stdout: `${image.digest}\n` });
      const manifest = JSON.parse((await craneManifest(image.ref, { env })).stdout);
      expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(manifest.layers).toHaveLength(3);
      for (const layer of manifest.layers) expect(layer.size).toBeGreaterThan(100_000); // random data does not compress

      const anonymous = await craneDigest(image.ref);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toContain('UNAUTHORIZED');
    });
  });

  it('starts moto, whose ECR token is fixed and already expired', async () => {
    const moto = track(await startMoto());
    const res = await fetch(moto.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
        // moto routes by the service and region named in the credential scope; the signature is not checked.
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const [data] = (await res.json()).authorizationData;
    expect(Buffer.from(data.authorizationToken, 'base64').toString()).toBe('AWS:123456789012-auth-token');
    expect(data.expiresAt).toBe(1420070400); // 2015-01-01T00:00:00Z
    await moto.stop();
  });
});
