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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERLAYS, VALUES_FILE, loadYaml, mergeValues, overlayFile } from '../chart/chart-values.js';
import { crane, makeTestImage } from '../support/crane.js';
import { startMoto, startRegistry, type MotoProcess, type RegistryProcess } from '../support/registry-process.js';
import { waitFor } from '../support/stack.js';
import { requireTools, toolPaths } from '../support/tools.js';

const BUCKET = 'registry-cache';
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json';

describe.each([
  ['3.0.0', toolPaths.registry300],
  ['3.1.2', toolPaths.registry312],
])('registry %s, two replicas, one expires a blob', (_version, binary) => {
  const stops: Array<() => Promise<void>> = [];
  let moto: MotoProcess;
  let upstream: RegistryProcess;
  let work: string;

  beforeAll(async () => {
    requireTools('registry300', 'registry312', 'motoServer', 'crane');
    expect(OVERLAYS).toContain('two-replicas');
    work = mkdtempSync(join(tmpdir(), 'two-replicas-'));
    stops.push(async () => rmSync(work, { recursive: true, force: true }));
    moto = await startMoto();
    stops.push(() => moto.stop());
    upstream = await startRegistry({
      binary,
      config: { version: 0.1, log: { accesslog: { disabled: true } }, storage: { filesystem: { rootdirectory: join(work, 'upstream') } }, http: {} },
    });
    stops.push(() => upstream.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  /** A pair of proxies on a fresh bucket prefix, with the configData of `values`; A's TTL is `ttlA`. */
  async function pair(configData: Record<string, any>, prefix: string): Promise<[RegistryProcess, RegistryProcess]> {
    const start = async (ttl: string) => {
      const config = structuredClone(configData);
      config.storage = { ...config.storage, s3: { region: 'us-east-1', bucket: BUCKET, regionendpoint: moto.url, forcepathstyle: true, secure: false, rootdirectory: prefix } };
      config.proxy = { remoteurl: upstream.url, ttl };
      const r = await startRegistry({ binary, config, env: { AWS_ACCESS_KEY_ID: 'AKIDTWOREPLICAS', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' } });
      stops.push(() => r.stop());
      return r;
    };
    await fetch(`${moto.url}/${BUCKET}`, { method: 'PUT' });
    return [await start('10s'), await start(configData.proxy.ttl)];
  }

  /** The digest of the image's one layer. */
  async function layerOf(registry: RegistryProcess, repo: string): Promise<string> {
    const manifest = await (await fetch(`${registry.url}/v2/${repo}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } })).json() as { layers: { digest: string }[] };
    return manifest.layers[0]!.digest;
  }

  /** What a node does for the layer: GET, following the 307 to S3. The final HTTP status. */
  const fetchLayer = async (registry: RegistryProcess, repo: string, layer: string): Promise<number> =>
    (await fetch(`${registry.url}/v2/${repo}/blobs/${layer}`)).status;

  async function scenario(configData: Record<string, any>, prefix: string, repo: string) {
    await makeTestImage({ ref: `${upstream.url.replace('http://', '')}/${repo}:v1`, layers: 1, layerBytes: 32 * 1024 });
    const [a, b] = await pair(configData, prefix);
    const layer = await layerOf(a, repo);
    const dataKey = `${prefix.slice(1)}/docker/registry/v2/blobs/sha256/${layer.slice(7, 9)}/${layer.slice(7)}/data`;
    const inBucket = async () => (await (await fetch(`${moto.url}/${BUCKET}?list-type=2&prefix=${dataKey}`)).text()).includes('<KeyCount>1</KeyCount>');
    expect(await fetchLayer(a, repo, layer)).toBe(200); // A fetches it from upstream, stores it, schedules its expiry
    await waitFor('the layer in the bucket', async () => ((await inBucket()) ? true : undefined));
    expect(await fetchLayer(b, repo, layer)).toBe(200); // B serves it from the bucket (a 307 to S3 that works)
    await waitFor('replica A to expire the layer', async () => ((await inBucket()) ? undefined : true), 60_000);
    return {
      afterExpiry: await fetchLayer(b, repo, layer),
      pull: await crane(['pull', '--format', 'oci', `${b.url.replace('http://', '')}/${repo}:v1`, join(work, `pull-${prefix.slice(1)}`)]),
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
