/** Wiring only: argv + env → config → dependencies → run until SIGTERM. Returns the exit code. */
import type { Env } from '@ecr-proxy/core';

export async function refresherMain(_argv: readonly string[], _env: Env): Promise<number> {
  process.stderr.write('cred-refresher: not built yet\n');
  return 1;
}
