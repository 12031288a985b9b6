/**
 * The helper against docker-credential-ecr-login v0.12.0: warm get under IRSA-style credentials, cold get, warm get
 * with static keys, each with no added latency and with 25 ms added to every AWS call; and the bare start-up of the
 * Node runtime the executable embeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAws, type FakeAws } from '../test/support/fake-aws.js';
import { cleanEnv, exePath, repoRoot } from '../test/support/exe.js';
import { toolPaths } from '../test/support/tools.js';
import { alternate, compareTimes, say, summarize, timeSpawn, type Figure, type Timed } from './lib.js';

export const EMBEDDED_NODE = join(repoRoot, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ROLE = 'arn:aws:iam::123456789012:role/bench';
const STATIC_KEY = 'AKIABENCHSTATICKEY01';

export interface HelperBenchOptions {
  reps: number;
  warmup: number;
  latencies: number[];
}

/** Runs one `get` and fails loudly when it did not answer with credentials: a fast failure is not a result. */
async function get(file: string, env: Record<string, string>): Promise<Timed> {
  const result = await timeSpawn(file, ['get'], env, HOST);
  if (result.code !== 0 || !result.stdout.includes('"Secret"')) {
    throw new Error(`${file} get failed (exit ${result.code}): ${(result.stdout + result.stderr).trim().split('\n').pop()}`);
  }
  return result;
}

/** ours vs theirs alternately; counts the AWS requests each side made per run through the fake's request log. */
async function compare(fake: FakeAws, opts: HelperBenchOptions, env: Record<string, string>): Promise<Figure> {
  const requests = { ours: [] as number[], theirs: [] as number[] };
  const actions = { ours: {} as Record<string, number>, theirs: {} as Record<string, number> };
  const side = (file: string, who: 'ours' | 'theirs') => async () => {
    const start = fake.calls().length;
    const result = await get(file, env);
    const made = fake.calls().slice(start);
    requests[who].push(made.length);
    for (const c of made) actions[who][`${c.service}:${c.action}`] = (actions[who][`${c.service}:${c.action}`] ?? 0) + 1;
    return result.ms;
  };
  const { a, b } = await alternate(opts.reps, opts.warmup, side(exePath, 'ours'), side(toolPaths.refHelper, 'theirs'));
  // Requests per run over the recorded runs (warm-up runs dropped, as their times are).
  const perRun = (xs: number[]) => summarize(xs.slice(opts.warmup)).median;
  return compareTimes(a, b, 'ms', {
    aws_requests_per_get: { ours: perRun(requests.ours), theirs: perRun(requests.theirs) },
    aws_requests_by_action: actions,
  });
}

export async function helperFigures(opts: HelperBenchOptions): Promise<Record<string, Figure>> {
  const figures: Record<string, Figure> = {};
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
      // Both helpers share one cache directory, env and endpoints. The reference keys its cache by the temporary
      // access key STS hands out, so under web identity it misses on every run; ours keys by the role.
      const irsa = cleanEnv({ ...base, AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ECR_CACHE_DIR: join(work, 'irsa-cache') });
      say(`helper_get_warm (${suffix})`);
      await get(exePath, irsa); // fills our entry; the reference adds one of its own on every run
      figures[`helper_get_warm_${suffix}`] = await compare(fake, opts, irsa);

      say(`helper_get_cold (${suffix})`);
      const cold = cleanEnv({ ...irsa, AWS_ECR_DISABLE_CACHE: '1' });
      figures[`helper_get_cold_${suffix}`] = await compare(fake, opts, cold);

      say(`helper_get_static (${suffix})`);
      const statics = cleanEnv({ ...base, AWS_ACCESS_KEY_ID: STATIC_KEY, AWS_SECRET_ACCESS_KEY: 'bench-static-secret', AWS_ECR_CACHE_DIR: join(work, 'static-cache') });
      await get(exePath, statics);
      await get(toolPaths.refHelper, statics); // both keyed by the static key: both warm from here on
      figures[`helper_get_static_${suffix}`] = await compare(fake, opts, statics);
    } finally {
      await fake.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  return figures;
}

/** `node -e 0` of the binary the executable embeds, and warm get (latency 0) against it, alternately. */
export async function startupFigures(opts: HelperBenchOptions): Promise<Record<string, Figure>> {
  say('node_startup');
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
    const node = async () => (await timeSpawn(EMBEDDED_NODE, ['-e', '0'], cleanEnv({}))).ms;
    const warm = async () => (await get(exePath, env)).ms;
    const { a: nodeMs, b: warmMs } = await alternate(opts.reps * 2, opts.warmup, node, warm);
    const n = summarize(nodeMs);
    const w = summarize(warmMs);
    // Each warm get over the `node -e 0` run next to it: the ratio, median (min–max) over the pairs. Target: at most 1.3.
    const pairs = summarize(warmMs.map((ms, i) => ms / nodeMs[i]!));
    return {
      node_startup: { ...n, unit: 'ms', binary: EMBEDDED_NODE.slice(repoRoot.length + 1) },
      warm_get_vs_node_startup: { ...pairs, unit: '×', warm_get: w, node_startup: n },
    };
  } finally {
    await fake.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
