/**
 * Parsers for the values carried in reply text: PWD/MKD (257), SIZE and MDTM (213, RFC 3659)
 * and FEAT (211, RFC 2389). Pure functions; malformed server text is a {@link ProtocolError}.
 */
import { ProtocolError } from '../errors.js';
import { excerpt } from './excerpt.js';

const CONTROL_CHAR = /[\x00-\x1f\x7f]/;
const MDTM_TIME_VAL = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?$/;

/**
 * The path quoted in a 257 reply (`"/dir" is current directory`). Text before the first quote
 * is skipped; a doubled quote inside the path stands for one quote (RFC 959 Appendix II).
 * @throws ProtocolError when there is no quoted path, the quote is not closed, the path is empty
 *   or it holds a control character.
 */
export function parsePwdReply(text: string): string {
  const open = text.indexOf('"');
  if (open === -1) throw new ProtocolError('257 reply without a quoted path');
  let path = '';
  let index = open + 1;
  for (;;) {
    const quote = text.indexOf('"', index);
    if (quote === -1) throw new ProtocolError('257 reply with an unterminated quoted path');
    path += text.slice(index, quote);
    if (text.charAt(quote + 1) !== '"') break;
    path += '"';
    index = quote + 2;
  }
  if (path === '') throw new ProtocolError('257 reply with an empty path');
  if (CONTROL_CHAR.test(path)) throw new ProtocolError('257 reply path contains a control character');
  return path;
}

/**
 * The octet count of a 213 reply to SIZE. Only decimal digits are accepted (surrounding
 * whitespace aside), so no estimate, junk or rounded value is ever returned.
 * @throws ProtocolError for anything else, or a size above `Number.MAX_SAFE_INTEGER`.
 */
export function parseSizeReply(text: string): number {
  const digits = text.trim();
  if (!/^\d+$/.test(digits)) throw new ProtocolError(`unparsable SIZE reply: ${excerpt(text)}`);
  const size = Number(digits);
  if (size > Number.MAX_SAFE_INTEGER) throw new ProtocolError('SIZE reply too large to represent exactly');
  return size;
}

/**
 * The time in a 213 reply to MDTM: an RFC 3659 `time-val`, `YYYYMMDDHHMMSS[.fff...]`, always
 * UTC. Fractions are kept to the millisecond (truncated). Seconds may be 60 (leap second),
 * which a `Date` cannot hold: it reads as the next minute's 00.
 * @throws ProtocolError when the text is not a time-val or a field is out of range.
 */
export function parseMdtmReply(text: string): Date {
  const date = parseTimeVal(text.trim());
  if (date === null) throw new ProtocolError(`unparsable MDTM reply: ${excerpt(text)}`);
  return date;
}

/** An RFC 3659 time-val (`YYYYMMDDHHMMSS[.fraction]`, UTC, as MDTM and MLSD's `modify` send it); null when malformed or out of range. */
export function parseTimeVal(text: string): Date | null {
  const match = MDTM_TIME_VAL.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  const millis = Number((match[7] ?? '').slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return date;
}

/**
 * The features listed in a FEAT reply (RFC 2389), given the reply's lines: the first (header)
 * and last (`End`) lines are skipped, each other line is one feature. The key is the feature's
 * first word, upper-cased; the value is the rest of the line, trimmed (`''` when there is none).
 * Lines that do not begin with the RFC's single space are accepted too; blank lines are skipped;
 * a feature listed twice keeps its last value. A single-line 211 ("no features") gives an empty map.
 */
export function parseFeatReply(lines: string[]): Map<string, string> {
  const features = new Map<string, string>();
  for (const line of lines.slice(1, -1)) {
    const feature = line.trim();
    if (feature === '') continue;
    const space = feature.search(/\s/);
    const name = space === -1 ? feature : feature.slice(0, space);
    features.set(name.toUpperCase(), space === -1 ? '' : feature.slice(space).trim());
  }
  return features;
}

/** Days in `month` (1..12) of `year` in the proleptic Gregorian calendar. */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return [4, 6, 9, 11].includes(month) ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}
