/**
 * The registry's pull path. pull_mib_s: an image of about 200 MiB pulled through the real registry 3.0.0 proxy of
 * the local stack, cold (the proxy fetches from "ECR" and writes S3) and warm (blobs answered from S3 by presigned
 * redirect), by the stack's proxy running our helper vs a second proxy on the same stack given a static upstream
 * password; alternately. helper_calls_per_hour: a sustained pull loop through a proxy with a short exec lifetime.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crane } from '../test/support/crane.js';
import type { RegistryProcess } from '../test/support/registry-process.js';
import { startStack, type Stack } from '../test/support/stack.js';
import { toolPaths } from '../test/support/tools.js';
import { compareRates, round, say, summarize, type Figure } from './lib.js';

export interface PullBenchOptions {
  reps: number;
  loopSeconds: number;
  imageMiB: number;
}

const LAYERS = 8;
const hostOf = (url: string) => url.replace('http://', '');

let anonymous: string | undefined;

/** `crane pull` into /dev/null (a tarball nobody keeps): the time is the network path, not this machine's disk. */
function timedPull(ref: string): Promise<number> {
  anonymous ??= mkdtempSync(join(tmpdir(), 'bench-crane-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: anonymous, DOCKER_CONFIG: anonymous };
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    execFile(toolPaths.crane, ['pull', ref, '/dev/null', '--insecure'], { env, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) return reject(new Error(`crane pull ${ref} failed: ${stderr.trim().split('\n').pop()}`));
      resolve(Number(process.hrtime.bigint() - start) / 1e9);
    });
  });
}

async function imageBytes(ref: string): Promise<number> {
  const out = await crane(['manifest', ref]);
  if (out.code !== 0) throw new Error(`crane manifest ${ref}: ${out.stderr.trim()}`);
  const manifest = JSON.parse(out.stdout) as { config: { size: number }; layers: Array<{ size: number }> };
  return manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0);
}

/** A new repository upstream holding the seeded image (a cross-repository mount: instant), so the proxy has none of it. */
async function freshRepo(stack: Stack, name: string): Promise<string> {
  const up = hostOf(stack.upstream.url);
  const out = await crane(['copy', `${up}/bench/base:v1`, `${up}/${name}:v1`]);
  if (out.code !== 0) throw new Error(`crane copy: ${out.stderr.trim().split('\n').pop()}`);
  return `${name}:v1`;
}

export async function pullFigures(opts: PullBenchOptions): Promise<Record<string, Figure>> {
  say('pull: starting the local stack (registry 3.0.0 proxy, moto S3, "ECR", sts-init, cred-refresher)');
  const stack = await startStack({ progress: (line) => say(`  ${line}`) });
  try {
    const layerBytes = Math.round((opts.imageMiB * 2 ** 20) / LAYERS);
    say(`pull: seeding a ${LAYERS}-layer image of ${opts.imageMiB} MiB upstream`);
    await stack.seedImage('bench/base:v1', { layers: LAYERS, layerBytes });
    const bytes = await imageBytes(`${hostOf(stack.upstream.url)}/bench/base:v1`);
    const mib = bytes / 2 ** 20;

    // The baseline: the same registry, config, storage and upstream, with a valid ECR password written in statically.
    const password = stack.fake.validEcrPasswords()[0];
    if (!password) throw new Error('no ECR token issued by sts-init');
    const statics = await stack.startProxy({ staticAuth: { username: 'AWS', password }, rootdirectory: '/docker-static' });
    const sides: Array<{ who: 'ours' | 'theirs'; proxy: RegistryProcess }> = [
      { who: 'ours', proxy: stack.proxy },
      { who: 'theirs', proxy: statics },
    ];
    const cold = { ours: [] as number[], theirs: [] as number[] };
    const warm = { ours: [] as number[], theirs: [] as number[] };
    const frontPerWarmPull = { ours: [] as number[], theirs: [] as number[] };
    const helperRunsBefore = stack.helperLog().filter((l) => l.msg === 'credentials found').length;
    for (let i = 0; i < opts.reps; i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      for (const { who, proxy } of order) {
        const repo = await freshRepo(stack, `bench/${who}-${i}`);
        const ref = `${hostOf(proxy.url)}/${repo}`;
        say(`pull: ${who} cold #${i + 1}`);
        cold[who].push(mib / (await timedPull(ref)));
        const before = stack.front.counts().forwarded;
        say(`pull: ${who} warm #${i + 1}`);
        warm[who].push(mib / (await timedPull(ref)));
        frontPerWarmPull[who].push(stack.front.counts().forwarded - before);
      }
    }
    const helperRuns = stack.helperLog().filter((l) => l.msg === 'credentials found').length - helperRunsBefore;
    const common = { image_mib: round(mib, 1), layers: LAYERS };
    const figures: Record<string, Figure> = {
      pull_mib_s_cold: compareRates(cold.ours, cold.theirs, 'MiB/s', { ...common, helper_runs_during_pulls: helperRuns }),
      pull_mib_s_warm: compareRates(warm.ours, warm.theirs, 'MiB/s', {
        ...common,
        // Requests that reached "ECR" per warm pull (manifest checks only: the blobs came from S3).
        upstream_requests_per_warm_pull: { ours: summarize(frontPerWarmPull.ours).median, theirs: summarize(frontPerWarmPull.theirs).median },
      }),
    };
    Object.assign(figures, await callsPerHour(stack, opts.loopSeconds));
    return figures;
  } finally {
    await stack.stop();
  }
}

