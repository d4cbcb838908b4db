/** Internal helper of the protocol modules (not part of the public API). */

const EXCERPT_CHARS = 40;

/**
 * A short, quoted excerpt of untrusted server text, safe to put in an error message or a log
 * line: at most 40 characters, with control and non-ASCII characters escaped (`\x00`, `\u{e9}`).
 */
export function excerpt(text: string): string {
  const chars = Array.from(text);
  const shown = chars
    .slice(0, EXCERPT_CHARS)
    .map((ch) => {
      const point = ch.codePointAt(0) ?? 0;
      if (point >= 0x20 && point < 0x7f) return ch;
      return point < 0x100 ? `\\x${point.toString(16).padStart(2, '0')}` : `\\u{${point.toString(16)}}`;
    })
    .join('');
  return `'${shown}${chars.length > EXCERPT_CHARS ? '...' : ''}'`;
}
