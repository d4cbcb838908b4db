/**
 * A scripted FTP server for session tests: only for what real servers (vsftpd, ProFTPD,
 * Pure-FTPd) will not do on demand: byte-by-byte replies, 150 and 226 before the data, huge
 * lines, NUL bytes, foreign PASV addresses, strangers connecting back, stalls and resets.
 *
 * Every command has a sensible default (USER 331, PASS 230, EPSV 229 with a real listener,
 * RETR serving `files`, ...); a test overrides the verbs it cares about:
 *
 * ```ts
 * const server = await scriptedServer({
 *   files: { 'a.txt': 'hello' },
 *   handlers: {
 *     CWD: stall,                                          // never answer
 *     RETR: async (conn, cmd) => {
 *       await conn.send('150 go', '226 done');             // two replies in one write
 *       const data = await conn.dataSocket();              // passive or active, as negotiated
 *       await sendData(data, 'hello', { pieceSize: 1 });   // byte by byte, then EOF
 *     },
 *   },
 * });
 * server.commands; // every command line received, exactly, in order (all connections)
 * await server.close(); // every socket and listener released
 * ```
 *
 * The toolbox: `conn.send(...lines)` (one write), `conn.sendRaw(bytes, { pieceSize | cuts, delayMs })`,
 * `conn.nextCommand()` / `conn.expect(/^PASS/)` (a handler may consume the commands after its own),
 * `conn.listenPassive({ host, port })` (extra or decoy listeners), `conn.connectBack({ localAddress })`
 * (active mode, e.g. from 127.0.0.2 as a stranger), `conn.startTls({ key, cert })` (after a 234, the
 * server side of the handshake), `conn.end()` (FIN), `conn.reset()` (RST), a
 * greeting script (`greeting: async (conn) => ...`, `conn.index` tells reconnects apart), and the data
 * helpers `writePieces`, `sendData`, `endData`, `readData`, `waitClosed`.
 *
 * Loopback only. Every wait is bounded (default 5 s) except the per-connection dispatch loop,
 * which ends when the connection or the server closes.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket, type TlsOptions } from 'node:tls';

/** A command line as received. */
export interface Command {
  /** The exact line, without its line ending (CRLF or LF). */
  readonly line: string;
  /** The verb, upper-cased (`RETR`). */
  readonly verb: string;
  /** Everything after the first space (`''` when there is none). */
  readonly arg: string;
}

/** Answers one command. Returning without sending anything stalls that command. */
export type Handler = (conn: ScriptedConnection, command: Command) => void | Promise<unknown>;

/** What the server sends on a new connection: lines, a script, or nothing (`null`). */
export type Greeting = string | readonly string[] | ((conn: ScriptedConnection) => void | Promise<void>) | null;

export interface ScriptedServerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Default `'220 scripted server ready'`. An array is sent in one write. */
  greeting?: Greeting;
  /** Handlers by upper-case verb; they replace the defaults. */
  handlers?: Readonly<Record<string, Handler>>;
  /** Files RETR and SIZE serve (STOR/APPE/STOU store into `server.uploads`). */
  files?: Readonly<Record<string, string | Buffer>>;
  /** Lines LIST, NLST and MLSD send. Default two names. */
  listing?: readonly string[];
  /** Line ending of `conn.send`. Default CRLF. */
  eol?: string;
  /**
   * Data sockets stay open for writing after the client's FIN until the script ends them (a
   * server still busy after an upload's last byte). Default false: they end with the client's.
   */
  halfOpenData?: boolean;
}

/** Pieces for raw writes: `pieceSize` bytes each (1 = byte by byte), or cut at `cuts` offsets. */
export interface PieceOptions {
  pieceSize?: number;
  cuts?: readonly number[];
  /** Pause between pieces, in ms. Default 1 when the data is cut, else 0. */
  delayMs?: number;
}

const DEFAULT_WAIT_MS = 5000;

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A handler that never answers. */
export const stall: Handler = () => {};

/** `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` for any dotted IPv4 address and port. */
export function pasvReply(host: string, port: number): string {
  return `227 Entering Passive Mode (${host.split('.').join(',')},${Math.floor(port / 256)},${port % 256})`;
}

