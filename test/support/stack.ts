/**
 * The whole pull-through cache on this machine, built from the project's own chart values:
 *
 *   local AWS (STS, ECR) ── sts-init ── credentials dir ── cred-refresher (/readyz /metrics)
 *   moto (S3) ◀─ S3 enforcer (rejects expired keys) ◀─ proxy registry 3.0.0 ─ HTTP_PROXY ─▶ ECR front ─▶ upstream registry
 *                                                     └ proxy.exec.command = our helper, credential_process = our executable
 *
 * Only endpoints, paths, lifetimes and ports are overridden for the local run; `configData`, the registry env and the
 * init containers' env come from chart-values/values-s3-ecr-proxy.yaml, so the tested config cannot drift from it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startFakeAws, type FakeAws } from './fake-aws.js';
import { accessDeniedMessage } from './fake-aws/denials.js';
import { startS3Enforcer, type S3Enforcer } from './s3-enforcer.js';
import { startEcrFront, type EcrFront } from './ecr-front.js';
import { freePort, startChild, startMoto, startRegistry, type Child, type MotoProcess, type RegistryProcess } from './registry-process.js';
import { binDir, exePath, repoRoot, runExe } from './exe.js';
import { crane, makeTestImage } from './crane.js';
import { toolPaths } from './tools.js';

export const VALUES_FILE = join(repoRoot, 'chart-values', 'values-s3-ecr-proxy.yaml');
const BUCKET = 'registry-cache';

interface EnvVar { name: string; value?: string }
interface Values {
  configData: Record<string, any>;
  extraEnvVars: EnvVar[];
  initContainers: Array<{ name: string; env?: EnvVar[] }>;
  s3: { region: string; rootdirectory?: string };
}

export function loadValues(): Values {
  return parse(readFileSync(VALUES_FILE, 'utf8')) as Values;
}

/** The chart mounts the credentials volume at /creds; locally it is a temp dir. */
function localEnv(vars: EnvVar[] | undefined, credsDir: string): Record<string, string> {
  return Object.fromEntries((vars ?? []).map((v) => [v.name, (v.value ?? '').replaceAll('/creds', credsDir)]));
}

export interface StackOptions {
  registryBinary?: string;
  stsLifetimeSeconds?: number;
  ecrTokenLifetimeSeconds?: number;
  /** `proxy.exec.lifetime`; default: the values file's. */
  execLifetime?: string;
  /** CREDENTIALS_MARGIN for credential-process and the refresher. */
  margin?: string;
  refreshFraction?: number;
  ecrRefreshFraction?: number;
  /** Helper log level inside the registry (debug counts every run). */
  helperLogLevel?: 'debug' | 'info';
  /** Progress lines (the demo prints them). */
  progress?: (line: string) => void;
  /**
   * Also serve "ECR" over HTTPS through CONNECT (HTTPS_PROXY) with a self-signed certificate for the ECR host name,
   * written to `ecrCaFile` for clients to trust (SSL_CERT_FILE): what a containerd node needs (test/support/node.ts).
   */
  ecrTls?: boolean;
  /** Runs before sts-init, e.g. to inject denials (`fake.denials`, `s3.denials`) that break one IAM document. */
  beforeInit?: (parts: { fake: FakeAws; s3: S3Enforcer }) => void;
  /** Env for sts-init beyond the values', e.g. the preflight's optional PREFLIGHT_ECR_REPOSITORY; a TARGET_ROLE_ARN
   * here (overlays/cross-account.yaml) is a role the local STS lets sts-init assume. */
  initEnv?: Record<string, string>;
  /**
   * How sts-init and cred-refresher get their first credentials: IRSA (default: a web identity token, the values'
   * annotation) or EKS Pod Identity (overlays/pod-identity.yaml: the agent's container endpoint and its token file,
   * served by the local AWS, whose association gives the service account the values' role).
   */
  credentialSource?: 'irsa' | 'pod-identity';
}

/** sts-init exited non-zero: `line` is its last stderr line (the one an operator reads in the pod's events). */
export class StsInitFailed extends Error {
  override name = 'StsInitFailed';
  readonly line: string;
  constructor(readonly code: number | null, readonly stderr: string) {
    const line = stderr.trim().split('\n').pop() ?? '';
    super(`sts-init failed (exit ${code}): ${line}`);
    this.line = line;
  }
}

