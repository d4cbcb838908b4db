/**
 * Glob patterns for the tree helpers' `filter`: `*` (any characters but `/`), `?` (one), `**`
 * (any number of folders), `[abc]` / `[!abc]` (one of, none of), `{a,b}` (either). A pattern
 * without `/` is matched against the file's name, one with `/` against its path in the tree.
 */
import { InvalidArgumentError } from '../errors.js';

/** A test of relative paths (`a/b/c.txt`) against one or more patterns: true when any matches. */
export function globMatcher(patterns: string | readonly string[]): (path: string) => boolean {
  const compiled = (typeof patterns === 'string' ? [patterns] : patterns).map((pattern) => ({
    whole: pattern.includes('/'),
    regex: new RegExp(`^${translate(pattern)}$`, 'u'),
  }));
  return (path) => {
    const name = path.slice(path.lastIndexOf('/') + 1);
    return compiled.some(({ whole, regex }) => regex.test(whole ? path : name));
  };
}

/** The regular-expression source of one glob pattern. */
function translate(pattern: string): string {
  let out = '';
  let braces = 0;
  for (let at = 0; at < pattern.length; at += 1) {
    const char = pattern[at]!;
    if (char === '*') {
      if (pattern[at + 1] !== '*') out += '[^/]*';
      else if (pattern[at + 2] === '/') {
        out += '(?:[^/]*/)*'; // `**/`: zero or more folders
        at += 2;
      } else {
        out += '.*';
        at += 1;
      }
    } else if (char === '?') out += '[^/]';
    else if (char === '[') {
      const close = pattern.indexOf(']', at + 2);
      if (close === -1) throw new InvalidArgumentError(`glob: unclosed '[' in ${pattern}`);
      const body = pattern.slice(at + 1, close).replace(/^!/, '^').replace(/[\\\]]/g, '\\$&');
      out += `[${body}]`;
      at = close;
    } else if (char === '{') {
      braces += 1;
      out += '(?:';
    } else if (char === '}' && braces > 0) {
      braces -= 1;
      out += ')';
    } else if (char === ',' && braces > 0) out += '|';
    else out += char.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  if (braces > 0) throw new InvalidArgumentError(`glob: unclosed '{' in ${pattern}`);
  return out;
}
