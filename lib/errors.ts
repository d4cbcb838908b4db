/**
 * The error catalogue: every error this library reports is an {@link FtpError} subclass with a
 * stable string `code` (for programs) and, when a server reply caused it, that reply's numeric
 * code in `replyCode` (never mixed into `code`).
 */

/** Stable string codes of every {@link FtpError}. */
export type FtpErrorCode =
  | 'ERR_FTP_PROTOCOL'
  | 'ERR_FTP_TIMEOUT'
  | 'ERR_FTP_CONNECTION_CLOSED'
  | 'ERR_FTP_CONNECT'
  | 'ERR_FTP_AUTH'
  | 'ERR_FTP_SECURITY'
  | 'ERR_FTP_REPLY'
  | 'ERR_FTP_DATA_CONNECTION'
  | 'ERR_FTP_PARTIAL_TRANSFER'
  | 'ERR_FTP_INVALID_ARGUMENT'
  | 'ERR_FTP_INVALID_STATE'
  | 'ERR_FTP_UNKNOWN_COMMAND'
  | 'ERR_FTP_SESSION_CLOSED'
  | 'ERR_FTP_RESTORE'
  | 'ERR_FTP_OUTCOME_UNKNOWN'
  | 'ERR_FTP_ABORTED'
  | 'ERR_FTP_INTEGRITY'
  | 'ERR_FTP_EXISTS'
  | 'ERR_FTP_LOCAL_IO'
  | 'ERR_FTP_LISTING_TOO_LARGE'
  | 'ERR_FTP_UNSAFE_NAME'
  | 'ERR_FTP_FXP';

/** Base class of every error the library reports. */
export class FtpError extends Error {
  /** Stable machine-readable code, e.g. `ERR_FTP_TIMEOUT`. */
  readonly code: FtpErrorCode;
  /** The FTP reply code that caused the error, or `null` when no reply did. */
  readonly replyCode: number | null;

  constructor(code: FtpErrorCode, message: string, replyCode: number | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.replyCode = replyCode;
  }
}

/** The server broke the protocol: malformed or oversized reply, NUL byte, unparsable PASV/EPSV/257... */
export class ProtocolError extends FtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FTP_PROTOCOL', message, null, options);
  }
}

/** A connect, reply, data-connect or data-idle timer expired (the session's `code` then reads 421, as Net::Cmd's pseudo-status). */
export class TimeoutError extends FtpError {
  constructor(message: string) {
    super('ERR_FTP_TIMEOUT', message);
  }
}

/**
 * The control or data connection closed (or reset) while something was still expected of it.
 * `replyCode` is 421 when the server said so before closing, else null.
 */
export class ConnectionClosedError extends FtpError {
  constructor(message: string, options?: { cause?: unknown; replyCode?: number }) {
    super('ERR_FTP_CONNECTION_CLOSED', message, options?.replyCode ?? null, options);
  }
}

/** The TCP (or TLS) connection to the server could not be established. */
export class ConnectError extends FtpError {
  /** The system error code (`ECONNREFUSED`, ...) when there is one. */
  readonly syscallCode: string | null;
  constructor(message: string, syscallCode: string | null, options?: { cause?: unknown }) {
    super('ERR_FTP_CONNECT', message, null, options);
    this.syscallCode = syscallCode;
  }
}

/** Login was refused (USER/PASS/ACCT), or the server asked for an account none was given for. */
export class AuthError extends FtpError {
  constructor(message: string, replyCode: number | null) {
    super('ERR_FTP_AUTH', message, replyCode);
  }
}

/**
 * Why a {@link SecurityError} was raised: one of the session's own reasons, or the code
 * Node/OpenSSL gave a failed handshake or certificate check (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`,
 * `ERR_TLS_CERT_ALTNAME_INVALID`, `CERT_HAS_EXPIRED`, `ERR_SSL_WRONG_VERSION_NUMBER`, ...).
 */
export type SecurityReason =
  | 'AUTH_REFUSED'
  | 'PBSZ_REFUSED'
  | 'PROT_REFUSED'
  | 'CCC_REFUSED'
  | 'PIPELINED_AFTER_AUTH'
  | 'TLS_HANDSHAKE'
  | (string & {});

/**
 * A security requirement could not be met: the server refused AUTH TLS, PBSZ or PROT P, sent
 * bytes in clear after agreeing to TLS, or the TLS handshake or certificate check failed.
 * The session never falls back to clear text; `reason` says what went wrong.
 */
export class SecurityError extends FtpError {
  /** Stable reason code (see {@link SecurityReason}). */
  readonly reason: SecurityReason;
  constructor(reason: SecurityReason, message: string, replyCode: number | null = null, options?: { cause?: unknown }) {
    super('ERR_FTP_SECURITY', message, replyCode, options);
    this.reason = reason;
  }
}

/** The server answered a command with a 4xx/5xx reply (or an unexpected class of reply). */
export class ReplyError extends FtpError {
  constructor(message: string, replyCode: number) {
    super('ERR_FTP_REPLY', message, replyCode);
  }
}

/** The data connection could not be opened, was refused, or failed during the transfer. */
export class DataConnectionError extends FtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FTP_DATA_CONNECTION', message, null, options);
  }
}

/**
 * Why a transfer is partial: it ended `short` of the announced size, it was `cut-off` by a lost
 * connection and cannot be replayed, or it could not go on because the server refused REST
 * (`restart-refused`: only a restart from byte 0 can get the file now).
 */
