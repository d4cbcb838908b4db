/**
 * The session core: a state machine that owns one control connection. Callers post commands;
 * the core queues them (FIFO), runs one at a time, and reports everything as events (or, for
 * the promise API in `lib/session.ts`, to each command's own observer).
 */
import { EventEmitter } from 'eventemitter3';
// typed-emitter is CommonJS with a default-exported type: reach it through the namespace.
import type * as TypedEmitterModule from 'typed-emitter';
import { checkArguments, COMMANDS, lookupCommand, type CommandArgs, type CommandName, type CommandSpec } from './commands.js';
import {
  ConnectionClosedError, FtpError, InvalidArgumentError, InvalidStateError, RestoreError, SecurityError, SessionClosedError, TimeoutError, UnknownCommandError,
} from './errors.js';
import { EventDelivery, type EventSink, type FtpEventName, type FtpEvents } from './events.js';
import { resolveOptions, type FtpSessionOptions, type ResolvedOptions, type TransferMode } from './options.js';
import type { Reply } from './protocol/reply.js';
import { readsNoCommandDuringUpload } from './protocol/servers.js';
import { restore } from './restore.js';
import { isPermanent, isTransientReply, newProgress, recoverFromFailure, recoverFromLoss } from './retry.js';
import { StateMachine, type SessionState } from './state.js';
import { Trace } from './trace.js';
import { ControlConnection } from './transport/control.js';
import { abortError, observedEvents, type Job, type JobObserver, type JobRequest, type RunContext, type SessionSettings, type UploadFeed } from './run/context.js';
import { runDownload } from './run/download.js';
import { runHold, type HoldRequest, type Lease } from './run/hold.js';
import { login, type Credentials } from './run/login.js';
import { protect, secureControl } from './run/secure.js';
import { runRename, runSimple } from './run/simple.js';
import { createFeed, feedUpload, runUpload } from './run/upload.js';
import { dropEarly } from './run/transfer.js';
import { runVerified } from './run/verify.js';

const TypedEventEmitter = EventEmitter as unknown as new () => TypedEmitterModule.default<FtpEvents>;
type Emit = (name: string, ...args: unknown[]) => void;
let nextId = 1;

/** The runner of each command kind that goes through the queue. */
const RUNNERS: Record<'simple' | 'download' | 'upload' | 'rename' | 'hold', (ctx: RunContext, job: Job) => Promise<void>> = {
  simple: runSimple,
  hold: runHold,
  download: runDownload,
  upload: runUpload,
  rename: runRename,
};

/**
 * The event-driven core of {@link FtpSession} (POE::Component::Client::FTP's model): queue,
 * state transitions, reconnect, events. `FtpSession` adds the promise API on top.
 */
export class SessionCore extends TypedEventEmitter {
  /** A number that tells sessions apart in the trace. */
  readonly id = nextId++;
  /** The options this session was spawned with (a sibling session is spawned with them). */
  protected readonly spawnedWith: FtpSessionOptions;
  private readonly options: ResolvedOptions;
  private readonly trace: Trace;
  private readonly delivery: EventDelivery;
  private readonly machine: StateMachine;
  private readonly queue: Job[] = [];
  private readonly settings: SessionSettings;
  private control: ControlConnection | null = null;
  private abort = new AbortController();
  private current: Job | null = null;
  /** The current command's attempt failed and it will run again (retry policy). */
  private runAgain = false;
  private openFeed: UploadFeed | null = null;
  private credentials: Credentials | undefined;
  private last = { code: 421, message: '' };
  private connects = 0;
  private closing: Promise<void> | null = null;
  private pumpScheduled = false;
  /** Logged in at least once: from now on a lost connection is reconnected and restored. */
  private loggedIn = false;
  /** Consecutive failed reconnect attempts (0 after a success). */
  private attempts = 0;
  private backoff: NodeJS.Timeout | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private reconnectRequested = false;
  /** Why the last connection ended. */
  private lostWith: FtpError | null = null;
  /** Removes each queued job's abort listener (promise API) once the job is over. */
  private readonly abortListeners = new Map<Job, () => void>();
  /** Promise API callers waiting for the first login (see {@link whenReady}). */
  private readyWaiters: Array<{ resolve: () => void; reject: (error: FtpError) => void }> = [];
  /** The internal NOOP of `keepalive`: it emits no event. */
  private readonly keepaliveJob: Job = { spec: COMMANDS.noop, args: [], param: undefined, progress: newProgress() };

