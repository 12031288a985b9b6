// Thin wrappers around the real crane, plus a builder of random multi-layer OCI test images.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPaths } from './tools.js';

export interface CraneResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface CraneOptions {
  /** Added to a minimal environment. Without DOCKER_CONFIG crane sees no credentials at all (anonymous). */
  env?: Record<string, string>;
}

// An empty docker config dir, so a developer's ~/.docker credentials never reach a test.
let anonymousConfig: string | undefined;

/**
 * Runs `crane <args>` with `--insecure` (tests only talk to http 127.0.0.1 registries) and never throws on a
 * non-zero exit: the result carries it.
 */
export function crane(args: string[], opts: CraneOptions = {}): Promise<CraneResult> {
  anonymousConfig ??= mkdtempSync(join(tmpdir(), 'crane-anon-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: anonymousConfig, DOCKER_CONFIG: anonymousConfig, ...opts.env };
  return new Promise((resolve, reject) => {
    execFile(toolPaths.crane, [...args, '--insecure'], { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err); // could not run at all
      resolve({ stdout, stderr, code: err ? (err.code as number) : 0 });
    });
  });
}

export const craneCopy = (src: string, dst: string, opts?: CraneOptions) => crane(['copy', src, dst], opts);
export const craneDigest = (ref: string, opts?: CraneOptions) => crane(['digest', ref], opts);
/** Pulls `ref` into an OCI image layout directory at `path`. */
export const cranePull = (ref: string, path: string, opts?: CraneOptions) => crane(['pull', '--format', 'oci', ref, path], opts);
export const craneManifest = (ref: string, opts?: CraneOptions) => crane(['manifest', ref], opts);
/** Pushes an OCI layout directory or a tarball at `path` to `ref`. */
export const cranePush = (path: string, ref: string, opts?: CraneOptions) => crane(['push', path, ref], opts);

/**
 * Writes a docker config.json into `dir` (use as `env: { DOCKER_CONFIG: dir }`): basic credentials per host
 * (`127.0.0.1:5000`) and/or credential helpers per host (`{ 'x.dkr.ecr…': 'ecr-login' }`).
 */
export function writeDockerConfig(dir: string, config: { auths?: Record<string, { username: string; password: string }>; credHelpers?: Record<string, string> }): string {
  const auths = Object.fromEntries(
    Object.entries(config.auths ?? {}).map(([host, c]) => [host, { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') }]),
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths, credHelpers: config.credHelpers ?? {} }), { mode: 0o600 });
  return dir;
}

export interface TestImageOptions {
  /** Full reference to push to, e.g. `127.0.0.1:5000/test/app:v1`. */
  ref: string;
  layers: number;
  /** Random (incompressible) bytes per layer. */
  layerBytes: number;
  env?: Record<string, string>;
}

/** Builds an OCI image of `layers` random layers with `crane append` and pushes it; returns its manifest digest. */
export async function makeTestImage(opts: TestImageOptions): Promise<{ ref: string; digest: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'test-image-'));
  try {
    const layerArgs = Array.from({ length: opts.layers }, (_, i) => {
      const path = join(dir, `layer-${i}.tar`);
      writeRandomTar(path, `layer-${i}.bin`, opts.layerBytes);
      return ['-f', path];
    }).flat();
    const result = await crane(['append', '--oci-empty-base', ...layerArgs, '-t', opts.ref], { env: opts.env ?? {} });
    // append prints `<repository>@sha256:…` of what it pushed.
    const digest = /@(sha256:[0-9a-f]{64})/.exec(result.stdout)?.[1];
    if (result.code !== 0 || !digest) throw new Error(`crane append to ${opts.ref} failed (exit ${result.code}): ${result.stderr.trim().split('\n').pop()}`);
    return { ref: opts.ref, digest };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A ustar archive holding one regular file of `size` random bytes, written in chunks so large layers stay cheap. */
function writeRandomTar(path: string, name: string, size: number): void {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8)); // uid
  field(116, 8, octal(0, 8)); // gid
  field(124, 12, octal(size, 12));
  field(136, 12, octal(0, 12)); // mtime 0: only the random content makes layers differ
  field(156, 1, '0'); // regular file
  field(257, 8, 'ustar\u000000');
  header.fill(' ', 148, 156); // the checksum is computed with its own field as spaces
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  field(148, 8, `${checksum.toString(8).padStart(6, '0')}\u0000 `);

  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    for (let left = size; left > 0; left -= 1 << 20) writeSync(fd, randomBytes(Math.min(left, 1 << 20)));
    // Pad the file to a 512-byte block, then the two zero blocks that end an archive.
    writeSync(fd, Buffer.alloc(((512 - (size % 512)) % 512) + 1024));
  } finally {
    closeSync(fd);
  }
}
