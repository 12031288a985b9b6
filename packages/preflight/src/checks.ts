/**
 * The checks: each AWS call the registry will make, made once with the same credentials, and what its answer means.
 * A check passes when AWS lets the action through, even if the answer is "not found" (an absent
 * scheduler-state.json, an image tag that does not exist): the question is the permission, not the content.
 */
import { randomBytes } from 'node:crypto';
import { serverText } from '@ecr-proxy/core';
import type { PreflightApi, PrivateRegistry } from './api.js';
import type { PreflightConfig } from './config.js';
import { FILES, fixFor, fixText, type Fix } from './fix.js';

export type Status = 'ok' | 'fail' | 'skip';

export interface CheckResult {
  status: Status;
  /** The AWS action, e.g. `s3:PutObject`. */
  action: string;
  /** The resource ARN the action was tried on. */
  resource: string;
  /** ok: what was seen; fail: what went wrong (AWS error code and a few words); skip: why. */
  detail: string;
  /** fail only: the file of this repository to change. */
  fix?: Fix;
}

export interface PreflightReport {
  results: CheckResult[];
  /** From GetCallerIdentity; `unknown` when even that failed. */
  principal: string;
  ok: boolean;
}

export interface RunOptions {
  /** The principal the credentials act as, when the caller already knows it from AWS (sts-init: the assume-role
   * answer): the identity check then compares it and makes no GetCallerIdentity call of its own. */
  principal?: string;
  /** Random by default; tests pin it. */
  probeId?: string;
  /** Bound of the probe's removal, which runs even after the deadline. Default 5000 ms. */
  cleanupMs?: number;
  /** Aborts the checks like the deadline does (a SIGTERM/SIGINT, see interruptSignal): the calls in flight and the
   * checks left fail with its reason, and the probe's bounded removal still runs. */
  signal?: AbortSignal;
}

/** One line per check; a failure names action, resource, principal and the file to fix. No secrets: ARNs only. */
export function formatResult(r: CheckResult, principal: string): string {
  if (r.status === 'ok') return `preflight: ok   ${r.action} ${r.resource}${r.detail ? ` (${r.detail})` : ''}`;
  if (r.status === 'skip') return `preflight: skip ${r.action} ${r.resource} (${r.detail})`;
  return `preflight: FAIL ${r.action} on ${r.resource} as ${principal}: ${r.detail}${r.fix ? `; fix ${fixText(r.fix)}` : ''}`;
}

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'Forbidden']);
const BAD_CREDENTIALS = new Set([
  'ExpiredToken', 'ExpiredTokenException', 'InvalidAccessKeyId', 'InvalidClientTokenId', 'UnrecognizedClientException',
  'SignatureDoesNotMatch', 'InvalidSignatureException', 'CredentialsProviderError', 'InvalidToken',
]);

interface AwsError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

const codeOf = (e: AwsError) => (e.name && e.name !== 'Error' && e.name !== 'UnknownError' ? e.name : `HTTP ${e.$metadata?.httpStatusCode ?? '?'}`);
const oneLine = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').trim();

class DeadlinePassed extends Error {
  override name = 'DeadlinePassed';
}

/** The reason of an interruptSignal's abort. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly signal: 'SIGTERM' | 'SIGINT') {
    super(`interrupted by ${signal}`);
  }
}

/**
 * An AbortSignal aborted (reason: Interrupted) by the first SIGTERM or SIGINT, for `RunOptions.signal`: the kubelet
 * sends SIGTERM to an init container on a rollout or a pod's deletion, and the default action (exit at once) would
 * leave the probe in the bucket. While it is installed the process does not exit on those signals: the caller
 * finishes (the probe's removal is bounded by `cleanupMs`) and exits with `exitCode()` (128 + signal number, as a
 * shell reports it), then calls `dispose()`. A second signal exits at once.
 */
export function interruptSignal(): { signal: AbortSignal; exitCode: () => number | undefined; dispose: () => void } {
  const controller = new AbortController();
  let got: 'SIGTERM' | 'SIGINT' | undefined;
  const on = (name: 'SIGTERM' | 'SIGINT') => () => {
    if (got) process.exit(128 + (got === 'SIGTERM' ? 15 : 2));
    got = name;
    controller.abort(new Interrupted(name));
  };
  const term = on('SIGTERM');
  const int = on('SIGINT');
  process.on('SIGTERM', term);
  process.on('SIGINT', int);
  return {
    signal: controller.signal,
    exitCode: () => (got === undefined ? undefined : 128 + (got === 'SIGTERM' ? 15 : 2)),
    dispose: () => {
      process.off('SIGTERM', term);
      process.off('SIGINT', int);
    },
  };
}

