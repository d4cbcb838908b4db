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

/** Parses one line of MLSD data or the entry line of an MLST reply; null when it is not a fact line. */
export function parseFactLine(line: string): FactLine | null {
  const text = line.startsWith(' ') ? line.slice(1) : line;
  const space = text.indexOf(' ');
  if (space === -1) return null;
  const facts = new Map<string, string>();
  for (const fact of text.slice(0, space).split(';')) {
    if (fact === '') continue;
    const equals = fact.indexOf('=');
    if (equals <= 0) return null;
    facts.set(fact.slice(0, equals).toLowerCase(), fact.slice(equals + 1));
  }
  return { facts, name: text.slice(space + 1) };
}

/** The entry of an MLST reply (its lines): the first line that starts with a space, parsed. */
export function parseMlstReply(lines: readonly string[]): FactLine | null {
  const entry = lines.slice(1).find((line) => line.startsWith(' '));
  return entry === undefined ? null : parseFactLine(entry);
}
