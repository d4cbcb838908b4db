/**
 * The start and the end of every transfer, shared by the download and upload runners: TYPE, the
 * data connection, REST and the transfer command (pipelined behind EPSV/PASV when it can be),
 * and the final reply awaited while the data moves (ABOR when the data side failed first).
 */
import { PartialTransferError, ProtocolError, ReplyError, type FtpError } from '../errors.js';
import { formatCommand } from '../protocol/command-line.js';
import type { Reply } from '../protocol/reply.js';
import { openData, willPipeline, type PendingData } from '../transport/data.js';
import type { ReadBuffers } from '../transport/read-buffers.js';
import { aborted, announce, ensureTransferType, guard, replyError, reportable, wantedType, type Job, type RunContext, type UploadFeed } from './context.js';

/** Resolves once an upload's feed has bytes, is closed, or failed. */
function fed(feed: UploadFeed): Promise<void> {
  if (feed.chunks.length > 0 || feed.closed || feed.failure) return Promise.resolve();
  return new Promise((resolve) => { feed.wake = resolve; });
}

/** Fails `job` with its upload source's failure and returns true when that source failed. */
function sourceFailed(ctx: RunContext, job: Job): boolean {
  const failure = job.feed?.failure;
  if (!failure) return false;
  ctx.fail(job, failure);
  return true;
}

/** The final reply of a transfer command, awaited while its data moves. */
export interface TransferReply {
  /**
   * Waits for the final reply and says how the transfer ended: `error` is null on success, else
   * the failure to report. When the data side failed (`dataError`) before the final reply came,
   * ABOR is sent so the server answers now, ABOR's own reply is consumed too, by a NOOP sync (no
   * reply is left over for the next command, and none is waited for in vain), and `dataError` is reported, not the 426 the abort caused.
   * Otherwise a 4xx/5xx final reply wins over a data-side failure.
   * When the data moved well, the next queued transfer is sent first (see {@link startEarly}).
   */
  finish(dataError: FtpError | null): Promise<{ reply: Reply; error: FtpError | null }>;
  /**
   * An upload's last byte and FIN are sent: on a server that reads no command while it receives
   * an upload ({@link SessionSettings.uploadsAhead}), the next queued transfer is sent now, not
   * once the data connection has closed.
   */
  uploadSent(): void;
}

/**
 * Starts waiting (untimed) for the final reply of `job`'s transfer command just answered with 1xx;
 * `onArrival` sees it as soon as it comes (an upload stops sending on a 4xx/5xx).
 */
export function awaitTransferReply(ctx: RunContext, job: Job, onArrival: (reply: Reply) => void = () => {}): TransferReply {
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
  let overlapped = false;
  // A verified job sends more commands after this one; anything else has sent its last.
  const sendAhead = (when: string) => {
    stopKeepalive();
    const next = overlapped || job.progress.verify ? undefined : ctx.next();
    if (next) overlapped = startEarly(ctx, next, when);
  };
  return {
    uploadSent() {
      if (ctx.settings.uploadsAhead) sendAhead("at the upload's FIN");
    },
    async finish(dataError) {
      stopKeepalive();
      const aborting = dataError !== null && !arrived;
      if (aborting && overlapped) {
        // ABOR would come behind the commands sent ahead, which the server runs first: end the connection instead.
        ctx.control.destroy(dataError);
        throw dataError;
      }
      if (aborting) ctx.control.send('ABOR');
      if (dataError === null) sendAhead('after the data connection ended');
      ctx.control.startReplyTimer();
      const reply = await ctx.control.final(await pending);
      if (overlapped && (reply.code === 227 || reply.code === 229)) throw outOfStep(ctx, `${reply.code} ${reply.text}`);
      if (aborting) await ctx.control.sync();
      const error = aborting ? dataError : reply.code >= 400 ? replyError(reply) : dataError;
      return { reply, error };
    },
  };
}

/**
 * Whether `job` can be sent ahead: a file transfer that would be pipelined anyway (passive,
 * EPSV/PASV known, no REST), in the TYPE already set, not to be verified, whose upload source
 * (if any) already has bytes or has ended.
 */
