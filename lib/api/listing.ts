/**
 * Listings as typed entries: MLSD where the server offers it (FEAT lists MLST), else LIST read
 * by the format parsers (`lib/protocol/listing/`). Whole listings are capped
 * (`maxListingBytes`); the iterator holds only what the consumer has not read yet.
 */
import { posix } from 'node:path';
import { isNotImplemented, ReplyError } from '../errors.js';
import { newEntry, type FileInfo, type ListingFormat } from '../protocol/listing/entry.js';
import { mlsdParser } from '../protocol/listing/mlsd.js';
import { ListingParser } from '../protocol/listing/parser.js';
import type { FtpSession } from '../session.js';
import { listLines, type CallOptions, type ListingCallOptions, type Submit } from './request.js';
import { commandStream } from './streams.js';

/** Options of the listing calls. */
export interface ListOptions extends ListingCallOptions {
  /** `'auto'` (default: MLSD when FEAT offers MLST, else LIST), `'mlsd'` or `'list'`. */
  command?: 'auto' | 'mlsd' | 'list' | undefined;
  /** Read LIST lines as this format only; default: each line is tried against every format. */
  format?: ListingFormat | undefined;
  /** LIST only: ask for names starting with `.` too (`LIST -a`; plain LIST when the server refuses it). Default true. */
  hidden?: boolean | undefined;
  /** Sees each line no format reads (default: the session's `listing_unparsed` event). */
  onUnparsed?: ((line: string) => void) | undefined;
}

/** The entries of `dir` (default: the working directory), `.` and `..` left out. */
export async function listEntries(ftp: FtpSession, submit: Submit, dir: string | undefined, options: ListOptions = {}): Promise<FileInfo[]> {
  let command = await chooseCommand(ftp, options);
  let hidden = options.hidden !== false;
  for (;;) {
    const parser = readerFor(command, options);
    const entries: FileInfo[] = [];
    try {
      await listLines(submit, command, listArgs(command, dir, hidden), options, (line) => {
        const entry = parser.push(line);
        if (entry !== null) entries.push(entry);
      });
    } catch (error) {
      if (!(error instanceof ReplyError)) throw error;
      if (command === 'mlsd' && options.command !== 'mlsd' && isNotImplemented(error)) {
        command = 'list'; // FEAT said MLST but MLSD is refused as unknown: LIST can still tell
      } else if (command === 'list' && hidden) {
        hidden = false; // a server that takes no LIST options: ask again plainly (a missing folder fails again)
      } else throw error;
      continue;
    }
    parser.end();
    return entries;
  }
}

/** The entries of `dir` one by one, read as they arrive: the data connection pauses while the consumer is busy. Breaking out of the loop aborts the listing. */
export async function* iterateEntries(ftp: FtpSession, submit: Submit, dir: string | undefined, options: ListOptions = {}): AsyncGenerator<FileInfo, void, undefined> {
  const command = await chooseCommand(ftp, options);
  const parser = readerFor(command, options);
  const stream = commandStream(submit, command, listArgs(command, dir, options.hidden !== false), { ...options, objectMode: true, onEnd: () => parser.end() }, (event, args, push) => {
    if (event !== `${command}_data`) return;
    const entry = parser.push(args[0] as string);
    if (entry !== null) push(entry);
  });
  yield* stream as AsyncIterable<FileInfo>;
}

/**
 * The entry of `path`, or null when it does not exist: MLST where offered, else the LIST of its
 * directory searched for its name. The root, which has no directory to be listed in, is a
 * directory entry with nothing else known.
 */
export async function stat(ftp: FtpSession, submit: Submit, path: string, options: ListOptions = {}): Promise<FileInfo | null> {
  if ((await ftp.features()).has('MLST') && options.command !== 'list') {
    const reply = await mlst(ftp, path, options);
    if (reply === undefined) return null;
    const entry = mlsdParser.parse(reply, { now: new Date() }); // null for a reply without an entry line ('')
    if (entry !== null && entry !== 'skip') return { ...entry, name: posix.basename(entry.name) || entry.name };
  }
  const parent = posix.dirname(path);
  const base = posix.basename(path);
  if (base === '' || path === parent) return rootEntry(path);
  try {
    const entries = await listEntries(ftp, submit, parent, { ...options, command: 'list' });
    return entries.find((entry) => entry.name === base) ?? null;
  } catch (error) {
    if (error instanceof ReplyError && error.replyCode === 550) return null;
    throw error;
  }
}

/**
 * The entry line of `MLST path` (`''` when the reply has none), or undefined when the server
 * says the path does not exist (550).
 */
export async function mlst(ftp: FtpSession, path: string, options: CallOptions): Promise<string | undefined> {
  try {
    const reply = await ftp.request('quot', ['MLST', path], options);
    return reply.text.split('\n').slice(1).find((line) => line.startsWith(' ')) ?? '';
  } catch (error) {
    if (error instanceof ReplyError && error.replyCode === 550) return undefined;
    throw error;
  }
}

async function chooseCommand(ftp: FtpSession, options: ListOptions): Promise<'mlsd' | 'list'> {
  if (options.command === 'mlsd' || options.command === 'list') return options.command;
  return (await ftp.features()).has('MLST') ? 'mlsd' : 'list';
}

function readerFor(command: 'mlsd' | 'list', options: ListOptions): ListingParser {
  return new ListingParser({ format: command === 'mlsd' ? 'mlsd' : options.format, onUnparsed: options.onUnparsed });
}

/**
 * The arguments of the listing command. LIST takes words starting with `-` as options on most
 * Unix servers (vsftpd, ProFTPD, Pure-FTPd all honour `-a`), so a relative name starting with
 * `-` is sent as `./-name`.
 */
function listArgs(command: 'mlsd' | 'list', dir: string | undefined, hidden: boolean): string[] {
  const path = dir === undefined || dir === '' ? [] : [command === 'list' && dir.startsWith('-') ? `./${dir}` : dir];
  return command === 'list' && hidden ? ['-a', ...path] : path;
}

/** The root: a directory, nothing else known. */
function rootEntry(path: string): FileInfo {
  return newEntry('unix', '', path, 'directory');
}
