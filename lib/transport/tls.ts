/**
 * TLS for FTPS (RFC 4217): the options every TLS socket of a session is made with, waiting
 * for a handshake, and what a failed handshake means. The FTP client is always the TLS client,
 * on the control connection and on every data connection (passive or active).
 */
import { isIP, type Socket } from 'node:net';
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
export function startTls(setup: TlsSetup, socket: Socket, session?: Buffer): TLSSocket {
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

/** OpenSSL's codes for a certificate chain that cannot be trusted. */
const CERTIFICATE_HINT = /^(UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|CERT_(UNTRUSTED|REJECTED|SIGNATURE_FAILURE))/;
