/**
 * Splits a listing's byte stream into lines (LF or CRLF), decoding each complete line (UTF-8 or Latin-1),
 * with a cap on line length so a hostile listing cannot grow memory without bound.
 */
import { ProtocolError } from '../errors.js';
import type { Encoding } from '../options.js';

/** Incremental line splitter for data-connection listings. */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(private readonly maxLineBytes: number, private readonly encoding: Encoding = 'utf8') {}

  /** Feeds bytes; returns the lines they complete. Throws ProtocolError for a line over the cap. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let lf = chunk.indexOf(0x0a); lf !== -1; lf = chunk.indexOf(0x0a, start)) {
      lines.push(this.take(chunk.subarray(start, lf)));
      start = lf + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingLength += rest.length;
      if (this.pendingLength > this.maxLineBytes) throw new ProtocolError(`listing line longer than ${this.maxLineBytes} bytes`);
      this.pending.push(rest);
    }
    return lines;
  }

  /** The unterminated last line, if any (a listing may end without a line ending). */
  end(): string[] {
    return this.pendingLength > 0 ? [this.take(Buffer.alloc(0))] : [];
  }

  private take(tail: Buffer): string {
    let bytes = tail;
    if (this.pendingLength > 0) {
      if (this.pendingLength + tail.length > this.maxLineBytes) throw new ProtocolError(`listing line longer than ${this.maxLineBytes} bytes`);
      bytes = Buffer.concat([...this.pending, tail]);
      this.pending = [];
      this.pendingLength = 0;
    } else if (tail.length > this.maxLineBytes) {
      throw new ProtocolError(`listing line longer than ${this.maxLineBytes} bytes`);
    }
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    return bytes.toString(this.encoding, 0, end);
  }
}
