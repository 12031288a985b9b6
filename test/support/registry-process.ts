// Runs the REAL registry binary (and moto) as child processes for tests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { toolPaths } from './tools.js';

const READY_DEADLINE_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/** A port the OS just handed out. Another process could take it before ours binds; startRegistry retries then. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Child {
  logs(): string[];
  stop(): Promise<void>;
}

/**
 * Spawns `cmd` and resolves once `readyUrl` answers any HTTP status and `ready(lines)` holds. Rejects with the last
 * log lines if the process exits first or the deadline passes. The environment is NOT inherited (only PATH), so a
 * developer's AWS_* or REGISTRY_* variables never leak into a test.
 */
export async function startChild(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  cleanup: () => void,
  ready: (lines: string[]) => boolean = () => true,
): Promise<Child> {
  const lines: string[] = [];
  const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    stream.on('end', () => partial && lines.push(partial));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitInfo: string | undefined;
  child.once('exit', (code, signal) => { exitInfo = `exited ${code ?? signal}`; });
  child.once('error', (err) => { exitInfo = err.message; });

  const stop = async () => {
    await terminate(child, exited);
    cleanup();
  };

  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (exitInfo) break;
    try {
      await fetch(readyUrl, { signal: AbortSignal.timeout(2_000) });
      if (ready(lines)) return { logs: () => [...lines], stop };
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50)); // poll interval, not synchronisation
  }
  await stop();
  const why = exitInfo ?? `did not answer ${readyUrl} within ${READY_DEADLINE_MS / 1000}s`;
  throw new Error(`${cmd} ${why}; last output: ${lines.slice(-5).join(' | ')}`);
}

/** SIGTERM, then SIGKILL if the process is still there after a grace period. */
async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), STOP_GRACE_MS); });
  if ((await Promise.race([exited, grace])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

export interface RegistryOptions {
  binary: string;
  /** The registry configuration; `http.addr` and `http.debug.addr` are set here to free loopback ports. */
  config: Record<string, unknown>;
  env?: Record<string, string>;
  port?: number;
}

export interface RegistryProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Debug/metrics server (`/debug/health`, `/metrics` when enabled in config). */
  debugUrl: string;
  /** Every stdout and stderr line so far (JSON or text, as configured). */
  logs(): string[];
  stop(): Promise<void>;
}

export async function startRegistry(opts: RegistryOptions): Promise<RegistryProcess> {
  // A port found free can be taken before the registry binds it; with ports of our choosing, retry on new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRegistryOnce(opts);
    } catch (err) {
      if (opts.port !== undefined || attempt === 3 || !String(err).includes('address already in use')) throw err;
    }
  }
}

async function startRegistryOnce(opts: RegistryOptions): Promise<RegistryProcess> {
  const port = opts.port ?? (await freePort());
  const debugPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'registry-'));
  const http = (opts.config.http ?? {}) as Record<string, unknown>;
  const debug = (http.debug ?? {}) as Record<string, unknown>;
  const config = { ...opts.config, http: { ...http, addr: `127.0.0.1:${port}`, debug: { ...debug, addr: `127.0.0.1:${debugPort}` } } };
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, stringify(config));
  const url = `http://127.0.0.1:${port}`;
  // OTEL off: 3.0.0 otherwise exports traces to localhost:4318 and logs every failure. HOME isolates ~/.aws.
  const env = { OTEL_TRACES_EXPORTER: 'none', HOME: dir, ...opts.env };
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  // The log line proves it is OUR process that answers on the port, not whoever took it first.
  const listening = (lines: string[]) => lines.some((line) => line.includes(`listening on 127.0.0.1:${port}`));
  const child = await startChild(opts.binary, ['serve', configPath], env, `${url}/v2/`, cleanup, listening);
  return { url, port, debugUrl: `http://127.0.0.1:${debugPort}`, ...child };
}

export interface MotoProcess {
  url: string;
  port: number;
  logs(): string[];
  stop(): Promise<void>;
}

/** moto_server on a free loopback port. Its ECR GetAuthorizationToken is fixed: `AWS:<registryId>-auth-token`. */
export async function startMoto(opts: { env?: Record<string, string>; port?: number } = {}): Promise<MotoProcess> {
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const home = mkdtempSync(join(tmpdir(), 'moto-'));
  const env = { HOME: home, ...opts.env };
  const child = await startChild(toolPaths.motoServer, ['-H', '127.0.0.1', '-p', String(port)], env, `${url}/moto-api/`, () => rmSync(home, { recursive: true, force: true }));
  return { url, port, ...child };
}

/**
 * Writes a bcrypt htpasswd file for the registry's htpasswd access controller, atomically, and makes sure its
 * modification time changes: the registry re-reads the file only when the mtime differs from the last one it saw.
 *
 * distribution v3.0.0 keeps ONE hash per user (a map; the last line wins), so several passwords for one user cannot
 * all be accepted; this refuses rather than silently accepting only the last. bcrypt also looks only at the first 72
 * bytes of a password: longer ones (real ECR tokens) are truncated here exactly as the registry's Go bcrypt does.
 */
export function writeHtpasswd(path: string, user: string, passwords: string[]): void {
  if (passwords.length !== 1) throw new Error(`writeHtpasswd: distribution honours one password per user, got ${passwords.length}`);
  // Cost 4 (the minimum): these files guard throw-away test registries, and each check costs one hash per request.
  const script = 'import bcrypt,sys; print(bcrypt.hashpw(sys.stdin.buffer.read()[:72], bcrypt.gensalt(4)).decode())';
  const hash = execFileSync(toolPaths.python, ['-c', script], { input: passwords[0], encoding: 'utf8' }).trim();
  let previous: Date | undefined;
  try { previous = statSync(path).mtime; } catch { /* new file */ }
  const temp = join(dirname(path), `.htpasswd-${process.pid}-${Date.now()}`);
  writeFileSync(temp, `${user}:${hash}\n`, { mode: 0o600 });
  // A coarse-mtime filesystem could give the new file the old mtime; step it forward so the registry reloads.
  if (previous && statSync(temp).mtime.getTime() <= previous.getTime()) {
    const bumped = new Date(previous.getTime() + 1000);
    utimesSync(temp, bumped, bumped);
  }
  renameSync(temp, path);
}