  /** Starts connecting at once. Throws InvalidArgumentError for bad options. */
  protected constructor(options: FtpSessionOptions) {
    super();
    this.options = resolveOptions(options);
    this.spawnedWith = options;
    this.trace = new Trace(this.options.debug, `FtpSession#${this.id}`);
    this.delivery = new EventDelivery(this.options.events, (name, args) => (EventEmitter.prototype.emit as Emit).call(this, name, ...args));
    this.machine = new StateMachine((to, from, reason) => {
      this.trace.note(`state ${from} -> ${to} (${reason})`);
      this.delivery.push('state', to, from);
    });
    this.settings = {
      connectionMode: this.options.connectionMode, type: null, epsv: null, eprt: null, cwd: null, opts: new Map(), features: null, staleRest: false, overlap: true, uploadsAhead: false,
    };
    const { user, password, account } = this.options;
    if (user !== undefined && password !== undefined) this.credentials = { user, password, account };
    void this.establish();
  }

  /** The current state (see {@link SessionState}). */
  get state(): SessionState {
    return this.machine.state;
  }

  /** The last reply's code; 421 before any reply and after the connection closed or timed out (Net::Cmd's pseudo-status). */
  get code(): number {
    return this.last.code;
  }

  /** The last reply's text (all lines, joined with newlines), or `[FtpSession] Connection closed` / `[FtpSession] Timeout`. */
  get message(): string {
    return this.last.message;
  }

  /** The session's `transferMode` option (what file transfers make sure of). */
  get transferMode(): TransferMode {
    return this.options.transferMode;
  }

  /** Whether data connections are protected with TLS (PROT P): FTPS with `tlsData` on. */
  protected get protectsData(): boolean {
    return this.options.tlsData;
  }

  /** Number of control connections opened so far (1 after the first connect). */
  get connectCount(): number {
    return this.connects;
  }

  /** Whether the last reply was positive (1xx, 2xx or 3xx). */
  ok(): boolean {
    return this.last.code > 0 && this.last.code < 400;
  }

  /** The first digit of the last reply's code. */
  status(): number {
    return Math.floor(this.last.code / 100);
  }

  /**
   * Posts a command. It runs after every command posted before it, once the session is logged
   * in; its outcome arrives as events. Never throws and never emits synchronously: a bad name or
   * argument is reported as an error event.
   */
  post<N extends CommandName>(name: N, ...args: CommandArgs[N]): void {
    this.submit(name, args);
  }

  /**
   * Queues a command like {@link post}. With `request.observer` (the promise API) its events and
   * its failure go to that observer instead of the session's listeners.
   */
  protected submit(name: string, args: readonly unknown[], request: JobRequest = {}): void {
    const spec = lookupCommand(name);
    if (!spec) {
      const error = new UnknownCommandError(String(name));
      if (request.observer) request.observer.failed(error);
      else this.delivery.push('error', error, String(name));
      return;
    }
    const param = spec.kind !== 'feed' && typeof args[0] === 'string' ? args[0] : undefined;
    const target = { spec, param, observer: request.observer };
    if (this.closing || this.state === 'closed') {
      this.emitFailure(target, new SessionClosedError());
      return;
    }
    let words: string[];
    try {
      words = checkArguments(spec, args, this.options.encoding);
    } catch (error) {
      this.emitFailure(target, error as FtpError);
      return;
    }
    switch (spec.kind) {
      case 'feed':
        this.feed(spec, args[0] as Buffer | Uint8Array | string | undefined);
        return;
      case 'connect':
        if (this.state === 'idle') void this.establish();
        else this.delivery.push('error', new InvalidStateError(`cannot connect in state ${this.state}`), 'connect');
        return;
      case 'hold':
        if (!request.hold) {
          this.emitFailure(target, new InvalidArgumentError('fxp is not posted: call transferFile()'));
          return;
        }
        this.enqueue({ ...request, spec, args: words, param, progress: newProgress() });
        return;
      case 'upload': {
        const feed = request.feed ?? createFeed();
        if (!request.observer) this.openFeed = feed;
        this.enqueue({ ...request, spec, args: words, param, feed, progress: newProgress() });
        return;
      }
      default:
        this.enqueue({ ...request, spec, args: words, param, progress: newProgress(request.offset) });
    }
  }

