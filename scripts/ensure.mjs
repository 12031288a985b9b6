#!/usr/bin/env node
// Makes a fresh clone ready before any script runs, so `npm test` / `npm run demo` work on a machine with only Node
// and npm: installs the workspace with the pinned pnpm (from PATH, else through npx) when node_modules is missing or
// older than the lockfile, then builds the executable (`--no-build` skips that).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pnpmVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const marker = join(root, 'node_modules', '.modules.yaml');

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

function pnpm(args) {
  let onPath = '';
  try {
    onPath = execFileSync('pnpm', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not installed
  }
  if (onPath === pnpmVersion) run('pnpm', args);
  else run('npx', ['--yes', `pnpm@${pnpmVersion}`, ...args]);
}

try {
  if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(join(root, 'pnpm-lock.yaml')).mtimeMs) {
    console.log(`ensure: installing the workspace with pnpm ${pnpmVersion}`);
    pnpm(['install', '--frozen-lockfile']);
  }
  if (!process.argv.includes('--no-build')) run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
} catch (err) {
  console.error(`ensure: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
