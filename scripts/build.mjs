#!/usr/bin/env node
// Builds the one executable with Bun's compiler (`bun build --compile --bytecode`): docker-credential-ecr-login, with
// sts-init and cred-refresher linked to it.
//
//   node scripts/build.mjs                              this host's executable → dist/bin/
//   node scripts/build.mjs --target linux-arm64-musl    another target → dist/linux-arm64-musl/bin/
//   node scripts/build.mjs --target all                 the host's and both musl targets (the image's)
//
// Every target's Bun runtime is an npm package pinned in package.json and the lockfile (@oven/bun-<os>-<arch>[-musl];
// pnpm-workspace.yaml's supportedArchitectures installs all four on any host), and is handed to the compiler with
// --compile-executable-path: a cross build never downloads anything, and the runtime inside the image is the one the
// lockfile's integrity hash names. The host runtime runs the compiler itself.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const EXE = 'docker-credential-ecr-login';
const LINKS = ['sts-init', 'cred-refresher'];
const ENTRY = join(root, 'packages/bin/src/entry.ts');

/** Our target names (as in Docker's TARGETARCH: x64 = amd64) → the @oven package whose `bin/bun` is that runtime. */
const TARGETS = {
  'linux-x64': '@oven/bun-linux-x64',
  'linux-arm64': '@oven/bun-linux-aarch64',
  'linux-x64-musl': '@oven/bun-linux-x64-musl',
  'linux-arm64-musl': '@oven/bun-linux-aarch64-musl',
};
const IMAGE_TARGETS = ['linux-x64-musl', 'linux-arm64-musl'];

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

/** This host's target name: glibc or musl is what the running Node was built against. */
function hostTarget() {
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    fail(`no Bun runtime is pinned for ${process.platform}-${process.arch}; build on Linux x64 or arm64`);
  }
  const musl = !process.report?.getReport().header.glibcVersionRuntime;
  return `linux-${process.arch}${musl ? '-musl' : ''}`;
}

const require = createRequire(import.meta.url);

/** Path of the Bun runtime binary for `target`, from its pinned npm package. */
function runtime(target) {
  const pkg = TARGETS[target];
  let dir;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    fail(`the npm package ${pkg} is not installed; run pnpm install (pnpm-workspace.yaml lists every target's runtime)`);
  }
  const bun = join(dir, 'bin', 'bun');
  if (!existsSync(bun)) fail(`${bun} is missing; reinstall ${pkg}`);
  return bun;
}

function parseTargets(argv) {
  const i = argv.indexOf('--target');
  if (i === -1) return [hostTarget()];
  const value = argv[i + 1] ?? '';
  if (value === 'all') return [hostTarget(), ...IMAGE_TARGETS.filter((t) => t !== hostTarget())];
  if (!(value in TARGETS)) fail(`--target "${value}" is not one of ${Object.keys(TARGETS).join(', ')}, all`);
  return [value];
}

/** Where a target's executable goes: the host's in dist/bin (what tests, demo and bench run), others beside it. */
function binDir(target, host) {
  return target === host ? join(dist, 'bin') : join(dist, target, 'bin');
}

function compile(target, host) {
  const bin = binDir(target, host);
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  const exe = join(bin, EXE);
  execFileSync(
    runtime(host),
    [
      'build', ENTRY, '--compile', '--minify', '--bytecode', '--sourcemap=none',
      `--compile-executable-path=${runtime(target)}`,
      // A standalone executable would otherwise read .env and bunfig.toml from its working directory at every start:
      // env the registry's operator never set, from whatever directory the process happens to run in.
      '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
      '--outfile', exe,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (const link of LINKS) symlinkSync(EXE, join(bin, link));
  return exe;
}

const started = Date.now();
const host = hostTarget();
const targets = parseTargets(process.argv);
const bunVersion = JSON.parse(readFileSync(join(dirname(runtime(host)), '..', 'package.json'), 'utf8')).version;
for (const target of targets) {
  const exe = compile(target, host);
  const mib = (statSync(exe).size / 2 ** 20).toFixed(1);
  console.log(`build: ${relative(root, exe)} (${target}, Bun ${bunVersion}, ${mib} MiB)`);
}
console.log(`build: done in ${Date.now() - started} ms`);
