import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countRuns, recordRun, RUN_LOG, RUN_OUTCOMES, RunLogReader, type RunCounts } from './run-log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'run-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = () => join(dir, RUN_LOG);

describe(recordRun.name, () => {
  it('appends one byte per run, in a regular file of mode exactly 0600', () => {
    expect(recordRun(dir, 'cache')).toBe(true);
    expect(recordRun(dir, 'ecr_error')).toBe(true);
    expect(readFileSync(file(), 'latin1')).toBe('cf');
    expect(statSync(file()).mode & 0o7777).toBe(0o600);
  });

  it('puts a wider mode back to 0600 (a umask or a hand-made file)', () => {
    writeFileSync(file(), '');
    chmodSync(file(), 0o644);
    recordRun(dir, 'cache');
    expect(statSync(file()).mode & 0o7777).toBe(0o600);
  });

  it('stops at the cap: bounded whatever the run rate, and says the run was not recorded', () => {
    for (let i = 0; i < 3; i++) expect(recordRun(dir, 'cache', 3)).toBe(true);
    expect(recordRun(dir, 'cache', 3)).toBe(false);
    expect(statSync(file()).size).toBe(3);
  });

  it('never throws and never blocks: no directory, a symbolic link, a FIFO', () => {
    expect(recordRun(join(dir, 'missing'), 'cache')).toBe(false);
    const target = join(dir, 'target');
    writeFileSync(target, '');
    symlinkSync(target, file());
    expect(recordRun(dir, 'cache')).toBe(false);
    expect(readFileSync(target, 'latin1')).toBe('');
    rmSync(file());
    execFileSync('mkfifo', [file()]);
    expect(recordRun(dir, 'cache')).toBe(false); // no reader: O_NONBLOCK fails at once (ENXIO) instead of waiting
  });

  it('concurrent writers lose nothing (one-byte O_APPEND writes)', async () => {
    const script = `const { recordRun } = await import(${JSON.stringify(new URL('./run-log.ts', import.meta.url).pathname)}); for (let i = 0; i < 300; i++) recordRun(${JSON.stringify(dir)}, i % 2 ? 'cache' : 'ecr');`;
    await Promise.all(Array.from({ length: 4 }, () => new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
    })));
    const counts: RunCounts = {};
    countRuns(readFileSync(file()), counts);
    expect(counts).toEqual({ cache: 600, ecr: 600 });
  });
});

describe(countRuns.name, () => {
  it('knows every outcome by its byte, each byte once, and skips foreign bytes', () => {
    const bytes = Object.values(RUN_OUTCOMES).map((o) => o.byte);
    expect(new Set(bytes).size).toBe(bytes.length);
    const counts: RunCounts = {};
    countRuns(Buffer.from(`${bytes.join('')}\n?Z`, 'latin1'), counts);
    expect(counts).toEqual(Object.fromEntries(Object.keys(RUN_OUTCOMES).map((k) => [k, 1])));
  });
});