export type PartialReason = 'short' | 'cut-off' | 'restart-refused';

/** A transfer ended with fewer bytes than expected, or without the server's final confirmation. */
export class PartialTransferError extends FtpError {
  readonly reason: PartialReason;
  constructor(message: string, replyCode: number | null = null, reason: PartialReason = 'short') {
    super('ERR_FTP_PARTIAL_TRANSFER', message, replyCode);
    this.reason = reason;
  }
}

/** A caller-supplied value is unusable (CR, LF or NUL in an argument, wrong type, out of range). Nothing was sent. */
export class InvalidArgumentError extends FtpError {
  constructor(message: string) {
    super('ERR_FTP_INVALID_ARGUMENT', message);
  }
}

/** A command was posted where it cannot apply (e.g. `put_data` with no upload running). */
export class InvalidStateError extends FtpError {
  constructor(message: string) {
    super('ERR_FTP_INVALID_STATE', message);
  }
}

/** A command name the session does not know was posted. */
export class UnknownCommandError extends FtpError {
  constructor(name: string) {
    super('ERR_FTP_UNKNOWN_COMMAND', `unknown command '${name}'`);
  }
}

/** The session was closed (by `close()` or `quit`) before the command could run. */
export class SessionClosedError extends FtpError {
  constructor(message = 'session closed') {
    super('ERR_FTP_SESSION_CLOSED', message);
  }
}

/**
 * A step of the restore plan failed after a reconnect (the working directory is gone, TYPE or
 * OPTS refused, login refused): the session will not run commands in a state the caller did not set.
 */
export class RestoreError extends FtpError {
  /** The restore step that failed (`login`, `opts`, `type`, `cwd`). */
  readonly step: string;
  constructor(step: string, message: string, replyCode: number | null, options?: { cause?: unknown }) {
    super('ERR_FTP_RESTORE', message, replyCode, options);
    this.step = step;
  }
}

/**
 * The connection was lost after a command that changes something on the server (DELE, RNTO, MKD,
 * SITE, STOR, ...) was sent and before its reply came, and the session could not prove whether
 * it took effect. It was not run again, because running it twice could apply it twice.
 */
export class OutcomeUnknownError extends FtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FTP_OUTCOME_UNKNOWN', message, null, options);
  }
}

/**
 * The caller aborted the operation (its `AbortSignal`); `cause` is the signal's reason. A
 * transfer that was running was stopped with ABOR and the session is usable.
 */
export class AbortError extends FtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FTP_ABORTED', message, null, options);
  }
}

/**
 * A finished transfer failed its check: the sizes or hashes of the two copies differ.
 * `method` is how they were compared (`size`, `HASH SHA-256`, `XMD5`, ...).
 */
export class IntegrityError extends FtpError {
  readonly method: string;
  constructor(method: string, message: string) {
    super('ERR_FTP_INTEGRITY', message);
    this.method = method;
  }
}

/** The target of a transfer exists and the caller said `ifExists: 'fail'`. Nothing was transferred. */
export class ExistsError extends FtpError {
  /** The path that exists (local for downloads, remote for uploads). */
  readonly path: string;
  constructor(path: string, message: string) {
    super('ERR_FTP_EXISTS', message);
    this.path = path;
  }
}

/** A local file or stream failed (read, write, rename): `cause` is the system error. */
export class LocalIoError extends FtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FTP_LOCAL_IO', message, null, options);
  }
}

/** A listing grew past its cap (`maxListingBytes`): the transfer was stopped with ABOR and nothing of it is returned. */
export class ListingTooLargeError extends FtpError {
  /** The cap, in bytes of listing text. */
  readonly limit: number;
  constructor(limit: number) {
    super('ERR_FTP_LISTING_TOO_LARGE', `the listing is larger than ${limit} bytes (maxListingBytes); stopped`);
    this.limit = limit;
  }
}

/**
 * A remote name that must not become a local path: `..`, `.`, an absolute path, a separator,
 * a backslash, a drive letter or NUL in it, or a place outside the target through a local
 * symlink. Nothing was written for it.
 */
export class UnsafeNameError extends FtpError {
  /** The name as the server listed it. */
  readonly remoteName: string;
  constructor(name: string, reason: string) {
    super('ERR_FTP_UNSAFE_NAME', `unsafe remote name ${JSON.stringify(name)}: ${reason}`);
    this.remoteName = name;
  }
}

/** Whether `error` is a reply saying the command is not implemented here (500, 502, 504). */
export function isNotImplemented(error: unknown): boolean {
  return error instanceof ReplyError && (error.replyCode === 500 || error.replyCode === 502 || error.replyCode === 504);
}

/** The message of any thrown value, for error texts. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where a server-to-server copy was refused: the command the refusing side would not take. */
export type FxpStage = 'type' | 'pasv' | 'port' | 'tls' | 'transfer';

/**
 * A server-to-server copy (FXP) is impossible between these two servers: `side` names the server
 * that refused (`source` or `target`), `stage` what it refused, `replyCode` its reply. Thrown
 * after both orientations were tried (PASV on the target, then on the source).
 */
export class FxpError extends FtpError {
  readonly side: 'source' | 'target';
  readonly stage: FxpStage;
  constructor(side: 'source' | 'target', stage: FxpStage, message: string, replyCode: number | null = null, options?: { cause?: unknown }) {
    super('ERR_FTP_FXP', message, replyCode, options);
    this.side = side;
    this.stage = stage;
  }
}
