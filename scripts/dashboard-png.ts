/**
 * Renders docs/img/dashboard.png: the panels of chart-values/monitoring/dashboard.json, drawn from what a real
 * Prometheus scraped off the local stack while it ran for a few minutes with short credential lifetimes, image pulls
 * and a burst of ECR throttling. Not a Grafana screenshot (no Grafana here): the same queries, plotted as lines.
 *
 *   node --import tsx scripts/dashboard-png.ts [--minutes 4]
 *
 * Needs the provisioned tools (node scripts/provision.mjs) and rsvg-convert (Debian: apt-get install librsvg2-bin).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleGroups } from '../test/monitoring/kit.js';
import { repoRoot } from '../test/support/exe.js';
import { POD_LABELS, startPrometheus, type Series } from '../test/support/prometheus.js';
import { startStack } from '../test/support/stack.js';

interface Panel { title: string; fieldConfig: { defaults: { unit: string } }; targets: Array<{ expr: string; legendFormat: string }> }

const minutesArg = process.argv.indexOf('--minutes');
const MINUTES = minutesArg === -1 ? 4 : Number(process.argv[minutesArg + 1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)); // pacing a demo run, not synchronisation

function legend(format: string, metric: Record<string, string>): string {
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => metric[name] ?? '');
}

function formatValue(v: number, unit: string): string {
  if (unit === 's') {
    const a = Math.abs(v);
    const sign = v < 0 ? '-' : '';
    if (a >= 3600) return `${sign}${(a / 3600).toFixed(1)}h`;
    if (a >= 60) return `${sign}${(a / 60).toFixed(1)}m`;
    return a > 0 && a < 1 ? `${sign}${(a * 1000).toFixed(a < 0.01 ? 1 : 0)}ms` : `${sign}${a.toFixed(0)}s`;
  }
  if (unit === 'Bps') return v >= 1e6 ? `${(v / 1e6).toFixed(1)} MB/s` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} kB/s` : `${v.toFixed(0)} B/s`;
  if (unit === 'reqps') return `${v.toFixed(2)}/s`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const PALETTE = ['#73bf69', '#f2cc0c', '#5794f2', '#ff780a', '#f2495c', '#b877d9', '#8ab8ff', '#ffb357', '#96d98d', '#ca95e5'];

function panelSvg(panel: Panel, series: Array<{ name: string; points: Array<[number, number]> }>, x0: number, y0: number, w: number, h: number, t0: number, t1: number): string {
  const out: string[] = [];
  const pad = { l: 62, r: 12, t: 30, b: 12 };
  // The legend has room for 4: the series with the largest values first, so those left out are the flat ones.
  const peak = (s: { points: Array<[number, number]> }) => Math.max(0, ...s.points.map(([, v]) => Math.abs(v)).filter(Number.isFinite));
  series = [...series].sort((a, b) => peak(b) - peak(a));
  const legendRows = Math.min(series.length, 4);
  // Below the plot: the time axis (18 px), then one legend row per series (14 px each).
  const plotH = h - pad.t - 18 - legendRows * 14 - pad.b;
  const plotW = w - pad.l - pad.r;
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  let lo = Math.min(0, ...values);
  let hi = Math.max(...values, lo + 1e-9);
  if (hi === lo) hi = lo + 1;
  hi += (hi - lo) * 0.05;
  const X = (t: number) => x0 + pad.l + ((t - t0) / (t1 - t0)) * plotW;
  const Y = (v: number) => y0 + pad.t + plotH - ((v - lo) / (hi - lo)) * plotH;
  out.push(`<rect x="${x0 + 4}" y="${y0 + 4}" width="${w - 8}" height="${h - 8}" rx="4" fill="#181b1f" stroke="#2c3235"/>`);
  out.push(`<text x="${x0 + 14}" y="${y0 + 21}" fill="#ccccdc" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    out.push(`<line x1="${X(t0)}" x2="${X(t1)}" y1="${Y(v)}" y2="${Y(v)}" stroke="#2c3235"/>`);
    out.push(`<text x="${x0 + pad.l - 6}" y="${Y(v) + 4}" fill="#8e8e8e" font-size="10" text-anchor="end">${esc(formatValue(v, panel.fieldConfig.defaults.unit))}</text>`);
  }
  for (let t = Math.ceil(t0 / 60) * 60; t <= t1; t += 60) {
    const label = new Date(t * 1000).toISOString().slice(11, 16);
    out.push(`<text x="${X(t)}" y="${Y(lo) + 14}" fill="#8e8e8e" font-size="10" text-anchor="middle">${label}</text>`);
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    // A gap in the data (a series that appears or disappears) breaks the line.
    const segments: string[][] = [[]];
    let last: number | undefined;
    for (const [t, v] of s.points) {
      if (last !== undefined && t - last > 5) segments.push([]);
      segments.at(-1)!.push(`${X(t).toFixed(1)},${Y(v).toFixed(1)}`);
      last = t;
    }
    for (const seg of segments) if (seg.length) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${seg.join(' ')}"/>`);
    if (i < legendRows) {
      const ly = Y(lo) + 18 + (i + 1) * 14;
      const lastValue = s.points.at(-1)?.[1];
      out.push(`<rect x="${x0 + pad.l}" y="${ly - 8}" width="10" height="3" fill="${color}"/>`);
      out.push(`<text x="${x0 + pad.l + 16}" y="${ly - 3}" fill="#ccccdc" font-size="10">${esc(s.name || '(value)')}${lastValue === undefined ? '' : `   last ${esc(formatValue(lastValue, panel.fieldConfig.defaults.unit))}`}</text>`);
    }
  });
  if (series.length > legendRows) {
    out.push(`<text x="${x0 + w - 16}" y="${Y(lo) + 18 + legendRows * 14 - 3}" fill="#8e8e8e" font-size="10" text-anchor="end">+${series.length - legendRows} more</text>`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const dashboard = JSON.parse(readFileSync(join(repoRoot, 'chart-values', 'monitoring', 'dashboard.json'), 'utf8')) as { title: string; panels: Panel[] };
  console.log('starting the stack (2 min STS sessions, 3 min ECR tokens, the helper re-run after 15 s) and Prometheus');
  // proxy.exec.lifetime 15 s instead of the values' 1 h: the registry runs the helper again within the window, so the
  // helper panel has runs to show.
  const stack = await startStack({ stsLifetimeSeconds: 120, ecrTokenLifetimeSeconds: 180, margin: '20s', execLifetime: '15s' });
  const prometheus = await startPrometheus(stack, ruleGroups());
  try {
    for (const repo of ['team/api', 'team/web', 'team/worker']) await stack.seedImage(repo, { layers: 3, layerBytes: 256 * 1024 });
    const start = Math.floor(Date.now() / 1000);
    const end = start + MINUTES * 60;
    let round = 0;
    while (Date.now() / 1000 < end) {
      const repo = ['team/api', 'team/web', 'team/worker'][round % 3]!;
      if (round === 0 || round % 5 === 1 || round % 7 === 2) await stack.pull(repo).catch((e: unknown) => console.log(String(e)));
      // A burst of ECR throttling a third of the way in: refresh failures by reason, then recovery.
      if (round === 20) stack.fake.faults.set('ecr', { mode: 'throttle', count: 25 });
      round++;
      await sleep(3000);
    }
    const t1 = Math.floor(Date.now() / 1000);
    const W = 640;
    const H = 250;
    const svg: string[] = [];
    const panels = dashboard.panels;
    const rows = Math.ceil(panels.length / 2);
    svg.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W * 2}" height="${rows * H + 40}" font-family="DejaVu Sans, sans-serif">`);
    svg.push(`<rect width="100%" height="100%" fill="#111217"/>`);
    svg.push(`<text x="14" y="26" fill="#ccccdc" font-size="16" font-weight="bold">${esc(dashboard.title)}: the e2e stack, ${MINUTES} min (2 min STS sessions, 3 min ECR tokens, helper re-run after 15 s, a burst of ECR throttling)</text>`);
    for (const [i, panel] of panels.entries()) {
      const series: Array<{ name: string; points: Array<[number, number]> }> = [];
      for (const target of panel.targets) {
        const expr = target.expr.replaceAll('$__rate_interval', '30s').replaceAll('$namespace', POD_LABELS.namespace).replaceAll('$pod', '.*');
        const result: Series[] = await prometheus.queryRange(expr, start, t1, 2);
        for (const s of result) series.push({ name: legend(target.legendFormat, s.metric), points: s.values.map(([t, v]) => [t, Number(v)]) });
      }
      series.sort((a, b) => a.name.localeCompare(b.name));
      svg.push(panelSvg(panel, series, (i % 2) * W, 40 + Math.floor(i / 2) * H, W, H, start, t1));
    }
    svg.push('</svg>');
    const dir = join(repoRoot, 'docs', 'img');
    mkdirSync(dir, { recursive: true });
    const svgPath = join(stack.work, 'dashboard.svg');
    writeFileSync(svgPath, svg.join('\n'));
    execFileSync('rsvg-convert', ['-o', join(dir, 'dashboard.png'), svgPath]);
    console.log(`wrote docs/img/dashboard.png (${panels.length} panels, ${t1 - start} s of data)`);
    const s3Errors = stack.moto.logs().filter((l) => / 5\d\d /.test(l));
    if (s3Errors.length) console.log(`moto answered ${s3Errors.length} requests with 5xx, e.g.: ${s3Errors.slice(0, 3).join(' | ')}`);
  } finally {
    await prometheus.stop();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`dashboard-png: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
