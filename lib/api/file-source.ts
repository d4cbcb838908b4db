/**
 * A local file as an upload source, read into a few reused buffers. `fs.createReadStream`
 * allocates a fresh buffer per read (64 KiB by default), and at a gigabyte per second the
 * allocations, page faults and garbage cost more CPU than the copying itself. Here a buffer is
 * read into again only once the upload has written every byte of it to the socket: the upload
 * reports how many bytes the socket took ({@link FileSource.flushed}). The upload reads only
 * about its `highWaterMark` (1 MiB) ahead of the socket, so two or three buffers are in use.
 */
import { open } from 'node:fs/promises';

/** Bytes of each read buffer (less for a smaller file). */
const CHUNK = 1024 * 1024;

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
    while (this.out.length > 0 && this.out[0]!.end <= this.taken) this.buffers.push(this.out.shift()!.buffer);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const file = await open(this.path, 'r');
    try {
      // A small file gets a buffer of its size plus a byte: one short read reads it all and sees its end.
      const size = Math.max(1, Math.min(CHUNK, (await file.stat()).size - this.start + 1));
      let position = this.start;
      for (;;) {
        const buffer = this.buffers.pop() ?? Buffer.allocUnsafeSlow(size); // a new one only while all are out
        const { bytesRead } = await file.read(buffer, 0, size, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        this.yielded += bytesRead;
        this.out.push({ end: this.yielded, buffer });
        yield buffer.subarray(0, bytesRead);
        if (bytesRead < size) return; // a short read of a regular file: its end
      }
    } finally {
      await file.close();
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
