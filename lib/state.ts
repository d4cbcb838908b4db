/**
 * The session's state machine: one state type, the table of allowed transitions, and the one
 * place where a transition happens and is traced.
 *
 * ```
 * idle ──connect──▶ connecting ──greeting──▶ authenticating ──230──▶ ready ◀──▶ busy
 *  ▲                    │                        │   ▲                 │ ▲       │
 *  │  connect_error     │            login_error ▼   │ post('login')   │ │       │ connection lost
 *  └────────────────────┘                   awaiting_login             │ │       ▼
 *  ▲ gave up / lazy                                                    │ └── restoring ◀── reconnecting
 *  └────────────────────────────────────────────────────────── quit / close() ──▶ closing ──▶ closed
 * ```
 * (docs/state-machine.md has the full table.)
 */

/** Every state a session can be in. */
export type SessionState =
  /** Not connected: before the first connect, after `connect_error`, or after the connection was lost. Post `connect` to try again. */
  | 'idle'
  /** TCP connect and greeting in progress. */
  | 'connecting'
  /** USER/PASS/ACCT in progress. */
  | 'authenticating'
  /** Connected, waiting for a posted `login` (no credentials, or the last login was refused). */
  | 'awaiting_login'
  /** Logged in, no command running: the next queued command starts. */
  | 'ready'
  /** One command is running. */
  | 'busy'
  /** The connection was lost after a login: waiting out the backoff delay, then connecting again (or, before the first login, retrying a transient refusal). */
  | 'reconnecting'
  /** Connected again: logging in and replaying the restore plan (OPTS, TYPE, working directory). */
  | 'restoring'
  /** QUIT sent or `close()` called: no new command starts. */
  | 'closing'
  /** Final: every resource released. */
  | 'closed';

const ALLOWED: Readonly<Record<SessionState, readonly SessionState[]>> = {
  idle: ['connecting', 'reconnecting', 'closed'],
  connecting: ['authenticating', 'awaiting_login', 'reconnecting', 'idle', 'closing', 'closed'],
  authenticating: ['ready', 'awaiting_login', 'reconnecting', 'idle', 'closing', 'closed'],
  awaiting_login: ['authenticating', 'idle', 'closing', 'closed'],
  ready: ['busy', 'reconnecting', 'idle', 'closing', 'closed'],
  busy: ['ready', 'reconnecting', 'idle', 'closing', 'closed'],
  reconnecting: ['connecting', 'restoring', 'idle', 'closing', 'closed'],
  restoring: ['ready', 'reconnecting', 'idle', 'closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Holds the current state and performs transitions, refusing any the table does not allow. */
export class StateMachine {
  private current: SessionState = 'idle';

  constructor(private readonly onChange: (to: SessionState, from: SessionState, reason: string) => void) {}

  /** The current state. */
  get state(): SessionState {
    return this.current;
  }

  /** Whether `to` may follow the current state. */
  canMoveTo(to: SessionState): boolean {
    return ALLOWED[this.current].includes(to);
  }

  /** Moves to `to`; throws on a transition the table forbids (a bug in the session, never a server's doing). */
  moveTo(to: SessionState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    if (!ALLOWED[from].includes(to)) throw new Error(`FtpSession bug: transition ${from} -> ${to} (${reason}) is not allowed`);
    this.current = to;
    this.onChange(to, from, reason);
  }
}
