/**
 * Numeric dates as the DOS, OS/400 and z/OS listings print them (`01-31-20`, `23/02/00`,
 * `31.01.20`, `2003/03/25`). Their field order follows the server's locale, which no server
 * announces, so it is read off the numbers themselves.
 */
import { calendarDate } from './dates.js';

/**
 * The Date (wall-clock fields taken as UTC) of the numeric date `a·b·c` at `hour:minute:second`;
 * null when it names no real moment. The field order:
 * - year first (Y M D) when `a` has more than two digits or is over 31: `2020-01-31`, `99/12/31`;
 * - day first (D M Y) when `dayFirst` (the server wrote `.`, the European way) or `a` is over 12:
 *   `31.01.20`, `23/02/00`;
 * - else month first (M D Y, the US order): `01/31/20`.
 *
 * Two-digit years are 1970–2069, as {@link calendarDate} takes them.
 */
export function numericDate(a: string, b: string, c: string, dayFirst: boolean, hour: number, minute: number, second: number): Date | null {
  const first = Number(a);
  if (a.length > 2 || first > 31) return calendarDate(first, Number(b) - 1, Number(c), hour, minute, second);
  if (dayFirst || first > 12) return calendarDate(Number(c), Number(b) - 1, first, hour, minute, second);
  return calendarDate(Number(c), first - 1, Number(b), hour, minute, second);
}