/**
 * Runs every check against `api` within `config.timeoutMs` (a check the deadline cuts short fails with that reason;
 * the probe's removal still runs, bounded by `cleanupMs`). Never throws for an AWS answer.
 */
export async function runChecks(config: PreflightConfig, api: PreflightApi, opts: RunOptions = {}): Promise<PreflightReport> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlinePassed(`the preflight's deadline (${config.timeoutMs} ms) passed`)), config.timeoutMs);
  timer.unref();
  const stop = () => controller.abort(opts.signal!.reason);
  if (opts.signal?.aborted) stop();
  else opts.signal?.addEventListener('abort', stop, { once: true });
  const results: CheckResult[] = [];
  let principal = 'unknown';
  let partition = 'aws';

  /** Runs one call within the deadline, even if the call ignored its signal. */
  const call = <T>(fn: (signal: AbortSignal) => Promise<T>, signal = controller.signal): Promise<T> => {
    if (signal.aborted) return Promise.reject(signal.reason);
    return Promise.race([
      fn(signal),
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    ]);
  };

  /** The answer to a failed call, as a check result. */
  const failure = (err: unknown, action: string, resource: string, extra: { notFound?: string } = {}): CheckResult => {
    const e = (err ?? {}) as AwsError;
    // Server text (a broken proxy may echo the request, session token included) is scrubbed before it is printed;
    // the raw message is only matched for the KMS key ARN and which kind of policy AWS blames.
    const code = serverText(codeOf(e), 100);
    const raw = oneLine(e.message);
    const message = serverText(raw, 200);
    if (e instanceof DeadlinePassed || e instanceof Interrupted) return { status: 'fail', action, resource, detail: `no answer: ${message}` };
    if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.name === 'DeadlineError') {
      // The SDK's own timeout (core's request timeout, 10 s per attempt) says only which of its settings was
      // exceeded: the line ends in what to do instead.
      return { status: 'fail', action, resource, detail: `no answer (${code}): the endpoint did not answer in time; check that it is reachable from here (network, proxy, VPC endpoint) and answers` };
    }
    // SSE-KMS: S3 passes KMS's refusal on (`KMS.*` codes, or an AccessDenied naming a kms: action).
    const kmsNamed = /\b(kms:[A-Za-z]+)/.exec(raw)?.[1];
    if (code.startsWith('KMS.') || kmsNamed) {
      const kmsAction = kmsNamed ?? (action === 's3:PutObject' ? 'kms:GenerateDataKey' : 'kms:Decrypt');
      const key = /arn:aws[a-z-]*:kms:[^\s"']+/.exec(raw)?.[0] ?? 'the bucket\'s KMS key';
      return { status: 'fail', action: kmsAction, resource: key, detail: `${code} on ${action} (the bucket encrypts with SSE-KMS)`, fix: fixFor(kmsAction, raw, config.mode) };
    }
    if (DENIED.has(code) || e.$metadata?.httpStatusCode === 403) {
      const because = /because [^.]*/.exec(raw)?.[0];
      const why = because === undefined ? undefined : serverText(because, 200);
      return { status: 'fail', action, resource, detail: `${code}${why ? ` (${why})` : ''}`, fix: fixFor(action, raw, config.mode) };
    }
    if (BAD_CREDENTIALS.has(code)) {
      return { status: 'fail', action, resource, detail: `${code}: the credentials themselves were refused (${message || 'no message'})` };
    }
    if (extra.notFound && (e.$metadata?.httpStatusCode === 404 || /NotFound|NoSuch/.test(code))) {
      return { status: 'fail', action, resource, detail: `${code}: ${extra.notFound}`, fix: { file: FILES.values } };
    }
    return { status: 'fail', action, resource, detail: `${code}${message && message !== code ? `: ${message}` : ''}` };
  };

  try {
    // Identity first: every failure line names the principal.
    try {
      principal = opts.principal ?? (await call((s) => api.callerIdentity(s))).arn;
      partition = /^arn:(aws[a-z-]*):/.exec(principal)?.[1] ?? 'aws';
      results.push(identityResult(principal, config, opts.principal !== undefined));
    } catch (err) {
      results.push(failure(err, 'sts:GetCallerIdentity', '*'));
    }
    if (config.s3) results.push(...(await s3Checks(config, api, call, failure, partition, opts)));
    for (const registry of config.ecrRegistries) {
      if (registry.kind !== 'private') {
        results.push({ status: 'skip', action: 'ecr-public:GetAuthorizationToken', resource: registry.host, detail: 'ECR Public is not checked' });
        continue;
      }
      results.push(...(await ecrChecks(registry, config, api, call, failure, partition)));
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', stop);
  }
  return { results, principal, ok: results.every((r) => r.status !== 'fail') };
}

