/**
 * executable_bytes of the Bun build (this host's, dist/bin) against the Node build of 9bdaa94, both Linux glibc of
 * this host's architecture; the Bun musl executables the image ships (built here by scripts/build.mjs); and what the
 * image adds to registry:3.0.0. There is no docker engine here, so that is computed from image/Dockerfile: one COPY
 * layer with the musl executable (its two role names are symlinks), and `apk add libstdc++` (libstdc++ and
 * libgcc), whose size this machine's glibc libraries stand in for. The Node build's layer (9bdaa94's Dockerfile
 * copied the executable, libstdc++ and libgcc_s out of the Alpine Node image) is computed the same way, with its
 * glibc executable standing in for its musl one.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { exePath, repoRoot } from '../test/support/exe.js';
import { round, say, type Figure } from './lib.js';
import type { NodeBaseline } from './node-baseline.js';

const LIBS = process.arch === 'arm64'
  ? ['/usr/lib/aarch64-linux-gnu/libstdc++.so.6', '/lib/aarch64-linux-gnu/libgcc_s.so.1']
  : ['/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libgcc_s.so.1'];
const MUSL_TARGETS = ['linux-x64-musl', 'linux-arm64-musl'];
const HOST_MUSL = process.arch === 'arm64' ? 'linux-arm64-musl' : 'linux-x64-musl';

/** Bytes of `path` gzip-compressed (registries store layers gzipped; this is what a node downloads). */
function gzippedBytes(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const gzip = createGzip({ level: 6 });
    gzip.on('data', (chunk: Buffer) => (bytes += chunk.length));
    gzip.on('end', () => resolve(bytes));
    gzip.on('error', reject);
    createReadStream(path).on('error', reject).pipe(gzip);
  });
}

const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
const one = (value: number, unit: string, extra: Record<string, unknown> = {}): Figure => ({ median: value, min: value, max: value, n: 1, unit, ...extra });
const exact = (value: number) => ({ median: value, min: value, max: value, n: 1 });

export async function sizeFigures(node: NodeBaseline): Promise<Record<string, Figure>> {
  say('executable_bytes, image_layer_bytes (building the musl executables)');
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--target', 'all'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const bun = statSync(exePath).size;
  const nodeBytes = statSync(node.exe).size;
  const musl = Object.fromEntries(
    MUSL_TARGETS.map((t) => [t, join(repoRoot, 'dist', t, 'bin', 'docker-credential-ecr-login')] as const)
      .filter(([, p]) => existsSync(p))
      .map(([t, p]) => [t, { bytes: statSync(p).size, mib: mib(statSync(p).size) }]),
  );
  const libs = LIBS.filter(existsSync).map((path) => ({ path, bytes: statSync(path).size }));
  const libBytes = libs.reduce((s, l) => s + l.bytes, 0);
  const imageExe = join(repoRoot, 'dist', HOST_MUSL, 'bin', 'docker-credential-ecr-login');
  const imageExeBytes = existsSync(imageExe) ? statSync(imageExe).size : bun;
  const [bunGz, nodeGz, imageGz] = await Promise.all([gzippedBytes(exePath), gzippedBytes(node.exe), gzippedBytes(existsSync(imageExe) ? imageExe : exePath)]);
  return {
    executable_bytes: one(bun, 'bytes', {
      sides: { bun: exact(bun), node: exact(nodeBytes) },
      ratios: { vs_node: round(bun / nodeBytes, 3) },
      mib: { bun: mib(bun), node: mib(nodeBytes) },
      gzipped_mib: { bun: mib(bunGz), node: mib(nodeGz) },
      musl,
    }),
    image_layer_bytes: one(imageExeBytes + libBytes, 'bytes', {
      sides: { bun: exact(imageExeBytes + libBytes), node: exact(nodeBytes + libBytes) },
      ratios: { vs_node: round((imageExeBytes + libBytes) / (nodeBytes + libBytes), 3) },
      mib: { bun: mib(imageExeBytes + libBytes), node: mib(nodeBytes + libBytes) },
      gzipped_estimate_mib: { bun: mib(imageGz + libBytes * 0.4), node: mib(nodeGz + libBytes * 0.4) },
      contents: [{ path: `/usr/local/bin/docker-credential-ecr-login (${HOST_MUSL})`, bytes: imageExeBytes }, ...libs],
      note: 'computed from image/Dockerfile: the musl executable + apk\'s libstdc++ and libgcc (this machine\'s glibc libraries stand in); sts-init and cred-refresher are symlinks',
    }),
  };
}
