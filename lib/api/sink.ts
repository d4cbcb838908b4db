/**
 * `downloadTo`: RETR into a consumer, the fastest way to read a file. A function consumer
 * borrows each chunk from a few reused read buffers (no allocation per read, flat memory); a
 * Writable gets fresh chunks, written with its backpressure.
 */
import { Writable } from 'node:stream';
import { describe, FtpError, LocalIoError } from '../errors.js';
import type { Flow } from '../run/context.js';
import type { ReadBuffers } from '../transport/read-buffers.js';
import { call, cancellable, jobOptions, type Submit, type TransferCallOptions } from './request.js';

/**
 * Where {@link downloadTo} puts the file's bytes:
 * - a function: it **borrows** each chunk, which is valid only until the function returns, or
 *   until the promise it returns settles (copy what you keep). While it holds chunks, reading waits.
 * - a Writable: each chunk is the caller's to keep; reading waits while the Writable is full.
 *   The Writable is ended when the download succeeds.
 */
export type ChunkSink = ((chunk: Buffer) => void | Promise<void>) | Writable;

/** Options of {@link downloadTo}. */
export interface DownloadToOptions extends TransferCallOptions {
  /** Start at this byte (REST); the file must be transferred in binary. Default 0. */
  offset?: number | undefined;
  /** Sees the server's 1xx reply to RETR (its text may announce the size). */
  onStart?: ((code: number, text: string) => void) | undefined;
}

/** Chunks a function consumer may hold at once before reading waits. */
const LENT = 3;
/** Bytes of each reused read buffer: the largest chunk a function consumer gets. */
export const READ_SIZE = 256 * 1024;

/** A consumer behind the flow control: `write` takes a chunk, `settled` waits for what it still holds. */
interface Consumer {
  write(chunk: Buffer): void;
  settled(): Promise<void>;
}

/**
 * RETR `remote` into `sink`; resolves with the number of bytes received once the server
 * confirmed the transfer and the sink has taken every byte. A sink that throws or fails stops
 * the transfer (ABOR) and the call rejects with a {@link LocalIoError} (an FtpError as it is).
 */
export async function downloadTo(submit: Submit, buffers: ReadBuffers, remote: string, sink: ChunkSink, options: DownloadToOptions = {}): Promise<number> {
  const { cancel, signal } = cancellable(options.signal);
  const flow: Flow & { paused: boolean } = { paused: false, onResume: null };
  let failure: FtpError | null = null;
  const failed = (error: unknown) => {
    failure ??= error instanceof FtpError ? error : new LocalIoError(`the download's sink failed: ${describe(error)}`, { cause: error });
    cancel.abort(failure);
  };
  const resume = () => {
    if (!flow.paused) return;
    flow.paused = false;
    const onResume = flow.onResume;
    flow.onResume = null;
    onResume?.();
  };
  const reads = typeof sink === 'function' ? buffers : undefined;
  const consumer = reads ? borrowing(sink as (chunk: Buffer) => void | Promise<void>, reads, flow, resume, failed) : writing(sink as Writable, flow, resume, failed);
  let bytes = 0;
  try {
    await call(submit, 'get', [remote], {
      ...jobOptions({ ...options, signal }),
      flow,
      ...(reads ? { reads } : {}),
      onEvent(event, args) {
        if (event === 'get_server') options.onStart?.(args[0] as number, args[1] as string);
        if (event !== 'get_data' || failure) return;
        const chunk = args[0] as Buffer;
        bytes += chunk.length;
        consumer.write(chunk);
      },
    });
  } catch (error) {
    throw failure ?? error;
  }
  await consumer.settled();
  if (failure) throw failure;
  if (!reads) await finished(sink as Writable);
  return bytes;
}

/** A function consumer that borrows chunks; reading pauses while it holds {@link LENT} of them. */
function borrowing(take: (chunk: Buffer) => void | Promise<void>, reads: ReadBuffers, flow: Flow & { paused: boolean }, resume: () => void, failed: (error: unknown) => void): Consumer {
  let held = 0;
  let allBack: (() => void) | null = null;
  const giveBack = (chunk: Buffer) => {
    reads.giveBack(chunk);
    held--;
    if (held < LENT) resume();
    if (held === 0) allBack?.();
  };
  return {
    write(chunk) {
      let result: void | Promise<void>;
      try {
        result = take(chunk);
      } catch (error) {
        failed(error);
        return;
      }
      if (!(result instanceof Promise)) return;
      reads.lend(chunk);
      held++;
      if (held >= LENT) flow.paused = true;
      result.then(() => giveBack(chunk), (error: unknown) => {
        failed(error);
        giveBack(chunk);
      });
    },
    settled: () => (held === 0 ? Promise.resolve() : new Promise((resolve) => { allBack = resolve; })),
  };
}

/** A Writable consumer: reading pauses while `write` says the Writable is full, until 'drain'. */
function writing(sink: Writable, flow: Flow & { paused: boolean }, resume: () => void, failed: (error: unknown) => void): Consumer {
  sink.on('error', failed);
  sink.on('drain', resume);
  return {
    write(chunk) {
      if (!sink.write(chunk)) flow.paused = true;
    },
    settled: () => Promise.resolve(),
  };
}

/** Ends `sink` and waits until it has written everything (or failed). */
function finished(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.once('error', (error) => reject(new LocalIoError(`the download's sink failed: ${describe(error)}`, { cause: error })));
    sink.end(() => resolve());
  });
}
