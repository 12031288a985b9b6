/**
 * No debugger, whoever asks. A compiled Bun executable opens an inspector (a WebSocket that can evaluate code in the
 * process, and so read credentials.json and the IRSA token) when BUN_INSPECT is set (Bun 1.4.5, checked against the
 * built executable; oven-sh/bun#27662 proposed ignoring it and was closed unmerged), and BUN_OPTIONS=--inspect is
 * about to do the same (oven-sh/bun#40703). The runtime acts on both before any of our code runs, so the best we can
 * do is to refuse at once, which closes the listener with the process; NODE_OPTIONS is not read by Bun at all.
 */
import type { Env } from '@ecr-proxy/core';

const INSPECT_VARIABLES = ['BUN_INSPECT', 'BUN_INSPECT_CONNECT_TO', 'BUN_INSPECT_PRELOAD'] as const;

/** The env variable that asks for a debugger, or undefined. */
export function debuggerRequest(env: Env): string | undefined {
  const set = INSPECT_VARIABLES.find((name) => env[name]);
  if (set) return set;
  return /(^|\s)--inspect/.test(env.BUN_OPTIONS ?? '') ? 'BUN_OPTIONS' : undefined;
}

/**
 * SIGUSR1 and SIGUSR2 are debugger or profiler triggers in JavaScript runtimes and kill a process that has no
 * handler: a stray `kill -USR1` from another container of the pod must neither open anything nor end a role.
 */
export function ignoreDebugSignals(on: (signal: NodeJS.Signals, listener: () => void) => unknown): void {
  for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) on(signal, () => {});
}
