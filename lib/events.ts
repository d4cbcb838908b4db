/**
 * The event map (one typed definition of every event and its arguments) and the delivery of
 * events: asynchronous, in order, filtered and renamed by the `events` option.
 */
import type { TransferProgress } from './api/progress.js';
import type { FtpError } from './errors.js';
import type { EventSubscription } from './options.js';
import type { SessionState } from './state.js';

/** Commands whose success and failure are one reply each. */
export type SimpleCommandName =
  | 'cd' | 'cdup' | 'delete' | 'mdtm' | 'mkdir' | 'noop' | 'opts' | 'pwd' | 'rmdir' | 'site' | 'size'
  | 'stat' | 'syst' | 'type' | 'quot' | 'feat' | 'help' | 'quit';
/** Commands that receive data over a data connection. */
export type DownloadCommandName = 'ls' | 'dir' | 'list' | 'nlst' | 'mlsd' | 'get';

/** The extra, parsed argument some simple commands add after `param`. */
interface SimpleResults {
  pwd: [path: string];
  size: [size: number];
  mdtm: [modified: Date];
  feat: [features: Map<string, string>];
}

/**
 * An error event: `code` is the server's reply code, or `null` when no reply caused it (timeout,
 * closed connection, bad argument); `error` is the same failure as a typed {@link FtpError}.
 */
export type ErrorListener = (code: number | null, text: string, param: string | undefined, error: FtpError) => void;

type SimpleEvents = {
  [N in SimpleCommandName]: (
    code: number, text: string, param: string | undefined,
    ...result: N extends keyof SimpleResults ? SimpleResults[N] : []
  ) => void;
} & { [N in SimpleCommandName as `${N}_error`]: ErrorListener };

type DownloadEvents = {
  [N in DownloadCommandName as `${N}_connected`]: (param: string | undefined) => void;
} & {
  [N in DownloadCommandName as `${N}_server`]: (code: number, text: string, param: string | undefined) => void;
} & {
  [N in DownloadCommandName as `${N}_data`]: (data: N extends 'get' ? Buffer : string, param: string | undefined) => void;
} & {
  [N in DownloadCommandName as `${N}_done`]: (param: string | undefined) => void;
} & { [N in DownloadCommandName as `${N}_error`]: ErrorListener };

/**
 * Every event a session emits, with its arguments. `code` is the numeric reply code, `text`
 * the reply text (all lines for simple-command successes, the last line otherwise), `param` the
 * command's first argument.
 */
