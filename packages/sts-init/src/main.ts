/** Wiring only: argv + env → config → dependencies → one call. Returns the exit code. */
import type { Env } from '@ecr-proxy/core';

export async function stsInitMain(_argv: readonly string[], _env: Env): Promise<number> {
  process.stderr.write('sts-init: not built yet\n');
  return 1;
}
