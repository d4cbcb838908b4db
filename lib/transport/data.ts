/**
 * Data connections: negotiation (EPSV then PASV, or EPRT then PORT, remembering what the server
 * refused) and the socket that results. Passive connections go to the control peer's address
 * unless the caller trusts PASV addresses; active listeners accept only the control peer.
 * With PROT P every data connection, passive or active, is TLS (the client side), resuming
 * the control connection's TLS session, its certificate checked against the control host.
 */
import { createServer, Socket, type Server, type SocketConstructorOpts } from 'node:net';
import { DataConnectionError, ReplyError, TimeoutError } from '../errors.js';
import type { TlsOptions } from '../options.js';
import { formatEprtArgument, formatPortArgument, parseEpsvReply, parsePasvReply } from '../protocol/passive.js';
import type { Reply } from '../protocol/reply.js';
import type { Trace } from '../trace.js';
import type { ControlConnection } from './control.js';
import type { ReadBuffers } from './read-buffers.js';
import { startTls, whenSecure } from './tls.js';

/** What the session remembers about data connection negotiation. */
export interface DataSettings {
  connectionMode: 'passive' | 'active';
  /** Whether EPSV / EPRT worked before; `null` until tried. */
  epsv: boolean | null;
  eprt: boolean | null;
}

/** Options that shape data connections. */
export interface DataOptions {
  readonly timeout: number;
  readonly trustPasvAddress: boolean;
  readonly localAddress: string | undefined;
  readonly localPort: number;
  /** Where passive data connections come from (the control connection's local address). */
  readonly sourceAddress: string | undefined;
  /** The control host: what data connections' certificates are checked against. */
  readonly host: string;
  /** PROT P: data connections are TLS. */
  readonly tlsData: boolean;
  readonly tlsOptions: TlsOptions;
}

/**
 * A connected data socket, watched from the moment it exists: an empty transfer's end, or a
 * reset, can happen before a runner starts reading, and must be neither missed nor thrown.
 */
export interface DataStream {
  readonly socket: Socket;
  /** The socket ended with no unread byte before anyone read it. */
  readonly ended: boolean;
  /** The first error seen on the socket, if any. */
  readonly error: Error | null;
  /** Set when the socket reads into lent buffers ({@link ReadBuffers}): chunks come here, not as 'data' events. */
  readonly borrowed: BorrowedReads | null;
}

/**
 * Chunks of a socket that reads into reused buffers (Node's `onread`). `take` names the reader:
 * a chunk that came before it is handed over first. The reader returns false to pause reading
 * (`socket.resume()` starts it again).
 */
export interface BorrowedReads {
  take(reader: (chunk: Buffer) => boolean): void;
}

/** The receiving end of a borrowed-reads socket, made before the socket (its `onread` calls it). */
class BorrowedInbox implements BorrowedReads {
  private reader: ((chunk: Buffer) => boolean) | null = null;
  private early: Buffer | null = null;

  constructor(private readonly socket: () => Socket) {}

  /** Node's `onread` callback: false pauses the socket. */
  readonly onRead = (bytes: number, buffer: Buffer): boolean => {
    const chunk = buffer.subarray(0, bytes);
    if (this.reader) return this.reader(chunk);
    this.early = chunk; // kept until a reader comes: nothing more is read meanwhile
    return false;
  };

  take(reader: (chunk: Buffer) => boolean): void {
    this.reader = reader;
    const early = this.early;
    this.early = null;
    if (!early || reader(early)) this.socket().resume();
  }
}

function watch(socket: Socket, borrowed: BorrowedReads | null = null): DataStream {
  const stream = { socket, ended: false, error: null as Error | null, borrowed };
  socket.once('end', () => { stream.ended = true; });
  socket.on('error', (error) => { stream.error ??= error; });
  return stream;
}

/**
 * Makes a connected data socket ready for a runner: as it is, or TLS over it (PROT P).
 * `outer` is the socket to destroy to end the connection.
 */
type Ready = (raw: Socket, borrowed?: BorrowedReads | null) => { outer: Socket; stream: Promise<DataStream> };

function readiness(control: ControlConnection, options: DataOptions, trace: Trace): Ready {
  if (!options.tlsData) return (raw, borrowed) => ({ outer: raw, stream: Promise.resolve(watch(raw, borrowed)) });
  return (raw) => {
    // The handshake starts now: a server may wait for it before it even answers the command.
    const secure = startTls({ host: options.host, options: options.tlsOptions }, raw, control.tlsSession);
    const stream = watch(secure);
    const ready = whenSecure(secure, options.timeout, 'data connection').then(() => {
      trace.note(`data connection: TLS ${secure.getProtocol() ?? ''}, session ${secure.isSessionReused() ? 'resumed' : 'NOT resumed'}`);
      return stream;
    });
    ready.catch(() => {}); // seen by whoever waits for it; unwaited (command refused), it is dropped
    return { outer: secure, stream: ready };
  };
}

