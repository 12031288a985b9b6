/**
 * No debugger and no runtime flags, whoever asks. A compiled Bun executable opens an inspector (a WebSocket that can
 * evaluate code in the process, and so read credentials.json and the IRSA token) when BUN_INSPECT is set (Bun 1.4.5,
 * checked against the built executable; oven-sh/bun#27662 proposed ignoring it and was closed unmerged), and takes
 * runtime flags from BUN_OPTIONS (--heap-prof writes a heap profile, secrets included, to the working directory;
 * --preload runs other code first; --inspect is about to work there too, oven-sh/bun#40703). The runtime acts on
 * both before any of our code runs, so the best we can do is to refuse at once, which ends whatever they started with
 * the process. What acts before us and cannot be refused here (BUN_INSPECT=…?wait=1, BUN_BE_BUN=1) is in
 * docs/design.md. NODE_OPTIONS is not read by Bun at all.
 */
import type { Env } from '@ecr-proxy/core';

const INSPECT_VARIABLES = ['BUN_INSPECT', 'BUN_INSPECT_CONNECT_TO', 'BUN_INSPECT_PRELOAD'] as const;

/** The env variable that asks the runtime for a debugger or for runtime flags, or undefined. */
export function debuggerRequest(env: Env): string | undefined {
  return [...INSPECT_VARIABLES, 'BUN_OPTIONS'].find((name) => env[name]);
}

/**
 * SIGUSR1 and SIGUSR2 are debugger or profiler triggers in JavaScript runtimes and kill a process that has no
 * handler: a stray `kill -USR1` from another container of the pod must neither open anything nor end a role.
 */
export function ignoreDebugSignals(on: (signal: NodeJS.Signals, listener: () => void) => unknown): void {
  for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) on(signal, () => {});
}
