/**
 * Helper runs by outcome, for the operator: the helper is a short-lived process the registry starts per upstream
 * request (proxy.exec), so it cannot export a metric itself. Each `get` appends ONE byte naming its outcome to
 * `helper-runs` in the ECR cache directory; cred-refresher, which shares that directory, reads the new bytes on
 * every scrape (and on a timer), exports them as `cred_refresher_helper_runs_total{result,outcome}` and rotates the
 * file. Why this shape:
 *   - a one-byte O_APPEND write is atomic (no torn or interleaved records, whatever the number of writers), so
 *     there is no lock and no read-modify-write on the helper's path: one open, one fstat, one write, one close;
 *   - bounded whatever the run rate: the helper never grows the file past RUN_LOG_MAX_BYTES (a run past it is not
 *     counted), and the reader rotates it at RUN_LOG_ROTATE_BYTES, keeping at most one rotated file;
 *   - never fails a `get`: every error is swallowed, nothing is written to stdout or the log, and the file is opened
 *     with O_NOFOLLOW | O_NONBLOCK and written only when it is a regular file (a planted FIFO or link is ignored);
 *   - the mode is exactly 0600 whatever the umask (fchmod when the created file differs), as the token cache's.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_LOG = 'helper-runs';
/** The helper stops counting past this size: 64 KiB of one-byte records. */
export const RUN_LOG_MAX_BYTES = 64 * 1024;
/** The reader rotates the file once it has read this much: far below the cap, so a storm between two reads fits. */
export const RUN_LOG_ROTATE_BYTES = 4 * 1024;
const MODE = 0o600;

/** Every outcome of a `get`, with its byte. The set is closed, so the metric's label values are bounded. */
export const RUN_OUTCOMES = {
  cache: { byte: 'c', result: 'success' },
  ecr: { byte: 'e', result: 'success' },
  stale_cache: { byte: 's', result: 'success' },
  bad_input: { byte: 'i', result: 'failure' },
  not_ecr_host: { byte: 'h', result: 'failure' },
  not_allowed: { byte: 'a', result: 'failure' },
  identity: { byte: 'k', result: 'failure' },
  ecr_error: { byte: 'f', result: 'failure' },
  deadline: { byte: 'd', result: 'failure' },
  error: { byte: 'x', result: 'failure' },
} as const satisfies Record<string, { byte: string; result: 'success' | 'failure' }>;

export type RunOutcome = keyof typeof RUN_OUTCOMES;

const BY_BYTE = new Map<number, RunOutcome>(Object.entries(RUN_OUTCOMES).map(([name, o]) => [o.byte.charCodeAt(0), name as RunOutcome]));
const BYTES = Object.fromEntries(Object.entries(RUN_OUTCOMES).map(([name, o]) => [name, Buffer.from(o.byte)])) as Record<RunOutcome, Buffer>;

/**
 * Appends one run's outcome to `dir/helper-runs`. Synchronous (four system calls) and silent: returns false when the
 * run was not recorded (no directory, a full file, not a regular file, any error), never throws.
 */
export function recordRun(dir: string, outcome: RunOutcome, maxBytes = RUN_LOG_MAX_BYTES): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, RUN_LOG), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, MODE);
    const st = fstatSync(fd);
    if (!st.isFile() || st.size >= maxBytes) return false;
    if ((st.mode & 0o7777) !== MODE && st.uid === process.geteuid?.()) fchmodSync(fd, MODE);
    return writeSync(fd, BYTES[outcome]) === 1;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* nothing to do: the byte is written or not */
      }
    }
  }
}

export type RunCounts = Partial<Record<RunOutcome, number>>;

/** Adds the outcomes in `bytes` to `into`; bytes that name no outcome (a foreign writer) are skipped. */
export function countRuns(bytes: Uint8Array, into: RunCounts): void {
  for (const b of bytes) {
    const outcome = BY_BYTE.get(b);
    if (outcome) into[outcome] = (into[outcome] ?? 0) + 1;
  }
}

/**
 * Reads `path` from `offsetFor(inode)` to its end (at most `limit` bytes); a missing or non-regular file reads as
 * nothing. The inode tells a file the reader has seen from one a helper created after a rotation.
 */
function readFrom(path: string, offsetFor: (ino: number) => number, limit: number): { bytes: Uint8Array; ino: number; end: number } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const start = Math.min(offsetFor(st.ino), st.size);
    const buf = Buffer.alloc(Math.max(0, Math.min(st.size - start, limit)));
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, start + n);
      if (got === 0) break;
      n += got;
    }
    return { bytes: buf.subarray(0, n), ino: st.ino, end: start + n };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/**
 * The reader side (cred-refresher): `collect()` adds the runs appended since the last call to `totals` and rotates
 * the file once RUN_LOG_ROTATE_BYTES have been read (rename to `helper-runs.1`, finished and removed at the next
 * call, so a helper that opened the file just before the rename still has its byte counted). `start()` (else the
 * first collect) begins at the end of what is there: after a restart, runs already exported are not counted again.
 */
export class RunLogReader {
  readonly totals: Record<RunOutcome, number>;
  private readonly path: string;
  private current: { ino: number; offset: number } | undefined;
  private rotated: { ino: number; offset: number } | undefined;
  private started = false;

  constructor(dir: string, private readonly rotateBytes = RUN_LOG_ROTATE_BYTES) {
    this.path = join(dir, RUN_LOG);
    this.totals = Object.fromEntries(Object.keys(RUN_OUTCOMES).map((k) => [k, 0])) as Record<RunOutcome, number>;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const there = readFrom(this.path, () => Number.MAX_SAFE_INTEGER, 0);
    if (there) this.current = { ino: there.ino, offset: there.end };
    unlinkQuietly(`${this.path}.1`);
  }

  collect(): void {
    if (!this.started) return this.start();
    const counts: RunCounts = {};
    if (this.rotated) {
      const { ino, offset } = this.rotated;
      const rest = readFrom(`${this.path}.1`, (found) => (found === ino ? offset : Number.MAX_SAFE_INTEGER), RUN_LOG_MAX_BYTES);
      if (rest) countRuns(rest.bytes, counts);
      this.rotated = undefined;
      unlinkQuietly(`${this.path}.1`);
    }
    const seen = this.current;
    const fresh = readFrom(this.path, (ino) => (seen && seen.ino === ino ? seen.offset : 0), RUN_LOG_MAX_BYTES);
    if (fresh) {
      countRuns(fresh.bytes, counts);
      this.current = { ino: fresh.ino, offset: fresh.end };
      if (fresh.end >= this.rotateBytes) {
        try {
          renameSync(this.path, `${this.path}.1`);
          this.rotated = this.current;
          this.current = undefined;
        } catch {
          /* rotated at a later call */
        }
      }
    }
    for (const [k, n] of Object.entries(counts)) this.totals[k as RunOutcome] += n;
  }
}
