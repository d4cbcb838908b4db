/**
 * EPLF, the Easily Parsed LIST Format (D. J. Bernstein): `+`, facts each ended by a comma, a
 * TAB, the name.
 *
 * ```text
 * +i8388621.29609,m824255902,/,\tdev
 * +i8388621.44468,m839956783,r,s10376,up644,\tRFCEPLF
 * ```
 *
 * Facts: `/` (CWD may work: a directory), `r` (RETR may work: a file), `s` size in bytes, `m`
 * modification time in Unix seconds (UTC), `up` permissions as an octal mode, `i` an identifier.
 * Every fact, unknown ones too, is kept in `facts` keyed by its letter (`up` by its two letters),
 * the rest of the fact as value (`/` and `r` map to `''`).
 *
 * Choices: an entry with both `/` and `r` is a directory, one with neither is `other` (the server
 * says neither CWD nor RETR will work). An `s`, `m` or `up` fact that does not read leaves its
 * field undefined. A line is EPLF only when it starts with `+`, has at least one fact, the
 * comma ending the last fact right before the TAB, and a name after the TAB (else null).
 */
import { newEntry, type FileType, type LineParser } from './entry.js';
import { permissionsFromMode } from './permissions.js';

const PLUS = 0x2b;
const COMMA = 0x2c;
const NUMBER = /^\d{1,15}$/;

/** The facts between the `+` and the comma before the TAB at `end`. */
function readFacts(line: string, end: number): Map<string, string> {
  const facts = new Map<string, string>();
  for (let start = 1; start < end;) {
    const comma = line.indexOf(',', start); // found: line[end - 1] is a comma
    const keyLength = line.startsWith('up', start) ? 2 : 1;
    if (comma > start) facts.set(line.slice(start, start + keyLength), line.slice(start + keyLength, comma));
    start = comma + 1;
  }
  return facts;
}

function typeOf(facts: ReadonlyMap<string, string>): FileType {
  if (facts.has('/')) return 'directory';
  return facts.has('r') ? 'file' : 'other';
}

/** The Date of Unix seconds, or undefined when `seconds` is no such number. */
function unixTime(seconds: string | undefined): Date | undefined {
  if (seconds === undefined || !NUMBER.test(seconds)) return undefined;
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export const eplfParser: LineParser = {
  format: 'eplf',
  parse(line) {
    const tab = line.indexOf('\t');
    if (line.charCodeAt(0) !== PLUS || tab === -1 || line.charCodeAt(tab - 1) !== COMMA || tab === line.length - 1) return null;
    const facts = readFacts(line, tab);
    if (facts.size === 0) return null;
    const entry = newEntry('eplf', line, line.slice(tab + 1), typeOf(facts));
    entry.facts = facts;
    const size = facts.get('s');
    if (size !== undefined && NUMBER.test(size)) entry.size = Number(size);
    entry.modifiedAt = unixTime(facts.get('m'));
    const mode = facts.get('up');
    if (mode !== undefined) entry.permissions = permissionsFromMode(mode) ?? undefined;
    return entry;
  },
};
