/** USER, then PASS and ACCT as the server asks for them. */
import { AuthError, ProtocolError, type FtpError } from '../errors.js';
import type { Reply } from '../protocol/reply.js';
import { formatCommand } from '../protocol/command-line.js';
import type { ControlConnection } from '../transport/control.js';

/** Credentials for one login. */
export interface Credentials {
  readonly user: string;
  readonly password: string | undefined;
  readonly account: string | undefined;
}

/** The outcome of a login: the final reply, or why it failed. */
export type LoginOutcome = { ok: true; reply: Reply } | { ok: false; error: FtpError };

/**
 * Logs in. A 230 (or 202) to USER ends it without PASS; 332 asks for ACCT, which fails cleanly
 * when no account was given. Rejects only when the control connection is lost.
 */
export async function login(control: ControlConnection, credentials: Credentials): Promise<LoginOutcome> {
  let reply = await control.command(formatCommand('USER', [credentials.user]));
  if (reply.code === 331) {
    if (credentials.password === undefined) return { ok: false, error: new AuthError('the server asks for a password and none was given', 331) };
    reply = await control.command(formatCommand('PASS', [credentials.password]));
  }
  if (reply.code === 332) {
    if (credentials.account === undefined) return { ok: false, error: new AuthError('the server asks for an account (ACCT) and none was given', 332) };
    reply = await control.command(formatCommand('ACCT', [credentials.account]));
  }
  if (reply.code >= 200 && reply.code < 300) return { ok: true, reply };
  if (reply.code >= 400) return { ok: false, error: new AuthError(reply.text, reply.code) };
  return { ok: false, error: new ProtocolError(`unexpected reply during login: ${reply.code} ${reply.text}`) };
}
