/**
 * Windows / IIS "MS-DOS" style LIST lines:
 *
 * ```text
 * 01-31-20  12:00PM       <DIR>          reports
 * 01-31-2020  02:05AM              1234 name with  spaces.txt
 * 2020-01-31  14:05           1,234,567 archive.zip
 * 06-08-21  09:15AM    <JUNCTION>     Shared [C:\Users\Public]
 * ```
 *
 * - Date: three numbers joined by `-`, `/` or `.` (two- or four-digit year), in the order
 *   {@link numericDate} reads off them: month first (`01-31-20`, IIS), year first when the first
 *   has four digits (`2020-01-31`), day first with `.` or a first number over 12 (`31.01.20`).
 * - Time: 12-hour with `AM`/`PM` or 24-hour, seconds optional; the wall-clock fields are kept as UTC.
 * - `<DIR>` is a directory; `<JUNCTION>`, `<SYMLINKD>` and `<SYMLINK>` are symlinks, their
 *   target the trailing `[target]` when printed (split at the last ` [`); a size (`,` thousands
 *   separators accepted) makes a file.
 * - The name is everything after the run of spaces that follows `<DIR>` or the size, kept exactly.
 *
 * Choice: an impossible date or time (`02-31-20`, `13:05PM`) leaves `modifiedAt` undefined;
 * the line is still an entry.
 */
import { newEntry, type FileInfo, type FileType, type LineParser } from './entry.js';
import { numericDate } from './numeric-date.js';

// date, time, <TAG> or size, then the spaces before the name.
const LINE = /^(\d{4}|\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2}) +(\d{1,2}):(\d{2})(?::(\d{2}))? ?([AaPp][Mm])? +(?:<(DIR|JUNCTION|SYMLINKD|SYMLINK)>|(\d{1,3}(?:,\d{3})+|\d{1,16})) +/;

/** The hour on a 24-hour clock; 24 (which no date accepts) for a 12-hour one outside 1–12. */
function clockHour(hour: number, meridiem: string | undefined): number {
  if (meridiem === undefined) return hour;
  if (hour < 1 || hour > 12) return 24;
  return (hour % 12) + (meridiem[0] === 'P' || meridiem[0] === 'p' ? 12 : 0);
}

function timestamp(match: RegExpExecArray): Date | undefined {
  const hour = clockHour(Number(match[5]), match[8]);
  return numericDate(match[1]!, match[3]!, match[4]!, match[2] === '.', hour, Number(match[6]), Number(match[7] ?? 0)) ?? undefined;
}

function typeOf(tag: string | undefined): FileType {
  if (tag === undefined) return 'file';
  return tag === 'DIR' ? 'directory' : 'symlink';
}

/** Splits `name [target]` into the entry's name and target; leaves a name without a bracketed tail whole. */
function readTarget(entry: FileInfo): void {
  const open = entry.name.lastIndexOf(' [');
  if (open <= 0 || !entry.name.endsWith(']')) return;
  entry.target = entry.name.slice(open + 2, -1);
  entry.name = entry.name.slice(0, open);
}

export const dosParser: LineParser = {
  format: 'dos',
  parse(line) {
    const match = LINE.exec(line);
    if (match === null || match[0].length === line.length) return null;
    const type = typeOf(match[9]);
    const entry = newEntry('dos', line, line.slice(match[0].length), type);
    if (type === 'symlink') readTarget(entry);
    const size = match[10];
    if (size !== undefined) entry.size = Number(size.includes(',') ? size.replaceAll(',', '') : size);
    entry.modifiedAt = timestamp(match);
    return entry;
  },
};
