/**
 * Session options: the public shape, the defaults, and the one function that checks them.
 */
import type { ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import { InvalidArgumentError, type FtpError } from './errors.js';
import { assertSafeArgument } from './protocol/command-line.js';
import { DEFAULT_REPLY_LIMITS } from './protocol/reply.js';
import { exponentialBackoff } from './retry.js';

/** How data connections are opened. */
export type ConnectionMode = 'passive' | 'active';
/** Which TYPE is sent before each file transfer (`manual`: none, the caller posts `type`). */
export type TransferMode = 'manual' | 'ascii' | 'binary';
/**
 * Decides the delay before reconnect attempt `attempt` (1 for the first attempt after a loss),
 * given the error that ended the previous connection or attempt: milliseconds to wait, or `null`
 * to give up (the session then emits `reconnect_error` and fails the queued commands).
 */
export type RetryStrategy = (attempt: number, error: FtpError) => number | null;
/** FTPS: `'explicit'` sends AUTH TLS on the normal port; `'implicit'` speaks TLS from the first byte (usually port 990). */
export type TlsMode = false | 'explicit' | 'implicit';
/**
 * Options passed to Node's `tls.connect` for the control and every data connection (`ca`,
 * `cert`, `key`, `servername`, `minVersion`, `rejectUnauthorized`, ...). The session sets the
 * socket, the host name the certificate is checked against and the session to resume itself.
 */
export type TlsOptions = Omit<ConnectionOptions, 'socket' | 'host' | 'port' | 'path' | 'session'>;
/** An `events` entry: an event name to deliver, `'all'`, or `{ eventName: 'aliasName' }` to deliver it renamed. */
export type EventSubscription = string | Readonly<Record<string, string>>;

/** Options of {@link FtpSession.spawn}. Only `host` is required. */
/** The encodings of names and paths (see {@link FtpSessionOptions.encoding}). */
export type Encoding = 'utf8' | 'latin1';

export interface FtpSessionOptions {
  /** Server host name or address. */
  host: string;
  /** Control port. Default 21 (990 with `tls: 'implicit'`). */
  port?: number;
  /** User name. With `password` too, login runs by itself after the greeting; otherwise post `login`. */
  user?: string;
  /** Password (never traced, never put in an error message). */
  password?: string;
  /** Account, sent as ACCT when the server answers 332. */
  account?: string;
  /** `'passive'` (default: EPSV, then PASV) or `'active'` (EPRT, then PORT). Post `mode` to change it later. */
  connectionMode?: ConnectionMode;
  /** `'manual'` (default), `'ascii'` or `'binary'`: the TYPE the session makes sure of before each file transfer. */
  transferMode?: TransferMode;
  /** Active mode: address to listen on and advertise. Default: the control connection's local address. */
  localAddress?: string;
  /** Active mode: port to listen on. Default 0 (any free port). */
  localPort?: number;
  /**
   * The local address the control connection and passive data connections come from (a
   * multi-homed host). Default: the one the system picks. Servers that check that data
   * connections come from the control connection's address need both to match.
   */
  sourceAddress?: string;
  /** Milliseconds allowed for each phase: TCP connect + greeting, each reply, data connect, and data idleness. Default 30000. */
  timeout?: number;
  /** Upper bound of one `get_data` chunk and of one write to a data connection, in bytes. Default 65536. */
  blockSize?: number;
  /** Which events are delivered, and under which names. Default: every event under its own name. */
  events?: readonly EventSubscription[];
  /** `true` traces the control connection to stderr; a function receives each trace line instead; a number is a level (0 off, 1 control, 2 also state changes and data summaries). */
  debug?: boolean | number | ((line: string) => void);
  /** Connect data connections to the address a PASV reply names instead of the control peer (needed only for servers that put data on another host). Default false. */
  trustPasvAddress?: boolean;
  /** Upper bound of bytes posted with `put_data` and not yet flushed to the socket; past it the upload fails. Default 64 MiB. */
  maxUploadBuffer?: number;
  /** Upper bound of one control reply (all lines) in bytes; past it the connection is dropped. Default 1 MiB. */
  maxReplyBytes?: number;
  /** Upper bound of one control reply line or one listing line in bytes. Default 64 KiB. */
  maxLineBytes?: number;
  /**
   * How names and paths are turned into bytes and back, on the control connection and in
   * listings: `'utf8'` (default, RFC 2640) or `'latin1'` (one byte per character: every byte a
   * server sends survives the round trip, whatever its real encoding). With `'latin1'`, an
   * argument with a character above U+00FF is refused with InvalidArgumentError.
   */
  encoding?: Encoding;
  /**
   * Reconnect by itself when the connection is lost after a successful login: log in again,
   * restore TYPE, OPTS and the working directory, then retry what is safe to retry
   * (see `docs/reconnect.md`). Default true. `false` gives POE's behaviour: `disconnected`, then `idle`.
   */
  reconnect?: boolean;
  /** Replaces the default backoff (see {@link RetryStrategy}). When set, the three options below are not used. */
  retryStrategy?: RetryStrategy;
  /** Default backoff: the most consecutive failed attempts before giving up (reset by a successful reconnect). Default 10. */
  maxReconnectAttempts?: number;
  /** Default backoff: the delay before attempt 2 in ms; it doubles at each attempt, with jitter (attempt 1 is immediate). Default 250. */
  reconnectDelay?: number;
  /** Default backoff: the longest delay between attempts in ms. Default 30000. */
  maxReconnectDelay?: number;
  /** How many times one command is run again after a transient failure (4xx, data connection failure, lost connection). Default 2. */
  maxCommandRetries?: number;
  /** After the server closes an idle session (e.g. `421 Timeout`), wait for the next command before reconnecting (true, default) or reconnect at once (false). */
  lazyReconnect?: boolean;
  /** Send NOOP after this many ms without a command, and every this many ms during a transfer, so idle timeouts and NAT tables do not drop the session (their replies are consumed, never shifted). 0 (default) turns it off. */
  keepalive?: number;
  /**
   * FTPS (RFC 4217). Default false. With TLS on, nothing is ever sent in clear: a refused AUTH
   * TLS, PBSZ or PROT P stops the session with a `SecurityError` (see `docs/ftps.md`).
   * POE's `TLS => 1` is `tls: 'explicit'`.
   */
  tls?: TlsMode;
  /** Protect data connections too (PBSZ 0, PROT P; each one TLS, resuming the control connection's session). Default true whenever `tls` is on. POE's `TLSData => 1`. */
  tlsData?: boolean;
  /** Passed to `tls.connect` (see {@link TlsOptions}). Certificates are verified against `host` unless `rejectUnauthorized: false`. */
  tlsOptions?: TlsOptions;
  /**
   * Send CCC after login (and after each restore) so the control connection goes on in clear
   * while data connections stay protected: only for firewalls that must read PORT/EPSV. The
   * login itself is always protected. A refusal stops the session (`SecurityError` `CCC_REFUSED`). Default false.
   */
  clearControl?: boolean;
}

/** Options after defaults were applied and values checked. */
export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly account: string | undefined;
  readonly connectionMode: ConnectionMode;
  readonly transferMode: TransferMode;
  readonly localAddress: string | undefined;
  readonly localPort: number;
  readonly sourceAddress: string | undefined;
  readonly timeout: number;
  readonly blockSize: number;
  readonly events: readonly EventSubscription[] | undefined;
  readonly debug: boolean | number | ((line: string) => void);
  readonly trustPasvAddress: boolean;
  readonly maxUploadBuffer: number;
  readonly maxReplyBytes: number;
  readonly maxLineBytes: number;
  readonly encoding: Encoding;
  readonly reconnect: boolean;
  readonly retryStrategy: RetryStrategy;
  readonly maxCommandRetries: number;
  readonly lazyReconnect: boolean;
  readonly keepalive: number;
  readonly tls: TlsMode;
  readonly tlsData: boolean;
  readonly tlsOptions: TlsOptions;
  readonly clearControl: boolean;
}

