/**
 * Date pieces the listing formats share: month names (English and the languages FTP servers
 * commonly print), checked calendar dates, and the year `ls` leaves out of recent dates.
 */

const MONTHS: ReadonlyMap<string, number> = (() => {
  // Each row: the twelve months of one language, abbreviated as `ls` prints them (lower case,
  // trailing dots dropped). Alternatives for one month are separated by `|`.
  const languages = [
    'jan feb mar apr may jun jul aug sep oct nov dec', // English
    'jan feb mär|mrz|maer apr mai jun jul aug sep okt nov dez', // German
    'janv|jan févr|fevr|fév|fev mars|mar avr mai juin juil août|aout sept|sep oct nov déc|dec', // French
    'ene feb mar abr may jun jul ago sep|set oct nov dic', // Spanish
    'gen feb mar apr mag giu lug ago set ott nov dic', // Italian
    'jan fev|fév mar abr mai jun jul ago set out nov dez', // Portuguese
    'jan feb mrt apr mei jun jul aug sep okt nov dec', // Dutch
    'jan feb mar apr maj jun jul aug sep okt nov dec', // Swedish, Danish, Norwegian
    'sty lut mar kwi maj cze lip sie wrz paź|paz lis gru', // Polish
    'led úno|uno bře|bre dub kvě|kve čvn|cvn čvc|cvc srp zář|zar říj|rij lis pro', // Czech
    'янв фев мар апр май июн июл авг сен окт ноя дек', // Russian
  ];
  const table = new Map<string, number>();
  for (const row of languages) {
    row.split(' ').forEach((names, month) => {
      for (const name of names.split('|')) if (!table.has(name)) table.set(name, month);
    });
  }
  return table;
})();

/**
 * The month (0–11) of a month token: a name in one of the known languages (any case, a
 * trailing `.` allowed, `Mär`, `févr.`), or a number with `月` or `월` (`3月`). Null otherwise.
 */
export function monthIndex(token: string): number | null {
  const last = token.charCodeAt(token.length - 1);
  if (last === 0x6708 || last === 0xc6d4) { // 月, 월
    const month = Number(token.slice(0, -1));
    return token.length <= 3 && month >= 1 && month <= 12 ? month - 1 : null;
  }
  if (token.length < 3 || token.length > 5) return null; // every name in the table has 3 or 4 letters, then maybe a dot
  return MONTHS.get(token) ?? MONTHS.get((last === 0x2e ? token.slice(0, -1) : token).toLowerCase()) ?? null;
}

/**
 * A Date from calendar fields taken as UTC (month 0–11), or null when they do not name a real
 * moment (31 February, hour 25). Two-digit years are 1970–2069 (`ls`-era listings: 70 → 1970).
 */
export function calendarDate(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, millisecond = 0): Date | null {
  const fullYear = year < 100 ? (year < 70 ? 2000 + year : 1900 + year) : year;
  if (month < 0 || month > 11 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const time = Date.UTC(fullYear, month, day, hour, minute, Math.min(second, 59), millisecond);
  const date = new Date(time);
  if (Number.isNaN(time) || date.getUTCDate() !== day) return null;
  return date;
}

/**
 * A date `ls` printed without its year ("Mar 12 10:00"): `ls` leaves the year out for times in
 * the last six months, so the date is the latest one not after `now` (a day of slack allows for
 * a server clock or time zone ahead of ours). Null for an impossible date.
 */
export function recentDate(month: number, day: number, hour: number, minute: number, now: Date): Date | null {
  const latest = now.getTime() + 24 * 60 * 60 * 1000;
  let year = now.getUTCFullYear();
  // 29 February resolves to the last leap year, at most 8 years back.
  for (let tries = 0; tries < 8; tries += 1, year -= 1) {
    const date = calendarDate(year, month, day, hour, minute);
    if (date && date.getTime() <= latest) return date;
  }
  return null;
}