function canStartEarly(ctx: RunContext, job: Job): boolean {
  const { settings } = ctx;
  const { spec, feed, progress } = job;
  const file = spec.kind === 'upload' || (spec.kind === 'download' && spec.payload === 'bytes');
  if (!file || !settings.overlap || !willPipeline(settings) || settings.staleRest) return false;
  if (job.early || progress.verify || progress.delivered > 0 || (job.offset ?? 0) > 0 || job.signal?.aborted) return false;
  const type = wantedType(ctx, job);
  if (type !== null && settings.type !== type) return false;
  return !feed || (!feed.failure && (feed.closed || feed.chunks.length > 0));
}

/**
 * Sends the next queued transfer's EPSV/PASV and transfer command now, while the current
 * transfer, its data done, only awaits its final reply: the server reads them as soon as it has
 * sent that reply, and the round trip between one file's 226 and the next one's 229 is gone
 * (RFC 959 lets a client send commands before the replies to earlier ones). Only once the data
 * connection has ended both ways: the server has then left its transfer loop and reads the
 * commands after its final reply. Earlier is not safe in general: ProFTPD answers a command that
 * comes while it still reads an upload with `450 EPSV: data transfer in progress`, before its
 * 226. So an upload sends ahead once its data connection closed, or, on a server known to read no
 * command during an upload (vsftpd, whose close comes with its 226), once its FIN is sent
 * ({@link TransferReply.uploadSent}).
 * Replies keep their order: the control connection serves its waiters oldest first. The job
 * keeps what was started ({@link Job.early}) and picks it up when it runs (it is next in the
 * queue). A server that answers them out of step ({@link outOfStep}) turns this off for the
 * session. `when` goes into the debug trace. Returns whether `job` was started.
 */
export function startEarly(ctx: RunContext, job: Job, when: string): boolean {
  if (!canStartEarly(ctx, job)) return false;
  ctx.trace.note(`${job.spec.name} sent ahead, before the running transfer's final reply (${when})`);
  const data = openData(ctx.control, ctx.settings, ctx.options, ctx.trace, { then: [formatCommand(job.spec.verb!, job.args)], reads: job.reads });
  data.catch(() => {}); // read when the job runs; a lost connection makes the job start afresh
  job.early = { control: ctx.control, data };
  return true;
}

/** Forgets what was sent ahead for `job` (its connection is gone, or the job ended unrun), closing its data connection. */
export function dropEarly(job: Job): void {
  job.early?.data.then((data) => data.close(), () => {});
  job.early = undefined;
}

/**
 * A reply that belongs to a transfer sent ahead came where another was due: the server answered
 * it before (or instead of) the final reply of the transfer before it. Nothing on this
 * connection can be trusted to pair any more: it is dropped (the session reconnects and retries
 * by its policy), and no transfer is sent ahead again in this session. Returns the error to throw.
 */
function outOfStep(ctx: RunContext, reply: string): ProtocolError {
  ctx.settings.overlap = false;
  const error = new ProtocolError(`replies out of step: "${reply}" came where a transfer sent ahead did not expect it; not sending ahead again`);
  ctx.control.destroy(error);
  return error;
}

/** A transfer under way: its data connection and the transfer command's first reply. */
export interface StartedTransfer {
  readonly data: PendingData;
  readonly first: Reply;
}

/**
 * The common start of every transfer: the TYPE a file transfer needs, the data connection, REST
 * when the transfer starts past byte 0 (or an earlier REST may be pending), then the transfer
 * command. Without REST, and once the session knows EPSV from PASV, the command goes right
 * behind EPSV/PASV in one write (see {@link DataPlan.then}), or went already, ahead of the
 * transfer before ({@link startEarly}). `marksSent`: the command changes the
 * server (an upload), so the job is marked sent before it goes out; `events` is the prefix of its
 * `_connected` event. Returns null when the start failed: the failure is reported and the data
 * connection closed.
 */
