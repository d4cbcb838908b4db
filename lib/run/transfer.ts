/**
 * The start and the end of every transfer, shared by the download and upload runners: TYPE, the
 * data connection, REST and the transfer command (pipelined behind EPSV/PASV when it can be),
 * and the final reply awaited while the data moves (ABOR when the data side failed first).
 */
import { PartialTransferError, type FtpError } from '../errors.js';
import { formatCommand } from '../protocol/command-line.js';
import type { Reply } from '../protocol/reply.js';
import { openData, willPipeline, type PendingData } from '../transport/data.js';
import type { ReadBuffers } from '../transport/read-buffers.js';
import { aborted, announce, ensureTransferType, guard, replyError, reportable, type Job, type RunContext, type UploadFeed } from './context.js';

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
      if (aborting) await ctx.control.sync();
      const error = aborting ? dataError : reply.code >= 400 ? replyError(reply) : dataError;
      return { reply, error };
    },
  };
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
 * behind EPSV/PASV in one write (see {@link DataPlan.then}). `marksSent`: the command changes the
 * server (an upload), so the job is marked sent before it goes out; `events` is the prefix of its
 * `_connected` event. Returns null when the start failed: the failure is reported and the data
 * connection closed.
 */
export async function startTransfer(ctx: RunContext, job: Job, how: { isFile: boolean; offset: number; marksSent: boolean; events: string; reads?: ReadBuffers | undefined }): Promise<StartedTransfer | null> {
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
  const line = formatCommand(job.spec.verb!, job.args);
  const restart = how.offset > 0 || ctx.settings.staleRest;
  // Without a source of its own, an upload goes behind EPSV only once it has bytes (or none to come).
  const pipelined = !restart && willPipeline(ctx.settings) && (!feed || feed.sourced || feed.closed || feed.chunks.length > 0);
  if (pipelined && how.marksSent) job.progress.sent = true;
  let data: PendingData;
  try {
    // Not guarded by the job's signal: EPSV/PORT must get their replies before anything else is sent.
    data = await guard(ctx, openData(ctx.control, ctx.settings, ctx.options, ctx.trace, { then: pipelined ? [line] : undefined, reads: how.reads }));
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
