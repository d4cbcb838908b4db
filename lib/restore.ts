/**
 * The restore plan: the ordered steps that give a new control connection back everything the
 * caller set on the old one, after the session reconnected by itself. Each step fails loudly
 * with a {@link RestoreError}: the session never runs the caller's commands logged in as
 * nobody, in another TYPE, without an OPTS that was accepted before, or in another directory.
 *
 * Before these steps the session has connected, read the greeting and, with FTPS, secured the
 * control connection exactly as the first time (implicit TLS, or AUTH TLS and the handshake),
 * so USER never travels in clear; the `protection` step then asks for the same PROT P (and
 * CCC, if asked for) as the first login: a restored session is never less protected than the
 * one it replaces. The data connection mode and what the server refused before (EPSV, EPRT)
 * live in the session's settings and need nothing sent.
 */
import { RestoreError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { formatCommand } from './protocol/command-line.js';
import { login, type Credentials } from './run/login.js';
import { askWorkingDirectory, type SessionSettings } from './run/context.js';
import { protect } from './run/secure.js';
import type { Trace } from './trace.js';
import type { ControlConnection } from './transport/control.js';

/** What the steps work with. */
interface Restoring {
  readonly control: ControlConnection;
  readonly settings: SessionSettings;
  readonly credentials: Credentials;
  readonly options: ResolvedOptions;
}

/** One step of the plan. */
interface RestoreStep {
  readonly name: string;
  /** Sends the step's commands; throws RestoreError (SecurityError for `protection`) when the server refuses. */
  run(restoring: Restoring): Promise<void>;
}

async function expect2xx(control: ControlConnection, step: string, line: string, shown = line): Promise<void> {
  const reply = await control.command(line);
  if (reply.code < 200 || reply.code >= 300) throw new RestoreError(step, `restoring the session: ${shown} was refused: ${reply.code} ${reply.text}`, reply.code);
}

/** The steps, in the order they run. */
export const RESTORE_PLAN: readonly RestoreStep[] = [
  {
    name: 'login',
    async run({ control, credentials }) {
      const outcome = await login(control, credentials);
      if (!outcome.ok) throw new RestoreError('login', `restoring the session: login failed: ${outcome.error.message}`, outcome.error.replyCode, { cause: outcome.error });
    },
  },
  {
    name: 'protection',
    run: ({ control, options }) => protect(control, options),
  },
  {
    name: 'opts',
    async run({ control, settings }) {
      for (const args of settings.opts.values()) await expect2xx(control, 'opts', formatCommand('OPTS', args));
    },
  },
  {
    name: 'type',
    async run({ control, settings }) {
      if (settings.type !== null) await expect2xx(control, 'type', formatCommand('TYPE', settings.type.split(' ')));
    },
  },
  {
    name: 'cwd',
    async run({ control, settings }) {
      const cwd = settings.cwd;
      if (cwd === null) return;
      if (cwd === undefined) throw new RestoreError('cwd', 'restoring the session: the working directory is unknown (PWD failed after the last cd)', null);
      await expect2xx(control, 'cwd', formatCommand('CWD', [cwd]));
      // Some servers accept CWD into a path that then resolves elsewhere (symlinks, chroots): check.
      const { reply, path } = await askWorkingDirectory(control);
      if (path !== cwd) throw new RestoreError('cwd', `restoring the session: PWD after CWD ${cwd} answered ${reply.code} ${reply.text}`, reply.code);
    },
  },
];

/** Runs every step in order; throws the first step's RestoreError (or the connection's error). */
export async function restore(restoring: Restoring, trace: Trace): Promise<void> {
  for (const step of RESTORE_PLAN) {
    trace.note(`restore: ${step.name}`);
    await step.run(restoring);
  }
}
