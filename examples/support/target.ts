/**
 * The server the promise examples (promises, files-progress, streams, abort) talk to: an FTP
 * server embedded in the process (./memory-server.ts) unless a real one is named, with the
 * arguments and variables of the other examples:
 *
 *   npx tsx examples/<name>.ts [host] [port] [user] [password] [dir]
 *
 * Each argument left out comes from FTP_HOST, FTP_PORT, FTP_USER, FTP_PASSWORD and FTP_DIR, else
 * 21, anonymous, anonymous@ and the login directory. With no host at all, the embedded server
 * runs. `dir` must be writable: each example works in a new entry there and removes it at the
 * end. FTP_DEBUG=1 prints the protocol on stderr.
 */
import type { FtpSessionOptions } from '../../lib/index.js';
import { startMemoryServer, type MemoryServer, type MemoryServerOptions } from './memory-server.js';

export interface Target {
  /** Options for `FtpSession.connect`. */
  options: FtpSessionOptions;
  /** A directory the example may create things in ('' is the login directory). */
  dir: string;
  /** What the example talks to, for its first line of output. */
  name: string;
  /** The embedded server, or null for a real one. */
  server: MemoryServer | null;
  /** Stops the embedded server; nothing for a real one. */
  close(): Promise<void>;
}

/** The server named by the arguments or the environment, else a new embedded one started with `embedded`. */
export async function openTarget(embedded: MemoryServerOptions = {}): Promise<Target> {
  const [host = process.env.FTP_HOST, port = process.env.FTP_PORT ?? '21',
    user = process.env.FTP_USER ?? 'anonymous', password = process.env.FTP_PASSWORD ?? 'anonymous@',
    dir = process.env.FTP_DIR ?? ''] = process.argv.slice(2);
  const debug = Boolean(process.env.FTP_DEBUG);
  if (host) {
    return {
      options: { host, port: Number(port), user, password, debug },
      dir,
      name: `${host}:${port}`,
      server: null,
      close: async () => {},
    };
  }
  const server = await startMemoryServer(embedded);
  return {
    options: { host: server.host, port: server.port, user: 'demo', password: 'demo', debug },
    dir: '/',
    name: `the embedded memory server on ${server.host}:${server.port}`,
    server,
    close: () => server.close(),
  };
}
