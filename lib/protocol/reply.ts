/**
 * Control-connection reply parsing (RFC 959 §4.2): turns the bytes read from the control socket
 * into complete {@link Reply} objects. Pure: no sockets, no timers.
 */
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { excerpt } from './excerpt.js';
import type { Encoding } from '../options.js';

/** One complete server reply. */
export interface Reply {
  /** The 3-digit reply code, 100..599. */
  code: number;
  /**
   * Each line's text, decoded as UTF-8, without its line ending. A line that begins with the
   * reply's code followed by `-` or a space loses those 4 characters (a bare `ddd` line gives
   * `''`); any other line (e.g. FEAT's ` MDTM`) is kept verbatim.
   */
  lines: string[];
  /** The last line's text (`lines[lines.length - 1]`). */
  text: string;
  /** All lines joined with `\n`, trailing whitespace trimmed. */
  message: string;
}

/** Size limits that keep a hostile or broken server from exhausting memory. */
export interface ReplyLimits {
  /** Longest accepted line, in bytes, not counting its CRLF or LF. */
  maxLineBytes: number;
  /** Largest accepted reply, in bytes as received, line endings included. */
  maxReplyBytes: number;
}

/** The limits used for every {@link ReplyLimits} field a caller leaves out. */
export const DEFAULT_REPLY_LIMITS: ReplyLimits = Object.freeze({
  maxLineBytes: 65536,
  maxReplyBytes: 1048576,
});

const LF = 0x0a;
const CR = 0x0d;
const FIRST_LINE = /^[1-5][0-9][0-9](?:$|[ -])/;
/** Smallest capacity allocated for the partial-line buffer. */
const MIN_PARTIAL_CAPACITY = 256;

/** A multi-line reply whose closing line has not arrived yet. */
interface OpenReply {
  code: number;
  codeText: string;
  lines: string[];
  /** Bytes received for this reply so far, line endings included. */
  bytes: number;
}

/**
 * Incremental reply parser for one control connection. Feed it every chunk read from the
 * socket, in order; it returns the replies those bytes complete.
 */
export class ReplyParser {
  /** A raw-line hook for the debug trace: called with each complete line (no EOL) as it is parsed. */
  onLine?: (line: string) => void;

  private readonly limits: ReplyLimits;
  /** Bytes of the line not yet ended by LF live in `partial[0, partialLength)`; they never contain LF. */
  private partial: Buffer | null = null;
  private partialLength = 0;
  private open: OpenReply | null = null;
  private failed = false;