const KNOWN_KEYS = new Set<string>([
  'host', 'port', 'user', 'password', 'account', 'connectionMode', 'transferMode', 'localAddress',
  'localPort', 'sourceAddress', 'timeout', 'blockSize', 'events', 'debug', 'trustPasvAddress', 'maxUploadBuffer',
  'maxReplyBytes', 'maxLineBytes', 'encoding', 'reconnect', 'retryStrategy', 'maxReconnectAttempts', 'reconnectDelay',
  'maxReconnectDelay', 'maxCommandRetries', 'lazyReconnect', 'keepalive', 'tls', 'tlsData', 'tlsOptions', 'clearControl',
]);

function address(value: string | undefined, name: string): string | undefined {
  if (value !== undefined && isIP(value) === 0) throw new InvalidArgumentError(`option '${name}' must be an IP address, got ${String(value)}`);
  return value;
}

function positiveInteger(value: number | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`option '${name}' must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function oneOf<T extends string>(value: T | undefined, allowed: readonly T[], fallback: T, name: string): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) {
    throw new InvalidArgumentError(`option '${name}' must be one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value;
}

/**
 * Applies defaults and checks every value. Credentials with CR, LF or NUL are refused here,
 * before anything connects. Unknown keys give a process warning, as POE's `spawn` does.
 */