export interface Stack {
  /** sts-init's stderr (its log and the preflight's lines). */
  initLog: string;
  work: string;
  credsDir: string;
  ecrHost: string;
  /** With `ecrTls`: the PEM certificate "ECR" serves HTTPS with (self-signed, so also its CA). */
  ecrCaFile?: string;
  fake: FakeAws;
  moto: MotoProcess;
  s3: S3Enforcer;
  upstream: RegistryProcess;
  front: EcrFront;
  refresher: Child & { url: string };
  proxy: RegistryProcess;
  /** Pushes a random multi-layer image straight into the upstream registry; returns its digest. */
  seedImage(repo: string, opts?: { layers?: number; layerBytes?: number }): Promise<string>;
  /** Pulls through the cache with crane; returns the manifest digest it got, or throws with crane's last line. */
  pull(repo: string): Promise<string>;
  /** Keys under `docker/registry/v2/…` in the bucket. */
  s3Keys(): Promise<string[]>;
  /** Lines the helper logged inside the registry (JSON). */
  helperLog(): Array<Record<string, unknown>>;
  /**
   * Another proxy registry on the same storage, upstream and env as `proxy`, stopped with the stack. With `staticAuth`
   * it uses `proxy.username`/`password` instead of running the helper (the bench's baseline); `rootdirectory`
   * (default: the values file's) keeps its storage apart; `execLifetime` overrides `proxy.exec.lifetime`.
   */
  startProxy(opts?: { staticAuth?: { username: string; password: string }; rootdirectory?: string; execLifetime?: string }): Promise<RegistryProcess>;
  stop(): Promise<void>;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100)); // poll interval, not synchronisation
  }
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const say = opts.progress ?? (() => {});
  const values = loadValues();
  const work = mkdtempSync(join(tmpdir(), 'stack-'));
  const credsDir = join(work, 'creds');
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  };
  let initLog = '';
  try {
    const remote = new URL(values.configData.proxy.remoteurl as string);
    const ecrHost = remote.hostname;
    const refresherEnv = localEnv(values.initContainers.find((c) => c.name === 'cred-refresher')?.env, credsDir);
    const roleArn = refresherEnv.ECR_LOGIN_CACHE_IDENTITY ?? 'arn:aws:iam::123456789012:role/ecr-pull-through-cache';

    say('starting the local AWS (STS, ECR)');
    const serviceAccount = 'system:serviceaccount:registry-cache:ecr-pull-through-cache';
    const fake = await startFakeAws({
      stsLifetimeSeconds: opts.stsLifetimeSeconds ?? 3600,
      ecrTokenLifetimeSeconds: opts.ecrTokenLifetimeSeconds ?? 43_200,
      roles: [roleArn, ...(opts.initEnv?.TARGET_ROLE_ARN ? [opts.initEnv.TARGET_ROLE_ARN] : [])],
      podIdentityAssociations: { [serviceAccount]: roleArn },
    });
    stops.push(() => fake.stop());
    const tokenFile = join(work, 'token');
    await fake.writeTokenFile(tokenFile, { sub: serviceAccount, expSeconds: 86_400 });

    say('starting S3 (moto) behind an enforcer that rejects expired credentials');
    const moto = await startMoto();
    stops.push(() => moto.stop());
    const created = await fetch(`${moto.url}/${BUCKET}`, { method: 'PUT' });
    if (!created.ok) throw new Error(`could not create the bucket: HTTP ${created.status}`);
    const s3 = await startS3Enforcer({ upstream: moto.url, isValidKey: (akid) => fake.isValidKey(akid), principalOf: (akid) => fake.principalOf(akid) });
    stops.push(() => s3.stop());

    say('starting "ECR": a registry 3.0.0 behind a front that accepts only valid ECR tokens');
    const registryBinary = opts.registryBinary ?? toolPaths.registry300;
    const upstream = await startRegistry({
      binary: registryBinary,
      config: { version: 0.1, log: { accesslog: { disabled: true } }, storage: { filesystem: { rootdirectory: join(work, 'upstream') } }, http: {} },
    });
    stops.push(() => upstream.stop());
    const tls = opts.ecrTls ? selfSignedCert(work, ecrHost) : undefined;
    const front = await startEcrFront({
      upstream: upstream.url,
      validPasswords: () => fake.validEcrPasswords(),
      tls,
      // ECR authorizes each pull as the token's principal: the same per-action denials the fake's ECR API honours.
      denied: (action, repository) => {
        const resource = `arn:aws:ecr:${ecrHost.split(".")[3]}:${ecrHost.split(".")[0]}:repository/${repository}`;
        const spec = fake.denials.match(action, resource);
        return spec && accessDeniedMessage(`arn:aws:sts::123456789012:assumed-role/ecr-pull-through-cache/registry`, action, resource, spec.policy);
      },
    });
    stops.push(() => front.stop());

    // The env the EKS webhook injects: IRSA's two variables, or the Pod Identity agent's (overlays/pod-identity.yaml).
    const source: Record<string, string> = opts.credentialSource === 'pod-identity'
      ? { AWS_CONTAINER_CREDENTIALS_FULL_URI: fake.podIdentityUrl(), AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }
      : { AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile };
    const irsa = {
      ...fake.endpointEnv(),
      ...source,
      AWS_ECR_DISABLE_IMDS: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      HOME: work,
    };
    const tuning = {
      // Sessions in tests last seconds; the production floor (60 s) between refreshes would hold them back.
      REFRESH_FLOOR: '500ms',
      ...(opts.margin ? { CREDENTIALS_MARGIN: opts.margin } : {}),
      ...(opts.refreshFraction ? { REFRESH_FRACTION: String(opts.refreshFraction) } : {}),
      ...(opts.ecrRefreshFraction ? { ECR_REFRESH_FRACTION: String(opts.ecrRefreshFraction) } : {}),
    };

    opts.beforeInit?.({ fake, s3 });
    say('running sts-init (web identity → credentials, profile, ECR token cache, preflight)');
    const stsInitEnv = {
      ...localEnv(values.initContainers.find((c) => c.name === 'sts-init')?.env, credsDir),
      // The preflight's S3 target: the values' bucket settings, pointed at the local S3 as the registry's are below.
      REGISTRY_STORAGE_S3_BUCKET: BUCKET,
      REGISTRY_STORAGE_S3_REGIONENDPOINT: s3.url,
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
      ...opts.initEnv,
    };
    const init = await runExe([], { env: { PATH: process.env.PATH ?? '', ...stsInitEnv, ...irsa, ...tuning }, file: join(binDir, 'sts-init') });
    if (init.code !== 0) throw new StsInitFailed(init.code, init.stderr);
    initLog = init.stderr;

    say('starting cred-refresher (native sidecar)');
    const refresherPort = await freePort();
    const refresherUrl = `http://127.0.0.1:${refresherPort}`;
    const refresherChild = await startChild(
      join(binDir, 'cred-refresher'), [],
      { ...refresherEnv, ...irsa, ...tuning, REFRESHER_LISTEN: `127.0.0.1:${refresherPort}` },
      `${refresherUrl}/healthz`, () => {},
    );
    stops.push(() => refresherChild.stop());
    await waitFor('cred-refresher /readyz', async () => ((await fetch(`${refresherUrl}/readyz`)).ok ? true : undefined));

    say('starting the pull-through cache: registry from chart-values configData');
    const config = structuredClone(values.configData);
    config.storage = {
      ...config.storage,
      s3: {
        region: values.s3.region,
        bucket: BUCKET,
        regionendpoint: s3.url,
        forcepathstyle: true,
        secure: false,
        ...(values.s3.rootdirectory ? { rootdirectory: values.s3.rootdirectory } : {}),
      },
    };
    config.proxy = {
      ...config.proxy,
      remoteurl: `http://${ecrHost}`,
      exec: { ...config.proxy.exec, command: exePath, ...(opts.execLifetime ? { lifetime: opts.execLifetime } : {}) },
    };
    const helperLogPath = join(work, 'helper.log');
    const registryEnv = {
      ...localEnv(values.extraEnvVars, credsDir),
      ...fake.endpointEnv(),
      ECR_LOGIN_LOG: helperLogPath,
      ECR_LOGIN_LOG_LEVEL: opts.helperLogLevel ?? 'debug',
      HTTP_PROXY: front.url,
      AWS_EC2_METADATA_DISABLED: 'true',
      HOME: work,
    };
    const proxy = await startRegistry({ binary: registryBinary, config, env: registryEnv });
    stops.push(() => proxy.stop());
    const startProxy: Stack['startProxy'] = async ({ staticAuth, rootdirectory, execLifetime } = {}) => {
      const extra = structuredClone(config);
      if (rootdirectory) extra.storage.s3.rootdirectory = rootdirectory;
      if (execLifetime) extra.proxy.exec.lifetime = execLifetime;
      if (staticAuth) extra.proxy = { remoteurl: config.proxy.remoteurl, ttl: config.proxy.ttl, ...staticAuth };
      const started = await startRegistry({ binary: registryBinary, config: extra, env: registryEnv });
      stops.push(() => started.stop());
      return started;
    };

    const upstreamRef = (repo: string) => `${upstream.url.replace('http://', '')}/${repo}`;
    return {
      initLog, work, credsDir, ecrHost, fake, moto, s3, upstream, front, proxy,
      ...(tls ? { ecrCaFile: tls.certFile } : {}),
      refresher: { ...refresherChild, url: refresherUrl },
      async seedImage(repo, image = {}) {
        const { digest } = await makeTestImage({ ref: upstreamRef(repo), layers: image.layers ?? 3, layerBytes: image.layerBytes ?? 256 * 1024 });
        return digest;
      },
      async pull(repo) {
        const out = await crane(['digest', `${proxy.url.replace('http://', '')}/${repo}`]);
        if (out.code !== 0) throw new Error(`pull of ${repo} failed: ${out.stderr.trim().split('\n').pop()}`);
        // digest only asks for the manifest; fetch every blob too, as a real pull does.
        const pulled = await crane(['pull', '--format', 'oci', `${proxy.url.replace('http://', '')}/${repo}`, join(work, `pull-${Date.now()}-${Math.random()}`)]);
        if (pulled.code !== 0) throw new Error(`pull of ${repo} failed: ${pulled.stderr.trim().split('\n').pop()}`);
        return out.stdout.trim();
      },
      async s3Keys() {
        const listing = await (await fetch(`${moto.url}/${BUCKET}?list-type=2&max-keys=10000`)).text();
        return [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!);
      },
      helperLog() {
        let text = '';
        try { text = readFileSync(helperLogPath, 'utf8'); } catch { /* nothing logged yet */ }
        return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      },
      startProxy,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Waits until the repository links every blob in `digests` (the link is what makes the next request a local hit,
 * served by an S3 redirect) and returns the bucket's keys.
 *
 * Registry 3.0.0 writes a proxied blob to storage within the request that serves it, under the request's context:
 * when the client closes its connection after the last byte but before the S3 commit ends, the write is abandoned
 * (logged as "upload part: RequestCanceled: request context canceled"; distribution/distribution#4793; 3.1.2 writes
 * under a detached context). containerd (and crane) close their connections once a pull is done, so on a loaded
 * machine a layer it pulled can stay uncached, and the next request fetches it from the upstream again. That is what a
 * second request does here: for each abandoned write (counted from the log, once each) the blob is requested again
 * through the cache by a client that keeps its connection, until it is linked.
 */
export async function cachedInS3(stack: Stack, repo: string, digests: string[]): Promise<string[]> {
  const link = (digest: string) => `/repositories/${repo}/_layers/sha256/${digest.slice(7)}/link`;
  const abandoned = (digest: string) => stack.proxy.logs()
    .filter((l) => l.includes(`/v2/${repo}/blobs/${digest}`) && l.includes('request context canceled')).length;
  const retried = new Map<string, number>();
  try {
    return await waitFor(`the blobs of ${repo} in S3, linked into the repository`, async () => {
      const found = await stack.s3Keys();
      const missing = digests.filter((d) => !found.some((k) => k.endsWith(link(d))));
      if (missing.length === 0) return found;
      for (const digest of missing) {
        if (abandoned(digest) <= (retried.get(digest) ?? 0)) continue;
        retried.set(digest, (retried.get(digest) ?? 0) + 1);
        const res = await fetch(`${stack.proxy.url}/v2/${repo}/blobs/${digest}`);
        await res.arrayBuffer();
      }
      return undefined;
    });
  } finally {
    if (retried.size > 0) console.log(`registry 3.0.0 abandoned the cache write of ${[...retried.values()].reduce((a, b) => a + b, 0)} blob request(s) of ${repo} after the client closed (distribution#4793); requested again`);
  }
}

/** A throw-away key and self-signed certificate for `host` (openssl, as it comes with Debian's ca-certificates). */
function selfSignedCert(dir: string, host: string): { key: string; cert: string; certFile: string } {
  const keyFile = join(dir, 'ecr-key.pem');
  const certFile = join(dir, 'ecr-cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`, '-keyout', keyFile, '-out', certFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

export { waitFor };
export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2));
}
