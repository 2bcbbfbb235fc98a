/** How the sandbox's HTTP servers listen and stop: on 127.0.0.1 only, and a close that ends open connections too. */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

type Server = HttpServer | HttpsServer;

/** Listens on 127.0.0.1 at `port` (0: one the system picks) and resolves with the port it got. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops the server and ends its open (keep-alive) connections, which would otherwise hold the close open. */
export function stopServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/** A `close()` for a sandbox server: stops it once, however often it is called; `alsoEnd` ends what the server does not track. */
export function closerOf(server: Server, alsoEnd: () => void = () => undefined): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () => {
    if (closed === undefined) {
      closed = stopServer(server);
      alsoEnd();
    }
    return closed;
  };
}
