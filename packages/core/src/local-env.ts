/**
 * Errors of the local environment rather than of the network or of AWS: Node's SystemError from an OS call
 * (`uv_os_homedir`, `uv_os_get_passwd`, …) and file-system errors on a path (EACCES reading a config file). Retrying
 * cannot fix them, so they are configuration errors: one line naming the call and what to do, exit 2.
 */
const FS_SYSCALLS = new Set(['open', 'read', 'stat', 'lstat', 'fstat', 'access', 'readdir', 'scandir', 'mkdir', 'realpath', 'write', 'fsync', 'rename', 'chmod', 'fchmod']);

/** One line describing a local environment error, or undefined when `err` is not one. */
export function localEnvironmentProblem(err: unknown): string | undefined {
  const e = err as { code?: unknown; syscall?: unknown; path?: unknown; info?: { syscall?: unknown; code?: unknown } } | null;
  if (typeof e !== 'object' || e === null) return undefined;
  if (e.code === 'ERR_SYSTEM_ERROR' && e.info) {
    const hint = e.info.syscall === 'uv_os_homedir' ? ' (no HOME and no home directory for this uid: set HOME, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)' : '';
    return `local environment: ${String(e.info.syscall)} failed with ${String(e.info.code)}${hint}`;
  }
  if (typeof e.path === 'string' && typeof e.syscall === 'string' && FS_SYSCALLS.has(e.syscall) && typeof e.code === 'string') {
    return `local environment: ${e.syscall} ${JSON.stringify(e.path)} failed with ${e.code}`;
  }
  return undefined;
}