/**
 * A pull loop of a small image through a proxy whose exec lifetime is short, for `seconds`: how often the registry
 * ran the helper (its log's 'credentials found' lines) and how many ECR API calls were made (by anyone: helper or
 * refresher), extrapolated to an hour; and what the chart's 1 h lifetime gives.
 */
async function callsPerHour(stack: Stack, seconds: number): Promise<Record<string, Figure>> {
  const lifetimeSeconds = 10;
  say(`helper_calls_per_hour: ${seconds} s pull loop, proxy.exec.lifetime ${lifetimeSeconds}s`);
  await stack.seedImage('bench/small:v1', { layers: 3, layerBytes: 256 * 1024 });
  const proxy = await stack.startProxy({ execLifetime: `${lifetimeSeconds}s`, rootdirectory: '/docker-loop' });
  const ref = `${hostOf(proxy.url)}/bench/small:v1`;
  await timedPull(ref); // the first pull fills the proxy
  const runs = () => stack.helperLog().filter((l) => l.msg === 'credentials found').length;
  const ecr = () => stack.fake.calls('ecr:GetAuthorizationToken').length;
  const runs0 = runs();
  const ecr0 = ecr();
  const started = Date.now();
  let pulls = 0;
  while (Date.now() - started < seconds * 1000) {
    await timedPull(ref);
    pulls++;
  }
  const elapsed = (Date.now() - started) / 1000;
  const helperRuns = runs() - runs0;
  const ecrCalls = ecr() - ecr0;
  const perHour = (count: number) => round((count * 3600) / elapsed, 1);
  const one = (value: number, unit: string, extra: Record<string, unknown>): Figure => ({ median: value, min: value, max: value, n: 1, unit, ...extra });
  // The refresher renews an ECR token at ECR_REFRESH_FRACTION (0.4) of its 12 h lifetime; the helper answers from that cache.
  const refresherEcrPerHour = round(1 / (0.4 * 12), 2);
  return {
    helper_calls_per_hour: one(perHour(helperRuns), 'runs/h', {
      window_s: round(elapsed, 1),
      exec_lifetime_s: lifetimeSeconds,
      pulls,
      helper_runs: helperRuns,
      ecr_api_calls: ecrCalls,
      ecr_api_calls_per_hour: perHour(ecrCalls),
      chart_lifetime_1h: { helper_runs_per_hour: 1, ecr_api_calls_per_hour: refresherEcrPerHour },
    }),
  };
}
