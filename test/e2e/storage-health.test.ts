/**
 * S3 fails and recovers under the real registry (3.0.0 and 3.1.2), configured from the chart values: the serving
 * registry keeps answering the chart's fixed liveness probe ("/" on 5000) so it is never restarted, the
 * storage-health sidecar's readiness path turns 503 (pod NotReady) and back to 200 once S3 answers again.
 * Alongside, the measurements behind that choice: the registry's own storage check (the previous values) fails "/"
 * itself, so the liveness probe would restart it, and a registry started while S3 fails exits instead of serving.
 * Also measured here: every bucket key the registry touches outside `docker/` (the IAM policy's resources).
 *
 * Only the check interval is shortened (10s -> 1s) so each transition takes seconds; the threshold is the values'.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { crane, makeTestImage } from '../support/crane.js';
import { startMoto, startRegistry, type MotoProcess, type RegistryProcess } from '../support/registry-process.js';
import { startS3Gate, type S3Gate } from '../support/s3-gate.js';
import { loadValues, waitFor } from '../support/stack.js';
import { requireTools, toolPaths } from '../support/tools.js';

const BUCKET = 'registry-cache';
const CONFIG_ANNOTATION = 'ecr-pull-through-cache/storage-health.yml';

interface EnvVar { name: string; value?: string }
interface Probe { httpGet: { path: string; port: number } }
interface InitContainer { name: string; env?: EnvVar[]; readinessProbe?: Probe; livenessProbe?: Probe; startupProbe?: Probe }

/** Runs a registry that is expected to exit on its own (within a minute); its exit code and whole output. */
function runToExit(binary: string, config: Record<string, unknown>, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-exit-'));
  const file = join(dir, 'config.yml');
  writeFileSync(file, stringify({ ...config, http: { addr: '127.0.0.1:0' } }));
  return new Promise((resolve) => {
    execFile(binary, ['serve', file], { env: { PATH: process.env.PATH ?? '', HOME: dir, OTEL_TRACES_EXPORTER: 'none', ...env }, timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, output: stdout + stderr });
      });
  });
}

async function statusOf(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 0; // not answering at all
  }
}

