// The image's two executables, built here the way image/Dockerfile's build stage builds them (the same
// `scripts/build.mjs --target …` on a glibc x64 host, i.e. cross-compiled, never emulated), then checked as ELF files:
// architecture, the musl program interpreter of Alpine (the registry image's base), and exactly the shared libraries
// the final stage provides (musl itself, and libstdc++ from `apk add libstdc++`). No Docker engine runs here, so this
// is what can be proved of the image's RUN steps short of the base image itself.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exe.js';

interface ElfFacts {
  machine: string;
  interpreter: string | undefined;
  needed: string[];
}

/** readelf (binutils) output reduced to what the image depends on. */
function elf(path: string): ElfFacts {
  const out = execFileSync('readelf', ['--file-header', '--program-headers', '--dynamic', '--wide', path], { encoding: 'utf8' });
  return {
    machine: /Machine:\s+(.+)/.exec(out)?.[1]?.trim() ?? '',
    interpreter: /Requesting program interpreter: ([^\]]+)\]/.exec(out)?.[1],
    needed: [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] ?? '').sort(),
  };
}

const TARGETS = [
  { target: 'linux-x64-musl', machine: 'Advanced Micro Devices X86-64', musl: 'x86_64' },
  { target: 'linux-arm64-musl', machine: 'AArch64', musl: 'aarch64' },
] as const;

describe('the image executables (musl, both architectures)', () => {
  for (const { target, machine, musl } of TARGETS) {
    it(`${target}: built from this host, ${machine}, ld-musl, needs only musl and libstdc++`, () => {
      execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--target', target], { cwd: repoRoot, stdio: 'pipe' });
      const bin = join(repoRoot, 'dist', target, 'bin');
      const exe = join(bin, 'docker-credential-ecr-login');
      expect(existsSync(exe)).toBe(true);
      expect(elf(exe)).toEqual({
        machine,
        interpreter: `/lib/ld-musl-${musl}.so.1`,
        needed: [`libc.musl-${musl}.so.1`, 'libstdc++.so.6'],
      });
      for (const role of ['sts-init', 'cred-refresher']) {
        expect(lstatSync(join(bin, role)).isSymbolicLink(), role).toBe(true);
        expect(readlinkSync(join(bin, role)), role).toBe('docker-credential-ecr-login');
      }
    });
  }
});

describe('scripts/build.mjs arguments', () => {
  it.each([['--tagret', 'x'], ['--target'], ['--target=bogus'], ['--target', 'linux-x64-gnu']])(
    '%s … is a one-line usage error, exit 2, and builds nothing',
    (...args) => {
      let failure: { status: number; stderr: string } | undefined;
      try {
        execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), ...args], { cwd: repoRoot, stdio: 'pipe', encoding: 'utf8' });
      } catch (err) {
        failure = err as { status: number; stderr: string };
      }
      expect(failure?.status).toBe(2);
      expect(failure?.stderr).toMatch(/^build: [^\n]+; usage: node scripts\/build\.mjs \[--target [^\n]+\]\n$/);
    },
  );
});