export type FtpEvents = SimpleEvents & DownloadEvents & {
  /** The server greeted with 2xx. */
  connected: (code: number, text: string) => void;
  /** TCP connect, greeting or timeout failed; post `connect` to try again. */
  connect_error: (code: number | null, text: string, error: FtpError) => void;
  /** Login completed; queued commands start now. */
  authenticated: (code: number, text: string) => void;
  /** Login refused or impossible; post `login(user, password)` to try again. */
  login_error: (code: number | null, text: string, error: FtpError) => void;
  /** Upload (put, appe, stou): the data connection is open; post `put_data` then `put_close`. */
  put_connected: (param: string | undefined) => void;
  /** Upload: the server's 1xx reply to STOR/APPE/STOU (STOU's names the file). */
  put_server: (code: number, text: string, param: string | undefined) => void;
  /** Upload: one posted chunk reached the socket. */
  put_flushed: (bytes: number, param: string | undefined) => void;
  /** Upload: the data connection closed and the server confirmed with 2xx. */
  put_closed: (param: string | undefined) => void;
  put_error: ErrorListener;
  /** RNFR accepted (350). */
  rename_partial: (code: number, text: string, from: string) => void;
  /** RNTO accepted: the rename is done. */
  rename: (code: number, text: string, to: string) => void;
  rename_error: ErrorListener;
  /** A server-to-server copy (`transferFile`): one command this session sent for it, and its reply. */
  fxp_step: (role: 'source' | 'target', line: string, code: number, text: string) => void;
  /** A server-to-server copy's progress (emitted on both sessions). */
  fxp_progress: (progress: TransferProgress) => void;
  /** A server-to-server copy finished, verified as asked (emitted on both sessions). */
  fxp_done: (role: 'source' | 'target', path: string) => void;
  /** A server-to-server copy failed for good (emitted on both sessions). */
  fxp_error: ErrorListener;
  /** The connection mode of later transfers changed. */
  mode: (mode: 'active' | 'passive') => void;
  mode_error: ErrorListener;
  /** A line of a listing (`listEntries`, `iterateEntries`) that no listing format reads; `path` is the listed directory. */
  listing_unparsed: (line: string, path: string | undefined) => void;
  /** A reply that no command asked for (e.g. `421 Timeout` while idle). */
  server_message: (code: number, text: string) => void;
  /** The control connection closed (by the server, the network, `quit` or `close()`). */
  disconnected: (reason: string) => void;
  /** Reconnect attempt `attempt` (from 1) starts after `delayMs`; `reason` is why the last connection or attempt ended. */
  reconnecting: (attempt: number, delayMs: number, reason: string) => void;
  /** The session reconnected and restored itself; queued and interrupted commands go on. */
  reconnected: (connectCount: number) => void;
  /** Reconnecting gave up (retry strategy, or a permanent refusal such as a working directory that is gone); queued commands failed. */
  reconnect_error: (code: number | null, text: string, error: FtpError) => void;
  /** The session moved from one state to another. */
  state: (to: SessionState, from: SessionState) => void;
  /** A failure tied to no command: an unknown command name, a command posted where it cannot apply. */
  error: (error: FtpError, command: string | undefined) => void;
  /** `close()` finished: everything is released. */
  closed: () => void;
};

/** Name of any event. */
export type FtpEventName = keyof FtpEvents;

/** Where runners send a command's events. */
export interface EventSink {
  /** Queues one event. */
  push<E extends FtpEventName>(event: E, ...args: Parameters<FtpEvents[E]>): void;
  /** An event whose name is built at run time (`${command}_data`, ...); prefer {@link push}. */
  pushNamed(event: string, ...args: unknown[]): void;
}

/**
 * Queues events and delivers them after the current call stack, in the order they were queued,
 * applying the `events` subscription (filter and rename).
 */
export class EventDelivery implements EventSink {
  private readonly queue: Array<[string, unknown[]]> = [];
  private scheduled = false;
  private readonly renames = new Map<string, string>();
  private readonly all: boolean;

  constructor(
    subscriptions: readonly EventSubscription[] | undefined,
    private readonly deliver: (name: string, args: unknown[]) => void,
  ) {
    this.all = subscriptions === undefined;
    for (const entry of subscriptions ?? []) {
      if (typeof entry === 'string') {
        if (entry === 'all') this.all = true;
        else if (!this.renames.has(entry)) this.renames.set(entry, entry);
      } else {
        for (const [event, alias] of Object.entries(entry)) this.renames.set(event, alias);
      }
    }
  }

  /** The name `event` is delivered under, or undefined when nobody subscribed to it. */
  nameFor(event: string): string | undefined {
    return this.renames.get(event) ?? (this.all ? event : undefined);
  }

  /** Queues one event for delivery. */
  push<E extends FtpEventName>(event: E, ...args: Parameters<FtpEvents[E]>): void {
    this.pushNamed(event, ...args);
  }

  /** Queues an event whose name is built at run time (`${command}_data`, ...); prefer {@link push}. */
  pushNamed(event: string, ...args: unknown[]): void {
    const name = this.nameFor(event);
    if (name === undefined) return;
    this.queue.push([name, args]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    // Events queued by listeners during the drain are delivered in this same pass, after the rest.
    let delivered = 0;
    try {
      while (delivered < this.queue.length) {
        const [name, args] = this.queue[delivered++]!;
        this.deliver(name, args);
      }
    } finally {
      // A throwing listener must not lose or repeat the events around it.
      this.queue.splice(0, delivered);
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.drain());
      }
    }
  }
}
