/**
 * Building the command lines sent on the control connection, and masking them for the debug
 * trace. Every line is built here, so this is the one choke point where CR, LF and NUL are
 * refused before anything reaches the wire.
 */
import { InvalidArgumentError } from '../errors.js';

const UNSAFE = /[\r\n\0]/;
/** RFC 959 command codes are letters; extensions (XMD5, XSHA1) add digits. */
const VERB = /^[A-Za-z][A-Za-z0-9]*$/;
/** Verbs whose arguments are secrets: never shown in the trace or in error messages. */
const SECRET_VERB = /^\s*(pass|acct|resp)/i;
const SHOWN_VALUE_CHARS = 60;

/**
 * Throws InvalidArgumentError if value contains CR, LF or NUL (or is not a string). `what` names
 * the argument in the message (e.g. "path"). The message must NOT include the value itself when
 * `secret` is true; otherwise it shows a short, escaped excerpt of it.
 */
export function assertSafeArgument(value: string, what: string, secret = false): void {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
  if (!UNSAFE.test(value)) return;
  const shown = secret ? '' : `: ${JSON.stringify(value.slice(0, SHOWN_VALUE_CHARS))}`;
  throw new InvalidArgumentError(`${what} must not contain CR, LF or NUL${shown}`);
}

/**
 * Builds 'VERB arg1 arg2' (single spaces, no trailing space when there are no args), validating
 * every arg with assertSafeArgument first; returns the line WITHOUT CRLF. Arguments are kept
 * byte-exact (no trimming, no decoding: ' lead', 'trail ', '100%20.txt', 'a;b|c', 'ä.txt' stay
 * as they are). The verb must be ASCII letters and digits, starting with a letter. Arguments of
 * PASS, ACCT and RESP are treated as secrets.
 * @throws InvalidArgumentError for a bad verb or an unsafe argument; nothing is built then.
 */
export function formatCommand(verb: string, args: readonly string[]): string {
  if (typeof verb !== 'string' || !VERB.test(verb)) {
    const shown = JSON.stringify(String(verb).slice(0, SHOWN_VALUE_CHARS));
    throw new InvalidArgumentError(`command verb must be ASCII letters and digits: ${shown}`);
  }
  const secret = SECRET_VERB.test(verb);
  args.forEach((arg, index) => assertSafeArgument(arg, `argument ${index + 1} of ${verb}`, secret));
  return args.length === 0 ? verb : `${verb} ${args.join(' ')}`;
}

/**
 * The text shown in the debug trace for a sent line: 'PASS ....' / 'ACCT ....' / 'RESP ....'
 * (the verb as sent, case kept) for those verbs (case-insensitive), else the line unchanged.
 */
export function maskForTrace(line: string): string {
  const match = SECRET_VERB.exec(line);
  return match === null ? line : `${match[1]} ....`;
}
