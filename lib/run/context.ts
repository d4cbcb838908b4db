/**
 * What a command runner gets from the session, and the helpers runners share.
 *
 * Runners report every outcome the server decides (success, 4xx/5xx, data failures) as events.
 * They throw only when the control connection itself is lost; the session decides what that
 * means for the command (fail it now, or retry after a reconnect).
 */
import { AbortError, FtpError, ReplyError } from '../errors.js';
import type { JobProgress } from '../retry.js';
import type { CommandSpec } from '../commands.js';
import type { EventSink } from '../events.js';
import type { ResolvedOptions, TransferMode } from '../options.js';
import type { Reply } from '../protocol/reply.js';
import { parsePwdReply } from '../protocol/values.js';
import type { ControlConnection } from '../transport/control.js';
import type { DataSettings, PendingData } from '../transport/data.js';
import type { ReadBuffers } from '../transport/read-buffers.js';
import type { Trace } from '../trace.js';
import type { HoldRequest } from './hold.js';

/** Session settings runners read and change, and the restore plan gives back to a new connection. */
export interface SessionSettings extends DataSettings {
  /** The TYPE the caller (or `transferMode`) made the server accept (`'A'`, `'I'`, `'A N'`, ...), or null when never set. */
  type: string | null;
  /** The working directory after the last successful `cd`/`cdup` (from PWD); null when never changed; undefined when PWD failed. */
  cwd: string | null | undefined;
  /** The OPTS the server accepted, by option name (upper case): their arguments. */
  readonly opts: Map<string, readonly string[]>;
  /** The server's FEAT, once asked for (used to check lost replies), else null. */
  features: Map<string, string> | null;
  /** A REST was accepted and its transfer command refused: the next transfer sends `REST 0` first (RFC 3659 §5.3). */
  staleRest: boolean;
  /**
   * Whether a queued transfer may be sent while the one before it awaits its final reply (see
   * `startEarly` in run/transfer.ts); false for the rest of the session once a server answered
   * out of step.
   */
  overlap: boolean;
  /**
   * The server reads no command while it receives an upload (from its greeting, on each
   * connection; see protocol/servers.ts): a queued transfer may be sent ahead as soon as an
   * upload's last byte and FIN are sent, not only once its data connection has closed.
   */
  uploadsAhead: boolean;
}

/** Bytes posted with `put_data` for one upload, waiting to be written. */
export interface UploadFeed {
  readonly chunks: Buffer[];
  /** Bytes posted and not yet written. */
  pending: number;
  /** `put_close` was posted. */
  closed: boolean;
  /** Set when the upload can no longer succeed (e.g. the buffer limit was passed). */
  failure: FtpError | null;
  /** Filled by a source read ahead of the transfer (promise API): the transfer starts once it has bytes. */
  readonly sourced: boolean;
  /** The upload's runner has finished. */
  finished: boolean;
  /** Wakes the runner after a change. */
  wake: () => void;
}

/**
 * A download's backpressure: the consumer sets `paused` while it wants no more data; the runner
 * then stops reading the data connection and sets `onResume`, which the consumer calls when it
 * wants data again.
 */
export interface Flow {
  readonly paused: boolean;
  onResume: (() => void) | null;
}

/** Receives one command's outcome in place of the session's listeners (the promise API). */
export interface JobObserver {
  /** Each event the command emits (its success event included), in order, synchronously. */
  event(name: string, args: readonly unknown[]): void;
  /** The command failed for good (its error event is not emitted). */
  failed(error: FtpError): void;
  /** Downloads: the consumer's backpressure. */
  readonly flow?: Flow;
}

/** What the promise API adds to a command. */
export interface JobRequest {
  readonly observer?: JobObserver;
  /** Aborts the command: it leaves the queue, or a running transfer is stopped with ABOR. */
  readonly signal?: AbortSignal;
  /** This command's file-transfer type, in place of the session's `transferMode`. */
  readonly transferMode?: TransferMode;
  /** The byte a transfer starts at: REST before RETR, or before STOR. */
  readonly offset?: number;
  /** An upload's data source, fed by the caller (never the session's `put_data` feed). */
  readonly feed?: UploadFeed;
  /** A download whose observer borrows chunks: read into these reused buffers (see `ReadBuffers`). */
  readonly reads?: ReadBuffers;
  /** The `fxp` command: where its lease of the control connection goes (see `run/hold.ts`). */
  readonly hold?: HoldRequest;
}

/** One posted command, ready to run. */
export interface Job extends JobRequest {
  readonly spec: CommandSpec;
  readonly args: readonly string[];
  /** The first argument, echoed in events. */
  readonly param: string | undefined;
  /** Its attempts so far (a command that runs again after a failure keeps it). */
  readonly progress: JobProgress;
  /**
   * Set while the job waits in the queue with its EPSV/PASV and transfer command already sent on
   * `control` (see `startEarly` in run/transfer.ts): it must run next, and read their replies.
   */
  early?: { readonly control: ControlConnection; readonly data: Promise<PendingData> } | undefined;
}

