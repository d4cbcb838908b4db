/**
 * Runs an upload (STOR, APPE, STOU) fed by `put_data` chunks and ended by `put_close`.
 *
 * Memory rule: the session keeps references to posted chunks (it never copies them) until they
 * are written, and writes slices of at most `blockSize` while less than 1 MiB waits in the socket.
 * Bytes posted and not yet written may not exceed `maxUploadBuffer`; a `put_data` past that
 * fails the upload. A caller that posts the next chunk after each `put_flushed` never gets near it.
 */
import { DataConnectionError, FtpError, InvalidStateError, TimeoutError } from '../errors.js';
import { dataConnectionFailed, type DataStream } from '../transport/data.js';
import { IdleWatch } from '../transport/idle.js';
import { announce, guard, replyError, reportable, type Job, type RunContext, type UploadFeed } from './context.js';
import { awaitTransferReply, startTransfer } from './transfer.js';

/**
 * Creates the feed an upload job collects its bytes into. `sourced`: a source the session reads
 * on its own (the promise API), so the transfer waits for its first bytes before it starts;
 * otherwise (`put_data` after `put_connected`) the caller waits for the transfer.
 */
export function createFeed(sourced = false): UploadFeed {
  return { chunks: [], pending: 0, closed: false, failure: null, finished: false, sourced, wake: () => {} };
}

/**
 * Adds a posted `put_data` chunk (or `put_close`, when `data` is null) to an open feed. A chunk
 * past `maxBuffer` unflushed bytes is refused and fails the upload.
 */
export function feedUpload(feed: UploadFeed, data: Buffer | Uint8Array | string | null, maxBuffer: number): void {
  if (data === null) {
    feed.closed = true;
  } else {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (feed.pending + chunk.length > maxBuffer) {
      feed.failure ??= new InvalidStateError(`upload buffer limit (${maxBuffer} bytes) passed: wait for put_flushed before posting more`);
    } else {
      feed.chunks.push(chunk);
      feed.pending += chunk.length;
    }
  }
  feed.wake();
}

/** Runs one upload job (one attempt); see the module comment. */
export async function runUpload(ctx: RunContext, job: Job): Promise<void> {
  const { param } = job;
  const started = await startTransfer(ctx, job, { isFile: true, offset: job.offset ?? 0, marksSent: true, events: 'put' });
  if (!started) return;
  const { data, first } = started;
  try {
    if (first.code >= 200) {
      ctx.fail(job, first.code >= 400 ? replyError(first) : new DataConnectionError(`the server did not accept data: ${first.code} ${first.text}`));
      return;
    }
    announce(ctx, job, 'put_server', first.code, first.text, param);
    // A final reply that arrives while we still send (552 disk full, 426) stops the sending.
    let early: FtpError | null = null;
    const last = awaitTransferReply(ctx, job, (reply) => {
      if (reply.code < 400) return;
      early = replyError(reply);
      data.close();
      job.feed!.wake();
    });
    let sendError: FtpError | null = null;
    try {
      const stream = await guard(ctx, data.socket());
      if (data.mode === 'active') announce(ctx, job, 'put_connected', param);
      await guard(ctx, send(stream, job, ctx, { flushed: (bytes) => ctx.events.push('put_flushed', bytes, param), stopped: () => early, ended: () => last.uploadSent() }), job);
    } catch (error) {
      sendError = reportable(ctx, error);
      data.close(true); // RST: what was sent must not look like the whole file
    }
    const { error } = await last.finish(sendError);
    if (error) ctx.fail(job, error);
    else ctx.events.push('put_closed', param);
  } finally {
    data.close();
  }
}

/**
 * Bytes handed to the socket and not yet taken by the kernel before the upload waits for 'drain':
 * slices queue up to this in Node's buffer (referenced, not copied) and go out in a few large
 * writes, instead of one 'drain' wait per slice.
 */
const WRITE_AHEAD = 1024 * 1024;

/** What {@link send} tells its upload, and asks it. */
interface SendHooks {
  /** A posted chunk of `bytes` was handed to the operating system (`put_flushed`). */
  flushed(bytes: number): void;
  /** The upload's final reply came early with a failure: stop sending. */
  stopped(): FtpError | null;
  /** The last byte and the FIN were handed to the operating system. */
  ended(): void;
}

/**
 * Writes the feed's chunks as they are posted, then ends the connection after `put_close` and
 * waits for it to close.
 */
async function send(stream: DataStream, job: Job, ctx: RunContext, hooks: SendHooks): Promise<void> {
  const { flushed, stopped } = hooks;
  const { blockSize, timeout } = ctx.options;
  const { socket } = stream;
  const feed = job.feed!;
  let failure: FtpError | null = stream.error ? dataConnectionFailed(stream.error) : null;
  if (!failure && (stream.ended || socket.destroyed)) failure = new DataConnectionError('the server closed the data connection before the upload');
  const fail = (error: FtpError) => {
    failure ??= error;
    feed.wake();
  };
  // Idle while the socket holds unsent data or the upload is ending; waiting for the caller's next chunk is not.
  const idle = new IdleWatch(timeout, () => {
    fail(new TimeoutError(`Timeout (${timeout / 1000} seconds): the data connection took no data`));
    socket.destroy();
  });
  socket.on('error', (error) => fail(dataConnectionFailed(error)));
  socket.on('close', () => fail(new DataConnectionError('the server closed the data connection during the upload')));
  const touched = () => idle.touch(); // a slice reached the kernel: progress, however slow the link
  socket.on('drain', () => feed.wake());
  const check = () => {
    const error = stopped() ?? feed.failure ?? failure;
    if (error) throw error;
  };
  const changed = () => new Promise<void>((resolve) => { feed.wake = resolve; });
  try {
    for (;;) {
      check();
      const chunk = feed.chunks[0];
      if (chunk === undefined) {
        if (feed.closed) break;
        idle.hold(true); // waiting for the caller
        await changed();
        idle.hold(false);
        continue;
      }
      for (let at = 0; at < chunk.length; at += blockSize) {
        while (socket.writableLength >= WRITE_AHEAD) {
          await changed();
          check();
        }
        const last = at + blockSize >= chunk.length;
        job.progress.delivered += Math.min(blockSize, chunk.length - at);
        socket.write(chunk.subarray(at, at + blockSize), last ? () => { idle.touch(); flushed(chunk.length); } : touched);
      }
      if (chunk.length === 0) flushed(0);
      feed.chunks.shift();
      feed.pending -= chunk.length;
    }
    await new Promise<void>((resolve, reject) => {
      socket.removeAllListeners('close');
      socket.once('close', (hadError) => (hadError ? reject(failure ?? new DataConnectionError('data connection failed while closing')) : resolve()));
      socket.once('finish', hooks.ended);
      socket.end();
    });
  } finally {
    idle.stop();
  }
  check();
}
