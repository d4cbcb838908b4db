/**
 * The FTPS steps of a session (RFC 4217): securing the control connection before anything
 * else is sent, protecting data connections after login, and the CCC the caller may ask for
 * (the login itself always stays protected). They fail closed: a refusal is a
 * {@link SecurityError} and the connection is dropped, so USER, PASS and file data never
 * travel in clear when the caller asked for TLS.
 */
import { SecurityError, type SecurityReason } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Reply } from '../protocol/reply.js';
import type { ControlConnection } from '../transport/control.js';

/** Explicit FTPS: AUTH TLS and the handshake, right after the greeting (implicit FTPS is TLS from the first byte). */
export async function secureControl(control: ControlConnection, options: ResolvedOptions): Promise<void> {
  if (options.tls !== 'explicit') return;
  const refused = await control.upgrade({ host: options.host, options: options.tlsOptions });
  if (refused) refuse(control, 'AUTH_REFUSED', 'AUTH TLS', refused, 'the session asks for TLS, so nothing is sent in clear');
}

/**
 * After login: with `tlsData`, PBSZ 0 then PROT P, so every data connection is TLS too; then,
 * with `clearControl`, CCC, so the control connection goes on in clear.
 */
export async function protect(control: ControlConnection, options: ResolvedOptions): Promise<void> {
  if (options.tlsData) {
    for (const [verb, reason] of [['PBSZ 0', 'PBSZ_REFUSED'], ['PROT P', 'PROT_REFUSED']] as const) {
      const reply = await control.command(verb);
      if (reply.code < 200 || reply.code >= 300) refuse(control, reason, verb, reply, 'data connections would not be protected; the session stops as asked');
    }
  }
  if (options.clearControl) {
    const refused = await control.clear();
    if (refused) refuse(control, 'CCC_REFUSED', 'CCC', refused, 'the control connection stays TLS; the session stops as asked');
  }
}

/** Fails closed: drops the connection and throws the SecurityError for `verb`'s refusal. */
function refuse(control: ControlConnection, reason: SecurityReason, verb: string, reply: Reply, consequence: string): never {
  const error = new SecurityError(reason, `the server refused ${verb}: ${reply.code} ${reply.text} (${consequence})`, reply.code);
  control.destroy(error);
  throw error;
}