/** Bounded wait: `start` wires listeners and returns their cleanup; rejects with a clear message after `ms`. */
function within<T>(ms: number, what: string, start: (resolve: (v: T) => void, reject: (e: Error) => void) => (() => void) | void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cleanup: (() => void) | void = undefined;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      cleanup?.();
      return true;
    };
    const timer = setTimeout(() => {
      if (settle()) reject(new Error(`scripted server: ${what} did not happen within ${ms} ms`));
    }, ms);
    cleanup = start(
      (value) => { if (settle()) resolve(value); },
      (error) => { if (settle()) reject(error); },
    );
    if (settled) cleanup?.();
  });
}

/** A FIFO whose `take` waits (bounded) for the next item. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<{ resolve(item: T): void; reject(error: Error): void }> = [];
  private closedWith: Error | null = null;

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.items.push(item);
  }

  /** The next item; `timeoutMs` Infinity waits until {@link close}. */
  take(timeoutMs: number, what: string): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (timeoutMs === Infinity) return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    return within<T>(timeoutMs, what, (resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiters.push(waiter);
      return () => {
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
      };
    });
  }

  close(error: Error): void {
    this.closedWith ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

/** Splits `data` into the pieces `options` asks for. */
function cut(data: Buffer, options: PieceOptions): Buffer[] {
  const offsets = options.cuts
    ? [...options.cuts]
    : options.pieceSize
      ? Array.from({ length: Math.ceil(data.length / options.pieceSize) - 1 }, (_, i) => (i + 1) * options.pieceSize!)
      : [];
  const pieces: Buffer[] = [];
  let start = 0;
  for (const offset of [...offsets, data.length]) {
    if (offset > start) pieces.push(data.subarray(start, offset));
    start = Math.max(start, offset);
  }
  return pieces;
}

/** Writes `data` in pieces; resolves with the bytes handed to the socket before it closed. */
export async function writePieces(socket: Socket, data: string | Buffer, options: PieceOptions = {}): Promise<number> {
  const pieces = cut(Buffer.from(data), options);
  const pause = options.delayMs ?? (pieces.length > 1 ? 1 : 0);
  let written = 0;
  for (const [index, piece] of pieces.entries()) {
    if (socket.destroyed || !socket.writable) break;
    const ok = await new Promise<boolean>((resolve) => socket.write(piece, (error) => resolve(!error)));
    if (!ok) break;
    written += piece.length;
    if (pause > 0 && index < pieces.length - 1) await delay(pause);
  }
  return written;
}

/** Writes `data` (in pieces if asked), then ends the data connection (EOF) and waits until it is flushed. */
export async function sendData(socket: Socket, data: string | Buffer, options: PieceOptions = {}): Promise<void> {
  await writePieces(socket, data, options);
  await endData(socket);
}

/** Ends (FIN) a data connection and waits until the end is flushed or the socket is gone. */
export function endData(socket: Socket, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  if (socket.destroyed || socket.writableFinished) return Promise.resolve();
  return within<void>(timeoutMs, 'data connection end', (resolve) => {
    const done = () => resolve();
    socket.once('finish', done);
    socket.once('close', done);
    socket.end();
    return () => {
      socket.off('finish', done);
      socket.off('close', done);
    };
  });
}

/** Reads a data connection to its end (EOF or close); resolves with every byte. */
export function readData(socket: Socket, timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return within<Buffer>(timeoutMs, 'data connection EOF', (resolve) => {
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const done = () => resolve(Buffer.concat(chunks));
    socket.on('data', onData);
    socket.once('end', done);
    socket.once('close', done);
    return () => {
      socket.off('data', onData);
      socket.off('end', done);
      socket.off('close', done);
    };
  });
}

/** Resolves when `socket` is closed (by either side). */
export function waitClosed(socket: Socket, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return within<void>(timeoutMs, 'socket close', (resolve) => {
    const done = () => resolve();
    socket.once('close', done);
    return () => socket.off('close', done);
  });
}

/** A passive-mode data listener (one per EPSV/PASV, or made by a test with `listenPassive`). */
export class DataListener {
  /** Every connection accepted, claimed or not. */
  readonly connections: Socket[] = [];
  private readonly inbox = new Inbox<Socket>();

  constructor(private readonly server: Server, readonly host: string, readonly port: number) {
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      this.connections.push(socket);
      this.inbox.push(socket);
    });
  }

  /** The next connection not yet claimed. */
  accept(timeoutMs = DEFAULT_WAIT_MS): Promise<Socket> {
    return this.inbox.take(timeoutMs, `a data connection to ${this.host}:${this.port}`);
  }

  /** Stops listening and destroys every accepted connection. */
  close(): Promise<void> {
    this.inbox.close(new Error('data listener closed'));
    for (const socket of this.connections) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** One control connection, as the server sees it. */
export class ScriptedConnection {
  /** Command lines received on this connection. */
  readonly commands: string[] = [];
  /** Line ending `send` uses. */
  eol: string;
  /** The data listener of the last EPSV/PASV (or `listenPassive`), if passive mode is current. */
  passive: DataListener | null = null;
  /** Where the last EPRT/PORT asked the server to connect, if active mode is current. */
  active: { host: string; port: number } | null = null;
  /** Resolves when the control connection has closed. */
  readonly closed: Promise<void>;

  private readonly inbox = new Inbox<Command>();
  private pending: Buffer = Buffer.alloc(0);
  private readonly onChunk = (chunk: Buffer) => this.onData(chunk);
  /** The control socket: TCP, or TLS over it after {@link startTls}. */
  socket: Socket;

  constructor(readonly owner: ScriptedServer, socket: Socket, readonly index: number) {
    this.socket = socket;
    this.eol = owner.eol;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', this.onChunk);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.inbox.close(new Error(`control connection ${index} closed`));
      resolve();
    }));
  }

  /** Sends each line plus `eol`, all in one write; resolves once handed to the socket. */
  send(...lines: string[]): Promise<void> {
    return this.sendRaw(lines.map((line) => line + this.eol).join('')).then(() => undefined);
  }

  /** Writes raw bytes, in pieces if asked; resolves with the bytes written before the connection closed. */
  sendRaw(data: string | Buffer, options: PieceOptions = {}): Promise<number> {
    return writePieces(this.socket, data, options);
  }

  /** The next command line not handled yet (bounded wait). */
  nextCommand(timeoutMs = DEFAULT_WAIT_MS): Promise<Command> {
    return this.inbox.take(timeoutMs, `a command on connection ${this.index}`);
  }

  /** The next command, which must match `pattern`. */
  async expect(pattern: RegExp, timeoutMs = DEFAULT_WAIT_MS): Promise<Command> {
    const command = await this.nextCommand(timeoutMs);
    if (!pattern.test(command.line)) throw new Error(`scripted server: expected ${pattern}, got ${JSON.stringify(command.line)}`);
    return command;
  }

  /** Opens a passive data listener (default on 127.0.0.1, any port) and makes it the current data source. */
  async listenPassive(options: { host?: string; port?: number; current?: boolean } = {}): Promise<DataListener> {
    const listener = await this.owner.listen(options.host ?? '127.0.0.1', options.port ?? 0);
    if (options.current !== false) {
      this.passive = listener;
      this.active = null;
    }
    return listener;
  }

  /**
   * Connects to the address the last EPRT/PORT gave, from the control connection's own address
   * (as a real server does), or from `localAddress` (e.g. 127.0.0.2, to play a stranger).
   */
  connectBack(options: { localAddress?: string; timeoutMs?: number } = {}): Promise<Socket> {
    const target = this.active;
    if (!target) return Promise.reject(new Error('scripted server: connectBack without EPRT/PORT'));
    const from = options.localAddress ?? this.socket.localAddress?.replace(/^::ffff:/, '');
    return this.owner.connectTo(target.host, target.port, from, options.timeoutMs ?? DEFAULT_WAIT_MS);
  }

  /** The data connection for the current mode: the next accepted passive connection, or a connect-back. */
  dataSocket(timeoutMs = DEFAULT_WAIT_MS): Promise<Socket> {
    if (this.active) return this.connectBack({ timeoutMs });
    if (this.passive) return this.passive.accept(timeoutMs);
    return Promise.reject(new Error('scripted server: no data connection negotiated'));
  }

  /**
   * The server side of a TLS handshake on the control connection (send the 234 first); resolves
   * once it succeeded, rejects when the client gave up (e.g. it did not trust the certificate).
   */
  startTls(options: TlsOptions, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const plain = this.socket;
    plain.off('data', this.onChunk);
    const secure = new TLSSocket(plain, { isServer: true, ...options });
    secure.on('error', () => {});
    secure.on('data', this.onChunk);
    this.socket = secure;
    return within<void>(timeoutMs, 'the TLS handshake', (resolve, reject) => {
      const onError = (error: Error) => reject(error);
      const onClose = () => reject(new Error('the client closed the connection during the TLS handshake'));
      secure.once('secure', () => resolve());
      secure.once('error', onError);
      secure.once('close', onClose);
      return () => {
        secure.off('error', onError);
        secure.off('close', onClose);
      };
    });
  }

  /** Closes the control connection cleanly (FIN). */
  end(): void {
    this.socket.end();
  }

  /** Resets the control connection (RST). */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** Resolves when the control connection has closed (bounded). */
  waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return waitClosed(this.socket, timeoutMs);
  }

  /** Sends the greeting, then answers commands one at a time until the connection closes. */
  async run(greeting: Greeting): Promise<void> {
    try {
      if (typeof greeting === 'function') await greeting(this);
      else if (typeof greeting === 'string') await this.send(greeting);
      else if (greeting) await this.send(...greeting);
    } catch (error) {
      this.report(error);
    }
    for (;;) {
      let command: Command;
      try {
        command = await this.inbox.take(Infinity, 'a command');
      } catch {
        return; // the connection or the server closed
      }
      try {
        await this.owner.handlerFor(command.verb)(this, command);
      } catch (error) {
        this.report(error);
      }
    }
  }

  /** Records a script or handler failure, unless it only reflects the connection going away. */
  private report(error: unknown): void {
    if (!this.socket.closed && !this.owner.closing) this.owner.errors.push(error);
  }

  private onData(chunk: Buffer): void {
    this.owner.received.push(chunk);
    this.pending = Buffer.concat([this.pending, chunk]);
    for (let lf = this.pending.indexOf(0x0a); lf !== -1; lf = this.pending.indexOf(0x0a)) {
      const raw = this.pending.subarray(0, lf);
      this.pending = this.pending.subarray(lf + 1);
      const line = raw.toString('utf8').replace(/\r$/, '');
      const space = line.indexOf(' ');
      const command = { line, verb: (space === -1 ? line : line.slice(0, space)).toUpperCase(), arg: space === -1 ? '' : line.slice(space + 1) };
      this.commands.push(line);
      this.owner.commands.push(line);
      this.inbox.push(command);
    }
  }
}

