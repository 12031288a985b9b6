/** Shared by the sts-init and refresher integration tests: the built roles as child processes, and bounded waits. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCredentials, type StoredCredentials } from '../../packages/sts-init/src/credentials-file.js';
import type { FakeAws } from '../support/fake-aws.js';
import { binDir, cleanEnv, exePath, runExe, type RunResult } from '../support/exe.js';

export const SOURCE_ROLE = 'arn:aws:iam::123456789012:role/registry-irsa';
export const TARGET_ROLE = 'arn:aws:iam::210987654321:role/registry-storage';
export const STS_INIT = join(binDir, 'sts-init');
export const CRED_REFRESHER = join(binDir, 'cred-refresher');
export const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

export async function workDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** IRSA as the EKS webhook sets it up, against the fake over real HTTP; no IMDS, no developer AWS env. */
export async function irsaEnv(fake: FakeAws, dir: string, extra: Record<string, string | undefined> = {}) {
  const tokenFile = join(dir, 'token');
  await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry:docker-registry' });
  return cleanEnv({
    ...fake.endpointEnv(),
    HOME: dir,
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ROLE_ARN: SOURCE_ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    // Sessions here last seconds; the production floor (60 s) would hold every refresh back.
    REFRESH_FLOOR: '200ms',
    ...extra,
  });
}

export function stsInit(args: string[], env: Record<string, string>): Promise<RunResult> {
  return runExe(args, { env, file: STS_INIT });
}

export function credentialProcess(dir: string, margin: string, env: Record<string, string> = cleanEnv()): Promise<RunResult> {
  return runExe(['credential-process', '--dir', dir, '--margin', margin], { env, file: exePath });
}

export async function readStored(dir: string): Promise<StoredCredentials> {
  return validateCredentials(JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8')));
}

/** Polls `probe` until it returns a value other than undefined; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface RunningRefresher {
  child: ChildProcessWithoutNullStreams;
  statusUrl: string;
  containerUrl?: string;
  logs: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts dist/bin/cred-refresher on a free port and waits for its 'listening' log lines. */
export async function startRefresher(args: string[], env: Record<string, string>, opts: { container?: boolean } = {}): Promise<RunningRefresher> {
  const child = spawn(CRED_REFRESHER, ['--listen', '127.0.0.1:0', ...args], { env, cwd: '/' });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const urlOf = (endpoint: string) => () => {
    if (child.exitCode !== null) throw new Error(`cred-refresher exited ${child.exitCode}: ${stderr}`);
    for (const line of stderr.split('\n')) {
      if (!line.includes('"listening"')) continue;
      const record = JSON.parse(line) as { endpoint: string; url: string };
      if (record.endpoint === endpoint) return record.url;
    }
    return undefined;
  };
  const statusUrl = await waitFor('the status endpoint', urlOf('status'), 15_000);
  const containerUrl = opts.container ? await waitFor('the container endpoint', urlOf('container-credentials'), 15_000) : undefined;
  const get = async (path: string) => {
    const res = await fetch(`${statusUrl}${path}`);
    return { status: res.status, body: await res.text() };
  };
  return {
    child, statusUrl, ...(containerUrl ? { containerUrl } : {}), logs: () => stderr, exited, get,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The value of one series in Prometheus text, or 0 when absent. */
export function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
