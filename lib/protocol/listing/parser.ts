/**
 * Reads a listing line by line into {@link FileInfo} entries, whatever its format: the format
 * asked for, else the one that read the previous line first, then every other in turn (a
 * listing is almost always of one format, so after its first line one parser does the work).
 * A line no format reads is handed to `onUnparsed`, never dropped in silence.
 */
import type { FileInfo, LineParser, ListingFormat, ParseContext } from './entry.js';
import { dosParser } from './dos.js';
import { eplfParser } from './eplf.js';
import { mlsdParser } from './mlsd.js';
import { netwareParser } from './netware.js';
import { os400Parser } from './os400.js';
import { unixParser } from './unix.js';
import { vmsParser } from './vms.js';
import { zosParser } from './zos.js';

const BLANK = /^\s*$/;

/**
 * Every format, in the order they are tried when nothing suggests one: the common first, z/OS
 * last (it takes any short upper-case word as a member name).
 */
export const PARSERS: readonly LineParser[] = [unixParser, mlsdParser, dosParser, eplfParser, netwareParser, vmsParser, os400Parser, zosParser];

/** Options of {@link ListingParser}. */
export interface ListingParserOptions {
  /** Read every line as this format; default: detect per line. */
  format?: ListingFormat | undefined;
  /** "Now", for Unix and NetWare dates without a year. Default: the time the parser is made. */
  now?: Date | undefined;
  /** Sees each non-blank line that no format reads. */
  onUnparsed?: ((line: string) => void) | undefined;
}

/** An incremental listing reader: `push` each line, then `end`. */
export class ListingParser {
  private readonly order: LineParser[];
  private readonly context: ParseContext;
  private readonly onUnparsed: (line: string) => void;
  /** The first half of an entry wrapped over two lines (VMS), waiting for its second. */
  private pending: string | null = null;

  constructor(options: ListingParserOptions = {}) {
    const { format } = options;
    this.order = format === undefined ? [...PARSERS] : PARSERS.filter((parser) => parser.format === format);
    this.context = { now: options.now ?? new Date() };
    this.onUnparsed = options.onUnparsed ?? (() => {});
  }

  /** The entry `line` holds, or null (a blank or non-entry line, a wrapped first half, or an unparsed line, reported). */
  push(line: string): FileInfo | null {
    if (this.pending !== null) {
      const joined = `${this.pending} ${line.trimStart()}`;
      const pending = this.pending;
      this.pending = null;
      const entry = this.read(joined);
      if (entry !== undefined) return entry;
      this.onUnparsed(pending);
    }
    if (BLANK.test(line)) return null;
    const entry = this.read(line);
    if (entry !== undefined) return entry;
    if (this.order.some((parser) => parser.continues?.(line))) this.pending = line;
    else this.onUnparsed(line);
    return null;
  }

  /** Reports a wrapped first half that never got its second. */
  end(): void {
    if (this.pending !== null) this.onUnparsed(this.pending);
    this.pending = null;
  }

  /** The entry (or null for a non-entry line of a known format); undefined when no format reads `line`. */
  private read(line: string): FileInfo | null | undefined {
    for (let index = 0; index < this.order.length; index += 1) {
      const parser = this.order[index]!;
      const verdict = parser.parse(line, this.context);
      if (verdict === null) continue;
      if (index > 0) this.order.unshift(...this.order.splice(index, 1)); // this server's format: try it first
      // `.` and `..` (LIST -a, some servers' default) are the directory itself and its parent: not entries.
      return verdict === 'skip' || verdict.name === '.' || verdict.name === '..' ? null : verdict;
    }
    return undefined;
  }
}

/** Reads a whole listing: its entries, and the lines no format read. */
export function parseListing(lines: Iterable<string>, options: Omit<ListingParserOptions, 'onUnparsed'> = {}): { entries: FileInfo[]; unparsed: string[] } {
  const unparsed: string[] = [];
  const parser = new ListingParser({ ...options, onUnparsed: (line) => unparsed.push(line) });
  const entries: FileInfo[] = [];
  for (const line of lines) {
    const entry = parser.push(line);
    if (entry !== null) entries.push(entry);
  }
  parser.end();
  return { entries, unparsed };
}