/** A data connection being set up. */
export interface PendingData {
  /** `passive`: already connected; `active`: listening until the server connects. */
  readonly mode: 'passive' | 'active';
  /** The {@link DataPlan.then} lines were sent right behind EPSV/PASV: their replies come next. */
  readonly pipelined: boolean;
  /** Resolves with the connected socket (active: once the control peer connects, within the timeout). */
  socket(): Promise<DataStream>;
  /**
   * Releases the socket or listener. `reset` ends the connection with a TCP RST instead of a
   * FIN, so a server cannot take an upload cut off by a failure for a complete one.
   */
  close(reset?: boolean): void;
}

/** The error for a data socket that failed (reset, refused, ...). */
export function dataConnectionFailed(cause: Error): DataConnectionError {
  return new DataConnectionError(`data connection failed: ${cause.message}`, { cause });
}

/** Plain IPv4 for an IPv4-mapped IPv6 address, so addresses compare equal. */
export function normalizeAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

const isIPv6 = (address: string) => normalizeAddress(address).includes(':');

/** What the transfer wants of its data connection. */
export interface DataPlan {
  /**
   * Command lines (the transfer command) that may be sent right behind EPSV/PASV, without waiting
   * for its reply, once the session knows which of the two the server takes: one round trip
   * fewer per transfer (RFC 959 lets a client send its next command before a reply). When they
   * are sent, {@link PendingData.pipelined} is true and the caller reads their replies next. When the
   * data connection cannot be made, their replies are read (and dropped) before the failure.
   */
  readonly then?: readonly string[] | undefined;
  /** Read into these lent buffers (plain passive connections only; others deliver fresh chunks). */
  readonly reads?: ReadBuffers | undefined;
}

/** Whether a transfer command can go right behind the data connection's command (see {@link DataPlan.then}). */
export function willPipeline(settings: DataSettings): boolean {
  return settings.connectionMode === 'passive' && settings.epsv !== null;
}

/** Negotiates a data connection on `control` according to `settings`. */
export function openData(control: ControlConnection, settings: DataSettings, options: DataOptions, trace: Trace, plan: DataPlan = {}): Promise<PendingData> {
  const ready = readiness(control, options, trace);
  return settings.connectionMode === 'passive'
    ? openPassive(control, settings, options, ready, plan)
    : openActive(control, settings, options, ready);
}

/**
 * Sends EPSV or PASV, with `then` right behind it when the session already knows which one the
 * server takes, and resolves with the reply to EPSV/PASV. Lines sent behind a failed one are
 * answered too (a 425, "use PASV first"): their replies are read and dropped here.
 */
async function askPassive(control: ControlConnection, verb: 'EPSV' | 'PASV', then: readonly string[]): Promise<Reply> {
  control.sendAll([verb, ...then]);
  const reply = await control.nextReply();
  if (reply.code !== (verb === 'EPSV' ? 229 : 227)) await answered(control, then);
  return reply;
}

/** Reads the final replies of pipelined lines that can no longer do anything; returns the last one, if any. */
async function answered(control: ControlConnection, lines: readonly string[]): Promise<Reply | undefined> {
  let last: Reply | undefined;
  for (let i = 0; i < lines.length; i++) last = await control.final(await control.nextReply());
  return last;
}

async function openPassive(control: ControlConnection, settings: DataSettings, options: DataOptions, ready: Ready, plan: DataPlan): Promise<PendingData> {
  let target: { host: string; port: number } | null = null;
  const then = plan.then ?? [];
  if (settings.epsv !== false) {
    const reply = await askPassive(control, 'EPSV', then);
    if (reply.code === 229) {
      settings.epsv = true;
      target = { host: control.remoteAddress, port: parseEpsvReply(reply.text) };
    } else if (isIPv6(control.remoteAddress) || !unsupported(reply.code)) {
      throw new ReplyError(`EPSV failed: ${reply.text}`, reply.code);
    } else if (settings.epsv === null) {
      settings.epsv = false; // never worked: not asked again this session
    }
  }
  if (!target) {
    const reply = await askPassive(control, 'PASV', then);
    if (reply.code !== 227) throw new ReplyError(`PASV refused: ${reply.text}`, reply.code);
    const parsed = parsePasvReply(reply.text);
    target = { host: options.trustPasvAddress && parsed.host !== '0.0.0.0' ? parsed.host : control.remoteAddress, port: parsed.port };
  }
  const inbox = plan.reads && !options.tlsData ? new BorrowedInbox(() => raw) : null;
  let raw: Socket;
  try {
    raw = await connectData(target.host, target.port, options.timeout, options.sourceAddress, inbox && plan.reads ? { buffer: () => plan.reads!.next(), callback: inbox.onRead } : undefined);
  } catch (error) {
    // Replies stay in step: the pipelined command is answered either way (ProFTPD answers a RETR
    // of a missing file with 550 and closes the port at once; others give up with 425). A refusal
    // is the real reason, as it would be without pipelining.
    const refusal = await answered(control, then);
    if (refusal && refusal.code >= 400) throw new ReplyError(refusal.text, refusal.code);
    throw error;
  }
  if (inbox) raw.resume(); // flowing, so that 'end' is seen; the inbox pauses it until a reader comes
  const { outer, stream } = ready(raw, inbox);
  return { mode: 'passive', pipelined: then.length > 0, socket: () => stream, close: (reset) => release(raw, outer, reset) };
}

