/**
 * executable_bytes, and what the image's one added layer weighs. There is no docker engine here, so the layer is
 * computed from what image/Dockerfile copies into it: the executable (its two role names are symlinks) plus
 * libstdc++.so.6 and libgcc_s.so.1. This machine's glibc build stands in for the image's musl build (the same Node
 * version and bundle; the musl node binary differs slightly in size), and its libraries for Alpine's.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import { exePath } from '../test/support/exe.js';
import { say, type Figure } from './lib.js';

const LIBS = ['/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libgcc_s.so.1', '/usr/lib/aarch64-linux-gnu/libstdc++.so.6', '/lib/aarch64-linux-gnu/libgcc_s.so.1'];

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

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

export async function sizeFigures(): Promise<Record<string, Figure>> {
  say('executable_bytes, image_layer_bytes');
  const exe = statSync(exePath).size;
  const libs = LIBS.filter(existsSync).map((path) => ({ path, bytes: statSync(path).size }));
  const libBytes = libs.reduce((s, l) => s + l.bytes, 0);
  const exeGz = await gzippedBytes(exePath);
  const one = (value: number, unit: string, extra: Record<string, unknown> = {}): Figure => ({ median: value, min: value, max: value, n: 1, unit, ...extra });
  return {
    executable_bytes: one(exe, 'bytes', { mib: mib(exe), gzipped_bytes: exeGz, gzipped_mib: mib(exeGz) }),
    image_layer_bytes: one(exe + libBytes, 'bytes', {
      mib: mib(exe + libBytes),
      gzipped_estimate_bytes: exeGz + Math.round(libBytes * 0.4),
      contents: [{ path: '/usr/local/bin/docker-credential-ecr-login', bytes: exe }, ...libs.map((l) => ({ path: l.path, bytes: l.bytes }))],
      note: 'computed from image/Dockerfile (executable + libstdc++ + libgcc_s; sts-init and cred-refresher are symlinks); this machine\'s glibc build and libraries stand in for the musl ones',
    }),
  };
}
