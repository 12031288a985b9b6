/**
 * The `credential_process` line: a command line the SDK runs with `sh -c` (Go v1, CLI) or splits itself (JS v3 runs
 * it through a shell too), stored as an INI value. Words with only safe characters go bare, others in single
 * quotes; what neither a shell word nor an INI value can carry (control characters, `#`, `;`, `=`…) is refused.
 */
import { ConfigError } from '@ecr-proxy/core';

const SAFE_WORD = /^[A-Za-z0-9_\/.:@%+,-]+$/;
// INI readers (Go v1, botocore, ini) treat these specially inside or around values; no quoting helps everywhere.
const UNSAFE_IN_INI = /[\u0000-\u001f\u007f#;=\[\]"\\]/;

export function shellQuote(word: string, what: string): string {
  if (word === '') throw new ConfigError(`${what}: empty`);
  if (UNSAFE_IN_INI.test(word)) {
    throw new ConfigError(`${what}: "${word}" contains a character that cannot be written safely into credential_process (control characters, # ; = [ ] " \\)`);
  }
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `1500000` → `25m`, `2000` → `2s`, `1500` → `1500ms`: the shortest exact form parseDuration reads back. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function defaultCredentialProcessCommand(executable: string, dir: string, marginMs: number): string {
  return `${shellQuote(executable, 'executable path')} credential-process --dir ${shellQuote(dir, '--dir')} --margin ${formatDuration(marginMs)}`;
}
