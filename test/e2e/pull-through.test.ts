/**
 * The real registry (3.0.0, and the newest 3.1.x) as a pull-through cache of "ECR", configured from the chart values:
 * the helper gives it upstream credentials, the S3 driver gets keyless credentials through credential_process, blobs
 * land in S3 and come back as presigned redirects.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedInS3, startStack, type Stack } from '../support/stack.js';
import { requireTools, toolPaths } from '../support/tools.js';
import { requireBuilt } from '../support/exe.js';

describe.each([
  ['registry 3.0.0', toolPaths.registry300],
  ['registry 3.1.2', toolPaths.registry312],
])('pull through %s', (_name, registryBinary) => {
  let stack: Stack;
  let digest: string;

  beforeAll(async () => {
    requireTools();
    requireBuilt();
    stack = await startStack({ registryBinary });
    digest = await stack.seedImage('team/app:v1', { layers: 3, layerBytes: 512 * 1024 });
  });
  afterAll(async () => stack?.stop());

  it('pulls an image with crane; the digest is the upstream one; the helper answered from the warmed cache', async () => {
    expect(await stack.pull('team/app:v1')).toBe(digest);
    const runs = stack.helperLog().filter((l) => l.msg === 'credentials found');
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((l) => l.source === 'cache')).toBe(true);
    expect(stack.fake.calls('ecr:GetAuthorizationToken').filter((c) => c.status === 200).length).toBeGreaterThan(0);
  });

  it('stores the blobs in S3 under docker/registry/v2/', async () => {
    const manifest = await (await fetch(`${stack.proxy.url}/v2/team/app/manifests/v1`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' },
    })).json() as { config: { digest: string }; layers: Array<{ digest: string }> };
    const blobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
    const all = await cachedInS3(stack, 'team/app', blobs);
    for (const blob of blobs) expect(all).toContain(`docker/registry/v2/blobs/sha256/${blob.slice(7, 9)}/${blob.slice(7)}/data`);
    expect(stack.s3.counts().rejected).toBe(0);
    // the layout of the setup this project replaces: its validation path holds, nothing under docker/docker/
    expect(all).toContain('docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link');
    expect(all.filter((k) => k.startsWith('docker/docker/'))).toEqual([]);
    for (const key of all.filter((k) => !k.startsWith('docker/'))) expect(key).toBe('scheduler-state.json');
  });

  it('answers a cached blob with a 307 to a presigned S3 URL that works', async () => {
    const manifest = await (await fetch(`${stack.proxy.url}/v2/team/app/manifests/v1`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' },
    })).json() as { layers: Array<{ digest: string }> };
    const layer = manifest.layers[0]!.digest;
    await cachedInS3(stack, 'team/app', [layer]);
    const answer = await fetch(`${stack.proxy.url}/v2/team/app/blobs/${layer}`, { redirect: 'manual' });
    expect(answer.status).toBe(307);
    const location = new URL(answer.headers.get('location')!);
    expect(location.origin).toBe(new URL(stack.s3.url).origin);
    expect(location.searchParams.get('X-Amz-Signature')).toBeTruthy();
    const blob = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(`sha256:${createHash('sha256').update(blob).digest('hex')}`).toBe(layer);
  });

  it('the registry holds no static keys: S3 is reached with STS-issued session credentials', async () => {
    const issued = new Set(stack.fake.issuedCredentials().map((c) => c.accessKeyId));
    const used = stack.s3.counts().acceptedKeys;
    expect(used.length).toBeGreaterThan(0);
    for (const key of used) expect(issued.has(key)).toBe(true);
  });
});