export async function startTransfer(ctx: RunContext, job: Job, how: { isFile: boolean; offset: number; marksSent: boolean; events: string; reads?: ReadBuffers | undefined }): Promise<StartedTransfer | null> {
  const line = formatCommand(job.spec.verb!, job.args);
  const early = job.early?.control === ctx.control ? job.early.data : null;
  if (!early) dropEarly(job); // sent ahead on a connection since lost
  job.early = undefined;
  if (early && how.marksSent) job.progress.sent = true;
  let data: PendingData;
  try {
    // Not guarded by the job's signal: EPSV/PORT must get their replies before anything else is
    // sent, and a job sent ahead must read its transfer command's replies (an abort then sends ABOR).
    const opened = early ? guard(ctx, early).catch((error: unknown) => outOfStepAhead(ctx, error)) : openFor(ctx, job, how, line);
    const pending = await opened;
    if (!pending) return null;
    data = pending;
  } catch (error) {
    ctx.fail(job, reportable(ctx, error));
    return null;
  }
  try {
    if (data.mode === 'passive') announce(ctx, job, `${how.events}_connected`, job.param);
    let first: Reply;
    if (data.pipelined) first = await ctx.control.nextReply();
    else {
      if (!(await restartAt(ctx, job, how.offset)) || sourceFailed(ctx, job)) {
        data.close();
        return null;
      }
      if (how.marksSent) job.progress.sent = true;
      first = await ctx.control.request(line);
    }
    ctx.settings.staleRest = first.code >= 400;
    return { data, first };
  } catch (error) {
    data.close();
    throw error;
  }
}

/**
 * A transfer sent ahead whose EPSV/PASV got a 2xx that is not its own (the final reply of the
 * transfer before it): replies are out of step. Other failures are the job's own, as without
 * sending ahead.
 */
function outOfStepAhead(ctx: RunContext, error: unknown): never {
  if (error instanceof ReplyError && error.replyCode !== null && error.replyCode < 300) throw outOfStep(ctx, error.message);
  throw error;
}

/**
 * The start of a transfer that was not sent ahead: its source's first bytes, TYPE, then the data
 * connection, with the transfer command behind EPSV/PASV when it can be. Null after reporting a
 * failure (or an abort) before anything was sent.
 */
async function openFor(ctx: RunContext, job: Job, how: { isFile: boolean; offset: number; marksSent: boolean; reads?: ReadBuffers | undefined }, line: string): Promise<PendingData | null> {
  const feed = job.feed;
  // A source that fails before its first byte leaves the server alone (no STOR, no truncated file).
  if (feed?.sourced) {
    try {
      await guard(ctx, fed(feed), job);
    } catch (error) {
      ctx.fail(job, reportable(ctx, error));
      return null;
    }
  }
  if (how.isFile && !(await ensureTransferType(ctx, job))) return null;
  if (aborted(ctx, job) || sourceFailed(ctx, job)) return null;
  const restart = how.offset > 0 || ctx.settings.staleRest;
  // Without a source of its own, an upload goes behind EPSV only once it has bytes (or none to come).
  const pipelined = !restart && willPipeline(ctx.settings) && (!feed || feed.sourced || feed.closed || feed.chunks.length > 0);
  if (pipelined && how.marksSent) job.progress.sent = true;
  return guard(ctx, openData(ctx.control, ctx.settings, ctx.options, ctx.trace, { then: pipelined ? [line] : undefined, reads: how.reads }));
}

/**
 * Sends `REST offset` right before the transfer command (RFC 3659 §5.3: nothing may come
 * between), or `REST 0` when an earlier REST may still be pending. False, after failing the
 * job, when the server refuses to restart at `offset` (`restart-refused`: only byte 0 can work).
 */
export async function restartAt(ctx: RunContext, job: Job, offset: number): Promise<boolean> {
  if (offset === 0 && !ctx.settings.staleRest) return true;
  const reply = await ctx.control.command(`REST ${offset}`);
  ctx.settings.staleRest = reply.code === 350;
  if (reply.code === 350 || offset === 0) return true;
  ctx.fail(job, new PartialTransferError(`${job.spec.name}: the server refused REST ${offset} (${reply.code} ${reply.text}): it cannot start at byte ${offset}, only from the beginning`, reply.code, 'restart-refused'));
  return false;
}
