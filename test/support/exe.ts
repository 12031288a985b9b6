/** Runs the built executable as a child process, the way the registry, the kubelet or a shell would. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const exePath = join(repoRoot, 'dist', 'bin', 'docker-credential-ecr-login');
export const binDir = dirname(exePath);

export function requireBuilt(): string {
  if (!existsSync(exePath)) throw new Error(`${exePath} is missing; run pnpm build first`);
  return exePath;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** The env a child gets: PATH and nothing else unless given, so the developer's own AWS env never leaks in. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function runExe(
  args: string[],
  opts: { env: Record<string, string>; stdin?: string | Buffer; uid?: number; gid?: number; file?: string; cwd?: string },
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(opts.file ?? requireBuilt(), args, {
      env: opts.env,
      cwd: opts.cwd ?? '/',
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid ?? opts.uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ stdout, stderr, code }));
    // A role that never reads stdin (credential-process, version) may exit before the pipe is written: EPIPE then
    // says nothing about the run, whose exit code and output are what the caller checks.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The first uid from 4242 up with no passwd entry on this machine (getent exits 2 for "not found"). */
export function uidWithoutPasswdEntry(): number {
  for (let candidate = 4242; candidate < 4342; candidate++) {
    try {
      execFileSync('getent', ['passwd', String(candidate)], { stdio: 'ignore' });
    } catch (err) {
      if ((err as { status?: number }).status === 2) return candidate;
      throw err;
    }
  }
  throw new Error('no uid without a passwd entry between 4242 and 4341');
}

/**
 * A copy of the executable, with its role links, that another uid can run: the checkout may sit where that uid
 * cannot enter (mktemp -d is 0700). Returns the new 0755 work directory and the `bin` directory inside it.
 */
export async function copyForAnotherUid(prefix: string): Promise<{ work: string; bin: string }> {
  const work = await mkdtemp(join(tmpdir(), prefix));
  await chmod(work, 0o755);
  const bin = join(work, 'bin');
  await mkdir(bin, { mode: 0o755 });
  await copyFile(requireBuilt(), join(bin, 'docker-credential-ecr-login'));
  await chmod(join(bin, 'docker-credential-ecr-login'), 0o755);
  for (const role of ['sts-init', 'cred-refresher']) await symlink('docker-credential-ecr-login', join(bin, role));
  return { work, bin };
}

/**
 * Starts `file` (a long-running role, e.g. cred-refresher) as `uid`, waits until its stderr satisfies `ready`, and
 * returns its stderr so far and a stop that sends SIGTERM and resolves to its exit code.
 * Throws if the process exits before it is ready.
 */
export async function startAs(file: string, args: string[], opts: { env: Record<string, string>; uid: number; ready: (stderr: string) => boolean }): Promise<{ stderr: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(file, args, { env: opts.env, uid: opts.uid, gid: opts.uid, cwd: '/' });
  child.stdout.resume();
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (opts.ready(stderr)) resolve();
    });
    void exited.then((code) => reject(new Error(`${file} exited ${code}: ${stderr}`)));
  });
  return {
    stderr: () => stderr,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
