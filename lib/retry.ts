/**
 * The retry policy: when a failed or interrupted command runs again, and how long the session
 * waits between reconnect attempts. Pure functions over the command table and a job's progress;
 * the session applies them (`docs/reconnect.md` is the readable form).
 */
import type { CommandSpec } from './commands.js';
import { DataConnectionError, FtpError, OutcomeUnknownError, PartialTransferError, ReplyError, RestoreError, SecurityError, TimeoutError } from './errors.js';

/**
 * Replies after which a command may run again: RFC 959's 4yz says the action did not take place
 * and the error is temporary. 421 closes the connection; 425/426 are data connection failures;
 * 450/451 are a busy file or a local error. Every 5yz is permanent and never retried.
 */
export const TRANSIENT_REPLY_CODES: ReadonlySet<number> = new Set([421, 425, 426, 450, 451]);

/** Whether a failed connect or login was a transient refusal by the server (a 4xx reply: 421 too many users, ...). */
export function isTransientReply(error: FtpError): boolean {
  return error.replyCode !== null && error.replyCode >= 400 && error.replyCode < 500;
}

/**
 * Whether a failed reconnect or restore step is permanent, so trying again cannot help: a 5xx
 * refusal (wrong password now, directory gone), any restore step that failed without a 4xx
 * (a PWD that names another directory, a directory the session never knew), or a TLS failure
 * (certificate refused, AUTH TLS or PROT P refused with a 5xx).
 */
export function isPermanent(error: FtpError): boolean {
  if (error instanceof RestoreError || error instanceof SecurityError) return !isTransientReply(error);
  return error.replyCode !== null && error.replyCode >= 500;
}

/** What happened to one command over its attempts; a command that runs again keeps it. */
export interface JobProgress {
  /** Times the command was started again after a failure. */
  retries: number;
  /** Its server-changing verb (DELE, RNTO, MKD, STOR, ...) was sent in the current attempt. */
  sent: boolean;
  /** Bytes (`get`) or lines (listings) delivered to the caller, or bytes written (uploads), over all attempts. */
  delivered: number;
  /** Events emitted once per command, not once per attempt (`get_connected`, `get_server`, `rename_partial`). */
  readonly announced: Set<string>;
  /** The reply to its sent verb was lost: its outcome is checked before anything else runs. */
  verify: boolean;
}

/** A fresh progress record; a download that starts at byte `offset` counts those as delivered. */
export function newProgress(offset = 0): JobProgress {
  return { retries: 0, sent: false, delivered: offset, announced: new Set(), verify: false };
}

/** What becomes of an interrupted command: run it again, check its outcome first, or report `error`. */
export type Recovery = { action: 'run-again' } | { action: 'verify' } | { action: 'report'; error: FtpError };

const report = (error: FtpError): Recovery => ({ action: 'report', error });
const RUN_AGAIN: Recovery = { action: 'run-again' };

/**
 * Whether the command can start over from where it stands without delivering or applying
 * anything twice: a listing only before its first line; a `get` before its first byte, or
 * later in binary type (it resumes with REST); an upload only before its first byte was written.
 */
function canRunAgain(spec: CommandSpec, progress: JobProgress, type: string | null): boolean {
  if (progress.delivered === 0) return true;
  return spec.retry === 'resume' && type === 'I';
}

/** The failure of an upload cut off with its data half sent: how far it got. */
function uploadCutOff(spec: CommandSpec, progress: JobProgress, error: FtpError): FtpError {
  return new PartialTransferError(`${spec.name}: the connection was lost after ${progress.delivered} bytes were written (${error.message}); an upload fed by put_data cannot be replayed`, error.replyCode, 'cut-off');
}

/** A transfer that ended short with the server's consent (not a refused REST, which has a 4xx/5xx code). */
function isShortTransfer(error: FtpError): boolean {
  return error instanceof PartialTransferError && (error.replyCode === null || error.replyCode < 400);
}

/**
 * After a failure the server or the data connection reported while the control connection
 * stayed up: a transient reply (or, for downloads, a failed data connection) runs the command
 * again, up to `maxRetries` times; anything else is reported.
 */
export function recoverFromFailure(spec: CommandSpec, progress: JobProgress, error: FtpError, type: string | null, maxRetries: number): Recovery {
  const transient = error instanceof ReplyError
    ? TRANSIENT_REPLY_CODES.has(error.replyCode!)
    : spec.kind === 'download' && (error instanceof DataConnectionError || error instanceof TimeoutError || isShortTransfer(error));
  if (!transient || progress.retries >= maxRetries || !canRunAgain(spec, progress, type)) return report(error);
  return RUN_AGAIN;
}

/**
 * After the control connection was lost while the command ran (its reply, if any, is lost).
 * Harmless commands run again; a `never` command whose verb was sent is checked on the new
 * connection when the table says how, and otherwise fails with {@link OutcomeUnknownError}.
 */
export function recoverFromLoss(spec: CommandSpec, progress: JobProgress, error: FtpError, type: string | null, maxRetries: number): Recovery {
  if (progress.retries >= maxRetries) return report(error);
  if (spec.retry === 'never' && progress.sent) {
    if (spec.verify && !progress.verify) return { action: 'verify' };
    if (spec.kind === 'upload' && progress.delivered > 0) return report(uploadCutOff(spec, progress, error));
    return report(new OutcomeUnknownError(`${spec.name}: the connection was lost before the server answered (${error.message}); whether it took effect is unknown, so it was not run again`, { cause: error }));
  }
  return canRunAgain(spec, progress, type) ? RUN_AGAIN : report(error);
}

/**
 * The default reconnect backoff: attempt 1 at once, then `baseDelay` doubled at each attempt up
 * to `maxDelay`, each delay drawn between half and all of that value (jitter, so that many
 * clients dropped together do not come back together); gives up after `maxAttempts`.
 */
export function exponentialBackoff(options: { maxAttempts: number; baseDelay: number; maxDelay: number }): (attempt: number) => number | null {
  return (attempt) => {
    if (attempt > options.maxAttempts) return null;
    if (attempt <= 1) return 0;
    const ceiling = Math.min(options.maxDelay, options.baseDelay * 2 ** (attempt - 2));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  };
}
