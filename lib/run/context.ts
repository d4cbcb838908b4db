/**
 * What a command runner gets from the session, and the helpers runners share.
 *
 * Runners report every outcome the server decides (success, 4xx/5xx, data failures) as events.
 * They throw only when the control connection itself is lost; the session decides what that
 * means for the command (fail it now, or retry after a reconnect).
 */
import { FtpError, ReplyError } from '../errors.js';
import type { JobProgress } from '../retry.js';
import type { CommandSpec } from '../commands.js';
import type { EventDelivery } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { Reply } from '../protocol/reply.js';
import { parsePwdReply } from '../protocol/values.js';
import type { ControlConnection } from '../transport/control.js';
import { openData, type DataSettings, type PendingData } from '../transport/data.js';
import type { Trace } from '../trace.js';

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
  /** The upload's runner has finished. */
  finished: boolean;
  /** Wakes the runner after a change. */
  wake: () => void;
}

/** One posted command, ready to run. */
export interface Job {
  readonly spec: CommandSpec;
  readonly args: readonly string[];
  /** The first argument, echoed in events. */
  readonly param: string | undefined;
  /** For uploads: the posted data. */
  readonly feed?: UploadFeed;
  /** Its attempts so far (a command that runs again after a failure keeps it). */
  readonly progress: JobProgress;
}

/** What runners use. */
export interface RunContext {
  readonly control: ControlConnection;
  readonly options: ResolvedOptions;
  readonly settings: SessionSettings;
  readonly events: EventDelivery;
  readonly trace: Trace;
  /** Aborted when the control connection is lost. */
  readonly signal: AbortSignal;
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

/** Resolves with `promise`, or rejects as soon as the control connection is lost. */
export function guard<T>(ctx: RunContext, promise: Promise<T>): Promise<T> {
  if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => { ctx.signal.removeEventListener('abort', onAbort); resolve(value); },
      (error) => { ctx.signal.removeEventListener('abort', onAbort); reject(error); },
    );
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
 * With `transferMode` 'ascii' or 'binary', makes sure the server's TYPE is A or I before a file
 * transfer (sent only when the session does not already know it is). Returns false, after
 * reporting the error, when the server refuses.
 */
export async function ensureTransferType(ctx: RunContext, job: Job): Promise<boolean> {
  const mode = ctx.options.transferMode;
  if (mode === 'manual') return true;
  const wanted = mode === 'binary' ? 'I' : 'A';
  if (ctx.settings.type === wanted) return true;
  const reply = await ctx.control.command(`TYPE ${wanted}`);
  if (reply.code >= 300) {
    ctx.fail(job, replyError(reply));
    return false;
  }
  ctx.settings.type = wanted;
  return true;
}

/** The final reply of a transfer command, awaited while its data moves. */
export interface TransferReply {
  /**
   * Waits for the final reply and says how the transfer ended: `error` is null on success, else
   * the failure to report. When the data side failed (`dataError`) before the final reply came,
   * ABOR is sent so the server answers now, ABOR's own reply is consumed too (no reply is left
   * over for the next command), and `dataError` is reported, not the 426 the abort caused.
   * Otherwise a 4xx/5xx final reply wins over a data-side failure.
   */
  finish(dataError: FtpError | null): Promise<{ reply: Reply; error: FtpError | null }>;
}

/**
 * Starts waiting (untimed) for the final reply of the transfer command just answered with 1xx;
 * `onArrival` sees it as soon as it comes (an upload stops sending on a 4xx/5xx).
 */
export function awaitTransferReply(ctx: RunContext, onArrival: (reply: Reply) => void = () => {}): TransferReply {
  let arrived = false;
  const pending = ctx.control.nextReply(false);
  // With `keepalive`, NOOPs keep the control connection busy while the data moves.
  const every = ctx.options.keepalive;
  const keepalive = every > 0 ? setInterval(() => ctx.control.keepalive(), every) : undefined;
  const stopKeepalive = () => clearInterval(keepalive);
  pending.then((reply) => {
    arrived = true;
    onArrival(reply);
  }, () => {}).finally(stopKeepalive);
  return {
    async finish(dataError) {
      stopKeepalive();
      const aborting = dataError !== null && !arrived;
      if (aborting) ctx.control.send('ABOR');
      ctx.control.startReplyTimer();
      const reply = await ctx.control.final(await pending);
      if (aborting) await ctx.control.final(await ctx.control.nextReply());
      const error = aborting ? dataError : reply.code >= 400 ? replyError(reply) : dataError;
      return { reply, error };
    },
  };
}

/**
 * The common start of every transfer: the TYPE a file transfer needs, then the data connection.
 * Returns null when it failed and the failure was reported as the command's error event.
 */
export async function prepareTransfer(ctx: RunContext, job: Job, isFile: boolean): Promise<PendingData | null> {
  if (isFile && !(await ensureTransferType(ctx, job))) return null;
  try {
    return await guard(ctx, openData(ctx.control, ctx.settings, ctx.options, ctx.trace));
  } catch (error) {
    ctx.fail(job, reportable(ctx, error));
    return null;
  }
}
