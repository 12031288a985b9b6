#!/usr/bin/env node
// Makes a fresh clone ready before any script runs, so `npm test` / `npm run demo` work on a machine with only Node
// and npm: installs the workspace with pnpm when node_modules is missing or older than the lockfile, then builds the
// executable (`--no-build` skips that).
//
// Which pnpm: the one on PATH when there is one (pnpm 10 and later read this lockfile and pnpm-workspace.yaml), else
// PNPM_FALLBACK through npx. package.json names no packageManager on purpose: with one, pnpm 11+ tries to switch
// itself to that exact version and fails where it cannot (ERR_PNPM_BAD_CONFIG_DEP), so `pnpm install` would only
// work with the one pinned release.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_FALLBACK = '12.21.0';
const MIN_PNPM_MAJOR = 10;
const marker = join(root, 'node_modules', '.modules.yaml');

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

function pnpmOnPath() {
  try {
    return execFileSync('pnpm', ['--version'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function pnpm(args) {
  const version = pnpmOnPath();
  if (Number(version.split('.')[0]) >= MIN_PNPM_MAJOR) {
    console.log(`ensure: installing the workspace with pnpm ${version} (on PATH)`);
    run('pnpm', args);
  } else {
    console.log(`ensure: installing the workspace with pnpm ${PNPM_FALLBACK} (through npx)`);
    run('npx', ['--yes', `pnpm@${PNPM_FALLBACK}`, ...args]);
  }
}

try {
  if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(join(root, 'pnpm-lock.yaml')).mtimeMs) {
    // A node_modules left by another pnpm major is purged and reinstalled without asking: with no terminal pnpm would
    // otherwise stop (ERR_PNPM_ABORTED_REMOVE_MODULES_DIR_NO_TTY), with one it would wait for an answer.
    pnpm(['install', '--frozen-lockfile', '--config.confirm-modules-purge=false']);
  }
  if (!process.argv.includes('--no-build')) run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
} catch (err) {
  console.error(`ensure: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
