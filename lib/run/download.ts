/**
 * Runs a download-kind command (RETR, LIST, NLST, MLSD): negotiate the data connection, send the
 * verb, deliver the data as events, and report `X_done` only after both the data connection's
 * end and the final 2xx reply, in whichever order they come.
 */
import { AbortError, DataConnectionError, FtpError, PartialTransferError, TimeoutError } from '../errors.js';
import { LineSplitter } from '../protocol/lines.js';
import type { Reply } from '../protocol/reply.js';
import { dataConnectionFailed, type DataStream } from '../transport/data.js';
import { IdleWatch } from '../transport/idle.js';
import { announce, guard, replyError, reportable, type Flow, type Job, type RunContext } from './context.js';
import { awaitTransferReply, startTransfer } from './transfer.js';

/** Runs one download job; see the module comment. */
export async function runDownload(ctx: RunContext, job: Job): Promise<void> {
  const { spec, param, progress } = job;
  const isFile = spec.payload === 'bytes';
  // A resumed get asks for the rest of the file (REST right before RETR, RFC 3659 §5.3).
  const offset = isFile ? progress.delivered : 0;
  const started = await startTransfer(ctx, job, { isFile, offset, marksSent: false, events: spec.name, reads: job.reads });
  if (!started) return;
  const { data, first } = started;
  try {
    if (first.code >= 400) {
      ctx.fail(job, replyError(first));
      return;
    }
    if (first.code >= 200) {
      // A final reply with no preliminary one: the server sent nothing (some answer an empty NLST so).
      ctx.events.pushNamed(`${spec.name}_done`, param);
      return;
    }
    announce(ctx, job, `${spec.name}_server`, first.code, first.text, param);
    // The final reply may come before, during or after the data: wait for both.
    const last = awaitTransferReply(ctx, job, (reply) => {
      if (reply.code >= 400) data.close(); // the server gave up on the transfer: stop waiting for data
    });
    const reading: Reading = { discard: false };
    const deliver = (item: Buffer | string) => {
      if (ctx.signal.aborted || reading.discard) return; // late data of a lost connection (the retry delivers it) or of an aborted listing
      progress.delivered += typeof item === 'string' ? 1 : item.length;
      ctx.events.pushNamed(`${spec.name}_data`, item, param);
    };
    let dataError: FtpError | null = null;
    let received = 0;
    let receiving: Promise<number> | null = null;
    try {
      const stream = await guard(ctx, data.socket(), job);
      if (data.mode === 'active') announce(ctx, job, `${spec.name}_connected`, param);
      receiving = receive(stream, ctx, deliver, isFile, reading, job.observer?.flow);
      received = await guard(ctx, receiving, job);
    } catch (error) {
      dataError = reportable(ctx, error);
      // An aborted listing is read to its end, discarded: Pure-FTPd ignores ABOR during a listing
      // and would send what it still holds on the next data connection.
      if (receiving && !isFile && dataError instanceof AbortError) {
        reading.discard = true;
        const flow = job.observer?.flow;
        const resume = flow?.onResume;
        if (flow) flow.onResume = null;
        resume?.(); // paused for the consumer that just left
      } else data.close();
    }
    const { reply, error } = await last.finish(dataError);
    if (reading.discard) await drained(receiving!, ctx.options.timeout);
    if (error) ctx.fail(job, error);
    else {
      const shortBy = isFile ? missingBytes(first, offset + received, ctx.settings.type) : 0;
      if (shortBy > 0) ctx.fail(job, new PartialTransferError(`transfer ended ${shortBy} bytes short of the size the server announced`, reply.code));
      else ctx.events.pushNamed(`${spec.name}_done`, param);
    }
  } finally {
    data.close();
  }
}

/**
 * Bytes missing against the "(N bytes)" of a binary RETR's 150 reply; 0 when unknown or complete.
 * `received` counts from the start of the file (a resumed RETR's 150 may announce the whole
 * file or the rest: either way no false shortfall is reported).
 */
function missingBytes(preliminary: Reply, received: number, type: string | null): number {
  if (type !== 'I') return 0;
  const announced = /\((\d+) bytes\)/i.exec(preliminary.text);
  return announced ? Math.max(0, Number(announced[1]) - received) : 0;
}

/** How a data connection is being read: `discard` once its data is no longer wanted (read on, drop it, never pause). */
interface Reading {
  discard: boolean;
}

/** Most bytes of an aborted listing read and dropped before its data connection is closed anyway. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

/** Waits (at most `ms`) for an aborted listing's data connection to end. */
async function drained(receiving: Promise<number>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); });
  await Promise.race([receiving.then(() => {}, () => {}), late]);
  clearTimeout(timer);
}

/**
 * Reads the data connection to its end, delivering chunks of at most `blockSize` bytes (files) or
 * single lines (listings). Times out only when no byte arrives for `timeout` ms while reading
 * (not while `flow` holds it paused for a slow consumer).
 */
function receive(stream: DataStream, ctx: RunContext, deliver: (item: Buffer | string) => void, bytes: boolean, reading: Reading, flow?: Flow): Promise<number> {
  const { blockSize, timeout, maxLineBytes, encoding } = ctx.options;
  const { socket } = stream;
  const lines = bytes ? null : new LineSplitter(maxLineBytes, encoding);
  let received = 0;
  return new Promise((resolve, reject) => {
    let settled = false;
    const idle = new IdleWatch(timeout, () => fail(new TimeoutError(`Timeout (${timeout / 1000} seconds) with no data on the data connection`)));
    const fail = (error: FtpError) => {
      idle.stop();
      socket.destroy();
      if (settled) return;
      settled = true;
      reject(error);
    };
    if (stream.error) return fail(dataConnectionFailed(stream.error));
    if (stream.ended) {
      idle.stop();
      return resolve(0);
    }
    const resume = () => {
      idle.hold(false);
      socket.resume();
    };
    /** Takes one chunk; false when reading must pause (the consumer asked for it). */
    const take = (chunk: Buffer): boolean => {
      received += chunk.length;
      idle.touch();
      if (reading.discard) {
        if (received > MAX_DRAIN_BYTES) fail(new DataConnectionError('an aborted listing went on too long'));
        return true; // read on: nobody waits for it any more
      }
      try {
        if (lines) for (const line of lines.push(chunk)) deliver(line);
        else if (chunk.length <= blockSize) deliver(chunk);
        else for (let at = 0; at < chunk.length; at += blockSize) deliver(chunk.subarray(at, at + blockSize));
      } catch (error) {
        fail(error as FtpError);
        return false;
      }
      if (!flow?.paused || flow.onResume) return true;
      idle.hold(true); // paused for the consumer, not idle
      flow.onResume = resume;
      return false;
    };
    if (stream.borrowed) stream.borrowed.take(take);
    else {
      socket.on('data', (chunk: Buffer) => {
        if (!take(chunk)) socket.pause();
      });
    }
    socket.on('error', (error) => fail(dataConnectionFailed(error)));
    socket.on('close', () => {
      if (settled) return;
      ctx.trace.note(`data connection closed after ${received} bytes`);
      fail(new DataConnectionError('the data connection closed before its end'));
    });
    socket.on('end', () => {
      idle.stop();
      try {
        if (lines) for (const line of lines.end()) deliver(line);
      } catch (error) {
        fail(error as FtpError);
        return;
      }
      settled = true;
      resolve(received);
    });
  });
}
