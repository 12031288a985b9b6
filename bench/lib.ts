/** Small measuring tools shared by the bench modules: summaries, timed child processes, alternating comparisons. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { toolPaths } from '../test/support/tools.js';

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/**
 * The three executables the helper figures compare: this tree's Bun build (dist/bin), the Node 24 single executable
 * of commit 9bdaa94 (bench/node-baseline.ts) and the reference docker-credential-ecr-login v0.12.0.
 */
export type SideKey = 'bun' | 'node' | 'ref';
export const SIDE_LABEL: Record<SideKey, string> = { bun: 'Bun build', node: 'Node build (9bdaa94)', ref: 'v0.12.0' };

/**
 * A figure as written to latest.json; `median`/`min`/`max` are the Bun build's (ours). Three-way comparisons add
 * `sides` and `ratios`; the pull figures (one build against a static password) add ours/theirs/ratio; `extra` holds
 * counts and notes.
 */
export interface Figure extends Summary {
  unit: string;
  sides?: Partial<Record<SideKey, Summary>>;
  /** The Bun build's median over the other side's: lower is better for times and memory (0.5 = half). */
  ratios?: { vs_node?: number; vs_ref?: number };
  ours?: Summary;
  theirs?: Summary;
  /** How many times better ours is (ours/theirs for throughputs). */
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
    // A role that never reads stdin (version) may exit before the pipe is written: the exit code and output count.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(stdin);
  });
}

/**
 * Runs every side once per round, `warmup` unrecorded rounds then `n` recorded ones; the order rotates each round
 * (with two sides: which goes first flips), so no side always runs right after the same other one.
 */
export async function rotate<K extends string, T>(n: number, warmup: number, sides: Record<K, () => Promise<T>>): Promise<Record<K, T[]>> {
  const keys = Object.keys(sides) as K[];
  const out = Object.fromEntries(keys.map((k) => [k, [] as T[]])) as Record<K, T[]>;
  for (let i = 0; i < warmup + n; i++) {
    for (let j = 0; j < keys.length; j++) {
      const key = keys[(i + j) % keys.length]!;
      const value = await sides[key]();
      if (i >= warmup) out[key].push(value);
    }
  }
  return out;
}

/** The Bun build against the other sides for a "lower is better" measure (times, memory). */
export function compareSides(values: Partial<Record<SideKey, number[]>>, unit: string, extra: Record<string, unknown> = {}): Figure {
  const sides: Partial<Record<SideKey, Summary>> = {};
  for (const [key, xs] of Object.entries(values) as Array<[SideKey, number[]]>) sides[key] = summarize(xs);
  const bun = sides.bun;
  if (!bun) throw new Error('compareSides: no values of the Bun build');
  const ratios: Figure['ratios'] = {};
  if (sides.node) ratios.vs_node = round(bun.median / sides.node.median, 3);
  if (sides.ref) ratios.vs_ref = round(bun.median / sides.ref.median, 3);
  return { ...bun, unit, sides, ratios, ...extra };
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

/** What the kernel counted for one run of a child: peak resident memory (ru_maxrss) and CPU time. */
export interface Usage {
  /** Peak RSS, MiB. */
  mib: number;
  /** User + system CPU time, ms: less sensitive than wall time to other work on a shared machine. */
  cpuMs: number;
  code: number | null;
  stdout: string;
}

// Node cannot wait4(2) a child, and GNU time is not on every machine: the moto venv's Python (provisioned for the
// bench anyway) forks, execs and reaps the child, and writes its rusage (ru_maxrss in KiB on Linux; CPU seconds) to
// fd 3, which the child does not inherit. stdin, stdout and stderr pass straight through.
const WAIT4 = [
  'import os, sys',
  'os.set_inheritable(3, False)',
  'pid = os.fork()',
  'if pid == 0:',
  '    os.execve(sys.argv[1], sys.argv[1:], os.environ)',
  '_, status, u = os.wait4(pid, 0)',
  'os.write(3, ("%d %d %f" % (u.ru_maxrss, os.waitstatus_to_exitcode(status), u.ru_utime + u.ru_stime)).encode())',
].join('\n');

/** One run of `file args` with exactly `env`, stdin written and closed at once, with what the kernel counted for it. */
export function usage(file: string, args: string[], env: Record<string, string>, stdin = ''): Promise<Usage> {
  return new Promise((resolve, reject) => {
    const child = spawn(toolPaths.python, ['-c', WAIT4, file, ...args], { env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let report = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.resume();
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', () => {
      const [kib, code, cpu] = report.split(' ').map(Number);
      if (kib === undefined || code === undefined || cpu === undefined || Number.isNaN(kib)) return reject(new Error(`usage: no report for ${file}`));
      resolve({ mib: round(kib / 1024), cpuMs: round(cpu * 1000), code, stdout });
    });
    child.stdin!.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err); // a role that never reads stdin may exit first
    });
    child.stdin!.end(stdin);
  });
}

/** The 1-minute load average now (/proc/loadavg). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