/** The server: listener, connections, and what was received. */
export class ScriptedServer {
  /** Every command line received, exactly (without CRLF), in order, over all connections. */
  readonly commands: string[] = [];
  /** Every control connection, in accept order. */
  readonly connections: ScriptedConnection[] = [];
  /** Raw bytes received on control connections. */
  readonly received: Buffer[] = [];
  /** Files stored by STOR/APPE/STOU. */
  readonly uploads = new Map<string, Buffer>();
  /** Files RETR serves (tests may add). */
  readonly files = new Map<string, Buffer>();
  /** Errors thrown by handlers or scripts (a test bug, or an unexpected client move). */
  readonly errors: unknown[] = [];
  readonly eol: string;
  readonly listing: readonly string[];
  closing = false;

  private readonly handlers: Readonly<Record<string, Handler>>;
  private readonly greeting: Greeting;
  private readonly connectionInbox = new Inbox<ScriptedConnection>();
  private readonly listeners: DataListener[] = [];
  private readonly outgoing: Socket[] = [];
  private readonly running: Promise<void>[] = [];
  private readonly halfOpenData: boolean;

  constructor(private readonly server: Server, readonly host: string, readonly port: number, options: ScriptedServerOptions) {
    this.handlers = { ...DEFAULT_HANDLERS, ...options.handlers };
    this.greeting = options.greeting === undefined ? '220 scripted server ready' : options.greeting;
    this.eol = options.eol ?? '\r\n';
    this.listing = options.listing ?? ['a.txt', 'b.txt'];
    this.halfOpenData = options.halfOpenData ?? false;
    for (const [name, content] of Object.entries(options.files ?? {})) this.files.set(name, Buffer.from(content));
    server.on('connection', (socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      const conn = new ScriptedConnection(this, socket, this.connections.length);
      this.connections.push(conn);
      this.connectionInbox.push(conn);
      this.running.push(conn.run(this.greeting));
    });
  }