  /**
   * Queues an `fxp` command and resolves with the lease of the control connection once it runs
   * (see `lib/run/hold.ts`); rejects when it cannot run (session closed, reconnect gave up,
   * `signal` aborted while queued). Its step events go to the session's listeners.
   */
  protected hold(role: HoldRequest['role'], signal?: AbortSignal): Promise<Lease> {
    return new Promise((resolve, reject) => {
      this.submit('fxp', [], {
        hold: { role, grant: resolve },
        ...(signal ? { signal } : {}),
        observer: { event: (name, args) => this.delivery.pushNamed(name, ...args), failed: reject },
      });
    });
  }

  /** Emits an event that belongs to no command (the promise API's own, such as `listing_unparsed`). */
  protected notify<E extends FtpEventName>(event: E, ...args: Parameters<FtpEvents[E]>): void {
    this.delivery.push(event, ...args);
  }

  /**
   * Resolves once the session is logged in and ready (at once when it is); rejects with the
   * error of a first connect or login that failed, or when the session closes first.
   */
  protected whenReady(): Promise<void> {
    if (this.loggedIn) return Promise.resolve();
    if (this.ending) return Promise.reject(new SessionClosedError());
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Ends the session: QUIT when the connection is idle, then releases every socket. Queued
   * commands fail with `SessionClosedError`. Resolves when everything is released; never rejects.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown('closed by the caller');
    return this.closing;
  }

  /**
   * Drops the control connection without QUIT, then reconnects and restores the session at
   * once (AutoReconnect's `reconnect`). The running command, if any, is treated as interrupted.
   */
  reconnect(): void {
    if (this.ending || !this.loggedIn) {
      this.delivery.push('error', new InvalidStateError(`cannot reconnect in state ${this.state}${this.loggedIn ? '' : ' (never logged in)'}`), 'reconnect');
      return;
    }
    this.reconnectRequested = true;
    if (this.control) this.control.destroy(new ConnectionClosedError('reconnect requested by the caller'));
    else if (this.state === 'idle') this.afterLoss(new ConnectionClosedError('reconnect requested by the caller'));
  }

  /**
   * Closes the control socket abruptly, without QUIT (AutoReconnect's `disconnect`, mostly for
   * tests): the session then heals itself as after any lost connection.
   */
  disconnect(): void {
    this.control?.destroy(new ConnectionClosedError('disconnected by the caller'));
  }

  // ---- connection -------------------------------------------------------------------------

  /** Whether the session is closing or closed. */
  private get ending(): boolean {
    return this.closing !== null || this.state === 'closing' || this.state === 'closed';
  }

  /** Opens a control connection, then logs in (the first time) or restores the session (later). */
  private async establish(): Promise<void> {
    const restoring = this.loggedIn;
    this.machine.moveTo(restoring ? 'reconnecting' : 'connecting', restoring ? `attempt ${this.attempts}` : 'connect');
    this.connects++;
    const { host, port, timeout, maxLineBytes, maxReplyBytes, encoding, tls, tlsOptions, sourceAddress } = this.options;
    const implicitTls = tls === 'implicit' ? { host, options: tlsOptions } : undefined;
    let opened: Awaited<ReturnType<typeof ControlConnection.open>>;
    try {
      opened = await ControlConnection.open({ host, port, timeout, trace: this.trace, limits: { maxLineBytes, maxReplyBytes }, encoding, implicitTls, localAddress: sourceAddress });
      await secureControl(opened.connection, this.options);
    } catch (error) {
      if (!this.ending) this.establishFailed(asFtpError(error), null);
      return;
    }
    const { connection, greeting } = opened;
    if (this.ending) {
      connection.destroy(new SessionClosedError());
      return;
    }
    this.attach(connection);
    this.settings.uploadsAhead = readsNoCommandDuringUpload(greeting.text);
    this.last = { code: greeting.code, message: greeting.message };
    if (!restoring) this.delivery.push('connected', greeting.code, greeting.text);
    if (this.credentials) {
      await this.authenticate(connection);
    } else {
      this.machine.moveTo('awaiting_login', 'no credentials');
      this.schedulePump();
    }
  }

