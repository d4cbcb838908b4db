/**
 * MLSD/MLST fact lines (RFC 3659 §7): `fact=value;fact=value; name`. Fact names are
 * case-insensitive (kept lower-cased here); the name is everything after the first space and
 * may itself hold spaces, `;` and `=`.
 */

/** One parsed fact line. */
export interface FactLine {
  /** Facts by lower-cased name (`type`, `size`, `modify`, `perm`, `unix.mode`, ...); values as sent. */
  facts: Map<string, string>;
  name: string;
}

/**
 * Parses one line of MLSD data or the entry line of an MLST reply; null when it is not a fact
 * line. The facts end at the first `; ` (Pure-FTPd puts a symlink's target, spaces and all, in
 * its `type` fact), else at the first space.
 */
export function parseFactLine(line: string): FactLine | null {
  const text = line.startsWith(' ') ? line.slice(1) : line;
  const space = text.indexOf(' ');
  if (space === -1) return null;
  const end = text.indexOf('; ');
  if (end > space) {
    const facts = readFacts(text.slice(0, end + 1));
    if (facts !== null) return { facts, name: text.slice(end + 2) };
  }
  const facts = readFacts(text.slice(0, space));
  return facts === null ? null : { facts, name: text.slice(space + 1) };
}

/** `a=1;b=2;` as a map (names lower-cased); null when a fact has no name or no `=`. */
function readFacts(text: string): Map<string, string> | null {
  const facts = new Map<string, string>();
  for (const fact of text.split(';')) {
    if (fact === '') continue;
    const equals = fact.indexOf('=');
    if (equals <= 0) return null;
    facts.set(fact.slice(0, equals).toLowerCase(), fact.slice(equals + 1));
  }
  return facts;
}
