/**
 * Data connections: negotiation (EPSV then PASV, or EPRT then PORT, remembering what the server
 * refused) and the socket that results. Passive connections go to the control peer's address
 * unless the caller trusts PASV addresses; active listeners accept only the control peer.
 * With PROT P every data connection, passive or active, is TLS (the client side), resuming
 * the control connection's TLS session, its certificate checked against the control host.
 */
import { createServer, Socket, type Server } from 'node:net';
import { DataConnectionError, ReplyError, TimeoutError } from '../errors.js';
import type { TlsOptions } from '../options.js';
import { formatEprtArgument, formatPortArgument, parseEpsvReply, parsePasvReply } from '../protocol/passive.js';
import type { Trace } from '../trace.js';
import type { ControlConnection } from './control.js';
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
}

function watch(socket: Socket): DataStream {
  const stream = { socket, ended: false, error: null as Error | null };
  socket.once('end', () => { stream.ended = true; });
  socket.on('error', (error) => { stream.error ??= error; });
  return stream;
}

/**
 * Makes a connected data socket ready for a runner: as it is, or TLS over it (PROT P).
 * `outer` is the socket to destroy to end the connection.
 */
type Ready = (raw: Socket) => { outer: Socket; stream: Promise<DataStream> };

function readiness(control: ControlConnection, options: DataOptions, trace: Trace): Ready {
  if (!options.tlsData) return (raw) => ({ outer: raw, stream: Promise.resolve(watch(raw)) });
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

/** Negotiates a data connection on `control` according to `settings`. */
export function openData(control: ControlConnection, settings: DataSettings, options: DataOptions, trace: Trace): Promise<PendingData> {
  const ready = readiness(control, options, trace);
  return settings.connectionMode === 'passive'
    ? openPassive(control, settings, options, ready)
    : openActive(control, settings, options, ready);
}

async function openPassive(control: ControlConnection, settings: DataSettings, options: DataOptions, ready: Ready): Promise<PendingData> {
  let target: { host: string; port: number } | null = null;
  if (settings.epsv !== false) {
    const reply = await control.request('EPSV');
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
    const reply = await control.request('PASV');
    if (reply.code !== 227) throw new ReplyError(`PASV refused: ${reply.text}`, reply.code);
    const parsed = parsePasvReply(reply.text);
    target = { host: options.trustPasvAddress && parsed.host !== '0.0.0.0' ? parsed.host : control.remoteAddress, port: parsed.port };
  }
  const raw = await connectData(target.host, target.port, options.timeout);
  const { outer, stream } = ready(raw);
  return { mode: 'passive', socket: () => stream, close: (reset) => release(raw, outer, reset) };
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

function connectData(host: string, port: number, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`Timeout (${timeout / 1000} seconds) opening the data connection to ${host}:${port}`));
    }, timeout);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new DataConnectionError(`cannot open the data connection to ${host}:${port}: ${error.message}`, { cause: error }));
    });
    socket.connect({ host, port }, () => {
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
