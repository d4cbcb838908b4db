/**
 * A local file as an upload source, read into a few reused buffers. `fs.createReadStream`
 * allocates a fresh buffer per read (64 KiB by default), and at a gigabyte per second the
 * allocations, page faults and garbage cost more CPU than the copying itself. Here a buffer is
 * read into again only once the upload has written every byte of it to the socket: the upload
 * reports how many bytes the socket took ({@link FileSource.flushed}). The upload reads only
 * about its `highWaterMark` (1 MiB) ahead of the socket, so two or three buffers are in use.
 * A file under 64 KiB costs open, one read and a close nobody waits for (thread-pool round trips
 * are most of a small upload's local cost).
 */
import { open } from 'node:fs/promises';

/** Bytes of each read buffer after the first. */
const CHUNK = 1024 * 1024;
/** Bytes of the first read: a file smaller than this is read in one call. */
const FIRST = 64 * 1024;

/** A local file read for an upload; make one with {@link fileSource} and pass it to `upload`. */
export class FileSource implements AsyncIterable<Buffer> {
  private readonly buffers: Buffer[] = [];
  /** Bytes yielded and bytes the socket has taken, since the start. */
  private yielded = 0;
  private taken = 0;
  /** End offsets (in yielded bytes) of the chunks still in the socket's hands, oldest first, with their buffer. */
  private readonly out: Array<{ end: number; buffer: Buffer }> = [];

  constructor(readonly path: string, readonly start = 0) {}

  /** The upload wrote `bytes` more bytes to the socket: buffers wholly written are free again. */
  flushed(bytes: number): void {
    this.taken += bytes;
    while (this.out.length > 0 && this.out[0]!.end <= this.taken) {
      const { buffer } = this.out.shift()!;
      if (buffer.length === CHUNK) this.buffers.push(buffer);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const file = await open(this.path, 'r');
    try {
      // The first read, into a small buffer, ends a small file (a short read of a regular file is
      // its end): open, read and close, no stat. Larger files go on in CHUNK buffers.
      let size = FIRST;
      let position = this.start;
      for (;;) {
        // A CHUNK buffer anew only while all are out (the first, smaller one is never reused).
        const buffer = size === CHUNK ? this.buffers.pop() ?? Buffer.allocUnsafeSlow(CHUNK) : Buffer.allocUnsafeSlow(size);
        const { bytesRead } = await file.read(buffer, 0, size, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        this.yielded += bytesRead;
        this.out.push({ end: this.yielded, buffer });
        yield buffer.subarray(0, bytesRead);
        if (bytesRead < size) return;
        size = CHUNK;
      }
    } finally {
      // Not awaited: the upload need not wait a thread-pool round trip to end; a read-only
      // file's close has nothing to lose.
      file.close().catch(() => {});
    }
  }
}

/**
 * A local file (from byte `start`) as an upload source: `await ftp.upload('remote.bin', fileSource('local.bin'))`.
 * It reads into a few 1 MiB buffers that are reused, so memory and CPU stay low.
 */
export function fileSource(path: string, options: { start?: number } = {}): FileSource {
  return new FileSource(path, options.start ?? 0);
}
