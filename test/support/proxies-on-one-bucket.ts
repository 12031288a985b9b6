/**
 * For e2e tests that run several proxies of the chart's `configData` on one S3 bucket, side by side or one after
 * another: moto as S3, a filesystem registry as the upstream, and a factory of proxies on a prefix of the bucket.
 * Call inside a `describe`: it registers its own beforeAll/afterAll and stops every process it started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startMoto, startRegistry, type MotoProcess, type RegistryProcess } from './registry-process.js';
import { requireTools } from './tools.js';

export const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json';

export interface ProxiesOnOneBucket {
  /** moto's server (S3), the upstream registry and a scratch directory: set once beforeAll has run. */
  readonly moto: MotoProcess;
  readonly upstream: RegistryProcess;
  readonly work: string;
  /** The upstream's host:port, for image references. */
  readonly upstreamHost: string;
  /** Creates the bucket (idempotent in moto). */
  createBucket(): Promise<void>;
  /** A proxy of `configData` on the bucket under `prefix` (`/name`), proxying the upstream with `ttl` (e.g. `5s`). */
  proxy(configData: Record<string, any>, prefix: string, ttl: string): Promise<RegistryProcess>;
  /** What a node does for a blob: GET, following the 307 to S3; the final HTTP status. */
  blobStatus(registry: RegistryProcess, repo: string, digest: string): Promise<number>;
}

/** `binary`: the registry under test (both roles); `accessKeyId`: the proxies' static key, which moto accepts. */
export function proxiesOnOneBucket(binary: string, bucket: string, accessKeyId: string): ProxiesOnOneBucket {
  const stops: Array<() => Promise<void>> = [];
  const parts = {} as { moto: MotoProcess; upstream: RegistryProcess; work: string };

  beforeAll(async () => {
    requireTools('registry300', 'registry312', 'motoServer', 'crane');
    parts.work = mkdtempSync(join(tmpdir(), `${bucket}-`));
    stops.push(async () => rmSync(parts.work, { recursive: true, force: true }));
    parts.moto = await startMoto();
    stops.push(() => parts.moto.stop());
    parts.upstream = await startRegistry({
      binary,
      config: { version: 0.1, log: { accesslog: { disabled: true } }, storage: { filesystem: { rootdirectory: join(parts.work, 'upstream') } }, http: {} },
    });
    stops.push(() => parts.upstream.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  return {
    get moto() { return parts.moto; },
    get upstream() { return parts.upstream; },
    get work() { return parts.work; },
    get upstreamHost() { return parts.upstream.url.replace('http://', ''); },
    async createBucket() {
      const res = await fetch(`${parts.moto.url}/${bucket}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`moto did not create bucket ${bucket}: ${res.status}`);
    },
    async proxy(configData, prefix, ttl) {
      const config = structuredClone(configData);
      config.storage = { ...config.storage, s3: { region: 'us-east-1', bucket, regionendpoint: parts.moto.url, forcepathstyle: true, secure: false, rootdirectory: prefix } };
      config.proxy = { remoteurl: parts.upstream.url, ttl };
      const registry = await startRegistry({ binary, config, env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' } });
      stops.push(() => registry.stop());
      return registry;
    },
    async blobStatus(registry, repo, digest) {
      const res = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`);
      await res.arrayBuffer();
      return res.status;
    },
  };
}
