/**
 * The FTPS steps of a session (RFC 4217): securing the control connection before anything
 * else is sent, protecting data connections after login, and the CCC the caller may ask for
 * (the login itself always stays protected). They fail closed: a refusal is a
 * {@link SecurityError} and the connection is dropped, so USER, PASS and file data never
 * travel in clear when the caller asked for TLS.
 */
import { SecurityError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { ControlConnection } from '../transport/control.js';

/** Explicit FTPS: AUTH TLS and the handshake, right after the greeting (implicit FTPS is TLS from the first byte). */
export async function secureControl(control: ControlConnection, options: ResolvedOptions): Promise<void> {
  if (options.tls !== 'explicit') return;
  const refused = await control.upgrade({ host: options.host, options: options.tlsOptions });
  if (!refused) return;
  const error = new SecurityError('AUTH_REFUSED', `the server refused AUTH TLS: ${refused.code} ${refused.text} (the session asks for TLS, so nothing is sent in clear)`, refused.code);
  control.destroy(error);
  throw error;
}

/**
 * After login: with `tlsData`, PBSZ 0 then PROT P, so every data connection is TLS too; then,
 * with `clearControl`, CCC, so the control connection goes on in clear.
 */
export async function protect(control: ControlConnection, options: ResolvedOptions): Promise<void> {
  const steps = [
    ...(options.tlsData ? [['PBSZ 0', 'PBSZ_REFUSED'], ['PROT P', 'PROT_REFUSED']] as const : []),
    ...(options.clearControl ? [['CCC', 'CCC_REFUSED']] as const : []),
  ];
  for (const [verb, reason] of steps) {
    const reply = verb === 'CCC' ? await control.clear() : await control.command(verb);
    if (reply === null || (reply.code >= 200 && reply.code < 300)) continue;
    const consequence = verb === 'CCC' ? 'the control connection stays TLS' : 'data connections would not be protected';
    const error = new SecurityError(reason, `the server refused ${verb}: ${reply.code} ${reply.text} (${consequence}; the session stops as asked)`, reply.code);
    control.destroy(error);
    throw error;
  }
}
