/**
 * Reused read buffers for a download whose consumer borrows its chunks (`downloadTo`). A plain
 * socket allocates a fresh 64 KiB Buffer for every read: at 2 GB/s that is 30,000 allocations a
 * second and tens of MiB waiting for the garbage collector. Reading into a few buffers that are
 * lent to the consumer and given back keeps memory flat and spares the allocator.
 *
 * The socket asks {@link ReadBuffers.next} for the buffer of its next read (Node's `onread`).
 * The consumer lends every chunk it receives and gives it back once done with it; a buffer is
 * read into again only when none of its chunks is out. Buffers are made when first needed: a
 * consumer that gives chunks back at once uses one; one that holds chunks pauses reading after
 * a few, so the set stays small. A session keeps one set for all its downloads.
 */

interface Slot {
  readonly buffer: Buffer;
  /** Chunks of this buffer lent and not given back. */
  out: number;
}

/** A small set of read buffers lent to a download's consumer; see the module comment. */
export class ReadBuffers {
  private readonly slots: Slot[] = [];

  /** @param size bytes of each buffer: the largest chunk one read delivers */
  constructor(readonly size: number) {}

  /** A buffer with no chunk out, for the next read (a new one when all are out). */
  next(): Buffer {
    for (const slot of this.slots) if (slot.out === 0) return slot.buffer;
    const slot = { buffer: Buffer.allocUnsafeSlow(this.size), out: 0 };
    this.slots.push(slot);
    return slot.buffer;
  }

  /** Notes that `chunk` (a part of one of these buffers, or any other Buffer) is in the consumer's hands. */
  lend(chunk: Buffer): void {
    const slot = this.slotOf(chunk);
    if (slot) slot.out++;
  }

  /** The consumer is done with `chunk`: its buffer may be read into again once all its chunks are back. */
  giveBack(chunk: Buffer): void {
    const slot = this.slotOf(chunk);
    if (slot && slot.out > 0) slot.out--;
  }

  private slotOf(chunk: Buffer): Slot | undefined {
    for (const slot of this.slots) if (slot.buffer.buffer === chunk.buffer) return slot;
    return undefined;
  }
}
