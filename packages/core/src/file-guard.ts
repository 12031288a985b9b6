/**
 * Reading and writing user-supplied paths without hanging and without clobbering what is not ours. A FIFO, a device
 * or a hung network filesystem can block open(2) or read(2) forever, in the thread pool where no timer can cancel
 * it; a rename over a device node replaces the device. So: look at the type first, open non-blocking, check again
 * on the open descriptor (the path may have been swapped in between), and refuse anything but a regular file.
 */
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';

export class FileTypeError extends Error {
  override name = 'FileTypeError';
  readonly code = 'EFTYPE';
}

export function kindOf(info: Stats): string {
  if (info.isFile()) return 'a regular file';
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function refuse(path: string, info: Stats, what: string): never {
  throw new FileTypeError(`${what} ${path} is ${kindOf(info)}, not a regular file; remove it or point the setting at another path`);
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Reads a regular file (following symlinks, as the kubelet's projected token is one) as UTF-8. Throws FileTypeError
 * for anything else, and the fs error (ENOENT, EACCES…) as is. `maxBytes` bounds what a huge file can cost.
 */
export async function readRegularFile(path: string, what = 'file', maxBytes = 1 << 20): Promise<string> {
  const before = await stat(path);
  if (!before.isFile()) refuse(path, before, what);
  const handle = await open(path, READ_FLAGS);
  try {
    const info = await handle.stat();
    if (!info.isFile()) refuse(path, info, what);
    if (info.size > maxBytes) throw new FileTypeError(`${what} ${path} is ${info.size} bytes, more than the ${maxBytes} expected`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Throws FileTypeError when `path` exists and is not a regular file (a device, FIFO, directory or symlink). */
export async function refuseNonRegularTarget(path: string, what = 'file'): Promise<void> {
  let info: Stats;
  try {
    info = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!info.isFile()) refuse(path, info, what);
}

/** Opens a file for appending (a log), creating it with `mode`; refuses non-regular files and never blocks. */
export function openAppendSync(path: string, mode = 0o600): number {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOFOLLOW, mode);
  const info = fstatSync(fd);
  if (!info.isFile()) {
    closeSync(fd);
    refuse(path, info, 'log file');
  }
  return fd;
}