/** The events of a job whose outcome goes to an observer. */
export function observedEvents(observer: JobObserver): EventSink {
  const pushNamed = (name: string, ...args: unknown[]) => observer.event(name, args);
  return { push: pushNamed as EventSink['push'], pushNamed };
}

/** The error a command aborted by `signal` fails with. */
export function abortError(signal: AbortSignal): AbortError {
  return new AbortError('the operation was aborted', { cause: signal.reason });
}

/** Fails `job` with an {@link AbortError} and returns true when its signal has aborted. */
export function aborted(ctx: RunContext, job: Job): boolean {
  if (!job.signal?.aborted) return false;
  ctx.fail(job, abortError(job.signal));
  return true;
}

/** What runners use. */
export interface RunContext {
  readonly control: ControlConnection;
  readonly options: ResolvedOptions;
  readonly settings: SessionSettings;
  readonly events: EventSink;
  readonly trace: Trace;
  /** Aborted when the control connection is lost. */
  readonly signal: AbortSignal;
  /** The command queued to run after this one, if any. */
  next(): Job | undefined;
  /**
   * Ends the current attempt with `error`: the session either reports it as the command's
   * error event (`<name>_error`, `put_error`, ...) or runs the command again (retry policy).
   */
  fail(job: Job, error: FtpError): void;
}

/** Emits `event` the first time a job reaches it; a retried job does not announce itself twice. */
export function announce(ctx: RunContext, job: Job, event: string, ...args: unknown[]): void {
  if (job.progress.announced.has(event)) return;
  job.progress.announced.add(event);
  ctx.events.pushNamed(event, ...args);
}

/**
 * Resolves with `promise`, or rejects as soon as the control connection is lost (with the
 * loss) or `job` is aborted (with an {@link AbortError}, which the runner reports).
 */
export function guard<T>(ctx: RunContext, promise: Promise<T>, job?: Job): Promise<T> {
  if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
  const jobSignal = job?.signal;
  if (jobSignal?.aborted) return Promise.reject(abortError(jobSignal));
  return new Promise<T>((resolve, reject) => {
    const onLoss = () => reject(ctx.signal.reason);
    const onAbort = () => reject(abortError(jobSignal!));
    ctx.signal.addEventListener('abort', onLoss, { once: true });
    jobSignal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      ctx.signal.removeEventListener('abort', onLoss);
      jobSignal?.removeEventListener('abort', onAbort);
    };
    promise.then((value) => { done(); resolve(value); }, (error) => { done(); reject(error); });
  });
}

/**
 * Returns `error` for the runner to report as the command's failure, or rethrows it when the
 * control connection is gone (or it is no FtpError): that is the session's to handle.
 */
export function reportable(ctx: RunContext, error: unknown): FtpError {
  if (ctx.control.closed || !(error instanceof FtpError)) throw error;
  return error;
}

/** Sends PWD: its reply, and the directory it names (null when it is not a readable 257). */
export async function askWorkingDirectory(control: ControlConnection): Promise<{ reply: Reply; path: string | null }> {
  const reply = await control.command('PWD');
  if (reply.code !== 257) return { reply, path: null };
  try {
    return { reply, path: parsePwdReply(reply.text) };
  } catch (error) {
    if (!(error instanceof FtpError)) throw error;
    return { reply, path: null };
  }
}

/** The ReplyError for a 4xx/5xx (or otherwise unexpected) reply. */
export function replyError(reply: Reply): ReplyError {
  return new ReplyError(reply.text, reply.code);
}

/**
 * With `transferMode` (the job's, else the session's) 'ascii' or 'binary', makes sure the server's TYPE is A or I before a file
 * transfer (sent only when the session does not already know it is). Returns false, after
 * reporting the error, when the server refuses.
 */
export async function ensureTransferType(ctx: RunContext, job: Job): Promise<boolean> {
  const wanted = wantedType(ctx, job);
  if (wanted === null || ctx.settings.type === wanted) return true;
  const reply = await ctx.control.command(`TYPE ${wanted}`);
  if (reply.code >= 300) {
    ctx.fail(job, replyError(reply));
    return false;
  }
  ctx.settings.type = wanted;
  return true;
}

/** The TYPE a file transfer of `job` needs (`transferMode`, the job's or the session's), or null for 'manual'. */
export function wantedType(ctx: RunContext, job: Job): 'A' | 'I' | null {
  const mode = job.transferMode ?? ctx.options.transferMode;
  return mode === 'manual' ? null : mode === 'binary' ? 'I' : 'A';
}
