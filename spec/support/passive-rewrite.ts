/**
 * The pure part of pointing a passive reply at a proxy, shared by the test proxies
 * (`fault-proxy.ts`, `bench/support/delay-proxy.ts`): read the data port a 227 or 229 reply line
 * names, and write the same line naming another port. Opening the listener, and knowing that the
 * line is the final line of a reply, is the caller's business.
 *
 * - 227 (PASV): the first `h1,h2,h3,h4,p1,p2` group anywhere in the line (with or without the
 *   parentheses, which RFC 959 does not require); the port is p1 × 256 + p2.
 * - 229 (EPSV, RFC 2428): `(<d><d><d>port<d>)` with any delimiter character `<d>`.
 */

/** A 227 reply's address and port group. */
const PASV = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/;
/** A 229 reply's `(|||port|)`, the delimiter captured. */
const EPSV = /\((.)\1\1(\d+)\1\)/;
const DOTTED_QUAD = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * The data port a 227 or 229 reply line names (the line may end with its CRLF), or undefined
 * when the line is neither or names no usable port (none, 0, or above 65535).
 */
export function passivePort(line: string): number | undefined {
  let port: number | undefined;
  if (line.startsWith('227 ')) {
    const m = PASV.exec(line);
    if (m) port = Number(m[5]) * 256 + Number(m[6]);
  } else if (line.startsWith('229 ')) {
    const m = EPSV.exec(line);
    if (m) port = Number(m[2]);
  }
  return port !== undefined && port > 0 && port <= 0xffff ? port : undefined;
}

/**
 * The same 227 or 229 line naming `port` instead, everything else kept (CRLF included). A 227
 * also names `host` when it is an IPv4 address, else keeps the address the server gave. Call it
 * only for a line {@link passivePort} accepted; another line comes back unchanged.
 */
export function rewritePassive(line: string, port: number, host: string): string {
  if (line.startsWith('229 ')) {
    const m = EPSV.exec(line);
    if (!m) return line;
    const d = m[1]!;
    return splice(line, m, `(${d}${d}${d}${port}${d})`);
  }
  if (!line.startsWith('227 ')) return line;
  const m = PASV.exec(line);
  if (!m) return line;
  const address = DOTTED_QUAD.test(host) ? host.split('.') : m.slice(1, 5);
  return splice(line, m, [...address, port >> 8, port & 255].join(','));
}

/** `line` with the text `m` matched replaced by `text` (no `$` patterns: `$` is a legal EPSV delimiter). */
function splice(line: string, m: RegExpExecArray, text: string): string {
  return line.slice(0, m.index) + text + line.slice(m.index + m[0].length);
}