  /**
   * @param limits Overrides for {@link DEFAULT_REPLY_LIMITS}; each must be a positive integer.
   * @throws InvalidArgumentError when a limit is not a positive integer.
   */
  constructor(limits: Partial<ReplyLimits> = {}, private readonly encoding: Encoding = 'utf8') {
    this.limits = { ...DEFAULT_REPLY_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new InvalidArgumentError(`reply limit ${name} must be a positive integer`);
      }
    }
  }

  /** Bytes held for an incomplete line/reply (for tests and memory accounting). */
  get pendingBytes(): number {
    return this.partialLength + (this.open?.bytes ?? 0);
  }

  /**
   * Feed bytes as they arrive; returns every reply completed by them, in order.
   * Lines may be split at any byte, including inside CRLF or a UTF-8 character.
   * @throws ProtocolError on bad input (no reply code, NUL byte, line or reply over its limit);
   *   after a throw the parser is unusable and every later call throws too (the caller drops the connection).
   */
  push(chunk: Buffer): Reply[] {
    if (this.failed) throw new ProtocolError('reply parser already failed on this connection');
    try {
      return this.consume(chunk);
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  private consume(chunk: Buffer): Reply[] {
    if (chunk.indexOf(0) !== -1) throw new ProtocolError('NUL byte in server reply');
    const replies: Reply[] = [];
    let start = 0;
    let lf = chunk.indexOf(LF);
    while (lf !== -1) {
      let line = chunk.subarray(start, lf);
      if (this.partialLength > 0) {
        this.appendPartial(line);
        line = this.takePartial();
      }
      const reply = this.acceptLine(line, line.length + 1);
      if (reply !== null) replies.push(reply);
      start = lf + 1;
      lf = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.checkPartialLimits(this.partialLength + rest.length, rest[rest.length - 1] === CR);
      this.appendPartial(rest);
    }
    return replies;
  }

  /** Fails as soon as a partial line is certain to break a limit, so memory stays bounded. */
  private checkPartialLimits(length: number, endsWithCr: boolean): void {
    if ((endsWithCr ? length - 1 : length) > this.limits.maxLineBytes) throw this.lineTooLong();
    if ((this.open?.bytes ?? 0) + length > this.limits.maxReplyBytes) throw this.replyTooLong();
  }

  private appendPartial(bytes: Buffer): void {
    const needed = this.partialLength + bytes.length;
    if (this.partial === null || this.partial.length < needed) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * (this.partial?.length ?? 0), MIN_PARTIAL_CAPACITY));
      this.partial?.copy(grown, 0, 0, this.partialLength);
      this.partial = grown;
    }
    bytes.copy(this.partial, this.partialLength);
    this.partialLength = needed;
  }

  /** Returns the buffered line (valid until the next append) and empties the buffer. */
  private takePartial(): Buffer {
    const line = (this.partial as Buffer).subarray(0, this.partialLength);
    this.partialLength = 0;
    return line;
  }

  /**
   * Handles one line (without LF; a trailing CR is dropped here). `rawBytes` counts the line as
   * received, LF included. Returns the reply the line completes, if any.
   */
  private acceptLine(raw: Buffer, rawBytes: number): Reply | null {
    const bytes = raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
    if (bytes.length > this.limits.maxLineBytes) throw this.lineTooLong();
    const line = bytes.toString(this.encoding);
    this.onLine?.(line);

    const open = this.open;
    if (open === null) return this.acceptFirstLine(line, rawBytes);

    open.bytes += rawBytes;
    if (open.bytes > this.limits.maxReplyBytes) throw this.replyTooLong();
    // RFC 959: only the same code followed by a space (or nothing) ends the reply.
    const sameCode = line.startsWith(open.codeText);
    const separator = line.charAt(3);
    if (sameCode && (line.length === 3 || separator === ' ')) {
      open.lines.push(line.slice(4));
      this.open = null;
      return makeReply(open.code, open.lines);
    }
    open.lines.push(sameCode && separator === '-' ? line.slice(4) : line);
    return null;
  }

  /** A first line must be `ddd`, `ddd text` or `ddd-text`, with the first digit 1..5. */
  private acceptFirstLine(line: string, rawBytes: number): Reply | null {
    if (!FIRST_LINE.test(line)) throw new ProtocolError(`weird server reply: ${excerpt(line)}`);
    if (rawBytes > this.limits.maxReplyBytes) throw this.replyTooLong();
    const codeText = line.slice(0, 3);
    const code = Number(codeText);
    if (line.charAt(3) === '-') {
      this.open = { code, codeText, lines: [line.slice(4)], bytes: rawBytes };
      return null;
    }
    return makeReply(code, [line.slice(4)]);
  }

  private lineTooLong(): ProtocolError {
    return new ProtocolError(`server reply line longer than ${this.limits.maxLineBytes} bytes`);
  }

  private replyTooLong(): ProtocolError {
    return new ProtocolError(`server reply longer than ${this.limits.maxReplyBytes} bytes`);
  }
}

function makeReply(code: number, lines: string[]): Reply {
  return { code, lines, text: lines[lines.length - 1] ?? '', message: lines.join('\n').trimEnd() };
}

/**
 * The class of a reply code: 1 preliminary, 2 completion, 3 intermediate,
 * 4 transient failure, 5 permanent failure.
 * @throws InvalidArgumentError when `code` is not an integer in 100..599.
 */
export function replyClass(code: number): 1 | 2 | 3 | 4 | 5 {
  if (!Number.isInteger(code) || code < 100 || code > 599) {
    throw new InvalidArgumentError(`not an FTP reply code: ${String(code)}`);
  }
  return Math.floor(code / 100) as 1 | 2 | 3 | 4 | 5;
}
