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
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readSync, renameSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
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
  config: { byte: 'g', result: 'failure' },
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

type Read = { bytes: Uint8Array; ino: number; end: number } | { missing: true } | { blocked: string } | { failed: string };

/**
 * Reads `path` from `offsetFor(inode)` to its end (at most `limit` bytes). `missing`: nothing there (ENOENT);
 * `blocked`: something there that is not a regular file this process can read (a FIFO, a directory, a symbolic link,
 * another user's 0600 file), with a few words saying what; `failed`: any other error (EMFILE, EIO, …), which says
 * nothing about the file, so it is never removed for it. The inode tells a file the reader has seen from one a
 * helper created after a rotation.
 */
function readFrom(path: string, offsetFor: (ino: number) => number, limit: number): Read {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return { blocked: st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'not a regular file' };
    const start = Math.min(offsetFor(st.ino), st.size);
    const buf = Buffer.alloc(Math.max(0, Math.min(st.size - start, limit)));
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, start + n);
      if (got === 0) break;
      n += got;
    }
    return { bytes: buf.subarray(0, n), ino: st.ino, end: start + n };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { missing: true };
    if (code === 'ELOOP') return { blocked: 'a symbolic link' };
    if (code === 'EACCES' || code === 'EPERM') return { blocked: `a file this user cannot read (${ownerOf(path)})` };
    return { failed: `cannot read ${path} (${code ?? 'error'}): helper runs are counted once it can be read again` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `owner uid N, mode 0600` of what is at `path` (lstat needs no read permission), for the line naming it. */
function ownerOf(path: string): string {
  try {
    const st = lstatSync(path);
    return `owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
  } catch {
    return 'owner unknown';
  }
}

/**
 * Removes what is at `path`, whatever it is but a non-empty directory (unlink does not follow a link, and needs only
 * the directory's write permission, which the refresher has: it owns the cache directory). Returns why it could not.
 */
function clear(path: string): string | undefined {
  try {
    unlinkSync(path);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code !== 'EISDIR' && code !== 'EPERM') return code ?? 'error';
  }
  try {
    rmdirSync(path); // an empty directory; a non-empty one is left to the operator (a recursive delete is not ours to do)
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

/**
 * The reader side (cred-refresher): `collect()` adds the runs appended since the last call to `totals` and rotates
 * the file once RUN_LOG_ROTATE_BYTES have been read: renamed over `helper-runs.1`, whose rest is read first.
 * `helper-runs.1` stays until that next rotation and is read at every call, so a helper that opened the file just
 * before a rename still has its byte counted however many collects pass before it writes (unless 4 KiB of other
 * runs and a second rotation pass first); there is never more than one rotated file. `start()` (else the first
 * collect) begins at the end of what is there: after a restart, runs already exported are not counted again.
 *
 * Something the helpers cannot append to and the reader cannot read at `helper-runs` (another user's 0600 file, a
 * FIFO, a directory) or at `helper-runs.1` (which would make every rotation fail) would stop the count for good:
 * the reader removes it (an empty directory too), and reports each such event through `onProblem` (one line, not
 * repeated while the same one recurs); what it cannot remove (a non-empty directory) sets `blocked`, exported as a gauge.
 */
export class RunLogReader {
  readonly totals: Record<RunOutcome, number>;
  /** Why runs cannot be counted right now (one line); undefined while they are. */
  blocked: string | undefined;
  private readonly path: string;
  private current: { ino: number; offset: number } | undefined;
  private rotated: { ino: number; offset: number } | undefined;
  private started = false;
  private lastReported: string | undefined;

  constructor(
    dir: string,
    private readonly rotateBytes = RUN_LOG_ROTATE_BYTES,
    private readonly onProblem: (line: string) => void = () => {},
  ) {
    this.path = join(dir, RUN_LOG);
    this.totals = Object.fromEntries(Object.keys(RUN_OUTCOMES).map((k) => [k, 0])) as Record<RunOutcome, number>;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    let problem: string | undefined;
    const there = readFrom(this.path, () => Number.MAX_SAFE_INTEGER, 0);
    if ('blocked' in there) problem = this.unblock(this.path, there.blocked);
    else if ('failed' in there) problem = there.failed;
    else if ('ino' in there) this.current = { ino: there.ino, offset: there.end };
    // What is rotated was counted by a previous refresher, or never will be: it goes.
    const old = clear(`${this.path}.1`);
    problem ??= old && `cannot remove ${this.path}.1 (${old}): rotation will fail`;
    this.settle(problem);
  }

  collect(): void {
    if (!this.started) return this.start();
    const counts: RunCounts = {};
    let problem: string | undefined;
    if (this.rotated) {
      const { ino } = this.rotated;
      const rest = readFrom(`${this.path}.1`, (found) => (found === ino ? this.rotated!.offset : Number.MAX_SAFE_INTEGER), RUN_LOG_MAX_BYTES);
      if ('bytes' in rest && rest.ino === ino) {
        countRuns(rest.bytes, counts);
        this.rotated = { ino, offset: rest.end };
      } else if ('failed' in rest) {
        problem = rest.failed; // read again at the next collect
      } else {
        this.rotated = undefined; // removed or replaced by someone else: nothing more of ours arrives there
      }
    }
    const seen = this.current;
    const fresh = readFrom(this.path, (ino) => (seen && seen.ino === ino ? seen.offset : 0), RUN_LOG_MAX_BYTES);
    if ('blocked' in fresh) {
      this.current = undefined;
      problem = this.unblock(this.path, fresh.blocked);
    } else if ('failed' in fresh) {
      problem = fresh.failed; // the file is left alone, and so is what was read of it
    } else if ('bytes' in fresh) {
      countRuns(fresh.bytes, counts);
      this.current = { ino: fresh.ino, offset: fresh.end };
      if (fresh.end >= this.rotateBytes) problem = this.rotate();
    } else {
      this.current = undefined;
    }
    for (const [k, n] of Object.entries(counts)) this.totals[k as RunOutcome] += n;
    this.settle(problem);
  }

  /** Renames the file over `helper-runs.1`, once the rest of that has been read (collect just did). */
  private rotate(): string | undefined {
    const to = `${this.path}.1`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        renameSync(this.path, to);
        this.rotated = this.current;
        this.current = undefined;
        return undefined;
      } catch (err) {
        // A directory (or anything rename cannot replace) at helper-runs.1: removed, then one more try.
        const why = attempt === 0 ? clear(to) : (err as NodeJS.ErrnoException).code ?? 'error';
        if (why) return `cannot rotate ${this.path} to ${to} (${why}): remove ${to}; past 64 KiB runs go uncounted`;
      }
    }
    return undefined;
  }

  /** Removes a blocker at `path`; returns the problem left, if any. Reports the removal itself too. */
  private unblock(path: string, what: string): string | undefined {
    const why = clear(path);
    if (why) return `${path} is ${what} and cannot be removed (${why}): helper runs are not counted until it is`;
    this.report(`${path} was ${what}, which the credential helper cannot append to; removed it so that runs are counted again`);
    return undefined;
  }

  private settle(problem: string | undefined): void {
    this.blocked = problem;
    if (problem) this.report(problem);
  }

  /** Each distinct line once in a row: a blocker recreated at every collect (a helper of another uid) is one line. */
  private report(line: string): void {
    if (line === this.lastReported) return;
    this.lastReported = line;
    this.onProblem(line);
  }
}
