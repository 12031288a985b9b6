/**
 * Resident memory of cred-refresher over 500 refresh cycles, the Bun build and the Node build of 9bdaa94 side by
 * side: both run at once, each against its own local STS/ECR (so each one's refreshes are counted apart), with STS
 * sessions of a few seconds (and ECR tokens too, so the cache warming path runs as well); VmRSS of both sampled
 * from /proc while they work.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAws } from '../test/support/fake-aws.js';
import { binDir, cleanEnv, runExe } from '../test/support/exe.js';
import { freePort } from '../test/support/registry-process.js';
import { round, say, summarize, type Figure, type SideKey } from './lib.js';
import type { NodeBaseline } from './node-baseline.js';

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ROLE = 'arn:aws:iam::123456789012:role/bench-refresher';

/** VmRSS of `pid` and its two parts (RssAnon: heaps; RssFile: mapped files, the executable's pages), in MiB. */
function rssMiB(pid: number): { rss: number; anon: number; file: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
    const rss = kb('VmRSS');
    return Number.isNaN(rss) ? undefined : { rss, anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

export interface RefresherBenchOptions {
  cycles: number;
  /** Cycles left out of the trend: start-up allocation (SDK loaded, code compiled, heap grown). */
  warmupCycles: number;
  stsLifetimeSeconds: number;
  refreshFraction: number;
  node: NodeBaseline;
}

interface Run {
  samples: Array<{ cycle: number; rss: number; anon: number; file: number }>;
  stsRefreshes: number;
  ecrRefreshes: number;
  exitCode: number | null;
}

/** One cred-refresher of `dir` (a build's dist/bin) against a fake of its own, sampled until `cycles` STS refreshes. */
async function refresher(dir: string, opts: RefresherBenchOptions, tag: string): Promise<Run> {
  const fake = await startFakeAws({ stsLifetimeSeconds: opts.stsLifetimeSeconds, ecrTokenLifetimeSeconds: opts.stsLifetimeSeconds * 2, roles: [ROLE] });
  const work = mkdtempSync(join(tmpdir(), `bench-refresher-${tag}-`));
  try {
    const tokenFile = join(work, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:bench:bench', expSeconds: 86_400 });
    const port = await freePort();
    const env = cleanEnv({
      ...fake.endpointEnv(),
      HOME: work,
      CREDENTIALS_DIR: join(work, 'creds'),
      AWS_REGION: 'us-east-1',
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_EC2_METADATA_DISABLED: 'true',
      ECR_REGISTRIES: HOST,
      ECR_LOGIN_CACHE_IDENTITY: ROLE,
      CREDENTIALS_MARGIN: '500ms',
      REFRESH_FLOOR: '100ms',
      REFRESH_FRACTION: String(opts.refreshFraction),
      ECR_REFRESH_FRACTION: String(opts.refreshFraction),
      REFRESHER_LISTEN: `127.0.0.1:${port}`,
    });
    const init = await runExe([], { env, file: join(dir, 'sts-init') });
    if (init.code !== 0) throw new Error(`${tag} sts-init failed: ${init.stderr.trim().split('\n').pop()}`);

    const child = spawn(join(dir, 'cred-refresher'), [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const stsCalls = () => fake.calls('sts:AssumeRoleWithWebIdentity').filter((c) => c.status === 200).length;
      const ecrCalls = () => fake.calls('ecr:GetAuthorizationToken').filter((c) => c.status === 200).length;
      const startSts = stsCalls();
      const startEcr = ecrCalls();
      for (const deadline = Date.now() + 30_000; ; ) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`${tag} cred-refresher not ready: ${stderr.trim().split('\n').pop()}`);
        await new Promise((r) => setTimeout(r, 100)); // poll interval
      }
      const samples: Run['samples'] = [];
      const deadline = Date.now() + opts.cycles * opts.stsLifetimeSeconds * 1000; // generous: a cycle is a fraction of a lifetime
      for (;;) {
        const cycle = stsCalls() - startSts;
        const mem = rssMiB(child.pid!);
        if (mem === undefined) throw new Error(`${tag} cred-refresher exited: ${stderr.trim().split('\n').pop()}`);
        samples.push({ cycle, ...mem });
        if (cycle >= opts.cycles) break;
        if (Date.now() > deadline) throw new Error(`${tag}: only ${cycle} refresh cycles before the deadline`);
        await new Promise((r) => setTimeout(r, 250)); // sampling interval
      }
      const stsRefreshes = stsCalls() - startSts;
      const ecrRefreshes = ecrCalls() - startEcr;
      child.kill('SIGTERM');
      return { samples, stsRefreshes, ecrRefreshes, exitCode: await exited };
    } finally {
      child.kill('SIGKILL'); // no-op once it has exited; on a failure above it must not outlive the bench
    }
  } finally {
    await fake.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The figure of one build: RSS at the end of the run, at every 100 cycles, and the trend after warm-up. */
function describe(run: Run, opts: RefresherBenchOptions) {
  const { samples } = run;
  const last = samples[samples.length - 1]!;
  const after = samples.filter((s) => s.cycle >= opts.warmupCycles);
  // RSS when the cycle count first reached each hundred: the curve in a few numbers.
  const at: Record<string, number> = {};
  for (let c = 0; c <= opts.cycles; c += 100) {
    const s = samples.find((x) => x.cycle >= c);
    if (s) at[c] = round(s.rss, 1);
  }
  // RSS "after N cycles": the median over the last tenth of the run, as JavaScriptCore's and V8's collections make
  // RSS saw-tooth by a few MiB from one sample to the next; the last sample alone is kept beside it.
  const tail = samples.filter((s) => s.cycle >= opts.cycles * 0.9);
  const endOf = (pick: (s: Run['samples'][number]) => number) => round(tail.length ? summarize(tail.map(pick)).median : pick(last));
  return {
    first: round(samples[0]!.rss),
    last: round(last.rss),
    end: endOf((s) => s.rss),
    // What the end figure is made of: anonymous memory (the JS heap and the runtime's own) and file-backed pages.
    end_anon: endOf((s) => s.anon),
    end_file: endOf((s) => s.file),
    // Least-squares trend after warm-up, in MiB per 100 cycles.
    trend_mib_per_100_cycles: round(slope(after.map((s) => [s.cycle, s.rss])) * 100),
    rss_at_cycle: at,
    sts_refreshes: run.stsRefreshes,
    ecr_refreshes: run.ecrRefreshes,
    exit_code_after_sigterm: run.exitCode,
    samples: samples.filter((_, i) => i % 20 === 0 || i === samples.length - 1).map((s) => [s.cycle, round(s.rss, 1)]),
  };
}

export async function refresherFigures(opts: RefresherBenchOptions): Promise<Record<string, Figure>> {
  say(`refresher_rss_mib: Bun and Node builds at once, ${opts.cycles} refresh cycles of ${opts.stsLifetimeSeconds} s STS sessions`);
  const [bun, node] = await Promise.all([refresher(binDir, opts, 'bun'), refresher(opts.node.binDir, opts, 'node')]);
  const d: Record<'bun' | 'node', ReturnType<typeof describe>> = { bun: describe(bun, opts), node: describe(node, opts) };
  // The figure's median is the RSS at the end of the run (what the target compares); min and max over all samples.
  const lastOf = (k: Extract<SideKey, 'bun' | 'node'>) => {
    const rss = (k === 'bun' ? bun : node).samples.map((s) => s.rss);
    return { median: d[k].end, min: round(Math.min(...rss)), max: round(Math.max(...rss)), n: rss.length };
  };
  return {
    refresher_rss_mib: {
      ...lastOf('bun'),
      unit: 'MiB',
      sides: { bun: lastOf('bun'), node: lastOf('node') },
      ratios: { vs_node: round(d.bun.end / d.node.end, 3) },
      cycles: opts.cycles,
      warmup_cycles: opts.warmupCycles,
      sts_lifetime_s: opts.stsLifetimeSeconds,
      refresh_fraction: opts.refreshFraction,
      bun: d.bun,
      node: d.node,
    },
  };
}
