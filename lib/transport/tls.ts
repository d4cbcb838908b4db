/**
 * TLS for FTPS (RFC 4217): the options every TLS socket of a session is made with, waiting
 * for a handshake, what a failed one means, and the carrier that lets CCC end TLS on a live
 * control connection. The FTP client is always the TLS client, on the control connection and
 * on every data connection (passive or active).
 */
import { isIP, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ConnectionClosedError, SecurityError, TimeoutError, type FtpError } from '../errors.js';
import type { TlsOptions } from '../options.js';

/** What a TLS socket of the session is made with. */
export interface TlsSetup {
  /** The control connection's host name: every certificate, data connections' too, is checked against it (never a PASV address). */
  readonly host: string;
  readonly options: TlsOptions;
}

/**
 * Starts TLS as a client over `socket` (already connected). `session` resumes an earlier TLS
 * session (the control connection's, for a data connection). The handshake runs in the
 * background: wait for it with {@link whenSecure}.
 */
export function startTls(setup: TlsSetup, socket: Duplex, session?: Buffer): TLSSocket {
  const options: ConnectionOptions = {
    // SNI carries host names only (RFC 6066); an address is still checked against the certificate.
    servername: isIP(setup.host) === 0 ? setup.host : undefined,
    ...setup.options,
    host: setup.host,
    socket,
    session,
  };
  return connect(options);
}

/**
 * Resolves once `socket`'s handshake succeeded and the certificate was accepted; rejects with
 * a {@link SecurityError} naming the reason when TLS failed, a ConnectionClosedError when the
 * peer went away, or a TimeoutError after `timeout` ms (the socket is then destroyed).
 */
export function whenSecure(socket: TLSSocket, timeout: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error: FtpError | null): void => {
      clearTimeout(timer);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        resolve();
      }
    };
    const onSecure = () => settle(null);
    const onError = (error: NodeJS.ErrnoException) => settle(tlsFailure(error, `TLS handshake of the ${what} failed`));
    const onClose = () => settle(new ConnectionClosedError(`the ${what} closed during the TLS handshake`));
    const timer = setTimeout(() => settle(new TimeoutError(`Timeout (${timeout / 1000} seconds) in the TLS handshake of the ${what}`)), timeout);
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/**
 * The error for a failed TLS socket (`context` says which, and when). An error from the
 * network (reset, broken pipe) is a lost connection; anything TLS decided (certificate not
 * trusted, wrong host name, expired, no common protocol version, the server's alert such as
 * "certificate required", a peer that does not speak TLS) is a SecurityError whose `reason` is
 * Node's or OpenSSL's code for it.
 */
export function tlsFailure(error: NodeJS.ErrnoException, context: string): FtpError {
  if (error.syscall !== undefined) return new ConnectionClosedError(`${context}: ${error.message}`, { cause: error });
  const reason = error.code ?? 'TLS_HANDSHAKE';
  const hint = CERTIFICATE_HINT.test(reason)
    ? ' (give the CA that signed the server certificate in tlsOptions.ca, or set tlsOptions.rejectUnauthorized to false to skip the check: insecure)'
    : reason === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? ' (the certificate is not for this host name; tlsOptions.servername names the host to check against)'
      : /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL/.test(reason)
        ? ' (the server does not speak TLS here: is this the right port and FTPS mode?)'
        : '';
  // OpenSSL's own messages ("806C...:error:0A00045C:SSL routines:...") carry a readable `reason`.
  const said = (error as { reason?: unknown }).reason;
  const detail = typeof said === 'string' && error.message.includes(':error:') ? said : error.message.trim();
  return new SecurityError(reason, `${context}: ${reason}: ${detail}${hint}`, null, { cause: error });
}

/**
 * What TLS runs over on a control connection: a stream that passes bytes to and from the TCP
 * socket, so that the socket outlives TLS. After CCC the session ends TLS and {@link release}s
 * the socket, which then carries commands in clear (TLS over the socket itself would close it).
 */
export class TlsCarrier extends Duplex {
  private readonly onTcpData = (chunk: Buffer) => {
    if (!this.push(chunk)) this.tcp.pause();
  };
  private readonly onTcpEnd = () => this.push(null);
  private readonly onTcpClose = () => this.destroy();

  constructor(private readonly tcp: Socket) {
    super();
    tcp.on('data', this.onTcpData);
    tcp.on('end', this.onTcpEnd);
    tcp.on('close', this.onTcpClose);
  }

  override _read(): void {
    this.tcp.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.tcp.write(chunk, callback);
  }

  /** TLS ending (close_notify sent) never ends the TCP connection. */
  override _final(callback: () => void): void {
    callback();
  }

  /** Stops carrying: the TCP socket's bytes are its owner's again. */
  release(): void {
    this.tcp.off('data', this.onTcpData);
    this.tcp.off('end', this.onTcpEnd);
    this.tcp.off('close', this.onTcpClose);
  }
}

/**
 * Ends TLS on `socket` as CCC asks (RFC 4217 §12.3): sends close_notify and resolves once the
 * server's close_notify came (`peerEnded`: it came already), within `timeout` ms.
 */
export function endTls(socket: TLSSocket, peerEnded: boolean, timeout: number): Promise<void> {
  socket.end();
  if (peerEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`Timeout (${timeout / 1000} seconds) waiting for the server to end TLS after CCC`)), timeout);
    socket.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(tlsFailure(error, 'ending TLS after CCC'));
    });
    socket.resume();
  });
}

/** OpenSSL's codes for a certificate chain that cannot be trusted. */
const CERTIFICATE_HINT = /^(UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|CERT_(UNTRUSTED|REJECTED|SIGNATURE_FAILURE))/;
