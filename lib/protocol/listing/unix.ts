/**
 * Unix `ls -l` lines, as vsftpd, ProFTPD, Pure-FTPd and most others print them:
 *
 * ```text
 * -rw-r--r--    1 ftp      ftp          1234 Mar 12 10:00 notes.txt
 * drwxr-xr-x+   2 0        0            4096 Jan  1  2020 dir with  spaces
 * lrwxrwxrwx    1 user     staff          11 Mär 12  2023 link -> target
 * crw-rw-rw-    1 root     root       1,   3 Jan  1 10:00 null
 * -rw-r--r--    1 user     user           5 2024-03-12 10:00 iso-dated
 * ```
 *
 * The type letter and nine permission letters (an ACL `+`, macOS `@` or SELinux `.` may
 * follow); then link count, owner and group when present; the size (or a device's
 * `major, minor`); the date as `month day time|year` in English or another common language
 * (`Mär`, `févr.`, `3月`), `day month …`, or ISO `YYYY-MM-DD HH:MM`; then one space and the
 * name, kept exactly. A year-less date is the latest such date not after now.
 */
import { newEntry, type FileInfo, type FileType, type LineParser, type LineVerdict, type ParseContext } from './entry.js';
import { calendarDate, monthIndex, recentDate } from './dates.js';
import { permissionsFromText } from './permissions.js';

const HEAD = /^[-dlbcpsD?][r-][w-][xsS-][r-][w-][xsS-][r-][w-][xtT-][+@.]?$/;
const TOKEN = /\S+/g;
const DIGITS = /^\d+$/;
const DAY = /^(\d{1,2})[.日일]?$/;
const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;
const YEAR = /^\d{4}$/;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const TOTAL = /^total:?\s+\d/i;

/** Most tokens looked at before the date: type, links, owner, group, size, device numbers, and room for padding. */
const MAX_TOKENS = 12;

interface Token {
  text: string;
  end: number;
}

/** The Unix `ls -l` parser. */
export const unixParser: LineParser = {
  format: 'unix',
  parse(line: string, context: ParseContext): LineVerdict {
    const tokens = leadingTokens(line);
    if (tokens.length < 5 || !HEAD.test(tokens[0]!.text)) return TOTAL.test(line) ? 'skip' : null;
    for (let at = 2; at + 1 < tokens.length; at += 1) {
      const sized = readSize(tokens, at); // the cheaper test first: a date follows the size
      if (sized === null) continue;
      const date = readDate(tokens, at, context.now);
      if (date === null) continue;
      return entry(line, tokens, sized, date);
    }
    return null;
  },
};

/** The first tokens of `line` with where each ends (the name is cut from the line by position). */
function leadingTokens(line: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(line); match !== null && tokens.length < MAX_TOKENS; match = TOKEN.exec(line)) {
    tokens.push({ text: match[0], end: TOKEN.lastIndex });
  }
  return tokens;
}

interface DateAt {
  modifiedAt: Date | undefined;
  /** Index of the date's last token: the name follows it. */
  last: number;
}

/** The date starting at token `at`, or null when the tokens there are not a date. */
function readDate(tokens: readonly Token[], at: number, now: Date): DateAt | null {
  const first = tokens[at]!.text;
  const iso = ISO_DAY.exec(first);
  if (iso) {
    const clock = CLOCK.exec(tokens[at + 1]!.text);
    if (!clock) return null;
    const date = calendarDate(Number(iso[1]), Number(iso[2]) - 1, Number(iso[3]), Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0));
    // `--full-iso` adds a zone offset token (`+0100`): part of the date, not of the name.
    const zoned = at + 2 < tokens.length && /^[+-]\d{4}$/.test(tokens[at + 2]!.text);
    return { modifiedAt: date ?? undefined, last: zoned ? at + 2 : at + 1 };
  }
  if (at + 2 >= tokens.length) return null;
  let month = monthIndex(first);
  let day = DAY.exec(tokens[at + 1]!.text);
  if (month === null) {
    // `12 Mar 10:00` (day first, as some locales print it)
    day = DAY.exec(first);
    month = day ? monthIndex(tokens[at + 1]!.text) : null;
  }
  if (month === null || day === null) return null;
  const last = tokens[at + 2]!.text;
  const clock = CLOCK.exec(last);
  const dayOfMonth = Number(day[1]);
  let date: Date | null;
  if (clock) date = recentDate(month, dayOfMonth, Number(clock[1]), Number(clock[2]), now);
  else if (YEAR.test(last)) date = calendarDate(Number(last), month, dayOfMonth);
  else return null;
  return { modifiedAt: date ?? undefined, last: at + 2 };
}

interface SizeAt {
  size: number | undefined;
  /** Index of the first token of the size (the owner fields end before it). */
  first: number;
}

/** The size just before the date at `at`: digits, or a device's `major, minor` (no size). */
function readSize(tokens: readonly Token[], at: number): SizeAt | null {
  const before = tokens[at - 1]!.text;
  if (DIGITS.test(before)) {
    if (at >= 3 && /^\d+,$/.test(tokens[at - 2]!.text)) return { size: undefined, first: at - 2 };
    return { size: Number(before), first: at - 1 };
  }
  if (/^\d+,\d+$/.test(before)) return { size: undefined, first: at - 1 };
  return null;
}

const TYPES: Readonly<Record<string, FileType>> = { '-': 'file', d: 'directory', l: 'symlink' };

function entry(line: string, tokens: readonly Token[], sized: SizeAt, date: DateAt): FileInfo {
  const name = line.slice(tokens[date.last]!.end + 1);
  const type = TYPES[line[0]!] ?? 'other';
  const arrow = type === 'symlink' ? name.indexOf(' -> ') : -1;
  const info = newEntry('unix', line, arrow === -1 ? name : name.slice(0, arrow), type);
  if (arrow !== -1) info.target = name.slice(arrow + 4);
  info.size = sized.size;
  info.modifiedAt = date.modifiedAt;
  info.permissions = permissionsFromText(line.slice(1, 10)) ?? undefined;
  readOwners(info, tokens.slice(1, sized.first));
  return info;
}

/** Link count, owner and group: `1 ftp ftp`, `ftp ftp`, `1 ftp`, or just an owner. */
function readOwners(info: FileInfo, fields: readonly Token[]): void {
  const texts = fields.map((token) => token.text);
  if (texts.length >= 3 || (texts.length === 2 && DIGITS.test(texts[0]!))) texts.shift(); // the link count
  info.owner = texts[0];
  info.group = texts.length > 1 ? texts[texts.length - 1] : undefined;
}
