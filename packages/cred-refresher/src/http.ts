/** Small HTTP plumbing shared by the two servers: listen on host:port, report the bound address, close quickly. */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '@ecr-proxy/sts-init/lib';

export interface Listening {
  url: string;
  close(): Promise<void>;
}

export async function listen(at: HostPort, handler: RequestListener): Promise<Listening> {
  const server: Server = createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
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
