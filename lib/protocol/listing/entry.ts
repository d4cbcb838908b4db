/**
 * The typed entry every listing parser produces ({@link FileInfo}), and the shape of a parser.
 * Parsers are pure: a line in, an entry (or a verdict on the line) out; no sockets, no clocks
 * (the time a year-less date is resolved against comes in {@link ParseContext}).
 */

/** What an entry is. Devices, pipes, sockets and the like are `other`. */
export type FileType = 'file' | 'directory' | 'symlink' | 'other';

/** The listing formats the parsers know. */
export type ListingFormat = 'mlsd' | 'unix' | 'dos' | 'eplf' | 'vms' | 'zos' | 'os400' | 'netware';

/** Access of one class of users: any of `r`, `w`, `x` (`''` for none). */
export type Access = string;

/** A permission set: owner (`user`), `group` and `other`, each missing one meaning none (as `chmod` takes it). */
export interface Permissions {
  user?: Access;
  group?: Access;
  other?: Access;
}

/** Unix permissions read from a listing: the three access sets and the mode bits (setuid, setgid and sticky included). */
export interface EntryPermissions {
  user: Access;
  group: Access;
  other: Access;
  /** The mode bits, `0o0000` to `0o7777` (`0o755` for `rwxr-xr-x`). */
  mode: number;
}

/** One entry of a directory listing. Fields a format does not give are `undefined`. */
export interface FileInfo {
  /** The name exactly as listed (decoded as UTF-8): spaces, `;`, `=` and leading dashes kept. */
  name: string;
  type: FileType;
  /** Size in bytes (VMS: blocks × 512; z/OS: not given). */
  size: number | undefined;
  /**
   * Last modification. MLSD, MLST and EPLF times are UTC. Unix, DOS, VMS, OS/400 and NetWare
   * listings print the server's local time with no zone: their wall-clock fields are kept as if
   * they were UTC. A Unix date without a year is placed within the last year, as `ls` means it.
   */
  modifiedAt: Date | undefined;
  /** Unix permissions, where the format gives them (Unix `ls -l`, MLSD `unix.mode`, EPLF `up`). */
  permissions: EntryPermissions | undefined;
  /** A symbolic link's target, where listed (`a -> b`; MLSD `OS.unix=slink:b`). */
  target: string | undefined;
  /** Owner and group, names or numbers as listed. */
  owner: string | undefined;
  group: string | undefined;
  /** The listing line as received. */
  raw: string;
  /**
   * Every MLSD/MLST fact by lower-cased name (unknown facts kept); for EPLF, VMS, z/OS, OS/400
   * and NetWare, what the format gives beyond the fields (VMS `version`, NetWare `rights`, ...);
   * undefined for Unix and DOS.
   */
  facts: ReadonlyMap<string, string> | undefined;
  /** The format the line was read as. */
  format: ListingFormat;
}

/** What parsers need besides the line. */
export interface ParseContext {
  /** "Now", for dates printed without a year (Unix, NetWare). */
  now: Date;
}

/**
 * What a parser says of one line: an entry; `'skip'` for a line of its format that is not an
 * entry (Unix `total 12`, a VMS `Directory` header, MLSD `cdir`/`pdir`); `null` when the line is
 * not of its format.
 */
export type LineVerdict = FileInfo | 'skip' | null;

/** One listing format. */
export interface LineParser {
  readonly format: ListingFormat;
  parse(line: string, context: ParseContext): LineVerdict;
  /**
   * For formats that wrap a long entry over two lines (VMS): whether `line` is the first half,
   * to be joined (with a space) to the next line before parsing.
   */
  continues?(line: string): boolean;
}

/** A blank entry of `format` for `line`: parsers fill in what they read (one object shape for all). */
export function newEntry(format: ListingFormat, raw: string, name: string, type: FileType): FileInfo {
  return {
    name, type, size: undefined, modifiedAt: undefined, permissions: undefined, target: undefined,
    owner: undefined, group: undefined, raw, facts: undefined, format,
  };
}