  /** `{ host, port }` to spread into session options. */
  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** Raw bytes received on every control connection, as one UTF-8 string. */
  get receivedText(): string {
    return Buffer.concat(this.received).toString('utf8');
  }

  /** The `index`-th control connection (0-based), waiting for it if needed. */
  async connection(index = 0, timeoutMs = DEFAULT_WAIT_MS): Promise<ScriptedConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length <= index) {
      await this.connectionInbox.take(Math.max(1, deadline - Date.now()), `control connection #${index}`);
    }
    return this.connections[index]!;
  }

  /** The handler for `verb`: the test's, the default, or `502`. */
  handlerFor(verb: string): Handler {
    return this.handlers[verb] ?? notImplemented;
  }

  /** Opens a data listener (closed by {@link close}). */
  listen(host: string, port: number): Promise<DataListener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: this.halfOpenData });
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        const listener = new DataListener(server, host, (server.address() as AddressInfo).port);
        this.listeners.push(listener);
        resolve(listener);
      });
    });
  }

  /** Opens an outgoing connection (closed by {@link close}). */
  connectTo(host: string, port: number, localAddress: string | undefined, timeoutMs: number): Promise<Socket> {
    return within<Socket>(timeoutMs, `connect to ${host}:${port}`, (resolve, reject) => {
      const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      this.outgoing.push(socket);
      const onError = (error: Error) => reject(error);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.on('error', () => {});
        resolve(socket);
      });
      return () => socket.off('error', onError);
    });
  }

  /** Closes every connection, data socket and listener; resolves when all are released. */
  async close(): Promise<void> {
    this.closing = true;
    this.connectionInbox.close(new Error('scripted server closed'));
    for (const conn of this.connections) conn.socket.destroy();
    for (const socket of this.outgoing) socket.destroy();
    await Promise.all(this.listeners.map((listener) => listener.close()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, DEFAULT_WAIT_MS); });
    await Promise.race([Promise.all(this.running), bound]);
    clearTimeout(timer);
  }
}