/**
 * Whether a refusal of EPSV/EPRT means the server does not do it (5xx: fall back to PASV/PORT),
 * rather than a transient failure (4xx, such as 421 or 425) that says nothing about support.
 */
function unsupported(code: number): boolean {
  return code >= 500;
}

/** Ends a data connection: `outer` (TLS or TCP) destroyed, after an RST on the TCP socket when `reset`. */
function release(raw: Socket, outer: Socket, reset = false): void {
  if (reset && !raw.destroyed) raw.resetAndDestroy();
  outer.destroy();
}

/** Node's `onread` option: reads go into the buffer it gives, and `callback` sees each (false pauses). */
interface OnRead {
  buffer: () => Buffer;
  callback: (bytes: number, buffer: Buffer) => boolean;
}

function connectData(host: string, port: number, timeout: number, localAddress: string | undefined, onread?: OnRead): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // `onread` works only when given to the constructor (Node ignores it in connect()), though
    // @types/node lists it among the connect options alone.
    const socket = new Socket(onread ? ({ onread } as SocketConstructorOpts) : undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`Timeout (${timeout / 1000} seconds) opening the data connection to ${host}:${port}`));
    }, timeout);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new DataConnectionError(`cannot open the data connection to ${host}:${port}: ${error.message}`, { cause: error }));
    });
    socket.connect({ host, port, ...(localAddress ? { localAddress } : {}) }, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

async function openActive(control: ControlConnection, settings: DataSettings, options: DataOptions, ready: Ready): Promise<PendingData> {
  const address = options.localAddress && options.localAddress !== '0.0.0.0' && options.localAddress !== '::'
    ? options.localAddress
    : normalizeAddress(control.localAddress);
  const listener = await listen(address, options.localPort);
  const port = (listener.address() as { port: number }).port;
  const peer = normalizeAddress(control.remoteAddress);
  const accepted = acceptFrom(listener, peer, ready);
  try {
    await advertise(control, settings, address, port);
  } catch (error) {
    accepted.cancel();
    throw error;
  }
  return {
    mode: 'active',
    pipelined: false,
    socket: () => accepted.wait(options.timeout),
    close: (reset) => accepted.cancel(reset),
  };
}

async function advertise(control: ControlConnection, settings: DataSettings, address: string, port: number): Promise<void> {
  if (settings.eprt !== false) {
    const reply = await control.request(`EPRT ${formatEprtArgument(address, port)}`);
    if (reply.code >= 200 && reply.code < 300) {
      settings.eprt = true;
      return;
    }
    if (isIPv6(address) || !unsupported(reply.code)) throw new ReplyError(`EPRT failed: ${reply.text}`, reply.code);
    if (settings.eprt === null) settings.eprt = false; // never worked: not asked again this session
  }
  const reply = await control.request(`PORT ${formatPortArgument(address, port)}`);
  if (reply.code < 200 || reply.code >= 300) throw new ReplyError(`PORT refused: ${reply.text}`, reply.code);
}

function listen(address: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(new DataConnectionError(`cannot listen on ${address}:${port}: ${error.message}`, { cause: error })));
    server.listen({ host: address, port, exclusive: true }, () => resolve(server));
  });
}

/**
 * Accepts the first connection whose remote address is `peer` (RFC 2577: a stranger's
 * connection is dropped, and waiting goes on). The listener closes once one is accepted.
 */
function acceptFrom(server: Server, peer: string, ready: Ready): { wait(timeout: number): Promise<DataStream>; cancel(reset?: boolean): void } {
  let raw: Socket | null = null;
  let outer: Socket | null = null;
  let stream: Promise<DataStream> | null = null;
  let notify: ((s: Promise<DataStream>) => void) | null = null;
  let abandon: ((error: Error) => void) | null = null;
  server.on('connection', (incoming: Socket) => {
    if (outer || normalizeAddress(incoming.remoteAddress) !== peer) {
      incoming.destroy();
      return;
    }
    raw = incoming;
    ({ outer, stream } = ready(incoming));
    server.close();
    notify?.(stream);
  });
  return {
    wait(timeout) {
      if (stream) return stream;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          server.close();
          reject(new TimeoutError(`Timeout (${timeout / 1000} seconds) waiting for the server's data connection`));
        }, timeout);
        notify = (s) => {
          clearTimeout(timer);
          resolve(s);
        };
        abandon = (error) => {
          clearTimeout(timer);
          reject(error);
        };
      });
    },
    cancel(reset) {
      server.close();
      if (raw && outer) release(raw, outer, reset);
      abandon?.(new DataConnectionError('the data connection was abandoned before the server connected'));
    },
  };
}