  /** Logs in (the first time), or after a reconnect runs the restore plan. */
  private async authenticate(control: ControlConnection): Promise<void> {
    const restoring = this.loggedIn;
    this.machine.moveTo(restoring ? 'restoring' : 'authenticating', restoring ? 'restore plan' : 'login');
    let reply: Reply | null = null;
    try {
      if (restoring) {
        await restore({ control, settings: this.settings, credentials: this.credentials!, options: this.options }, this.trace);
      } else {
        const outcome = await login(control, this.credentials!);
        if (!outcome.ok) throw outcome.error;
        await protect(control, this.options);
        reply = outcome.reply;
      }
    } catch (error) {
      if (!this.ending) this.establishFailed(asFtpError(error), control);
      return;
    }
    if (this.ending) return;
    this.loggedIn = true;
    this.attempts = 0;
    this.machine.moveTo('ready', restoring ? 'restored' : 'logged in');
    if (reply) this.delivery.push('authenticated', reply.code, reply.text);
    else this.delivery.push('reconnected', this.connects);
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    this.schedulePump();
  }

  /**
   * A connect, login or restore attempt failed. After the first login every failure but a
   * permanent refusal is retried with backoff; before it, only a transient (4xx) reply is.
   */
  private establishFailed(error: FtpError, control: ControlConnection | null): void {
    const retry = this.options.reconnect && (this.loggedIn ? !isPermanent(error) : isTransientReply(error));
    if (retry || this.loggedIn) control?.destroy(error);
    if (retry && this.retryLater(error)) return;
    if (this.loggedIn) {
      this.giveUp(error);
      return;
    }
    // The first connection never worked: POE's events; the caller posts `connect` or `login`.
    this.setPseudoStatus(error);
    if (control && !control.closed) {
      this.machine.moveTo('awaiting_login', 'login refused');
      this.schedulePump();
    } else {
      this.machine.moveTo('idle', error.message);
    }
    this.emitFailure({ spec: control ? COMMANDS.login : COMMANDS.connect, param: undefined }, error);
    this.failWaiting(error);
  }

