/**
 * Resident memory of cred-refresher over 100 refresh cycles: STS sessions of a few seconds (and ECR tokens too, so
 * the cache warming path runs as well), VmRSS sampled from /proc while it works.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAws } from '../test/support/fake-aws.js';
import { binDir, cleanEnv, runExe } from '../test/support/exe.js';
import { freePort } from '../test/support/registry-process.js';
import { round, say, summarize, type Figure } from './lib.js';

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ROLE = 'arn:aws:iam::123456789012:role/bench-refresher';

function rssMiB(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
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
  stsLifetimeSeconds: number;
  refreshFraction: number;
}

export async function refresherFigures(opts: RefresherBenchOptions): Promise<Record<string, Figure>> {
  say(`refresher_rss_mib: ${opts.cycles} refresh cycles of ${opts.stsLifetimeSeconds} s STS sessions`);
  const fake = await startFakeAws({ stsLifetimeSeconds: opts.stsLifetimeSeconds, ecrTokenLifetimeSeconds: opts.stsLifetimeSeconds * 2, roles: [ROLE] });
  const work = mkdtempSync(join(tmpdir(), 'bench-refresher-'));
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
    const init = await runExe([], { env, file: join(binDir, 'sts-init') });
    if (init.code !== 0) throw new Error(`sts-init failed: ${init.stderr.trim().split('\n').pop()}`);

    const child = spawn(join(binDir, 'cred-refresher'), [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stsCalls = () => fake.calls('sts:AssumeRoleWithWebIdentity').filter((c) => c.status === 200).length;
    const ecrCalls = () => fake.calls('ecr:GetAuthorizationToken').filter((c) => c.status === 200).length;
    const startSts = stsCalls();
    const startEcr = ecrCalls();
    for (const deadline = Date.now() + 30_000; ; ) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`cred-refresher not ready: ${stderr.trim().split('\n').pop()}`);
      await new Promise((r) => setTimeout(r, 100)); // poll interval
    }
    const samples: Array<{ cycle: number; rss: number }> = [];
    const deadline = Date.now() + opts.cycles * opts.stsLifetimeSeconds * 1000; // generous: a cycle is a fraction of a lifetime
    for (;;) {
      const cycle = stsCalls() - startSts;
      const rss = rssMiB(child.pid!);
      if (rss === undefined) throw new Error(`cred-refresher exited: ${stderr.trim().split('\n').pop()}`);
      samples.push({ cycle, rss });
      if (cycle >= opts.cycles) break;
      if (Date.now() > deadline) throw new Error(`only ${cycle} refresh cycles before the deadline`);
      await new Promise((r) => setTimeout(r, 250)); // sampling interval
    }
    const cycles = stsCalls() - startSts;
    const ecrRefreshes = ecrCalls() - startEcr;
    child.kill('SIGTERM');
    const code = await exited;
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const second = samples.filter((s) => s.cycle >= opts.cycles / 2);
    const perHundred = slope(second.map((s) => [s.cycle, s.rss])) * 100;
    const all = summarize(samples.map((s) => s.rss));
    return {
      refresher_rss_mib: {
        ...all,
        unit: 'MiB',
        first: round(first.rss),
        last: round(last.rss),
        growth_first_to_last: round(last.rss - first.rss),
        // Trend over the second half of the run, where start-up allocation is over: MiB per 100 cycles.
        slope_second_half_mib_per_100_cycles: round(perHundred),
        sts_refreshes: cycles,
        ecr_refreshes: ecrRefreshes,
        sts_lifetime_s: opts.stsLifetimeSeconds,
        refresh_fraction: opts.refreshFraction,
        exit_code_after_sigterm: code,
        samples: samples.filter((_, i) => i % 10 === 0 || i === samples.length - 1).map((s) => [s.cycle, round(s.rss, 1)]),
      },
    };
  } finally {
    await fake.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
