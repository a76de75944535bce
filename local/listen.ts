/** Starts an HTTP server on loopback (port 0 = ephemeral) and resolves with the port it got. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function listenOnLoopback(server: Server, port = 0, host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
