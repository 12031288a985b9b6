/** Small HTTP plumbing shared by the two servers: listen on host:port, report the bound address, close quickly. */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '@ecr-proxy/sts-init/lib';

export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** What to do about a listen error, by errno. */
const LISTEN_ADVICE: Record<string, string> = {
  EADDRNOTAVAIL: 'this host has no such address; use 0.0.0.0 (every address of the pod) or one of its own',
  EADDRINUSE: 'another process listens there; choose another port',
  EACCES: 'no permission to bind it (ports below 1024 need privileges); choose a port above 1023',
  ENOTFOUND: 'the name does not resolve here; use an IP address',
  EAI_AGAIN: 'the name does not resolve here (DNS did not answer); use an IP address',
  EINVAL: 'not an address this host can listen on; use 0.0.0.0 or one of its own',
};

/** A failed listen, as one line naming the address, the setting it came from and what to do; `code` is the errno's. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(readonly code: string | undefined, at: HostPort, setting: string, cause: Error) {
    const address = at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
    super(`cannot listen on ${address} (${setting}): ${code ?? cause.message}; ${(code && LISTEN_ADVICE[code]) ?? 'check the address and port'}`);
  }
}

/** Throws ListenError (naming `setting`, e.g. `--listen / REFRESHER_LISTEN`) when the address cannot be bound. */
export async function listen(at: HostPort, handler: RequestListener, setting = 'listen address'): Promise<Listening> {
  const server: Server = createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(err.code, at, setting, err)));
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