type Call = <T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal) => Promise<T>;
type Failure = (err: unknown, action: string, resource: string, extra?: { notFound?: string }) => CheckResult;

/** `arn:aws:iam::123456789012:role/path/name` is `arn:aws:sts::123456789012:assumed-role/name/<session>` at run time. */
export function isSessionOf(principal: string, roleArn: string): boolean {
  const role = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  if (!role) return false;
  const [, partition, account, name] = role;
  return principal === roleArn || principal.startsWith(`arn:${partition}:sts::${account}:assumed-role/${name}/`);
}

/** `given`: the principal came with the credentials (no call was made), so the line says `identity`. */
function identityResult(principal: string, config: PreflightConfig, given: boolean): CheckResult {
  const base = { action: given ? 'identity' : 'sts:GetCallerIdentity', resource: principal };
  if (!config.expectedRole) return { status: 'ok', ...base, detail: 'no expected role configured: not compared' };
  if (isSessionOf(principal, config.expectedRole)) return { status: 'ok', ...base, detail: `a session of ${config.expectedRole}` };
  return {
    status: 'fail',
    ...base,
    detail: `the credentials are not a session of the expected role ${config.expectedRole}`,
    // Either side may be wrong: the role named as expected, or the role the pod is given (the review's finding 2a:
    // naming only the annotation sent an operator to break a working one).
    fix: { file: FILES.values, sid: 'EXPECTED_ROLE_ARN, or what gives the pod its role: serviceAccount.annotations eks.amazonaws.com/role-arn, TARGET_ROLE_ARN, the Pod Identity association' },
  };
}

async function s3Checks(config: PreflightConfig, api: PreflightApi, call: Call, failure: Failure, partition: string, opts: RunOptions): Promise<CheckResult[]> {
  const s3 = config.s3!;
  const out: CheckResult[] = [];
  const arn = (key?: string) => `arn:${partition}:s3:::${s3.bucket}${key === undefined ? '' : `/${key}`}`;
  const probeKey = `${s3.prefix}.preflight/${opts.probeId ?? `${Date.now()}-${randomBytes(6).toString('hex')}`}`;
  const body = `ecr-pull-through-cache preflight probe ${probeKey}\n`;

  // The bucket, where the registry expects it: listed as the registry's storage health check lists it. (Not
  // HeadBucket: AWS authorizes it as s3:ListBucket, moto as an action of its own, so it proves less.) A bucket in
  // another region answers 301 with its region in x-amz-bucket-region.
  try {
    await call((s) => api.listObjects(s3.prefix, s));
    out.push({ status: 'ok', action: 's3:ListBucket', resource: arn(), detail: `bucket exists, lists ${s3.prefix || '/'}` });
  } catch (err) {
    const e = err as AwsError;
    const elsewhere = e.$response?.headers?.['x-amz-bucket-region'];
    if (e.$metadata?.httpStatusCode === 301 && elsewhere) {
      out.push({ status: 'fail', action: 's3:ListBucket', resource: arn(), detail: `the bucket is in ${elsewhere}, configured ${s3.region}`, fix: { file: FILES.values, sid: 's3.region' } });
    } else {
      out.push(failure(err, 's3:ListBucket', arn(), { notFound: `bucket ${s3.bucket} does not exist; set s3.bucket` }));
    }
  }

  // Delete is proved on an absent key before anything is written (S3 answers 204 when allowed): a role that may
  // write but not delete never gets a probe it could not remove.
  let mayDelete = false;
  try {
    await call((s) => api.deleteObject(probeKey, s));
    mayDelete = true;
  } catch (err) {
    out.push(failure(err, 's3:DeleteObject', arn(probeKey)));
  }

  if (mayDelete) {
    let written = false;
    try {
      const put = await call((s) => api.putObject(probeKey, body, s));
      written = true;
      const sse = put.serverSideEncryption ? `SSE ${put.serverSideEncryption}${put.kmsKeyId ? ` ${put.kmsKeyId}` : ''}` : '';
      out.push({ status: 'ok', action: 's3:PutObject', resource: arn(probeKey), detail: sse });
      try {
        const read = await call((s) => api.getObject(probeKey, s));
        out.push(read === body
          ? { status: 'ok', action: 's3:GetObject', resource: arn(probeKey), detail: put.serverSideEncryption?.startsWith('aws:kms') ? 'read back, KMS decrypt works' : 'read back' }
          : { status: 'fail', action: 's3:GetObject', resource: arn(probeKey), detail: 'read back different bytes than written' });
      } catch (err) {
        out.push(failure(err, 's3:GetObject', arn(probeKey)));
      }
      try {
        const keys = await call((s) => api.listObjects(probeKey, s));
        out.push(keys.includes(probeKey)
          ? { status: 'ok', action: 's3:ListBucket', resource: arn(), detail: 'lists the probe just written' }
          : { status: 'fail', action: 's3:ListBucket', resource: arn(), detail: `the probe just written is missing from the listing of ${probeKey}` });
      } catch (err) {
        out.push(failure(err, 's3:ListBucket', arn()));
      }
    } catch (err) {
      out.push(failure(err, 's3:PutObject', arn(probeKey)));
    } finally {
      // Removal runs even past the deadline, bounded on its own.
      const cleanup = AbortSignal.timeout(opts.cleanupMs ?? 5000);
      try {
        await call((s) => api.deleteObject(probeKey, s), cleanup);
        if (written) out.push({ status: 'ok', action: 's3:DeleteObject', resource: arn(probeKey), detail: 'probe removed' });
      } catch (err) {
        const result = failure(err, 's3:DeleteObject', arn(probeKey));
        // A put that timed out may still have landed: say the probe may be left behind.
        out.push({ ...result, detail: `${result.detail}; the probe ${probeKey} may be left in the bucket` });
      }
    }
  }

  // What the registry reads first at start (its proxy scheduler); a denial here is the crash loop at start.
  const stateKey = `${s3.prefix}scheduler-state.json`;
  try {
    await call((s) => api.getObject(stateKey, s, { firstByte: true }));
    out.push({ status: 'ok', action: 's3:GetObject', resource: arn(stateKey), detail: 'readable' });
  } catch (err) {
    const e = err as AwsError;
    // A 404 for the bucket itself (NoSuchBucket) is no answer about the key: the bucket check reports it.
    if (e.name === 'NoSuchKey' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')) {
      out.push({ status: 'ok', action: 's3:GetObject', resource: arn(stateKey), detail: 'absent: the registry starts empty' });
    } else {
      out.push(failure(err, 's3:GetObject', arn(stateKey)));
    }
  }
  return out;
}

