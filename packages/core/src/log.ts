/**
 * Structured logging: one JSON object a line. Secrets never reach a sink: any field whose name looks like a secret is
 * replaced before serialisation, and error objects are reduced to name, code and message.
 */
import { writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDirSync } from './ensure-dir.js';
import { openAppendSync } from './file-guard.js';
import { serverText } from './server-text.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  with(fields: Fields): Logger;
}

/** Where lines go. `write` must never throw: a log that cannot be written must not break the caller. */
export type Sink = (line: string) => void;

const SECRET_KEY = /secret|token|password|passwd|authorization|credential|signature|session|^key$/i;
const REDACTED = '[redacted]';

export function isLevel(text: string): text is Level {
  return Object.prototype.hasOwnProperty.call(LEVELS, text);
}

function scrub(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    // Error messages often carry server text (an echoed request, a token): one line, scrubbed, bounded.
    return { name: value.name, ...(code === undefined ? {} : { code }), message: serverText(value.message, 500) };
  }
  if (value === null || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Fields = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : scrub(v, depth + 1);
  return out;
}

export function createLogger(opts: { sink: Sink; level?: Level; fields?: Fields; now?: () => Date }): Logger {
  const min = LEVELS[opts.level ?? 'info'];
  const now = opts.now ?? (() => new Date());
  const base = opts.fields ?? {};
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (LEVELS[level] < min) return;
    const record = scrub({ ...base, ...fields }) as Fields;
    opts.sink(JSON.stringify({ time: now().toISOString(), level, msg, ...record }) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}

export const stderrSink: Sink = (line) => {
  try {
    process.stderr.write(line);
  } catch {
    // nowhere left to report it
  }
};

export const nullSink: Sink = () => {};

/**
 * Appends to a file when it can be opened now (creating its directory, 0700), else falls back to stderr: a read-only
 * root filesystem, a missing HOME, or a path that is a FIFO or device (which could block every write) must degrade
 * to stderr, never to a crash or a hang.
 */
export function fileSinkOrStderr(path: string): Sink {
  let fd: number;
  try {
    ensureDirSync(dirname(path), 0o700);
    fd = openAppendSync(path, 0o600);
  } catch {
    return stderrSink;
  }
  return (line) => {
    try {
      writeSync(fd, line);
    } catch {
      stderrSink(line);
    }
  };
}
