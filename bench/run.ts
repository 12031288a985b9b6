/**
 * `pnpm bench`: every figure of issues 6 and 11 in one run: this tree's Bun build side by side with the Node 24 single
 * executable of commit 9bdaa94 (built once into .cache/node-baseline by bench/node-baseline.ts) and the reference
 * helper v0.12.0. Writes bench/results/latest.json (one key per figure), prints a table, and rewrites
 * bench/RESULTS.md with the figures, the machine and its load, the targets and whether each is met.
 *
 *   node --import tsx bench/run.ts [--only helper,startup,size,refresher,pull] [--quick]
 *
 * --only runs some groups and merges them into the existing latest.json; --quick cuts repetitions (for trying the
 * bench itself, not for results); --rewrite only rewrites the table and RESULTS.md from latest.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBuilt } from '../test/support/exe.js';
import { requireTools } from '../test/support/tools.js';
import { helperFigures, startupFigures } from './helper.js';
import { loadAverage, say, summarize, type Figure, type Summary } from './lib.js';
import { ensureNodeBaseline } from './node-baseline.js';
import { pullFigures } from './pull.js';
import { refresherFigures } from './refresher.js';
import { machine, printTable, writeResultsMd, type Machine } from './report.js';
import { sizeFigures } from './sizes.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');
const latest = join(resultsDir, 'latest.json');

const GROUPS = ['size', 'startup', 'helper', 'refresher', 'pull'] as const;
type Group = (typeof GROUPS)[number];

function args() {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--only');
  const only = i === -1 ? [...GROUPS] : (argv[i + 1] ?? '').split(',').filter(Boolean);
  for (const g of only) if (!GROUPS.includes(g as Group)) throw new Error(`--only: unknown group "${g}"; groups: ${GROUPS.join(', ')}`);
  return { only: new Set(only as Group[]), partial: i !== -1, quick: argv.includes('--quick') };
}

/** With --only: the figures of the last full or partial run, which this run updates. */
function previousFigures(): Record<string, Figure> {
  if (!existsSync(latest)) return {};
  const doc = JSON.parse(readFileSync(latest, 'utf8')) as Record<string, Figure>;
  return Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith('_')));
}

async function main() {
  if (process.argv.includes('--rewrite')) {
    const doc = JSON.parse(readFileSync(latest, 'utf8')) as { _machine: Machine; _seconds: number; _load: Summary };
    printTable(previousFigures());
    writeResultsMd(join(here, 'RESULTS.md'), previousFigures(), doc._machine, doc._seconds, doc._load);
    return;
  }
  const { only, partial, quick } = args();
  requireBuilt();
  requireTools('refHelper', 'registry300', 'crane', 'motoServer');
  const node = ensureNodeBaseline(say);
  const started = Date.now();
  // The machine is shared: the 1-minute load average every 10 s tells how busy it was while the figures were taken.
  const load = [loadAverage()];
  const sampler = setInterval(() => load.push(loadAverage()), 10_000);
  const figures: Record<string, Figure> = partial ? previousFigures() : {};
  const helper = { reps: quick ? 5 : 25, warmup: 2, latencies: [0, 25], usageReps: quick ? 3 : 11, node };
  try {
    if (only.has('size')) Object.assign(figures, await sizeFigures(node));
    if (only.has('startup')) Object.assign(figures, await startupFigures(helper));
    if (only.has('helper')) Object.assign(figures, await helperFigures(helper));
    if (only.has('refresher')) {
      const cycles = quick ? 40 : 500;
      Object.assign(figures, await refresherFigures({ cycles, warmupCycles: cycles / 5, stsLifetimeSeconds: 2, refreshFraction: 0.3, node }));
    }
    if (only.has('pull')) Object.assign(figures, await pullFigures({ reps: quick ? 1 : 6, loopSeconds: quick ? 15 : 60, imageMiB: quick ? 40 : 200 }));
  } finally {
    clearInterval(sampler);
  }
  load.push(loadAverage());
  const seconds = Math.round((Date.now() - started) / 1000);
  say(`done in ${seconds} s`);

  mkdirSync(resultsDir, { recursive: true });
  const m = machine(node);
  const loadSummary = summarize(load);
  // One key per figure; the machine, its load and the run's duration under keys no figure can take.
  writeFileSync(latest, JSON.stringify({ ...figures, _machine: m, _load: loadSummary, _seconds: seconds, _at: new Date().toISOString() }, null, 2) + '\n');
  printTable(figures);
  writeResultsMd(join(here, 'RESULTS.md'), figures, m, seconds, loadSummary);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