/** Starts a scripted server on a free loopback port. */
export function scriptedServer(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      resolve(new ScriptedServer(server, host, (server.address() as AddressInfo).port, options));
    });
  });
}

// ---- default handlers --------------------------------------------------------------------------

const notImplemented: Handler = (conn) => conn.send('502 Command not implemented');
const reply = (line: string): Handler => (conn) => conn.send(line);

/** 150, the data connection, `payload` then EOF, 226: a plain download. */
export async function serveDownload(conn: ScriptedConnection, payload: string | Buffer, preliminary = '150 Opening data connection'): Promise<void> {
  await conn.send(preliminary);
  const data = await conn.dataSocket();
  await sendData(data, payload);
  await conn.send('226 Transfer complete');
}

/** 150, the data connection read to EOF into `uploads[name]`, 226: a plain upload. */
export async function receiveUpload(conn: ScriptedConnection, name: string, preliminary = '150 Ok to send data'): Promise<Buffer> {
  await conn.send(preliminary);
  const data = await conn.dataSocket();
  const bytes = await readData(data);
  conn.owner.uploads.set(name, Buffer.concat([conn.owner.uploads.get(name) ?? Buffer.alloc(0), bytes]));
  await conn.send('226 Transfer complete');
  return bytes;
}

function parseEprt(arg: string): { host: string; port: number } | null {
  const delimiter = arg.charAt(0);
  const [, , host, port] = arg.split(delimiter);
  return host && port && /^\d+$/.test(port) ? { host, port: Number(port) } : null;
}

