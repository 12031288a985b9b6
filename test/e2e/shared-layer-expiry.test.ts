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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALUES_FILE, loadYaml } from '../chart/chart-values.js';
import { crane, makeTestImage } from '../support/crane.js';
import { startMoto, startRegistry, type MotoProcess, type RegistryProcess } from '../support/registry-process.js';
import { waitFor } from '../support/stack.js';
import { requireTools, toolPaths } from '../support/tools.js';

const BUCKET = 'shared-layer';
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json';

describe.each([
  ['3.0.0', toolPaths.registry300],
  ['3.1.2', toolPaths.registry312],
])('registry %s, one repository expires a layer another shares', (_version, binary) => {
  const stops: Array<() => Promise<void>> = [];
  let moto: MotoProcess;
  let upstream: RegistryProcess;
  let work: string;

  beforeAll(async () => {
    requireTools('registry300', 'registry312', 'motoServer', 'crane');
    work = mkdtempSync(join(tmpdir(), 'shared-layer-'));
    stops.push(async () => rmSync(work, { recursive: true, force: true }));
    moto = await startMoto();
    stops.push(() => moto.stop());
    await fetch(`${moto.url}/${BUCKET}`, { method: 'PUT' });
    upstream = await startRegistry({
      binary,
      config: { version: 0.1, log: { accesslog: { disabled: true } }, storage: { filesystem: { rootdirectory: join(work, 'upstream') } }, http: {} },
    });
    stops.push(() => upstream.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  async function proxy(configData: Record<string, any>, prefix: string, ttl: string): Promise<RegistryProcess> {
    const config = structuredClone(configData);
    config.storage = { ...config.storage, s3: { region: 'us-east-1', bucket: BUCKET, regionendpoint: moto.url, forcepathstyle: true, secure: false, rootdirectory: prefix } };
    config.proxy = { remoteurl: upstream.url, ttl };
    const r = await startRegistry({ binary, config, env: { AWS_ACCESS_KEY_ID: 'AKIDSHAREDLAYER', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' } });
    stops.push(() => r.stop());
    return r;
  }

  /** The object's text, or undefined when it is absent (moto answers unsigned GETs 403, so the SDK signs). */
  const object = async (key: string): Promise<string | undefined> => {
    const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'AKIDSHAREDLAYER', secretAccessKey: 'test' } });
    try {
      return await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString();
    } catch (e) {
      if ((e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    } finally {
      s3.destroy();
    }
  };
  /** What a node does for the layer: GET, following the 307 to S3. The final HTTP status. */
  const fetchLayer = async (registry: RegistryProcess, repo: string, layer: string): Promise<number> =>
    (await fetch(`${registry.url}/v2/${repo}/blobs/${layer}`)).status;

  async function scenario(configData: Record<string, any>, prefix: string) {
    const up = upstream.url.replace('http://', '');
    const [x, y] = [`${prefix.slice(1)}/x`, `${prefix.slice(1)}/y`];
    await makeTestImage({ ref: `${up}/${x}:v1`, layers: 1, layerBytes: 32 * 1024 });
    const copy = await crane(['copy', `${up}/${x}:v1`, `${up}/${y}:v1`, '--insecure']); // same layer digest
    expect(copy.code, copy.stderr).toBe(0);

    const first = await proxy(configData, prefix, '1h');
    const manifest = await (await fetch(`${first.url}/v2/${y}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } })).json() as { layers: { digest: string }[] };
    const layer = manifest.layers[0]!.digest;
    expect(await fetchLayer(first, y, layer)).toBe(200);
    const stateKey = `${prefix.slice(1)}/scheduler-state.json`;
    await waitFor('y\'s layer in scheduler-state.json', async () => ((await object(stateKey).catch(() => undefined))?.includes(layer) ? true : undefined));
    await first.stop();

    const second = await proxy(configData, prefix, '5s');
    const dataKey = `${prefix.slice(1)}/docker/registry/v2/blobs/sha256/${layer.slice(7, 9)}/${layer.slice(7)}/data`;
    expect(await fetchLayer(second, y, layer)).toBe(200); // served from the bucket (and remembered, if cached)
    await fetch(`${second.url}/v2/${x}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(await fetchLayer(second, x, layer)).toBe(200); // x links the layer: its expiry is scheduled in 5s
    await waitFor('x\'s expiry to delete the shared layer', async () => ((await object(dataKey)) === undefined ? true : undefined), 60_000);
    return {
      afterExpiry: await fetchLayer(second, y, layer),
      pull: await crane(['pull', '--format', 'oci', `${second.url.replace('http://', '')}/${y}:v1`, join(work, `pull-${prefix.slice(1)}`)]),
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
