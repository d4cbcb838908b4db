/**
 * The sockets and listeners a test proxy makes (fault-proxy.ts, bench/support/delay-proxy.ts):
 * its listeners on free ports, and every socket and listener kept until it closes, so that the
 * proxy's close() can end every one of them and wait.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** A listener on a free port of `host`, keeping half-open connections (a proxy forwards each FIN on its own). */
export async function listen(host: string): Promise<Server> {
  const listener = createServer({ allowHalfOpen: true });
  await new Promise<void>((res, rej) => {
    listener.once('error', rej);
    listener.listen(0, host, () => res());
  });
  return listener;
}

/** Sockets and listeners held until they close; see the module comment. */
export class TrackedSockets {
  private readonly sockets = new Set<Socket>();
  private readonly servers = new Set<Server>();

  /** Holds `socket` until it closes; its errors (resets) are expected and end in 'close'. */
  socket(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }

  /** Holds a listener until it closes; its errors are ignored. */
  server(server: Server): Server {
    this.servers.add(server);
    server.on('error', () => {});
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /** Closes every listener, destroys every socket, and resolves once all have closed. */
  closeAll(): Promise<void> {
    const closed = (e: Server | Socket) => new Promise((res) => e.once('close', res));
    const waits = [...this.servers, ...this.sockets].map(closed);
    this.servers.forEach((server) => server.close());
    this.sockets.forEach((socket) => socket.destroy());
    return Promise.all(waits).then(() => {});
  }
}
