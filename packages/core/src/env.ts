/**
 * Env and flag parsing shared by every role. Each role parses its inputs once, at the edge, into a typed config;
 * everything below that receives the config and never reads process.env.
 */

/**
 * Makes any text safe for a one-line message: control characters (newlines, escapes, NUL, DEL, C1) are written as
 * `\n`, `\t` or `\uXXXX`, so a value with a newline cannot forge a second log or error line.
 */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A bad input: the message names what is wrong and what to do, always on one line (see oneLine). Exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string) {
    super(oneLine(message));
  }
}

/** The longest delay a Node timer holds (2^31-1 ms, about 24.8 days); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay a timer can really wait: negative and NaN become 0, anything above MAX_TIMER_MS becomes MAX_TIMER_MS. */
export function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/** Own keys only: `constructor`, `__proto__` and `toString` are never in a validation table. */
export function hasOwn<T extends object>(table: T, key: string): key is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(table, key);
}

export interface DurationBounds {
  /** Inclusive, ms; default 1. */
  minMs?: number;
  /** Inclusive, ms; default MAX_TIMER_MS, the longest a timer can wait. */
  maxMs?: number;
}

/** Throws a one-line ConfigError unless minMs <= ms <= maxMs. */
export function checkDurationBounds(ms: number, text: string, name: string, bounds: DurationBounds = {}): number {
  const min = bounds.minMs ?? 1;
  const max = bounds.maxMs ?? MAX_TIMER_MS;
  if (!(ms >= min && ms <= max)) {
    throw new ConfigError(`${name}: "${text}" is out of range; use between ${formatMs(min)} and ${formatMs(max)}`);
  }
  return ms;
}

/** `90s`, `25m`, `1h`, `500ms`: the largest whole unit. */
export function formatMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export type Env = Readonly<Record<string, string | undefined>>;

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `15s`, `25m`, `1h`, `1h30m` or plain seconds (`90`) into milliseconds. */
export function parseDuration(text: string, name: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new ConfigError(`${name}: "${text}" is not a duration; use e.g. 500ms, 15s, 25m, 1h or a number of seconds`);
  }
  return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS_MS[unit!]!, 0));
}

/** The value of the first of `names` that is set and non-empty. */
export function firstSet(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** A duration from env, in ms, within `bounds` (default: 1 ms to the longest timer); ConfigError otherwise. */
export function durationFrom(env: Env, name: string, fallbackMs: number, bounds: DurationBounds = {}): number {
  const value = firstSet(env, name);
  if (value === undefined) return fallbackMs;
  return checkDurationBounds(parseDuration(value, name), value, name, bounds);
}

/** The bounds of every refresh fraction: below 0.1 a refresher would hammer STS, above 0.9 cut it too fine. */
export const FRACTION_BOUNDS = { min: 0.1, max: 0.9 } as const;

export function fractionFrom(text: string | undefined, name: string, fallback: number, bounds: { min: number; max: number } = FRACTION_BOUNDS): number {
  if (text === undefined || text === '') return fallback;
  const value = /^\s*\d*\.?\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= bounds.min && value <= bounds.max)) {
    throw new ConfigError(`${name}: "${text}" is not a fraction between ${bounds.min} and ${bounds.max}, e.g. 0.5`);
  }
  return value;
}

/** Splits a comma-separated list, dropping blanks. */
export function listFrom(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Splits `--name value` / `--name=value` flags; positional arguments are refused so typos never pass silently. */
export function parseFlags(argv: readonly string[], known: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"; flags are --name value`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!known.includes(name)) {
      throw new ConfigError(`unknown flag --${name}; known flags: ${known.map((k) => `--${k}`).join(' ')}`);
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new ConfigError(`flag --${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

/**
 * The one boolean rule of every flag and env variable: exactly `true` or `false` (unset: `fallback`). Anything else
 * (`1`, `TRUE`, `yes`) is a ConfigError naming `what`, so a setting never means something other than it says.
 */
export function booleanFrom(text: string | undefined, what: string, fallback = false): boolean {
  if (text === undefined) return fallback;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ConfigError(`${what}: "${oneLine(text)}" must be true or false`);
}
