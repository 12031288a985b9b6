/**
 * Processes this one started and may leave behind: a profile's `credential_process` the AWS SDK runs (through a shell)
 * keeps running when we exit at our deadline, one orphan per `get` in the registry container. On exit, every
 * descendant still alive gets SIGKILL. Linux only (/proc/<pid>/task/<tid>/children, kernel 3.5+ with
 * CONFIG_PROC_CHILDREN); elsewhere, or without the file, nothing is done. One small read when nothing was started.
 */
import { readFileSync } from 'node:fs';

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The live descendants of `pid`, parents before their children. */
export function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  for (let queue = childrenOf(pid); queue.length > 0 && found.length < 1000; ) {
    const next = queue.shift()!;
    found.push(next);
    queue.push(...childrenOf(next));
  }
  return found;
}

let installed = false;

/** On process exit (process.exit at a deadline included), SIGKILLs whatever this process started and left running. */
export function killChildrenOnExit(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const pid of descendantsOf(process.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}
