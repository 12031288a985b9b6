/**
 * stdin and stdout of the one-shot roles (the helper, credential-process) with plain read(2)/write(2) on fds 0-2.
 * Touching process.stdin or process.stdout on a pipe builds net.Socket streams, which loads net, stream and their
 * dependencies: about 13 ms of a warm `get` whose whole work takes a few. A pipe or file handed to a child is
 * blocking, so synchronous calls suffice; a non-blocking descriptor (EAGAIN) falls back to the streams for the rest.
 */
import { readSync, writeSync } from 'node:fs';

export async function readStreamBytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * All of stdin, as bytes (the helper echoes them back as the reference does, invalid UTF-8 included); empty when there
 * is none (closed, /dev/null).
 */
export async function readStdinBytes(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buffer, 0, buffer.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') return Buffer.concat([...chunks, await readStreamBytes(process.stdin)]);
      if (code === 'EOF' || code === 'EBADF') break; // no stdin at all reads as empty, as process.stdin does
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/** Writes all of `text` to fd 1 or 2; resolves once it has been handed to the OS. */
export async function writeOut(fd: 1 | 2, text: string): Promise<void> {
  const data = Buffer.from(text, 'utf8');
  for (let offset = 0; offset < data.length; ) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      const stream = fd === 1 ? process.stdout : process.stderr;
      await new Promise<void>((resolve, reject) => stream.write(data.subarray(offset), (e) => (e ? reject(e) : resolve())));
      return;
    }
  }
}
