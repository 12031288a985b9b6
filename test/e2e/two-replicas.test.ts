/**
 * Two replicas of the real registry on one bucket (chart-values/overlays/two-replicas.yaml), and the blob that one
 * of them expires while the other still serves it. Replica A pulls an image first, so A's TTL scheduler owns its
 * expiry (a replica schedules only what it fetched from upstream); replica B then serves the same image from the
 * bucket. A's TTL is shortened to seconds so the expiry happens during the test; everything else is the values'.
 *
 * Measured: with an in-memory blob descriptor cache (the registry's usual setting), B keeps answering the expired blob with a 307
 * to the deleted S3 object, so nodes fail to pull it; with the values' setting (no descriptor cache), B finds
 * the blob gone in S3, fetches it from upstream again and the pull succeeds.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OVERLAYS, VALUES_FILE, loadYaml, mergeValues, overlayFile } from '../chart/chart-values.js';
import { crane, makeTestImage } from '../support/crane.js';
import { MANIFEST_ACCEPT, proxiesOnOneBucket } from '../support/proxies-on-one-bucket.js';
import { type RegistryProcess } from '../support/registry-process.js';
import { waitFor } from '../support/stack.js';
import { toolPaths } from '../support/tools.js';

const BUCKET = 'registry-cache';

describe.each([
  ['3.0.0', toolPaths.registry300],
  ['3.1.2', toolPaths.registry312],
])('registry %s, two replicas, one expires a blob', (_version, binary) => {
  const bucket = proxiesOnOneBucket(binary, BUCKET, 'AKIDTWOREPLICAS');
  beforeAll(() => expect(OVERLAYS).toContain('two-replicas'));

  /** A pair of proxies of `configData` on a bucket prefix: A with a 10 s TTL, B with the values' TTL. */
  async function pair(configData: Record<string, any>, prefix: string): Promise<[RegistryProcess, RegistryProcess]> {
    const start = (ttl: string) => bucket.proxy(configData, prefix, ttl);
    await bucket.createBucket();
    return [await start('10s'), await start(configData.proxy.ttl)];
  }

  /** The digest of the image's one layer. */
  async function layerOf(registry: RegistryProcess, repo: string): Promise<string> {
    const manifest = await (await fetch(`${registry.url}/v2/${repo}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } })).json() as { layers: { digest: string }[] };
    return manifest.layers[0]!.digest;
  }

  async function scenario(configData: Record<string, any>, prefix: string, repo: string) {
    await makeTestImage({ ref: `${bucket.upstreamHost}/${repo}:v1`, layers: 1, layerBytes: 32 * 1024 });
    const [a, b] = await pair(configData, prefix);
    const layer = await layerOf(a, repo);
    const dataKey = `${prefix.slice(1)}/docker/registry/v2/blobs/sha256/${layer.slice(7, 9)}/${layer.slice(7)}/data`;
    const inBucket = async () => (await (await fetch(`${bucket.moto.url}/${BUCKET}?list-type=2&prefix=${dataKey}`)).text()).includes('<KeyCount>1</KeyCount>');
    expect(await bucket.blobStatus(a, repo, layer)).toBe(200); // A fetches it from upstream, stores it, schedules its expiry
    await waitFor('the layer in the bucket', async () => ((await inBucket()) ? true : undefined));
    expect(await bucket.blobStatus(b, repo, layer)).toBe(200); // B serves it from the bucket (a 307 to S3 that works)
    await waitFor('replica A to expire the layer', async () => ((await inBucket()) ? undefined : true), 60_000);
    return {
      afterExpiry: await bucket.blobStatus(b, repo, layer),
      pull: await crane(['pull', '--format', 'oci', `${b.url.replace('http://', '')}/${repo}:v1`, join(bucket.work, `pull-${prefix.slice(1)}`)]),
    };
  }

  it('in-memory descriptor cache (the registry default): B redirects to the deleted object, the pull fails', async () => {
    const configData = loadYaml(VALUES_FILE).configData as Record<string, any>;
    configData.storage = { ...configData.storage, cache: { blobdescriptor: 'inmemory' } };
    const { afterExpiry, pull } = await scenario(configData, '/base', 'team/base');
    expect(afterExpiry).toBe(404); // S3's answer to the presigned URL of a deleted object
    expect(pull.code).not.toBe(0);
  });

  it('two-replicas overlay (no descriptor cache): B fetches the blob from upstream again, the pull succeeds', async () => {
    const values = mergeValues(loadYaml(VALUES_FILE), loadYaml(overlayFile('two-replicas')));
    const { afterExpiry, pull } = await scenario(values.configData as Record<string, any>, '/overlay', 'team/overlay');
    expect(afterExpiry).toBe(200);
    expect(pull.code, pull.stderr).toBe(0);
  });
});