describe(RunLogReader.name, () => {
  it('counts only what is appended after start, then each run once', () => {
    recordRun(dir, 'ecr'); // before the refresher started: exported by the previous one, if any
    const reader = new RunLogReader(dir);
    reader.start();
    recordRun(dir, 'cache');
    recordRun(dir, 'cache');
    reader.collect();
    reader.collect();
    recordRun(dir, 'not_allowed');
    reader.collect();
    expect(reader.totals).toMatchObject({ cache: 2, ecr: 0, not_allowed: 1 });
  });

  it('rotates past the threshold and still counts a byte written to the old file after the rename, however many collects later', () => {
    const reader = new RunLogReader(dir, 4);
    reader.start();
    for (let i = 0; i < 5; i++) recordRun(dir, 'cache');
    // A helper that opened the file before the rotation and writes after it (a descheduled, CPU-throttled pod),
    // with two collects in between: the timer's and a scrape's, milliseconds apart.
    const late = openSync(file(), constants.O_WRONLY | constants.O_APPEND);
    reader.collect();
    expect(existsSync(file())).toBe(false);
    expect(existsSync(`${file()}.1`)).toBe(true);
    reader.collect();
    expect(existsSync(`${file()}.1`)).toBe(true); // kept until the next rotation
    writeSync(late, 's');
    closeSync(late);
    recordRun(dir, 'ecr'); // the new file
    reader.collect();
    expect(reader.totals).toMatchObject({ cache: 5, stale_cache: 1, ecr: 1 });
    // The next rotation reads what is left of helper-runs.1 before renaming over it: one rotated file at most.
    const late2 = openSync(file(), constants.O_WRONLY | constants.O_APPEND);
    for (let i = 0; i < 4; i++) recordRun(dir, 'ecr');
    reader.collect();
    writeSync(late2, 'd');
    closeSync(late2);
    reader.collect();
    reader.collect();
    expect(readFileSync(`${file()}.1`, 'latin1')).toBe('eeeeed');
    expect(existsSync(file())).toBe(false);
    expect(reader.totals).toMatchObject({ cache: 5, stale_cache: 1, ecr: 5, deadline: 1 });
  });

  it('stays bounded in a storm: the files never exceed cap + rotated file, whatever is written', () => {
    const reader = new RunLogReader(dir, 64);
    reader.start();
    let recorded = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) if (recordRun(dir, 'ecr_error', 256)) recorded++;
      const sizes = [file(), `${file()}.1`].map((p) => (existsSync(p) ? statSync(p).size : 0));
      expect(sizes[0]).toBeLessThanOrEqual(256);
      expect(sizes[1]).toBeLessThanOrEqual(256);
      reader.collect();
    }
    reader.collect();
    expect(reader.totals.ecr_error).toBe(recorded);
    expect(recorded).toBeLessThan(20 * 500); // past the cap between two reads, runs go uncounted rather than grow the file
  });

  it('a missing directory reads as nothing and is no problem', () => {
    const reports: string[] = [];
    const reader = new RunLogReader(join(dir, 'missing'), undefined, (line) => reports.push(line));
    reader.start();
    reader.collect();
    expect(Object.values(reader.totals).every((n) => n === 0)).toBe(true);
    expect(reader.blocked).toBeUndefined();
    expect(reports).toEqual([]);
  });

  // review/ATTACK-LAST.md: an error that says nothing about the file (out of descriptors) must not remove it.
  it('out of file descriptors (EMFILE): the file and what it holds are kept, counted once descriptors are back', () => {
    const reports: string[] = [];
    const reader = new RunLogReader(dir, undefined, (line) => reports.push(line));
    reader.start();
    recordRun(dir, 'cache');
    const held: number[] = [];
    try {
      for (;;) held.push(openSync('/dev/null', 'r'));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('EMFILE');
      reader.collect();
    } finally {
      for (const fd of held) closeSync(fd);
    }
    expect(existsSync(file())).toBe(true);
    expect(reports).toEqual([expect.stringContaining('(EMFILE)')]);
    reader.collect();
    expect(reader.totals.cache).toBe(1);
    expect(reader.blocked).toBeUndefined();
  });

  // A helper-runs the helpers cannot append to and the reader cannot read would stop the count for good, silently.
  it.each<[string, () => void]>([
    ['a FIFO', () => void execFileSync('mkfifo', [file()])],
    ['a directory', () => mkdirSync(file())],
    ['a symbolic link', () => symlinkSync(join(dir, 'elsewhere'), file())],
  ])('%s at helper-runs is removed and reported once; runs are counted again', (what, block) => {
    const reports: string[] = [];
    const reader = new RunLogReader(dir, undefined, (line) => reports.push(line));
    reader.start();
    block();
    reader.collect();
    recordRun(dir, 'ecr');
    reader.collect();
    expect(reader.totals.ecr).toBe(1);
    expect(reader.blocked).toBeUndefined();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain(`${file()} was ${what}`);
  });

  it('a helper-runs another user made (0600 root) does not stop the count of the uid-1000 helpers for good', () => {
    if (process.getuid?.() !== 0 || !process.seteuid || !process.setegid) throw new Error('needs root (seteuid) to act as uid 1000');
    chmodSync(dir, 0o700);
    chownSync(dir, 1000, 1000); // the chart's volume: the refresher (uid 1000) owns the cache directory
    expect(recordRun(dir, 'cache')).toBe(true); // a get run as root: helper-runs is root's, 0600
    const reports: string[] = [];
    const reader = new RunLogReader(dir, undefined, (line) => reports.push(line));
    process.setegid(1000);
    process.seteuid(1000);
    try {
      reader.start();
      for (let i = 0; i < 3; i++) {
        recordRun(dir, 'ecr'); // the registry's helper, uid 1000
        reader.collect();
      }
    } finally {
      process.seteuid(0);
      process.setegid(0);
    }
    expect(reader.totals.ecr).toBe(3);
    expect(reports).toEqual([`${file()} was a file this user cannot read (owner uid 0, mode 0600), which the credential helper cannot append to; removed it so that runs are counted again`]);
    expect(statSync(file()).uid).toBe(1000);
  });

  it('a directory at helper-runs.1 does not stop rotation; a non-empty one it cannot remove is reported and exported as blocked', () => {
    const reports: string[] = [];
    const reader = new RunLogReader(dir, 4, (line) => reports.push(line));
    reader.start();
    mkdirSync(`${file()}.1`);
    for (let i = 0; i < 4; i++) recordRun(dir, 'cache');
    reader.collect();
    expect(statSync(`${file()}.1`).isFile()).toBe(true); // the empty directory went, the rotation happened
    expect(reader.blocked).toBeUndefined();

    for (let i = 0; i < 4; i++) recordRun(dir, 'cache');
    rmSync(`${file()}.1`);
    mkdirSync(`${file()}.1`);
    writeFileSync(join(`${file()}.1`, 'keep'), '');
    reader.collect();
    reader.collect();
    expect(reader.blocked).toMatch(/^cannot rotate .*helper-runs to .*helper-runs\.1 \(ENOTEMPTY\): remove /);
    expect(reports.filter((r) => r === reader.blocked)).toHaveLength(1); // one line, not one per collect
    expect(reader.totals.cache).toBe(8); // still counted up to the cap
    rmSync(`${file()}.1`, { recursive: true });
    reader.collect();
    expect(reader.blocked).toBeUndefined();
    expect(existsSync(file())).toBe(false);
  });
});