describe.each([
  ['3.0.0', toolPaths.registry300],
  ['3.1.2', toolPaths.registry312],
])('registry %s with S3 failing and recovering', (_version, binary) => {
  const stops: Array<() => Promise<void>> = [];
  let work: string;
  let moto: MotoProcess;
  let gate: S3Gate;
  let upstream: RegistryProcess;
  let serving: RegistryProcess; // the values' registry: storage check off
  let previous: RegistryProcess; // the registry with its own storage check on (the values before this change)
  let health: RegistryProcess; // the storage-health sidecar
  let healthProbe: string; // its readiness probe URL
  let proxyConfig: Record<string, any>;
  let s3Env: Record<string, string>;
  let registryEnv: Record<string, string>; // the env the chart gives the registry container (credentials, S3)
  const image = 'team/app:v1';

  beforeAll(async () => {
    requireTools('registry300', 'registry312', 'motoServer', 'crane');
    const values = loadValues() as unknown as {
      configData: Record<string, any>; s3: { region: string }; podAnnotations: Record<string, string>;
      initContainers: InitContainer[];
    };
    work = mkdtempSync(join(tmpdir(), 'storage-health-'));
    stops.push(async () => rmSync(work, { recursive: true, force: true }));
    moto = await startMoto();
    stops.push(() => moto.stop());
    expect((await fetch(`${moto.url}/${BUCKET}`, { method: 'PUT' })).ok).toBe(true);
    gate = await startS3Gate(moto.url);
    stops.push(() => gate.stop());

    upstream = await startRegistry({
      binary,
      config: { version: 0.1, log: { accesslog: { disabled: true } }, storage: { filesystem: { rootdirectory: join(work, 'upstream') } }, http: {} },
    });
    stops.push(() => upstream.stop());
    await makeTestImage({ ref: `${upstream.url.replace('http://', '')}/${image}`, layers: 2, layerBytes: 64 * 1024 });

    // The pod's /creds volume: the profile the roles write in /creds/aws, with static keys moto accepts (credentials
    // are not what this test is about).
    const root = join(work, 'creds-volume');
    const creds = join(root, 'aws');
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, 'aws-credentials'), '[default]\naws_access_key_id = AKIDSTORAGEHEALTH\naws_secret_access_key = test\n');
    writeFileSync(join(creds, 'aws-config'), `[default]\nregion = ${values.s3.region}\n`);
    const local = (vars: EnvVar[] = []) => Object.fromEntries(vars.map((v) => [v.name, (v.value ?? '').replaceAll('/creds', root)]));
    s3Env = {
      REGISTRY_STORAGE_S3_REGION: values.s3.region,
      REGISTRY_STORAGE_S3_BUCKET: BUCKET,
      REGISTRY_STORAGE_S3_REGIONENDPOINT: gate.url,
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
      REGISTRY_STORAGE_S3_SECURE: 'false',
    };

    // The serving registry: configData as the chart mounts it, the S3 driver as the chart renders it (env).
    proxyConfig = structuredClone(values.configData);
    proxyConfig.proxy = { remoteurl: upstream.url, ttl: proxyConfig.proxy.ttl }; // an anonymous upstream here
    registryEnv = { AWS_SHARED_CREDENTIALS_FILE: join(creds, 'aws-credentials'), AWS_CONFIG_FILE: join(creds, 'aws-config'), AWS_SDK_LOAD_CONFIG: '1', AWS_EC2_METADATA_DISABLED: 'true', ...s3Env };
    serving = await startRegistry({ binary, config: proxyConfig, env: registryEnv });
    stops.push(() => serving.stop());
    const withCheck = structuredClone(proxyConfig);
    withCheck.health = { storagedriver: { enabled: true, interval: '1s', threshold: 3 } };
    previous = await startRegistry({ binary, config: withCheck, env: registryEnv });
    stops.push(() => previous.stop());

    // The storage-health sidecar: its config file from the pod annotation, its env from its container.
    const sidecar = values.initContainers.find((c) => c.name === 'storage-health')!;
    const healthConfig = parse(values.podAnnotations[CONFIG_ANNOTATION]!) as Record<string, any>;
    healthConfig.health.storagedriver.interval = '1s';
    health = await startRegistry({ binary, config: healthConfig, env: { ...local(sidecar.env), ...s3Env, REGISTRY_STORAGE_S3_BUCKET: BUCKET } });
    stops.push(() => health.stop());
    healthProbe = `${health.url}${sidecar.readinessProbe!.httpGet.path}`;
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  const pull = async () => {
    const out = await crane(['pull', '--format', 'oci', `${serving.url.replace('http://', '')}/${image}`, join(work, `pull-${Math.random()}`)]);
    return out.code === 0 ? 'ok' : out.stderr.trim().split('\n').pop();
  };

  it('healthy S3: the image pulls through, every probe passes', async () => {
    expect(await pull()).toBe('ok');
    await waitFor('the storage check to pass', async () => ((await statusOf(healthProbe)) === 200 ? true : undefined));
    expect(await statusOf(`${serving.url}/`)).toBe(200);
    expect(await statusOf(`${previous.url}/`)).toBe(200);
  });

  it('S3 fails: the sidecar turns NotReady; the serving registry keeps passing its liveness probe', async () => {
    gate.setFailing(true);
    const livenessSeen: number[] = [];
    await waitFor('the storage-health readiness path to answer 503', async () => {
      livenessSeen.push(await statusOf(`${serving.url}/`));
      return (await statusOf(healthProbe)) === 503 ? true : undefined;
    }, 60_000);
    livenessSeen.push(await statusOf(`${serving.url}/`));
    expect(new Set(livenessSeen)).toEqual(new Set([200]));
    // The measurement behind the choice: with its own storage check, "/" of the registry itself fails, and the
    // chart's liveness probe (GET / on 5000, the same as its readiness probe) would restart it.
    await waitFor('the registry with its own check to fail "/"', async () => ((await statusOf(`${previous.url}/`)) === 503 ? true : undefined), 60_000);
    // ...and a restarted registry does not come back while S3 fails: it panics at start-up, where the proxy reads
    // its expiry list (scheduler-state.json; registry/handlers/app.go, NewApp).
    const restarted = await runToExit(binary, proxyConfig, registryEnv);
    expect(restarted.code).not.toBe(0);
    expect(restarted.output).toMatch(/^panic: s3aws: ServiceUnavailable/m);
    expect(restarted.output).toMatch(/registry\/handlers\.NewApp/);
  });

  it('S3 recovers: the sidecar is ready again, the same registry process serves the cached image', async () => {
    gate.setFailing(false);
    await waitFor('the storage-health readiness path to answer 200', async () => ((await statusOf(healthProbe)) === 200 ? true : undefined), 60_000);
    expect(await statusOf(`${serving.url}/`)).toBe(200);
    expect(await pull()).toBe('ok');
  });

  it('outside docker/ the registries read and write only scheduler-state.json, and list the bucket root', () => {
    const requests = gate.requests();
    const objects = requests.filter((r) => r.key !== '' && !r.key.startsWith('docker/'));
    expect(new Set(objects.map((r) => r.key))).toEqual(new Set(['scheduler-state.json']));
    const prefixes = new Set(requests.filter((r) => r.key === '' && r.prefix !== undefined && !r.prefix.startsWith('docker/')).map((r) => r.prefix));
    // '' is the storage check's Stat of "/"; 'scheduler-state.json' the Stat before reading the expiry list
    expect(prefixes).toEqual(new Set(['', 'scheduler-state.json']));
  });
});