export function resolveOptions(options: FtpSessionOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  if (typeof options.host !== 'string' || options.host === '') throw new InvalidArgumentError("option 'host' is required");
  const unknown = Object.keys(options).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0) process.emitWarning(`FtpSession: unknown options ignored: ${unknown.join(', ')}`);
  assertSafeArgument(options.host, 'host');
  if (options.user !== undefined) assertSafeArgument(options.user, 'user');
  if (options.password !== undefined) assertSafeArgument(options.password, 'password', true);
  if (options.account !== undefined) assertSafeArgument(options.account, 'account', true);
  if (options.encoding === 'latin1' && [options.user, options.password, options.account].some((word) => word !== undefined && /[^\x00-\xff]/.test(word))) {
    throw new InvalidArgumentError("credentials have a character that Latin-1 (option 'encoding') cannot carry");
  }
  return {
    host: options.host,
    port: positiveInteger(options.port, options.tls === 'implicit' ? 990 : 21, 'port'),
    user: options.user,
    password: options.password,
    account: options.account,
    connectionMode: oneOf(options.connectionMode, ['passive', 'active'], 'passive', 'connectionMode'),
    transferMode: oneOf(options.transferMode, ['manual', 'ascii', 'binary'], 'manual', 'transferMode'),
    localAddress: options.localAddress,
    localPort: positiveInteger(options.localPort, 0, 'localPort', 0),
    sourceAddress: address(options.sourceAddress, 'sourceAddress'),
    timeout: positiveInteger(options.timeout, 30_000, 'timeout'),
    blockSize: positiveInteger(options.blockSize, 65_536, 'blockSize'),
    events: options.events,
    debug: options.debug ?? false,
    trustPasvAddress: options.trustPasvAddress ?? false,
    maxUploadBuffer: positiveInteger(options.maxUploadBuffer, 64 * 1024 * 1024, 'maxUploadBuffer'),
    maxReplyBytes: positiveInteger(options.maxReplyBytes, DEFAULT_REPLY_LIMITS.maxReplyBytes, 'maxReplyBytes'),
    maxLineBytes: positiveInteger(options.maxLineBytes, DEFAULT_REPLY_LIMITS.maxLineBytes, 'maxLineBytes'),
    encoding: oneOf(options.encoding, ['utf8', 'latin1'], 'utf8', 'encoding'),
    reconnect: options.reconnect ?? true,
    retryStrategy: resolveRetryStrategy(options),
    maxCommandRetries: positiveInteger(options.maxCommandRetries, 2, 'maxCommandRetries', 0),
    lazyReconnect: options.lazyReconnect ?? true,
    keepalive: positiveInteger(options.keepalive, 0, 'keepalive', 0),
    ...resolveTls(options),
  };
}

function resolveTls(options: FtpSessionOptions): Pick<ResolvedOptions, 'tls' | 'tlsData' | 'tlsOptions' | 'clearControl'> {
  const tls = options.tls === undefined || options.tls === false ? false : oneOf(options.tls, ['explicit', 'implicit'], 'explicit', 'tls');
  const tlsOptions = options.tlsOptions ?? {};
  if (typeof tlsOptions !== 'object' || tlsOptions === null) throw new InvalidArgumentError("option 'tlsOptions' must be an object");
  for (const name of ['tlsData', 'clearControl'] as const) {
    if (!tls && options[name] === true) throw new InvalidArgumentError(`option '${name}' needs option 'tls' ('explicit' or 'implicit')`);
  }
  return { tls, tlsData: tls !== false && options.tlsData !== false, tlsOptions, clearControl: options.clearControl === true };
}

function resolveRetryStrategy(options: FtpSessionOptions): RetryStrategy {
  if (options.retryStrategy !== undefined) {
    if (typeof options.retryStrategy !== 'function') throw new InvalidArgumentError("option 'retryStrategy' must be a function");
    return options.retryStrategy;
  }
  return exponentialBackoff({
    maxAttempts: positiveInteger(options.maxReconnectAttempts, 10, 'maxReconnectAttempts'),
    baseDelay: positiveInteger(options.reconnectDelay, 250, 'reconnectDelay', 0),
    maxDelay: positiveInteger(options.maxReconnectDelay, 30_000, 'maxReconnectDelay', 0),
  });
}