  /**
   * The first connect or login failed: promise API calls (which must settle) fail with its
   * error; posted commands keep waiting for a `connect` or `login`, as in POE.
   */
  private failWaiting(error: FtpError): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    const waiting = this.queue.filter((job) => job.observer);
    this.queue.splice(0, this.queue.length, ...this.queue.filter((job) => !job.observer));
    for (const job of waiting) this.report(job, error);
  }

  /** Schedules the next reconnect attempt; false when the retry strategy gives up. */
  private retryLater(error: FtpError): boolean {
    const attempt = ++this.attempts;
    let delay: number | null;
    try {
      delay = this.options.retryStrategy(attempt, error);
    } catch (failure) {
      this.trace.note(`retryStrategy threw: ${String(failure)}`);
      delay = null;
    }
    if (delay === null || !Number.isFinite(delay) || delay < 0) {
      this.attempts = 0;
      return false;
    }
    this.machine.moveTo('reconnecting', error.message);
    this.delivery.push('reconnecting', attempt, delay, error.message);
    this.backoff = setTimeout(() => {
      this.backoff = null;
      void this.establish();
    }, delay);
    return true;
  }

  /** Reconnecting failed for good: every queued command fails with its own error event; nothing waits. */
  private giveUp(error: FtpError): void {
    this.attempts = 0;
    this.setPseudoStatus(error);
    this.machine.moveTo('idle', `reconnect gave up: ${error.message}`);
    this.delivery.push('reconnect_error', error.replyCode, error.message, error);
    const failure = error instanceof RestoreError || error instanceof SecurityError
      ? error
      : new ConnectionClosedError(`reconnecting failed: ${error.message}`, { cause: error });
    for (const job of this.queue.splice(0)) this.report(job, failure);
  }

  private attach(connection: ControlConnection): void {
    this.control = connection;
    this.settings.staleRest = false; // a new connection has no REST pending
    this.abort = new AbortController();
    connection.onReply = (reply) => {
      this.last = { code: reply.code, message: reply.message };
    };
    connection.onUnsolicited = (reply) => this.delivery.push('server_message', reply.code, reply.text);
    connection.onClose = (error) => this.connectionLost(connection, error);
  }

  /**
   * The control connection is gone. A running command or login finishes first (its runner
   * sees the loss) and decides; otherwise the session reconnects now or when work arrives.
   */
  private connectionLost(connection: ControlConnection, error: FtpError): void {
    if (connection !== this.control) return; // a replaced connection: its late news is ignored
    this.control = null;
    this.lostWith = error;
    this.abort.abort(error);
    this.stopKeepalive();
    if (this.ending) return;
    this.setPseudoStatus(error);
    this.delivery.push('disconnected', error.message);
    if (this.current || this.state === 'authenticating' || this.state === 'restoring') return;
    this.afterLoss(error);
  }

  /** Reconnects now when there is work (or the caller asked), else waits in `idle` for work (lazy). */
  private afterLoss(error: FtpError): void {
    if (this.ending) return;
    const wanted = this.reconnectRequested || this.queue.length > 0 || !this.options.lazyReconnect;
    this.reconnectRequested = false;
    if (this.loggedIn && this.options.reconnect && wanted) {
      if (!this.retryLater(error)) this.giveUp(error);
      return;
    }
    this.machine.moveTo('idle', error.message);
  }

  private setPseudoStatus(error: FtpError): void {
    if (error.replyCode !== null) this.last = { code: error.replyCode, message: error.message };
    else this.last = { code: 421, message: error instanceof TimeoutError ? '[FtpSession] Timeout' : '[FtpSession] Connection closed' };
  }

  // ---- queue --------------------------------------------------------------------------------

  private enqueue(job: Job): void {
    if (job.signal?.aborted) {
      this.report(job, abortError(job.signal));
      return;
    }
    if (job.observer && this.state === 'idle' && !this.loggedIn) {
      // A promise must settle: nothing would run it until the caller posts `connect`.
      this.report(job, new ConnectionClosedError(`not connected (${this.last.message || 'the first connect failed'}): post 'connect' first`));
      return;
    }
    // Aborted while queued: leaves the queue at once. While running, the runner sees the signal.
    if (job.signal) {
      const signal = job.signal;
      const onAbort = () => {
        if (job.early) return; // its commands are sent: it runs, reads their replies and sends ABOR
        const index = this.queue.indexOf(job);
        if (index !== -1) this.report(this.queue.splice(index, 1)[0]!, abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.abortListeners.set(job, () => signal.removeEventListener('abort', onAbort));
    }
    this.queue.push(job);
    // Lazy reconnect: the connection was lost while idle, and now there is work.
    if (this.state === 'idle' && this.loggedIn) this.afterLoss(this.lostWith ?? new ConnectionClosedError('not connected'));
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Starts the next command the current state allows, if none is running. */
  private pump(): void {
    if (this.current || !this.control) return;
    if (this.state === 'awaiting_login') {
      const index = this.queue.findIndex((job) => job.spec.kind === 'login');
      if (index === -1) return;
      const [job] = this.queue.splice(index, 1);
      const [user, password, account] = job!.args;
      this.credentials = { user: user!, password, account };
      void this.authenticate(this.control);
      return;
    }
    if (this.state !== 'ready') return;
    const job = this.queue.shift();
    if (!job) {
      this.startKeepalive();
      return;
    }
    if (job.spec.kind === 'login') {
      this.report(job, new InvalidStateError('already logged in'));
      this.schedulePump();
    } else if (job.spec.kind === 'setting') {
      this.settings.connectionMode = job.args[0] as 'active' | 'passive';
      this.eventsOf(job).push('mode', this.settings.connectionMode);
      this.schedulePump();
    } else if (job.signal?.aborted && !job.early) {
      this.report(job, abortError(job.signal));
      this.schedulePump();
    } else {
      this.run(job);
    }
  }

  private run(job: Job): void {
    const control = this.control!;
    this.stopKeepalive();
    this.current = job;
    job.progress.sent = false;
    this.machine.moveTo('busy', job === this.keepaliveJob ? 'keepalive' : job.spec.name);
    const ctx = this.context(control, job);
    const runner = RUNNERS[job.spec.kind as keyof typeof RUNNERS];
    const attempt = job === this.keepaliveJob
      ? control.command('NOOP')
      : job.progress.verify ? runVerified(ctx, job, runner) : runner(ctx, job);
    attempt.then(
      // A runner that returns has emitted the outcome or handed its failure to settle(); a
      // connection that closes right after it changes nothing for this command.
      () => this.finish(job, null),
      (error: unknown) => {
        // Runners throw only when the connection is lost, or on a bug: either way, replies on
        // this connection can no longer be trusted to pair with commands, so it is dropped.
        const lost = asFtpError(error);
        control.destroy(lost);
        this.finish(job, lost);
      },
    );
  }

  /** The current attempt ended; `lost` is set when the connection was lost during it. */
  private finish(job: Job, lost: FtpError | null): void {
    if (this.current !== job) return;
    this.current = null;
    const again = this.runAgain;
    this.runAgain = false;
    if (job.spec.changes === 'quit') {
      this.closing ??= this.shutdown('quit');
      return;
    }
    if (job !== this.keepaliveJob) {
      if (again) this.requeue(job);
      else if (lost) this.recoverLost(job, lost);
      else this.complete(job);
    }
    if (!this.control) {
      this.afterLoss(lost ?? this.lostWith ?? new ConnectionClosedError('control connection closed'));
      return;
    }
    if (this.state === 'busy') this.machine.moveTo('ready', `${job.spec.name} done`);
    this.schedulePump();
  }

  /** Applies the retry policy to a command whose attempt ended with `error` on a live connection. */
  private settle(job: Job, error: FtpError): void {
    const recovery = this.options.reconnect && !job.signal?.aborted
      ? recoverFromFailure(job.spec, job.progress, error, this.settings.type, this.options.maxCommandRetries)
      : { action: 'report' as const, error };
    if (recovery.action === 'report') this.report(job, recovery.error);
    else this.runAgain = true;
  }

  /** Applies the retry policy to a command whose connection was lost under it. */
  private recoverLost(job: Job, lost: FtpError): void {
    if (job.signal?.aborted) {
      this.report(job, abortError(job.signal));
      return;
    }
    const recovery = this.options.reconnect && this.loggedIn
      ? recoverFromLoss(job.spec, job.progress, lost, this.settings.type, this.options.maxCommandRetries)
      : { action: 'report' as const, error: lost };
    if (recovery.action === 'report') {
      this.report(job, recovery.error);
      return;
    }
    job.progress.verify = recovery.action === 'verify';
    this.requeue(job);
  }

  /**
   * Puts an interrupted command back at the head of the queue, so posted commands keep their
   * order; only a transfer already sent ahead on the live connection (`early`) stays first.
   */
  private requeue(job: Job): void {
    job.progress.retries++;
    this.trace.note(`${job.spec.name} runs again (retry ${job.progress.retries}${job.progress.delivered ? `, ${job.progress.delivered} delivered` : ''})`);
    const head = this.queue[0];
    const sentAhead = head?.early !== undefined && head.early.control === this.control && !head.early.control.closed;
    this.queue.splice(sentAhead ? 1 : 0, 0, job);
  }

  /** The command is over (success or reported failure): an upload's feed closes; a data connection opened ahead for it closes. */
  private complete(job: Job): void {
    dropEarly(job);
    this.abortListeners.get(job)?.();
    this.abortListeners.delete(job);
    if (job.feed) job.feed.finished = true;
    if (this.openFeed === job.feed) this.openFeed = null;
  }

  /** Reports the command's failure as its error event; it will not run again. */
  private report(job: Job, error: FtpError): void {
    this.complete(job);
    this.emitFailure(job, error);
  }

  /** Where a job's events go: its observer (promise API), else the session's listeners. */
  private eventsOf(job: Job): EventSink {
    return job.observer ? observedEvents(job.observer) : this.delivery;
  }

  private context(control: ControlConnection, job: Job): RunContext {
    return {
      control,
      options: this.options,
      settings: this.settings,
      events: this.eventsOf(job),
      trace: this.trace,
      signal: this.abort.signal,
      next: () => this.queue[0],
      fail: (job, error) => this.settle(job, error),
    };
  }

  // ---- keepalive ------------------------------------------------------------------------------

  private startKeepalive(): void {
    if (this.options.keepalive === 0 || this.keepaliveTimer) return;
    this.keepaliveTimer = setTimeout(() => {
      this.keepaliveTimer = null;
      if (this.state === 'ready' && !this.current && this.queue.length === 0 && this.control) this.run(this.keepaliveJob);
    }, this.options.keepalive);
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = null;
  }

  // ---- uploads --------------------------------------------------------------------------------

  private feed(spec: CommandSpec, data: Buffer | Uint8Array | string | undefined): void {
    const feed = this.openFeed;
    if (!feed || feed.finished || feed.closed) {
      this.emitFailure({ spec, param: undefined }, new InvalidStateError(`${spec.name}: no upload is open (post 'put' first)`));
      return;
    }
    if (spec.name === 'put_close') this.openFeed = null;
    feedUpload(feed, spec.name === 'put_close' ? null : data!, this.options.maxUploadBuffer);
  }

  // ---- events and shutdown ------------------------------------------------------------------

  /**
   * Emits the error event of a command: `login_error`, `connect_error`, `put_error` or
   * `<name>_error`; a promise API call's observer gets the error instead.
   */
  private emitFailure({ spec, param, observer }: { spec: CommandSpec; param: string | undefined; observer?: JobObserver | undefined }, error: FtpError): void {
    if (observer) {
      observer.failed(error);
      return;
    }
    const push = (name: string, ...args: unknown[]) => this.delivery.pushNamed(name, ...args);
    if (spec.kind === 'login' || spec.kind === 'connect') push(`${spec.kind}_error`, error.replyCode, error.message, error);
    else if (spec.kind === 'upload' || spec.kind === 'feed') push('put_error', error.replyCode, error.message, param, error);
    else push(`${spec.name}_error`, error.replyCode, error.message, param, error);
  }

  private async shutdown(reason: string): Promise<void> {
    if (this.backoff) clearTimeout(this.backoff);
    this.backoff = null;
    this.stopKeepalive();
    for (const job of this.queue.splice(0)) this.report(job, new SessionClosedError());
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(new SessionClosedError());
    const control = this.control;
    if (this.state === 'idle') {
      this.machine.moveTo('closed', reason);
    } else {
      // Nothing is outstanding on the connection in these states, so QUIT can be sent.
      const idle = (this.state === 'ready' || this.state === 'awaiting_login') && reason !== 'quit';
      this.machine.moveTo('closing', reason);
      const job = this.current;
      this.current = null;
      if (job && job !== this.keepaliveJob) this.report(job, new SessionClosedError(`session closed while ${job.spec.name} was running`));
      if (control && idle) {
        try {
          await control.request('QUIT');
        } catch {
          // The connection is being released either way.
        }
      }
      control?.destroy(new SessionClosedError());
      this.control = null;
      this.abort.abort(new SessionClosedError());
      this.machine.moveTo('closed', reason);
      if (control) this.delivery.push('disconnected', reason);
    }
    this.delivery.push('closed');
  }
}

function asFtpError(error: unknown): FtpError {
  return error instanceof FtpError ? error : new FtpError('ERR_FTP_PROTOCOL', String(error));
}
