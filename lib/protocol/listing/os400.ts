/**
 * IBM i (OS/400) LIST lines in the original format (`LISTFMT 0`): owner, size, date, time,
 * object type, name.
 *
 * ```text
 * QSYS           77824 02/23/00 15:09:55 *DIR       QOpenSys/
 * QPGMR              0 01/01/70 00:00:00 *STMF      file.txt
 * JONES         524288 23.02.21 09.30.00 *FILE      BACKUP.SAVF
 * QSYS                                   *MEM       MYLIB.FILE/MEMBER.MBR
 * ```
 *
 * - The owner is the first column (blank for anonymous sessions); size, date and time may be
 *   blank (`*MEM` lines). The name is everything after the object type and its spaces, kept
 *   exactly but for one trailing `/` dropped from directories.
 * - Types: `*DIR`, `*DDIR`, `*FLR` (a folder), `*LIB` and `*FILE` (a database file, holding
 *   members) are directories, but a `*FILE` named `….SAVF` (a save file) is a file; `*STMF`,
 *   `*DSTMF`, `*DOC` and `*MEM` are files, `*SYMLNK` a symlink, any other object `other`. The
 *   object type goes into `facts` as `objtype` (`*DIR`).
 *
 * Choices: the date is in the server job's format, which the line does not say. It is read as
 * {@link numericDate} reads it: `MM/DD/YY` by default, `DD/MM/YY` when the first number is over
 * 12, `YY/MM/DD` when it is over 31 or has four digits, `DD.MM.YY` when the separator is `.`
 * (the European formats), so a `YY/MM/DD` date of years 2000–2031 reads wrong. The time's
 * separator may be `:` or `.`; the wall-clock fields are kept as UTC. An impossible date leaves
 * `modifiedAt` undefined; the line is still an entry.
 */
import { newEntry, type FileInfo, type FileType, type LineParser } from './entry.js';
import { numericDate } from './numeric-date.js';

// owner (user profiles start with a letter, $, # or @), size, date and time, *TYPE, the spaces before the name.
const LINE = /^ *(?:([A-Za-z$#@]\S*) +)?(?:(\d{1,16}) +)?(?:(\d{4}|\d{1,2})([/.-])(\d{1,2})\4(\d{4}|\d{2}) +(\d{1,2})[:.](\d{2})[:.](\d{2}) +)?(\*[A-Z]+) +/;
const DIRECTORIES: ReadonlySet<string> = new Set(['*DIR', '*DDIR', '*FLR', '*LIB', '*FILE']);
const FILES: ReadonlySet<string> = new Set(['*STMF', '*DSTMF', '*DOC', '*MEM']);
const SAVE_FILE = /\.SAVF$/i;

function typeOf(objectType: string, name: string): FileType {
  if (objectType === '*FILE' && SAVE_FILE.test(name)) return 'file';
  if (DIRECTORIES.has(objectType)) return 'directory';
  if (FILES.has(objectType)) return 'file';
  return objectType === '*SYMLNK' ? 'symlink' : 'other';
}

function timestamp(match: RegExpExecArray): Date | undefined {
  if (match[3] === undefined) return undefined;
  const date = numericDate(match[3], match[5]!, match[6]!, match[4] === '.', Number(match[7]), Number(match[8]), Number(match[9]));
  return date ?? undefined;
}

function entryOf(line: string, match: RegExpExecArray, listed: string): FileInfo {
  const objectType = match[10]!;
  const type = typeOf(objectType, listed);
  const name = type === 'directory' && listed.length > 1 && listed.endsWith('/') ? listed.slice(0, -1) : listed;
  const entry = newEntry('os400', line, name, type);
  entry.owner = match[1];
  if (match[2] !== undefined) entry.size = Number(match[2]);
  entry.modifiedAt = timestamp(match);
  entry.facts = new Map([['objtype', objectType]]);
  return entry;
}

export const os400Parser: LineParser = {
  format: 'os400',
  parse(line) {
    const match = LINE.exec(line);
    if (match === null || match[0].length === line.length) return null;
    return entryOf(line, match, line.slice(match[0].length));
  },
};
