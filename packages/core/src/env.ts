/**
 * Env and flag parsing shared by every role. Each role parses its inputs once, at the edge, into a typed config;
 * everything below that receives the config and never reads process.env.
 */

/** A bad input: the message names what is wrong and what to do, on one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
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

export function durationFrom(env: Env, name: string, fallbackMs: number): number {
  const value = firstSet(env, name);
  const ms = value === undefined ? fallbackMs : parseDuration(value, name);
  if (ms <= 0) throw new ConfigError(`${name}: must be greater than zero, got "${value}"`);
  return ms;
}

export function fractionFrom(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new ConfigError(`${name}: "${text}" is not a fraction between 0 and 1 (exclusive), e.g. 0.5`);
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
