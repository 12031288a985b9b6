#!/usr/bin/env node
// Builds the one executable with Bun's compiler (`bun build --compile --bytecode`): docker-credential-ecr-login, with
// sts-init and cred-refresher linked to it.
//
//   node scripts/build.mjs                              this host's executable → dist/bin/ (tests, demo, bench)
//   node scripts/build.mjs --target linux-arm64-musl    one target → dist/linux-arm64-musl/bin/ (also --target=…)
//   node scripts/build.mjs --target all                 dist/bin/ and both musl targets (the image's)
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

/** Exit 1: the build itself failed. */
function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

/** Exit 2: the command line is wrong. */
function usage(message) {
  console.error(`build: ${message}; usage: node scripts/build.mjs [--target ${[...Object.keys(TARGETS), 'all'].join('|')}]`);
  process.exit(2);
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

/**
 * The builds asked for, as [target, bin directory]: no --target builds the host's into dist/bin; a named target goes
 * to dist/<target>/bin, even when it is the host's own, so building one never replaces what the tests run.
 */
function parseTargets(argv) {
  let value;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--target') value = argv[++i];
    else if (arg.startsWith('--target=')) value = arg.slice('--target='.length);
    else usage(`unknown argument "${arg}"`);
    if (value === undefined || value === '') usage('--target needs a value');
  }
  const host = [hostTarget(), join(dist, 'bin')];
  const named = (target) => [target, join(dist, target, 'bin')];
  if (value === undefined) return [host];
  if (value === 'all') return [host, ...IMAGE_TARGETS.map(named)];
  if (!(value in TARGETS)) usage(`--target "${value}" is not a target`);
  return [named(value)];
}

function compile(target, bin, host) {
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
const builds = parseTargets(process.argv.slice(2));
const host = hostTarget();
const bunVersion = JSON.parse(readFileSync(join(dirname(runtime(host)), '..', 'package.json'), 'utf8')).version;
for (const [target, bin] of builds) {
  const exe = compile(target, bin, host);
  const mib = (statSync(exe).size / 2 ** 20).toFixed(1);
  console.log(`build: ${relative(root, exe)} (${target}, Bun ${bunVersion}, ${mib} MiB)`);
}
console.log(`build: done in ${Date.now() - started} ms`);
