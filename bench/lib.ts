/** Small measuring tools shared by the bench modules: summaries, timed child processes, alternating comparisons. */
import { spawn } from 'node:child_process';

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** A figure as written to latest.json. Comparisons add ours/theirs/ratio; `extra` holds counts and notes. */
export interface Figure extends Summary {
  unit: string;
  ours?: Summary;
  theirs?: Summary;
  /** How many times better ours is (theirs/ours for times, ours/theirs for throughputs). */
  ratio?: number;
  [extra: string]: unknown;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted[sorted.length - 1]!), n: values.length };
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Wall time from spawn to exit of one child: what a caller (the registry, docker) waits for. The env is exactly
 * `env` (nothing inherited), stdin is written and closed at once.
 */
export function timeSpawn(file: string, args: string[], env: Record<string, string>, stdin = ''): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args, { env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** Runs `a` and `b` alternately (which goes first flips each round) `n` times after `warmup` unrecorded rounds. */
export async function alternate<T>(n: number, warmup: number, a: () => Promise<T>, b: () => Promise<T>): Promise<{ a: T[]; b: T[] }> {
  const out = { a: [] as T[], b: [] as T[] };
  for (let i = 0; i < warmup + n; i++) {
    let ra: T;
    let rb: T;
    if (i % 2 === 0) {
      ra = await a();
      rb = await b();
    } else {
      rb = await b();
      ra = await a();
    }
    if (i >= warmup) {
      out.a.push(ra);
      out.b.push(rb);
    }
  }
  return out;
}

/** ours vs theirs for a "lower is better" measure (times). */
export function compareTimes(ours: number[], theirs: number[], unit: string, extra: Record<string, unknown> = {}): Figure {
  const o = summarize(ours);
  const t = summarize(theirs);
  return { ...o, unit, ours: o, theirs: t, ratio: round(t.median / o.median), ...extra };
}

/** ours vs theirs for a "higher is better" measure (throughputs). */
export function compareRates(ours: number[], theirs: number[], unit: string, extra: Record<string, unknown> = {}): Figure {
  const o = summarize(ours);
  const t = summarize(theirs);
  return { ...o, unit, ours: o, theirs: t, ratio: round(o.median / t.median, 3), ...extra };
}

export function say(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}
