/**
 * A forwarder for control connections that hands them to the server a few at a time, for the
 * concurrent-sessions scenario.
 *
 * Why: vsftpd 3.0.3 listens with a backlog of 32 (compiled in, VSFTP_LISTEN_BACKLOG). 200
 * connects at once overflow it, and with `net.ipv4.tcp_syncookies=1` (Debian's default) the
 * kernel answers the overflow with SYN cookies and then drops the handshake's last ACK while the
 * accept queue is full: the client believes it is connected, the server knows nothing of it, and
 * the client waits for a 220 greeting that never comes (measured here: 167 of 200 connects got no
 * greeting within 8 s; curl --parallel saw them reset after 61 s). No vsftpd option changes that.
 *
 * The pacer listens with Node's backlog (511), takes every client at once, and connects to the
 * server with at most `maxPending` connects waiting for their greeting; then it only copies bytes
 * both ways. Established sessions are not limited. Data connections do not pass through it: the
 * server's PASV/EPSV replies name 127.0.0.1 and a port of the server, which clients reach directly.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A running pacer. */
export interface ConnectPacer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a pacer in front of `target` on a free port of 127.0.0.1. */
export async function startConnectPacer(target: { host: string; port: number }, maxPending = 16): Promise<ConnectPacer> {
  const waiting: Socket[] = [];
  const sockets = new Set<Socket>();
  let pending = 0;
  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.once('close', () => sockets.delete(s));
    return s;
  };
  const pump = (): void => {
    while (pending < maxPending && waiting.length > 0) {
      const client = waiting.shift()!;
      if (client.destroyed) continue;
      pending++;
      let greeted = false;
      const done = (): void => {
        if (greeted) return;
        greeted = true;
        pending--;
        pump();
      };
      const server = track(connect({ host: target.host, port: target.port }));
      server.once('data', done);
      server.once('close', done);
      server.pipe(client);
      client.pipe(server);
      server.once('close', () => client.destroy());
      client.once('close', () => server.destroy());
    }
  };
  const listener = createServer((client) => {
    track(client);
    waiting.push(client);
    pump();
  });
  await new Promise<void>((res, rej) => {
    listener.once('error', rej);
    listener.listen(0, '127.0.0.1', () => res());
  });
  return {
    host: '127.0.0.1',
    port: (listener.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => listener.close(() => res()));
    },
  };
}
