/** The table printed after a run, the machine description, the targets of issues 6 and 11, and bench/RESULTS.md. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { exePath } from '../test/support/exe.js';
import { toolPaths } from '../test/support/tools.js';
import { BUN_RUNTIME } from './helper.js';
import { SIDE_LABEL, type Figure, type SideKey, type Summary } from './lib.js';
import type { NodeBaseline } from './node-baseline.js';

export interface Machine {
  nproc: number;
  cpu: string;
  kernel: string;
  bun_runtime: string;
  node_baseline_commit: string;
  node_embedded: string;
  node_bench: string;
  reference_helper: string;
  executable_built: string;
}

function run(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } }).trim();
  } catch {
    return 'unknown';
  }
}

export function machine(node: NodeBaseline): Machine {
  let built = 'unknown';
  try {
    built = new Date(Number(execFileSync('stat', ['-c', '%Y', exePath], { encoding: 'utf8' })) * 1000).toISOString();
  } catch { /* not there */ }
  let bun = 'unknown';
  try {
    bun = (JSON.parse(readFileSync(join(BUN_RUNTIME, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch { /* not there */ }
  return {
    nproc: Number(run('nproc', [])) || cpus().length,
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown',
    kernel: run('uname', ['-sr']),
    bun_runtime: bun,
    node_baseline_commit: node.commit,
    node_embedded: run(node.node, ['--version']),
    node_bench: process.version,
    reference_helper: run(toolPaths.refHelper, ['version']).split('\n')[0] ?? 'unknown',
    executable_built: built,
  };
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean | undefined;
  why: string;
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));
const med = (f: Figure, k: SideKey) => f.sides?.[k]?.median;

/** How far a "≤ goal" ratio overshot, in words: "by 0.07 (14 % over)". */
function over(value: number, goal: number): string {
  return `missed by ${fmt(value - goal, 2)} (${fmt(((value - goal) / goal) * 100, 0)} % over the goal)`;
}

/** "0.42× (24.1 vs 57.3 ms)": the Bun build's median over another side's, with both medians. */
function versus(f: Figure, other: 'node' | 'ref', unit = f.unit): string {
  const ratio = other === 'node' ? f.ratios?.vs_node : f.ratios?.vs_ref;
  return `${fmt(ratio, 2)}× (${fmt(med(f, 'bun'))} vs ${fmt(med(f, other))} ${unit})`;
}

/** The targets of issue 11 (Bun build vs Node build and reference) and those of issue 6 still measured. */
export function targets(f: Record<string, Figure>): Target[] {
  const out: Target[] = [];
  const ratioTarget = (name: string, fig: Figure | undefined, other: 'node' | 'ref', goal: number, ok: string, missed: string) => {
    if (!fig) return;
    const r = (other === 'node' ? fig.ratios?.vs_node : fig.ratios?.vs_ref)!;
    const met = r <= goal;
    out.push({ name, target: `≤ ${goal}× the ${other === 'node' ? 'Node build' : 'reference'}`, measured: versus(fig, other), met, why: met ? ok : `${over(r, goal)}; ${missed}` });
  };
  const stat = f.helper_get_static_latency_0ms;
  ratioTarget('warm get, static keys (no added latency) vs the Node build', stat, 'node', 0.5,
    'both answer from the same cache file with no AWS call; the difference is the runtime: Bun starts its bytecode-compiled bundle in a fraction of the time Node takes to start and run the SEA main script',
    'see "Why a target is missed"');
  ratioTarget('warm get, static keys (no added latency) vs v0.12.0', stat, 'ref', 2.5,
    'a warm get is one cache file read; what is left over the Go binary is the JavaScript runtime\'s start-up (see runtime_startup)',
    'the JavaScript runtime\'s start-up alone (runtime_startup) is most of the gap; see "Why a target is missed"');
  const warm25 = f.helper_get_warm_latency_25ms;
  if (warm25) {
    const req = warm25.aws_requests_per_get as Record<SideKey, number>;
    const faster = med(warm25, 'ref')! / med(warm25, 'bun')!;
    const met = faster >= 3;
    out.push({
      name: 'warm get vs v0.12.0, IRSA-style, 25 ms AWS latency',
      target: '≥ 3× faster than the reference',
      measured: `${fmt(faster, 2)}× faster (${fmt(med(warm25, 'bun'))} vs ${fmt(med(warm25, 'ref'))} ms; Node build ${fmt(med(warm25, 'node'))} ms)`,
      met,
      why:
        (met ? '' : `missed: ${fmt(faster, 2)}× of the 3× (the Bun build would need ≤ ${fmt(med(warm25, 'ref')! / 3)} ms; ${fmt(((3 - faster) / 3) * 100, 0)} % short); `) +
        `ours answers from the cache keyed by the role (${req.bun} AWS requests per get); v0.12.0 keys its cache by the ` +
        `temporary access key, so under web identity it misses every time and makes ${req.ref} requests per get ` +
        '(STS AssumeRoleWithWebIdentity + ECR GetAuthorizationToken, 25 ms each here, plus its connection set-up)',
    });
  }
  ratioTarget('cold get (cache disabled, no added latency) vs the Node build', f.helper_get_cold_latency_0ms, 'node', 0.5,
    'both load the AWS SDK and make the same 2 AWS calls; Bun loads the bytecode-compiled SDK bundle faster than Node compiles its lazy bundle (even from its V8 code cache)',
    'see "Why a target is missed"');
  const rss = f.refresher_rss_mib;
  if (rss) {
    const b = rss.bun as { end: number; last: number; end_anon: number; end_file: number; trend_mib_per_100_cycles: number; sts_refreshes: number; ecr_refreshes: number };
    const n = rss.node as { end: number; last: number; end_anon: number; end_file: number; trend_mib_per_100_cycles: number; sts_refreshes: number };
    const r = rss.ratios!.vs_node!;
    out.push({
      name: `cred-refresher RSS after ${String(rss.cycles)} refresh cycles vs the Node build`,
      target: '≤ 0.8× the Node build',
      measured: `${fmt(r, 2)}× (${fmt(b.end)} vs ${fmt(n.end)} MiB over the last 10 % of cycles; last sample ${fmt(b.last)} vs ${fmt(n.last)} MiB)`,
      met: r <= 0.8,
      why: (r <= 0.8 ? '' : `${over(r, 0.8)}; `) +
        `both ran at once, ${b.sts_refreshes} and ${n.sts_refreshes} STS refreshes of ${String(rss.sts_lifetime_s)} s sessions (and ${b.ecr_refreshes} ECR refreshes for the Bun build). ` +
        `Most of both is file-backed, the executable's touched pages (${fmt(b.end_file)} vs ${fmt(n.end_file)} MiB); the heaps (anonymous) are ${fmt(b.end_anon)} vs ${fmt(n.end_anon)} MiB ` +
        `(${fmt(b.end_anon / n.end_anon, 2)}×), and only the Node build's keeps growing` + (r <= 0.8 ? '' : '; see "Why a target is missed"'),
    });
    const flat = Math.abs(b.trend_mib_per_100_cycles) <= 2;
    out.push({
      name: `cred-refresher RSS trend after ${String(rss.warmup_cycles)} warm-up cycles (Bun build)`,
      target: 'flat within 2 MiB per 100 cycles',
      measured: `${fmt(b.trend_mib_per_100_cycles, 2)} MiB/100 cycles (Node build ${fmt(n.trend_mib_per_100_cycles, 2)})`,
      met: flat,
      why: flat
        ? 'after start-up the heap settles: refreshes keep nothing that grows'
        : `${over(Math.abs(b.trend_mib_per_100_cycles), 2)}; see "Why a target is missed"`,
    });
  }
  const size = f.executable_bytes;
  if (size) {
    const r = size.ratios!.vs_node!;
    const mib = size.mib as { bun: number; node: number };
    const musl = size.musl as Record<string, { mib: number }>;
    out.push({
      name: 'executable size vs the Node build (this host\'s glibc builds)',
      target: '≤ the Node build\'s',
      measured: `${fmt(r, 2)}× (${fmt(mib.bun)} vs ${fmt(mib.node)} MiB)`,
      met: r <= 1,
      why: `the Bun runtime is smaller than Node's; the image's musl executables: ${Object.entries(musl).map(([t, m]) => `${t} ${fmt(m.mib)} MiB`).join(', ') || 'not built'}`,
    });
  }
  const vsRuntime = f.warm_get_vs_runtime_startup;
  if (vsRuntime) {
    const w = vsRuntime.warm_get as Record<'bun' | 'node', Summary>;
    const startup = f.runtime_startup;
    out.push({
      name: 'warm get vs bare `bun -e 0` of the embedded Bun runtime (issue 6, now Bun)',
      target: '≤ 1.3×',
      measured: `${fmt(vsRuntime.median, 2)}× (${fmt(w.bun.median)} vs ${fmt(startup ? med(startup, 'bun') : undefined)} ms)`,
      met: vsRuntime.median <= 1.3,
      why: vsRuntime.median <= 1.3
        ? 'a warm get does one cache file read on top of the runtime\'s start-up: no AWS SDK, no network'
        : `${over(vsRuntime.median, 1.3)}: Bun starts in ${fmt(startup ? med(startup, 'bun') : undefined)} ms against Node's ${fmt(startup ? med(startup, 'node') : undefined)} ms, so loading our whole bundle (SDK included, as bytecode) and reading the cache weigh more against it; the Node build's own warm get is ${fmt((vsRuntime.sides as Record<'node', Summary>).node.median, 2)}× its \`node -e 0\`; see "Why a target is missed"`,
    });
  }
  for (const [key, label] of [['pull_mib_s_cold', 'cold (from upstream)'], ['pull_mib_s_warm', 'warm (from S3)']] as const) {
    const p = f[key];
    if (!p) continue;
    const within = p.ratio! >= 0.95;
    out.push({
      name: `pull throughput with the helper vs a static password, ${label} (issue 6)`,
      target: '≥ 0.95× (within 5 %)',
      measured: `${fmt(p.ratio, 3)}× (${fmt(p.ours?.median)} vs ${fmt(p.theirs?.median)} MiB/s)`,
      met: within,
      why:
        (within ? '' : `${fmt((0.95 - p.ratio!) * 100, 1)} points short, within the noise: the min–max ranges overlap (${fmt(p.ours?.min)}–${fmt(p.ours?.max)} vs ${fmt(p.theirs?.min)}–${fmt(p.theirs?.max)} MiB/s); see "Why a target is missed". `) +
        (key === 'pull_mib_s_cold'
          ? `The registry runs the helper once per proxy.exec.lifetime (1 h in the chart; ${String(p.helper_runs_during_pulls)} run(s) during all the timed pulls), so the rest of the path is the same registry, S3 and upstream`
          : 'Warm blobs come from S3 by presigned redirect: the upstream is asked only for the manifest, with the cached credentials'),
    });
  }
  return out;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

const range = (s: Summary | undefined) => (s ? (s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median, Number.isInteger(s.median) ? 0 : 1)) : '');
const ratioCell = (r: number | undefined) => (r === undefined ? '' : `${fmt(r, 2)}×`);

function notes(key: string, fig: Figure): string {
  if (fig.aws_requests_per_get) {
    const r = fig.aws_requests_per_get as Record<SideKey, number>;
    return `AWS requests/get: Bun ${r.bun}, Node ${r.node}, v0.12.0 ${r.ref}`;
  }
  if (key === 'refresher_rss_mib') {
    const b = fig.bun as { trend_mib_per_100_cycles: number; rss_at_cycle: Record<string, number>; end_anon: number; end_file: number };
    const n = fig.node as typeof b;
    const curve = (x: typeof b) => Object.values(x.rss_at_cycle).map((v) => fmt(v)).join(' → ');
    return `median over the last 10 % of cycles: anonymous + file-backed Bun ${fmt(b.end_anon)} + ${fmt(b.end_file)}, Node ${fmt(n.end_anon)} + ${fmt(n.end_file)} MiB; ` +
      `MiB at every 100 cycles: Bun ${curve(b)}, Node ${curve(n)}; trend after warm-up Bun ${fmt(b.trend_mib_per_100_cycles, 2)}, Node ${fmt(n.trend_mib_per_100_cycles, 2)} MiB/100 cycles`;
  }
  if (key === 'executable_bytes') {
    const m = fig.mib as Record<string, number>;
    const g = fig.gzipped_mib as Record<string, number>;
    const musl = fig.musl as Record<string, { mib: number }>;
    return `Bun ${fmt(m.bun)} MiB (${fmt(g.bun)} gzipped), Node ${fmt(m.node)} MiB (${fmt(g.node)} gzipped); Bun musl: ${Object.entries(musl).map(([t, x]) => `${t} ${fmt(x.mib)} MiB`).join(', ')}`;
  }
  if (key === 'image_layer_bytes') {
    const m = fig.mib as Record<string, number>;
    return `Bun ${fmt(m.bun)} MiB, Node ${fmt(m.node)} MiB (executable + libstdc++ + libgcc)`;
  }
  if (key === 'runtime_startup') {
    const b = fig.binaries as Record<string, string>;
    return `\`bun -e 0\` of ${b.bun}; \`node -e 0\` of ${b.node}`;
  }
  if (key === 'warm_get_vs_runtime_startup') return 'per-round ratio of each build\'s warm get over its runtime\'s bare start-up';
  if (key.startsWith('peak_rss')) return 'ru_maxrss of the process';
  if (key.startsWith('cpu_ms')) return 'user + system CPU time of the process (less sensitive to the machine\'s load than wall time)';
  return '';
}

/** Rows of the three-way table: figure, Bun, Node, v0.12.0, Bun/Node, Bun/v0.12.0, unit, n, notes. */
function sideRows(f: Record<string, Figure>): string[][] {
  const rows: string[][] = [];
  for (const [key, fig] of Object.entries(f)) {
    if (!fig.sides) continue;
    const s = fig.sides;
    const ratios = key === 'warm_get_vs_runtime_startup' ? {} : (fig.ratios ?? {});
    rows.push([key, range(s.bun), range(s.node), range(s.ref), ratioCell(ratios.vs_node), ratioCell(ratios.vs_ref), fig.unit, `${s.bun?.n ?? fig.n}`, notes(key, fig)]);
  }
  return rows;
}

/** Rows of the other figures (the pull path, one build): figure, ours, static, ratio, unit, n, notes. */
function otherRows(f: Record<string, Figure>): string[][] {
  const rows: string[][] = [];
  for (const [key, fig] of Object.entries(f)) {
    if (fig.sides) continue;
    let extra = '';
    if (key === 'helper_calls_per_hour') extra = `${String(fig.helper_runs)} runs and ${String(fig.ecr_api_calls)} ECR calls in ${String(fig.window_s)} s (${String(fig.pulls)} pulls, exec lifetime ${String(fig.exec_lifetime_s)} s); ECR calls/h ${String(fig.ecr_api_calls_per_hour)}; at the chart's 1 h: 1 run/h, ${String((fig.chart_lifetime_1h as { ecr_api_calls_per_hour: number }).ecr_api_calls_per_hour)} ECR calls/h`;
    else if (key.startsWith('pull_mib_s')) extra = `${String(fig.image_mib)} MiB image, ${String(fig.layers)} layers`;
    if (fig.ours && fig.theirs) rows.push([key, range(fig.ours), range(fig.theirs), `${fmt(fig.ratio, 3)}×`, fig.unit, `${fig.n}`, extra]);
    else rows.push([key, range(fig), '', '', fig.unit, `${fig.n}`, extra]);
  }
  return rows;
}

const SIDE_HEAD = ['figure', `${SIDE_LABEL.bun}: median (min–max)`, SIDE_LABEL.node, SIDE_LABEL.ref, 'Bun/Node', 'Bun/v0.12.0', 'unit', 'n', 'notes'];
const OTHER_HEAD = ['figure', 'with our helper (Bun build)', 'static password', 'ours/static', 'unit', 'n', 'notes'];

function printRows(head: string[], rows: string[][]): void {
  const all = [head, ...rows];
  const last = head.length - 1;
  const widths = head.map((_, i) => Math.min(40, Math.max(...all.map((r) => (r[i] ?? '').length))));
  for (const r of all) console.log(r.map((c, i) => (i === last ? c : c.padEnd(widths[i]!))).join('  '));
}

export function printTable(f: Record<string, Figure>): void {
  printRows(SIDE_HEAD, sideRows(f));
  const others = otherRows(f);
  if (others.length) {
    console.log('');
    printRows(OTHER_HEAD, others);
  }
  console.log('');
  for (const t of targets(f)) console.log(`${t.met ? 'MET   ' : 'MISSED'}  ${t.name}: ${t.measured} (target ${t.target})`);
}

export function writeResultsMd(path: string, f: Record<string, Figure>, m: Machine, seconds: number, load: Summary | undefined): void {
  const lines: string[] = [];
  lines.push('# Benchmarks', '');
  lines.push('Written by `pnpm bench` (bench/run.ts); the raw figures of the last run are in `bench/results/latest.json` (not committed).', '');
  lines.push('## Machine', '');
  lines.push(`- ${m.nproc} CPUs: ${m.cpu}; ${m.kernel}`);
  lines.push(`- Bun build: \`dist/bin/docker-credential-ecr-login\` of this tree (Bun ${m.bun_runtime}, \`bun build --compile --minify --bytecode\`), built ${m.executable_built}`);
  lines.push(`- Node build: the Node ${m.node_embedded} single executable of commit ${m.node_baseline_commit.slice(0, 7)}, built from that commit by \`bench/node-baseline.ts\``);
  lines.push(`- reference: docker-credential-ecr-login v0.12.0 built from its Go module (.tools/ref; its \`version\` says: ${m.reference_helper})`);
  lines.push(`- Node running the bench: ${m.node_bench}; the run took ${seconds} s`);
  if (load) {
    lines.push(`- load: the machine is shared with other work; 1-minute load average during the run ${fmt(load.median)} median ` +
      `(${fmt(load.min)}–${fmt(load.max)}, ${load.n} samples) on ${m.nproc} CPUs. Absolute times move with it; the ratios, ` +
      'taken from runs of all sides interleaved, are what count.');
  }
  lines.push('');
  lines.push('## Targets', '');
  lines.push(row(['target', 'goal', 'measured', 'met', 'why']), row(['---', '---', '---', '---', '---']));
  for (const t of targets(f)) lines.push(row([t.name, t.target, t.measured, t.met ? '**met**' : '**missed**', t.why]));
  lines.push('');
  lines.push('## Figures', '');
  lines.push('Times are wall time from spawn to exit as seen by the caller; memory is peak or current resident set. ' +
    'Ratios are the Bun build\'s median over the other side\'s: below 1 the Bun build is faster or smaller (0.5× = half). ' +
    'All sides of a figure run in rotation in the same run.', '');
  lines.push(row(SIDE_HEAD), row(SIDE_HEAD.map(() => '---')));
  for (const r of sideRows(f)) lines.push(row(r));
  const others = otherRows(f);
  if (others.length) {
    lines.push('', 'The pull path, with the Bun build in the registry (ratio: throughput with our helper over a static password; above 1 is better):', '');
    lines.push(row(OTHER_HEAD), row(OTHER_HEAD.map(() => '---')));
    for (const r of others) lines.push(row(r));
  }
  lines.push('');
  lines.push(...readFileSync(new URL('./RESULTS.notes.md', import.meta.url), 'utf8').trimEnd().split('\n'), '');
  writeFileSync(path, lines.join('\n'));
}
