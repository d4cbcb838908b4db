/**
 * Novell NetWare LIST lines: type, trustee rights, owner, size, date, name.
 *
 * ```text
 * d [R----F--] supervisor            512       Jan 16 18:53    login
 * - [RWCEAFMS] rhesus             214059       Oct 20  1998    cx.exe
 * ```
 *
 * - `d` is a directory, `-` a file.
 * - The rights (eight letters of `RWCEAFMS`, `-` for each right not held: Read, Write, Create,
 *   Erase, Access control, File scan, Modify, Supervisor) are not Unix permissions: they go into
 *   `facts` as `rights` (`R----F--`).
 * - A date with a time and no year is the latest such date not after `context.now` (as `ls`
 *   prints it, see {@link recentDate}); a date with a year has no time. Wall-clock fields are kept as UTC.
 * - The name is everything after the time or year and its spaces, kept exactly.
 *
 * Choice: a month that does not read or an impossible date (`Feb 30`) leaves `modifiedAt`
 * undefined; the line is still an entry.
 */
import { calendarDate, monthIndex, recentDate } from './dates.js';
import { newEntry, type LineParser, type ParseContext } from './entry.js';

// type, [rights], owner, size, month, day, time or year, the spaces before the name.
const LINE = /^([d-]) +\[([RWCEAFMS-]{8})\] +(\S+) +(\d{1,16}) +(\S+) +(\d{1,2}) +(?:(\d{1,2}):(\d{2})|(\d{4})) +/;

function timestamp(match: RegExpExecArray, context: ParseContext): Date | undefined {
  const month = monthIndex(match[5]!);
  if (month === null) return undefined;
  const day = Number(match[6]);
  const date = match[9] === undefined
    ? recentDate(month, day, Number(match[7]), Number(match[8]), context.now)
    : calendarDate(Number(match[9]), month, day);
  return date ?? undefined;
}

export const netwareParser: LineParser = {
  format: 'netware',
  parse(line, context) {
    const match = LINE.exec(line);
    if (match === null || match[0].length === line.length) return null;
    const entry = newEntry('netware', line, line.slice(match[0].length), match[1] === 'd' ? 'directory' : 'file');
    entry.owner = match[3];
    entry.size = Number(match[4]);
    entry.modifiedAt = timestamp(match, context);
    entry.facts = new Map([['rights', match[2]!]]);
    return entry;
  },
};