function parsePort(arg: string): { host: string; port: number } | null {
  const numbers = arg.split(',').map(Number);
  if (numbers.length !== 6 || numbers.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return null;
  return { host: numbers.slice(0, 4).join('.'), port: numbers[4]! * 256 + numbers[5]! };
}

const DEFAULT_HANDLERS: Readonly<Record<string, Handler>> = {
  USER: reply('331 Please specify the password.'),
  PASS: reply('230 Login successful.'),
  ACCT: reply('230 Account accepted.'),
  TYPE: (conn, cmd) => conn.send(`200 Type set to ${cmd.arg}.`),
  MODE: reply('200 Mode set.'),
  STRU: reply('200 Structure set.'),
  CWD: reply('250 Directory successfully changed.'),
  CDUP: reply('250 Directory successfully changed.'),
  PWD: reply('257 "/" is the current directory'),
  MKD: (conn, cmd) => conn.send(`257 "${cmd.arg}" created`),
  RMD: reply('250 Remove directory operation successful.'),
  DELE: reply('250 Delete operation successful.'),
  RNFR: reply('350 Ready for RNTO.'),
  RNTO: reply('250 Rename successful.'),
  NOOP: reply('200 NOOP ok.'),
  SYST: reply('215 UNIX Type: L8'),
  SITE: reply('200 SITE command ok.'),
  STAT: reply('211 scripted server status'),
  HELP: reply('214 Help OK.'),
  FEAT: (conn) => conn.send('211-Features:', ' EPSV', ' PASV', ' SIZE', '211 End'),
  SIZE: (conn, cmd) => {
    const file = conn.owner.files.get(cmd.arg);
    return conn.send(file ? `213 ${file.length}` : '550 Could not get file size.');
  },
  MDTM: (conn, cmd) => conn.send(conn.owner.files.has(cmd.arg) ? '213 20240102030405' : '550 Could not get file modification time.'),
  EPSV: async (conn) => {
    const listener = await conn.listenPassive();
    await conn.send(`229 Entering Extended Passive Mode (|||${listener.port}|)`);
  },
  PASV: async (conn) => {
    const listener = await conn.listenPassive();
    await conn.send(pasvReply(listener.host, listener.port));
  },
  EPRT: async (conn, cmd) => {
    const target = parseEprt(cmd.arg);
    if (!target) return conn.send('501 Bad EPRT command.');
    conn.active = target;
    conn.passive = null;
    return conn.send('200 EPRT command successful.');
  },
  PORT: async (conn, cmd) => {
    const target = parsePort(cmd.arg);
    if (!target) return conn.send('501 Bad PORT command.');
    conn.active = target;
    conn.passive = null;
    return conn.send('200 PORT command successful.');
  },
  RETR: (conn, cmd) => {
    const file = conn.owner.files.get(cmd.arg);
    if (!file) return conn.send('550 Failed to open file.');
    return serveDownload(conn, file, `150 Opening BINARY mode data connection for ${cmd.arg} (${file.length} bytes).`);
  },
  LIST: (conn) => serveDownload(conn, conn.owner.listing.map((line) => `${line}\r\n`).join(''), '150 Here comes the directory listing.'),
  NLST: (conn) => serveDownload(conn, conn.owner.listing.map((line) => `${line}\r\n`).join(''), '150 Here comes the directory listing.'),
  MLSD: (conn) => serveDownload(conn, conn.owner.listing.map((line) => `type=file; ${line}\r\n`).join(''), '150 Here comes the directory listing.'),
  STOR: async (conn, cmd) => { await receiveUpload(conn, cmd.arg); },
  APPE: async (conn, cmd) => { await receiveUpload(conn, cmd.arg); },
  STOU: async (conn) => { await receiveUpload(conn, 'stou.1', '150 FILE: stou.1'); },
  // Handlers run one at a time, so by the time ABOR is handled the transfer's own reply is out.
  ABOR: reply('225 No transfer to ABOR.'),
  QUIT: async (conn) => {
    await conn.send('221 Goodbye.');
    conn.end();
  },
};
