/**
 * One registry (the base values, one replica), two repositories sharing a layer, and the proxy TTL expiry of one of
 * them. The layer is one S3 object (blobs/sha256/…/data); team/x's expiry deletes it while team/y still links it.
 *
 * Measured: with an in-memory blob descriptor cache, team/y is answered with a 307 to the deleted object (S3 404) and
 * a pull of team/y fails until that cache forgets it; with the values' setting (no descriptor cache) the registry
 * finds the blob gone in S3, fetches it from upstream again and the pull succeeds.
 *
 * The order of expiries is set without sleeping: team/y is pulled first by a registry with a 1h TTL, which writes
 * its schedule to scheduler-state.json (awaited in the bucket) and stops; a second registry on the same bucket, with
 * a TTL of seconds, loads that schedule and then pulls team/x, so team/x's entry expires long before team/y's.
 */
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { VALUES_FILE, loadYaml } from '../chart/chart-values.js';
import { crane, makeTestImage } from '../support/crane.js';
import { MANIFEST_ACCEPT, proxiesOnOneBucket } from '../support/proxies-on-one-bucket.js';
import { waitFor } from '../support/stack.js';
import { toolPaths } from '../support/tools.js';

const BUCKET = 'shared-layer';

describe.each([
  ['3.0.0', toolPaths.registry300],
  ['3.1.2', toolPaths.registry312],
])('registry %s, one repository expires a layer another shares', (_version, binary) => {
  const bucket = proxiesOnOneBucket(binary, BUCKET, 'AKIDSHAREDLAYER');
  beforeAll(() => bucket.createBucket());

  /** The object's text, or undefined when it is absent (moto answers unsigned GETs 403, so the SDK signs). */
  const object = async (key: string): Promise<string | undefined> => {
    const s3 = new S3Client({ region: 'us-east-1', endpoint: bucket.moto.url, forcePathStyle: true, credentials: { accessKeyId: 'AKIDSHAREDLAYER', secretAccessKey: 'test' } });
    try {
      return await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString();
    } catch (e) {
      if ((e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    } finally {
      s3.destroy();
    }
  };
  async function scenario(configData: Record<string, any>, prefix: string) {
    const up = bucket.upstreamHost;
    const [x, y] = [`${prefix.slice(1)}/x`, `${prefix.slice(1)}/y`];
    await makeTestImage({ ref: `${up}/${x}:v1`, layers: 1, layerBytes: 32 * 1024 });
    const copy = await crane(['copy', `${up}/${x}:v1`, `${up}/${y}:v1`, '--insecure']); // same layer digest
    expect(copy.code, copy.stderr).toBe(0);

    const first = await bucket.proxy(configData, prefix, '1h');
    const manifest = await (await fetch(`${first.url}/v2/${y}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } })).json() as { layers: { digest: string }[] };
    const layer = manifest.layers[0]!.digest;
    expect(await bucket.blobStatus(first, y, layer)).toBe(200);
    const stateKey = `${prefix.slice(1)}/scheduler-state.json`;
    await waitFor('y\'s layer in scheduler-state.json', async () => ((await object(stateKey).catch(() => undefined))?.includes(layer) ? true : undefined));
    await first.stop();

    const second = await bucket.proxy(configData, prefix, '5s');
    const dataKey = `${prefix.slice(1)}/docker/registry/v2/blobs/sha256/${layer.slice(7, 9)}/${layer.slice(7)}/data`;
    expect(await bucket.blobStatus(second, y, layer)).toBe(200); // served from the bucket (and remembered, if cached)
    await fetch(`${second.url}/v2/${x}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(await bucket.blobStatus(second, x, layer)).toBe(200); // x links the layer: its expiry is scheduled in 5s
    await waitFor('x\'s expiry to delete the shared layer', async () => ((await object(dataKey)) === undefined ? true : undefined), 60_000);
    return {
      afterExpiry: await bucket.blobStatus(second, y, layer),
      pull: await crane(['pull', '--format', 'oci', `${second.url.replace('http://', '')}/${y}:v1`, join(bucket.work, `pull-${prefix.slice(1)}`)]),
    };
  }

  it('in-memory descriptor cache: y is redirected to the deleted object, the pull fails', async () => {
    const configData = loadYaml(VALUES_FILE).configData as Record<string, any>;
    configData.storage = { ...configData.storage, cache: { blobdescriptor: 'inmemory' } };
    const { afterExpiry, pull } = await scenario(configData, '/inmemory');
    expect(afterExpiry).toBe(404); // S3's answer to the presigned URL of a deleted object
    expect(pull.code).not.toBe(0);
  });

  it('base values (no descriptor cache): y\'s layer is fetched from upstream again, the pull succeeds', async () => {
    const configData = loadYaml(VALUES_FILE).configData as Record<string, any>;
    expect(configData.storage.cache).toEqual({ blobdescriptor: '' });
    const { afterExpiry, pull } = await scenario(configData, '/base');
    expect(afterExpiry).toBe(200);
    expect(pull.code, pull.stderr).toBe(0);
  });
});
