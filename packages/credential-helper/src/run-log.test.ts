import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync, constants } from 'node:fs';
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

  it('rotates past the threshold and still counts a byte written to the old file after the rename', () => {
    const reader = new RunLogReader(dir, 4);
    reader.start();
    for (let i = 0; i < 5; i++) recordRun(dir, 'cache');
    // A helper that opened the file before the rotation and writes after it.
    const late = openSync(file(), constants.O_WRONLY | constants.O_APPEND);
    reader.collect();
    expect(existsSync(file())).toBe(false);
    expect(existsSync(`${file()}.1`)).toBe(true);
    writeSync(late, 's');
    closeSync(late);
    recordRun(dir, 'ecr'); // the new file
    reader.collect();
    expect(existsSync(`${file()}.1`)).toBe(false);
    expect(reader.totals).toMatchObject({ cache: 5, stale_cache: 1, ecr: 1 });
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

  it('a missing directory or a FIFO in place of the file reads as nothing', () => {
    const reader = new RunLogReader(join(dir, 'missing'));
    reader.start();
    reader.collect();
    execFileSync('mkfifo', [file()]);
    const fifo = new RunLogReader(dir);
    fifo.start();
    fifo.collect();
    expect(Object.values(fifo.totals).every((n) => n === 0)).toBe(true);
  });
});
