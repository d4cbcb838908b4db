/**
 * The `fxp` command's runner: it lends the session's control connection, for the length of one
 * server-to-server copy, to the code that drives both sessions (`lib/api/fxp-exchange.ts`).
 *
 * The lease is granted when the command reaches the head of the queue, so commands posted
 * before it finish first and commands posted after it wait. The session stays `busy` until the
 * holder releases it. A lost connection ends the lease: its pending replies reject, and the
 * session reconnects and restores itself as after any loss; the holder decides whether to take
 * a new lease and resume.
 */
import { InvalidStateError } from '../errors.js';
import { formatCommand } from '../protocol/command-line.js';
import type { Reply } from '../protocol/reply.js';
import type { Job, RunContext } from './context.js';

/** Which end of a copy a session is. */
export type FxpRole = 'source' | 'target';

/** The exclusive use of one session's control connection, granted by {@link runHold}. */
export interface Lease {
  readonly role: FxpRole;
  /** The server's address as the control connection sees it (for a PASV reply that names no usable host). */
  readonly remoteAddress: string;
  /** Whether the session protects data connections (PROT P; still so after CCC). */
  readonly protectsData: boolean;
  /** Sends `verb args` and resolves with its final reply (rejects when the connection is lost or the reply times out). */
  command(verb: string, args?: readonly string[]): Promise<Reply>;
  /**
   * Sends a transfer command (RETR, STOR, APPE) and resolves with its first reply. After a 1xx
   * the final reply is owed: {@link done} waits for it, {@link abort} stops the transfer.
   */
  transfer(verb: string, args: readonly string[]): Promise<Reply>;
  /** The final reply of the transfer started by {@link transfer} (untimed: the data may take long). */
  done(): Promise<Reply>;
  /** Stops a transfer whose final reply is still owed (ABOR), and brings replies back in step. */
  abort(): Promise<void>;
  /** Makes sure of TYPE `type` (sent only when the session does not know it already). */
  ensureType(type: 'A' | 'I'): Promise<Reply | null>;
  /** Gives the connection back to the session's queue. */
  release(): void;
}

/** What the `fxp` job carries: the role, and where to hand the lease. */
export interface HoldRequest {
  readonly role: FxpRole;
  grant(lease: Lease): void;
}

/** Runs the `fxp` job: grants the lease and waits for its release or for the connection's loss. */
export async function runHold(ctx: RunContext, job: Job): Promise<void> {
  const { control, settings, signal } = ctx;
  const hold = job.hold!;
  const step = (reply: Reply, line: string) => {
    ctx.events.push('fxp_step', hold.role, line, reply.code, reply.text);
    return reply;
  };
  let over = false;
  let release: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    release = () => {
      over = true;
      signal.removeEventListener('abort', release);
      resolve();
    };
    if (signal.aborted) release();
    else signal.addEventListener('abort', release, { once: true });
  });
  let owed: Promise<Reply> | null = null;
  let arrived = false;
  const send = async (verb: string, args: readonly string[]): Promise<Reply> => {
    if (over) throw new InvalidStateError('FXP lease used after its release');
    const line = formatCommand(verb, args);
    return step(await control.request(line), line);
  };
  const lease: Lease = {
    role: hold.role,
    remoteAddress: control.remoteAddress,
    protectsData: ctx.options.tlsData,
    async command(verb, args = []) {
      const first = await send(verb, args);
      return first.code >= 200 ? first : step(await control.final(first), verb);
    },
    async transfer(verb, args) {
      const first = await send(verb, args);
      if (first.code >= 200) return first;
      arrived = false;
      owed = control.nextReply(false).then((reply) => control.final(reply)).then((reply) => {
        arrived = true;
        return step(reply, `(${verb} done)`);
      });
      owed.catch(() => {}); // observed by done() or abort()
      return first;
    },
    done: () => owed ?? Promise.reject(new InvalidStateError('FXP: no transfer started')),
    async abort() {
      if (!owed || arrived || control.closed) return;
      control.send('ABOR');
      control.startReplyTimer();
      await owed.catch(() => {});
      await control.sync();
    },
    async ensureType(type) {
      if (settings.type === type) return null;
      const reply = await lease.command('TYPE', [type]);
      if (reply.code < 300) settings.type = type;
      return reply;
    },
    release: () => release(),
  };
  job.progress.sent = true;
  hold.grant(lease);
  // Ends at the release, or at once when the connection is lost (the core then reconnects; the holder decides whether to resume).
  await ended;
  // A holder that let go in the middle of a transfer: its final reply must not reach the next command.
  await lease.abort();
}