const PROBE_TAG = 'preflight-probe-absent';
const PROBE_DIGEST = `sha256:${'0'.repeat(64)}`;
/** What ECR answers when the action was allowed but the image or layer does not exist. */
const ECR_ALLOWED = new Set(['ImageNotFoundException', 'LayersNotFoundException', 'LayerInaccessibleException']);

async function ecrChecks(registry: PrivateRegistry, config: PreflightConfig, api: PreflightApi, call: Call, failure: Failure, partition: string): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  try {
    await call((s) => api.ecrAuthorizationToken(registry, s));
    out.push({ status: 'ok', action: 'ecr:GetAuthorizationToken', resource: '*', detail: `token for ${registry.host}` });
  } catch (err) {
    const result = failure(err, 'ecr:GetAuthorizationToken', '*');
    out.push({ ...result, detail: `${result.detail} (registry ${registry.host})` });
  }
  const repo = config.ecrRepository;
  const repoArn = `arn:${partition}:ecr:${registry.region}:${registry.registryId}:repository/${repo ?? '*'}`;
  if (!repo) {
    out.push({ status: 'skip', action: 'ecr:BatchGetImage', resource: repoArn, detail: 'no probe repository: set PREFLIGHT_ECR_REPOSITORY' });
    return out;
  }
  const probes: Array<[string, (s: AbortSignal) => Promise<void>]> = [
    ['ecr:BatchGetImage', (s) => api.ecrBatchGetImage(registry, repo, PROBE_TAG, s)],
    ['ecr:GetDownloadUrlForLayer', (s) => api.ecrGetDownloadUrlForLayer(registry, repo, PROBE_DIGEST, s)],
  ];
  for (const [action, probe] of probes) {
    try {
      await call(probe);
      out.push({ status: 'ok', action, resource: repoArn, detail: 'allowed' });
    } catch (err) {
      const e = err as AwsError;
      if (e.name && ECR_ALLOWED.has(e.name)) out.push({ status: 'ok', action, resource: repoArn, detail: `allowed: ${e.name} for a probe that does not exist` });
      else if (e.name === 'RepositoryNotFoundException') out.push({ status: 'fail', action, resource: repoArn, detail: `RepositoryNotFoundException: set PREFLIGHT_ECR_REPOSITORY to a repository of ${registry.host}`, fix: { file: FILES.values } });
      else out.push(failure(err, action, repoArn));
    }
  }
  return out;
}
