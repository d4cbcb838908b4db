/**
 * Node streams over the session's queue: a download is a Readable whose backpressure reaches
 * the data socket (a slow reader slows the server down; memory stays flat), and an upload reads
 * its source only as fast as the data connection takes it.
 */
import { Readable } from 'node:stream';
import { describe, FtpError, LocalIoError } from '../errors.js';
import { createFeed, feedUpload } from '../run/upload.js';
import type { Flow, UploadFeed } from '../run/context.js';
import { FileSource } from './file-source.js';
import { call, cancellable, jobOptions, type Submit, type TransferCallOptions } from './request.js';

/** Options of {@link downloadStream}. */
export interface DownloadOptions extends TransferCallOptions {
  /** Start at this byte (REST); the file must be transferred in binary. Default 0. */
  offset?: number | undefined;
  /** Bytes the stream buffers before the data socket is paused. Default 1 MiB. */
  highWaterMark?: number | undefined;
  /** Sees each chunk as it is received (progress, hashing). */
  onData?: ((chunk: Buffer) => void) | undefined;
  /** Sees the server's 1xx reply to RETR (its text may announce the size). */
  onStart?: ((code: number, text: string) => void) | undefined;
}

/** The sources {@link uploadFrom} reads ({@link fileSource} for a local file is the fastest). */
export type UploadSource = Readable | AsyncIterable<Uint8Array | string> | Uint8Array | string | FileSource;

/** Options of {@link uploadFrom}. */
export interface UploadOptions extends TransferCallOptions {
  /** `'put'` (STOR, default), `'appe'` (APPE: append to the remote file). */
  command?: 'put' | 'appe' | undefined;
  /** With `put`: REST this byte before STOR (the server writes from there). */
  offset?: number | undefined;
  /** Bytes read ahead of the socket. Default 1 MiB. */
  highWaterMark?: number | undefined;
  /** Sees each chunk once the socket has taken it. */
  onFlushed?: ((bytes: number) => void) | undefined;
  /** Sees the server's 1xx reply to STOR/APPE (from then on the remote file may exist). */
  onStart?: ((code: number, text: string) => void) | undefined;
}

const DEFAULT_HIGH_WATER = 1024 * 1024;
/** Items an object-mode stream buffers before the data socket is paused. */
const DEFAULT_OBJECTS = 1024;
const COALESCE = 64 * 1024;

/** RETR `remote` as a Readable. Destroying the stream aborts the transfer (ABOR). */
export function downloadStream(submit: Submit, remote: string, options: DownloadOptions = {}): Readable {
  return commandStream(submit, 'get', [remote], options, (event, args, push) => {
    if (event === 'get_server') options.onStart?.(args[0] as number, args[1] as string);
    if (event !== 'get_data') return;
    const chunk = args[0] as Buffer;
    options.onData?.(chunk);
    push(chunk);
  });
}

/** What {@link commandStream} hands to its caller for each event: `push` puts an item in the stream. */
export type StreamEventHandler = (event: string, args: readonly unknown[], push: (item: unknown) => void) => void;

/**
 * Runs a download-kind command (RETR, LIST, MLSD...) into a Readable whose backpressure reaches
 * the data socket: while the stream holds `highWaterMark` (bytes, or items in object mode), the
 * socket is paused. Destroying the stream aborts the command (ABOR); its failure destroys the stream.
 */
export function commandStream(
  submit: Submit, name: string, args: readonly unknown[],
  options: TransferCallOptions & { offset?: number | undefined; highWaterMark?: number | undefined; objectMode?: boolean; onEnd?: () => void },
  onEvent: StreamEventHandler,
): Readable {
  const { cancel, signal } = cancellable(options.signal);
  const flow: Flow & { paused: boolean } = { paused: false, onResume: null };
  const objectMode = options.objectMode ?? false;
  const stream = new Readable({
    objectMode,
    highWaterMark: options.highWaterMark ?? (objectMode ? DEFAULT_OBJECTS : DEFAULT_HIGH_WATER),
    read() {
      flow.paused = false;
      const resume = flow.onResume;
      flow.onResume = null;
      resume?.();
    },
    destroy(error, callback) {
      cancel.abort(error ?? new Error('stream destroyed'));
      callback(error);
    },
  });
  const push = (item: unknown) => {
    if (!stream.push(item)) flow.paused = true;
  };
  call(submit, name, args, {
    ...jobOptions({ ...options, signal }),
    flow,
    onEvent: (event, eventArgs) => onEvent(event, eventArgs, push),
  }).then(() => {
    options.onEnd?.();
    stream.push(null);
  }, (error: Error) => stream.destroy(error));
  return stream;
}

/**
 * STOR (or APPE) `remote` from `source`. Resolves once the server confirmed the whole upload;
 * a source that fails fails the upload (it never looks complete).
 */
export async function uploadFrom(submit: Submit, remote: string, source: UploadSource, options: UploadOptions = {}): Promise<void> {
  const feed = createFeed(true);
  const limit = options.highWaterMark ?? DEFAULT_HIGH_WATER;
  let wake: () => void = () => {};
  let flushed = 0;
  let over = false;
  const done = call(submit, options.command ?? 'put', [remote], {
    ...jobOptions(options),
    feed,
    onEvent(event, args) {
      if (event === 'put_server') options.onStart?.(args[0] as number, args[1] as string);
      if (event !== 'put_flushed') return;
      flushed += args[0] as number;
      if (source instanceof FileSource) source.flushed(args[0] as number);
      options.onFlushed?.(args[0] as number);
      wake();
    },
  }).finally(() => {
    over = true;
    wake();
  });
  // Awaited below, after the source is read; a failed upload stops a Readable source at once
  // (it may never produce again, as pipeline() would do).
  done.catch(() => {
    if (source instanceof Readable) source.destroy();
  });

  const chunks = typeof source === 'string' || source instanceof Uint8Array ? [source] : source;
  let fed = 0;
  // Small chunks are gathered up to COALESCE bytes: one socket write per tiny chunk is slow.
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  const flush = () => {
    if (gathered.length === 0) return;
    feedUpload(feed, gathered.length === 1 ? gathered[0]! : Buffer.concat(gathered, gatheredBytes), Number.MAX_SAFE_INTEGER);
    fed += gatheredBytes;
    gathered = [];
    gatheredBytes = 0;
  };
  try {
    for await (const chunk of chunks) {
      if (over) break;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      gathered.push(bytes);
      gatheredBytes += bytes.length;
      if (gatheredBytes < COALESCE) continue;
      flush();
      while (!over && fed - flushed > limit) await new Promise<void>((resolve) => { wake = resolve; });
    }
    if (!over) {
      flush();
      feedUpload(feed, null, 0);
    }
  } catch (error) {
    failFeed(feed, error);
  }
  await done;
}

/** A source that failed: the upload fails with its error (wrapped when it is no FtpError). */
function failFeed(feed: UploadFeed, error: unknown): void {
  feed.failure ??= error instanceof FtpError ? error : new LocalIoError(`the upload's source failed: ${describe(error)}`, { cause: error });
  feed.wake();
}
