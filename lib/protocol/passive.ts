/**
 * Data-connection addresses: parsing PASV (227) and EPSV (229) replies, and formatting the
 * arguments of PORT and EPRT (RFC 959, RFC 1123 §4.1.2.6, RFC 2428). Pure: no sockets.
 */
import { isIPv6 } from 'node:net';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { excerpt } from './excerpt.js';

/** A host and TCP port to open a data connection to. */
export interface HostPort {
  /** Dotted IPv4 address as the server advertised it, normalised (no leading zeros). */
  host: string;
  /** TCP port, 1..65535. */
  port: number;
}

/** Six comma-separated decimal numbers, matched from the first digit of the reply text. */
const PASV_NUMBERS = /^(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)(?![\d,])/;
const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const IPV4_MAPPED_PREFIX = '::ffff:';

/**
 * Parses the text of a 227 reply. As RFC 1123 requires, scans for the first digit and reads
 * `h1,h2,h3,h4,p1,p2` from there, so both `Entering Passive Mode (h1,...,p2)` and the form
 * without parentheses are accepted.
 * @throws ProtocolError when the numbers are missing, one is above 255, or the port is 0.
 */
export function parsePasvReply(text: string): HostPort {
  const firstDigit = text.search(/\d/);
  const match = firstDigit === -1 ? null : PASV_NUMBERS.exec(text.slice(firstDigit));
  if (match === null) throw new ProtocolError(`unparsable PASV reply: ${excerpt(text)}`);
  const numbers = match.slice(1).map(Number);
  if (numbers.some((n) => n > 255)) throw new ProtocolError(`PASV reply number out of range: ${excerpt(text)}`);
  const [h1, h2, h3, h4, p1, p2] = numbers as [number, number, number, number, number, number];
  const port = p1 * 256 + p2;
  if (port === 0) throw new ProtocolError('PASV reply names port 0');
  return { host: `${h1}.${h2}.${h3}.${h4}`, port };
}

/**
 * Parses the text of a 229 reply, `(<d><d><d><port><d>)`, and returns the port. The delimiter
 * `<d>` may be any ASCII character 33..126, the same all four times. Non-empty address fields
 * (`(|1|9.9.9.9|6446|)`) are tolerated and ignored: the data connection goes to the control peer.
 * @throws ProtocolError when the format is wrong or the port is not in 1..65535.
 */
export function parseEpsvReply(text: string): number {
  const open = text.indexOf('(');
  const delimiter = open === -1 ? '' : text.charAt(open + 1);
  if (!/^[!-~]$/.test(delimiter)) throw epsvError(text);
  // The four delimiters enclose two (ignored) address fields and the port, then ')' follows.
  const second = text.indexOf(delimiter, open + 2);
  const third = second === -1 ? -1 : text.indexOf(delimiter, second + 1);
  const fourth = third === -1 ? -1 : text.indexOf(delimiter, third + 1);
  if (fourth === -1 || text.charAt(fourth + 1) !== ')') throw epsvError(text);
  const portText = text.slice(third + 1, fourth);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) throw epsvError(text);
  return port;
}

function epsvError(text: string): ProtocolError {
  return new ProtocolError(`unparsable EPSV reply: ${excerpt(text)}`);
}

/**
 * The argument of a PORT command, `h1,h2,h3,h4,p1,p2`, for an IPv4 address (an IPv4-mapped
 * IPv6 address such as `::ffff:1.2.3.4` is accepted too).
 * @throws InvalidArgumentError for an IPv6 address, anything that is not an address, or a bad port.
 */
export function formatPortArgument(host: string, port: number): string {
  const octets = ipv4Octets(host);
  if (octets === null) throw new InvalidArgumentError('PORT needs an IPv4 address');
  checkPort(port);
  return [...octets, Math.floor(port / 256), port % 256].join(',');
}

/**
 * The argument of an EPRT command (RFC 2428): `|1|<ipv4>|<port>|` or `|2|<ipv6>|<port>|`.
 * An IPv4-mapped IPv6 address is sent as family 1.
 * @throws InvalidArgumentError for anything that is not an address (IPv6 zone ids included) or a bad port.
 */
export function formatEprtArgument(host: string, port: number): string {
  checkPort(port);
  const octets = ipv4Octets(host);
  if (octets !== null) return `|1|${octets.join('.')}|${port}|`;
  if (typeof host === 'string' && isIPv6(host) && !host.includes('%')) return `|2|${host}|${port}|`;
  throw new InvalidArgumentError('EPRT needs an IPv4 or IPv6 address without a zone id');
}

/** The four octets of a dotted IPv4 address or an IPv4-mapped IPv6 address, else null. */
function ipv4Octets(host: string): number[] | null {
  if (typeof host !== 'string') return null;
  const v4 = host.toLowerCase().startsWith(IPV4_MAPPED_PREFIX) ? host.slice(IPV4_MAPPED_PREFIX.length) : host;
  const match = IPV4.exec(v4);
  if (match === null) return null;
  const octets = match.slice(1).map(Number);
  return octets.every((n) => n <= 255) ? octets : null;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError('data port must be an integer in 1..65535');
  }
}
