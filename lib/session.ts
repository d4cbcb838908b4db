/**
 * FtpSession: a state machine that owns one control connection. Callers post commands; the
 * session queues them (FIFO), runs one at a time, and reports everything as events.
 */
import { EventEmitter } from 'eventemitter3';
// typed-emitter is CommonJS with a default-exported type: reach it through the namespace.
import type * as TypedEmitterModule from 'typed-emitter';
import { lookupCommand, type CommandArgs, type CommandName, type CommandSpec } from './commands.js';
import {
  FtpError, InvalidArgumentError, InvalidStateError, SessionClosedError, TimeoutError, UnknownCommandError,
} from './errors.js';
import { EventDelivery, type FtpEvents } from './events.js';
import { resolveOptions, type FtpSessionOptions, type ResolvedOptions } from './options.js';
import { assertSafeArgument, formatCommand } from './protocol/command-line.js';
import { StateMachine, type SessionState } from './state.js';
import { Trace } from './trace.js';
import { ControlConnection } from './transport/control.js';
import type { Job, RunContext, SessionSettings } from './run/context.js';
import { runDownload } from './run/download.js';
import { login } from './run/login.js';
import { runRename, runSimple } from './run/simple.js';
import { createFeed, runUpload } from './run/upload.js';

const TypedEventEmitter = EventEmitter as unknown as new () => TypedEmitterModule.default<FtpEvents>;
type Emit = (name: string, ...args: unknown[]) => void;
let nextId = 1;

/** The runner of each command kind that goes through the queue. */
const RUNNERS: Record<'simple' | 'download' | 'upload' | 'rename', (ctx: RunContext, job: Job) => Promise<void>> = {
  simple: runSimple,
  download: runDownload,
  upload: runUpload,
  rename: runRename,
};

/**
 * An FTP client session in the style of POE::Component::Client::FTP.
 *
 * ```ts
 * const ftp = FtpSession.spawn({ host: '127.0.0.1', user: 'u', password: 'p' });
 * ftp.on('authenticated', () => ftp.post('cd', '/pub'));
 * ftp.on('cd', (code, text) => ftp.post('quit'));
 * ```
 */
export class FtpSession extends TypedEventEmitter {
  /** A number that tells sessions apart in the trace. */
  readonly id = nextId++;
  private readonly options: ResolvedOptions;
  private readonly trace: Trace;
  private readonly delivery: EventDelivery;
  private readonly machine: StateMachine;
  private readonly queue: Job[] = [];
  private readonly settings: SessionSettings;
  private control: ControlConnection | null = null;
  private abort = new AbortController();
  private current: Job | null = null;
  private openFeed: Job['feed'] | null = null;
  private credentials: { user: string; password: string | undefined; account: string | undefined } | undefined;
  private last = { code: 421, message: '' };
  private connects = 0;
  private closing: Promise<void> | null = null;
  private pumpScheduled = false;

  /** Creates a session and starts connecting at once. Throws InvalidArgumentError for bad options. */
  static spawn(options: FtpSessionOptions): FtpSession {
    return new FtpSession(options);
  }

  private constructor(options: FtpSessionOptions) {
    super();
    this.options = resolveOptions(options);
    this.trace = new Trace(this.options.debug, `FtpSession#${this.id}`);
    this.delivery = new EventDelivery(this.options.events, (name, args) => (EventEmitter.prototype.emit as Emit).call(this, name, ...args));
    this.machine = new StateMachine((to, from, reason) => {
      this.trace.note(`state ${from} -> ${to} (${reason})`);
      this.delivery.push('state', to, from);
    });
    this.settings = { connectionMode: this.options.connectionMode, type: null, epsv: null, eprt: null };
    const { user, password, account } = this.options;
    if (user !== undefined && password !== undefined) this.credentials = { user, password, account };
    this.connect();
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
    const spec = lookupCommand(name);
    if (!spec) {
      this.delivery.push('error', new UnknownCommandError(String(name)), String(name));
      return;
    }
    const param = spec.kind !== 'feed' && typeof args[0] === 'string' ? args[0] : undefined;
    if (this.closing || this.state === 'closed') {
      this.emitFailure(spec, param, new SessionClosedError());
      return;
    }
    let words: string[];
    try {
      words = checkArguments(spec, args);
    } catch (error) {
      this.emitFailure(spec, param, error as FtpError);
      return;
    }
    switch (spec.kind) {
      case 'feed':
        this.feed(spec, args[0] as Buffer | Uint8Array | string | undefined);
        return;
      case 'connect':
        if (this.state === 'idle') this.connect();
        else this.delivery.push('error', new InvalidStateError(`cannot connect in state ${this.state}`), 'connect');
        return;
      case 'upload': {
        const feed = createFeed();
        this.openFeed = feed;
        this.enqueue({ spec, args: words, param, feed });
        return;
      }
      default:
        this.enqueue({ spec, args: words, param });
    }
  }

  /**
   * Ends the session: QUIT when the connection is idle, then releases every socket. Queued
   * commands fail with `SessionClosedError`. Resolves when everything is released; never rejects.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown('closed by the caller');
    return this.closing;
  }

  // ---- connection -------------------------------------------------------------------------

  private connect(): void {
    this.machine.moveTo('connecting', 'connect');
    this.connects++;
    const { host, port, timeout, maxLineBytes, maxReplyBytes } = this.options;
    ControlConnection.open({ host, port, timeout, trace: this.trace, limits: { maxLineBytes, maxReplyBytes } }).then(
      ({ connection, greeting }) => {
        if (this.state !== 'connecting') {
          connection.destroy();
          return;
        }
        this.attach(connection);
        this.last = { code: greeting.code, message: greeting.message };
        this.delivery.push('connected', greeting.code, greeting.text);
        if (this.credentials) this.authenticate();
        else this.machine.moveTo('awaiting_login', 'no credentials');
        this.schedulePump();
      },
      (error: FtpError) => {
        if (this.state !== 'connecting') return;
        this.setPseudoStatus(error);
        this.machine.moveTo('idle', 'connect failed');
        this.delivery.push('connect_error', error.replyCode, error.message, error);
      },
    );
  }

  private attach(connection: ControlConnection): void {
    this.control = connection;
    this.abort = new AbortController();
    connection.onReply = (reply) => {
      this.last = { code: reply.code, message: reply.message };
    };
    connection.onUnsolicited = (reply) => this.delivery.push('server_message', reply.code, reply.text);
    connection.onClose = (error) => this.connectionLost(connection, error);
  }

  private connectionLost(connection: ControlConnection, error: FtpError): void {
    if (connection !== this.control) return;
    this.control = null;
    this.abort.abort(error);
    if (this.closing || this.state === 'closing' || this.state === 'closed') return;
    this.setPseudoStatus(error);
    const job = this.current;
    this.current = null;
    if (job) this.emitFailure(job.spec, job.param, error);
    this.machine.moveTo('idle', error.message);
    this.delivery.push('disconnected', error.message);
  }

  private setPseudoStatus(error: FtpError): void {
    if (error.replyCode !== null) this.last = { code: error.replyCode, message: error.message };
    else this.last = { code: 421, message: error instanceof TimeoutError ? '[FtpSession] Timeout' : '[FtpSession] Connection closed' };
  }

  // ---- queue --------------------------------------------------------------------------------

  private enqueue(job: Job): void {
    this.queue.push(job);
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
      this.authenticate(job);
      return;
    }
    if (this.state !== 'ready') return;
    const job = this.queue.shift();
    if (!job) return;
    if (job.spec.kind === 'login') {
      this.emitFailure(job.spec, job.param, new InvalidStateError('already logged in'));
      this.schedulePump();
    } else if (job.spec.kind === 'setting') {
      this.settings.connectionMode = job.args[0] as 'active' | 'passive';
      this.delivery.push('mode', this.settings.connectionMode);
      this.schedulePump();
    } else {
      this.run(job);
    }
  }

  private run(job: Job): void {
    const control = this.control!;
    this.current = job;
    this.machine.moveTo('busy', job.spec.name);
    const runner = RUNNERS[job.spec.kind as keyof typeof RUNNERS];
    runner(this.context(control), job).then(
      () => this.finish(job),
      (error: unknown) => {
        // Runners throw only when the connection is lost, or on a bug: either way, replies on
        // this connection can no longer be trusted to pair with commands, so it is dropped.
        control.destroy(asFtpError(error));
        if (this.current === job) this.emitFailure(job.spec, job.param, asFtpError(error));
        this.finish(job);
      },
    );
  }

  private finish(job: Job): void {
    if (this.current !== job) return;
    this.current = null;
    if (job.spec.changes === 'quit') {
      this.closing ??= this.shutdown('quit');
      return;
    }
    if (this.state === 'busy') this.machine.moveTo('ready', `${job.spec.name} done`);
    this.schedulePump();
  }

  /** Logs in with the session's credentials; `job` is the posted `login`, if that is what started it. */
  private authenticate(job?: Job): void {
    const control = this.control!;
    const spec = lookupCommand('login')!;
    const loginJob: Job = job ?? { spec, args: [], param: undefined };
    this.current = loginJob;
    this.machine.moveTo('authenticating', 'login');
    login(control, this.credentials!).then(
      (outcome) => {
        if (this.current !== loginJob) return;
        this.current = null;
        if (outcome.ok) {
          this.machine.moveTo('ready', 'logged in');
          this.delivery.push('authenticated', outcome.reply.code, outcome.reply.text);
        } else {
          this.machine.moveTo('awaiting_login', 'login refused');
          this.emitFailure(spec, undefined, outcome.error);
        }
        this.schedulePump();
      },
      // As in run(): a login that throws has lost (or can no longer trust) its connection;
      // dropping it reports login_error and moves to idle through connectionLost().
      (error: unknown) => control.destroy(asFtpError(error)),
    );
  }

  private context(control: ControlConnection): RunContext {
    return {
      control,
      options: this.options,
      settings: this.settings,
      events: this.delivery,
      trace: this.trace,
      signal: this.abort.signal,
      fail: (job, error) => this.emitFailure(job.spec, job.param, error),
    };
  }

  // ---- uploads --------------------------------------------------------------------------------

  private feed(spec: CommandSpec, data: Buffer | Uint8Array | string | undefined): void {
    const feed = this.openFeed;
    if (!feed || feed.finished || feed.closed) {
      this.emitFailure(spec, undefined, new InvalidStateError(`${spec.name}: no upload is open (post 'put' first)`));
      return;
    }
    if (spec.name === 'put_close') {
      feed.closed = true;
      this.openFeed = null;
    } else {
      const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data!.buffer, data!.byteOffset, data!.byteLength);
      if (feed.pending + chunk.length > this.options.maxUploadBuffer) {
        feed.failure ??= new InvalidStateError(`upload buffer limit (${this.options.maxUploadBuffer} bytes) passed: wait for put_flushed before posting more`);
      } else {
        feed.chunks.push(chunk);
        feed.pending += chunk.length;
      }
    }
    feed.wake();
  }

  // ---- events and shutdown ------------------------------------------------------------------

  /** Emits the error event of a command: `login_error`, `connect_error`, `put_error` or `<name>_error`. */
  private emitFailure(spec: CommandSpec, param: string | undefined, error: FtpError): void {
    const push = (name: string, ...args: unknown[]) => this.delivery.pushNamed(name, ...args);
    if (spec.kind === 'login' || spec.kind === 'connect') push(`${spec.kind}_error`, error.replyCode, error.message, error);
    else if (spec.kind === 'upload' || spec.kind === 'feed') push('put_error', error.replyCode, error.message, param, error);
    else push(`${spec.name}_error`, error.replyCode, error.message, param, error);
  }

  private async shutdown(reason: string): Promise<void> {
    for (const job of this.queue.splice(0)) this.emitFailure(job.spec, job.param, new SessionClosedError());
    const control = this.control;
    if (this.state === 'idle') {
      this.machine.moveTo('closed', reason);
    } else {
      // Nothing is outstanding on the connection in these states, so QUIT can be sent.
      const idle = (this.state === 'ready' || this.state === 'awaiting_login') && reason !== 'quit';
      this.machine.moveTo('closing', reason);
      const job = this.current;
      this.current = null;
      if (job) this.emitFailure(job.spec, job.param, new SessionClosedError(`session closed while ${job.spec.name} was running`));
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

/** Checks argument count and types, and that no argument holds CR, LF or NUL. Returns them as strings. */
function checkArguments(spec: CommandSpec, args: readonly unknown[]): string[] {
  const [min, max] = spec.args;
  if (args.length < min || args.length > max) {
    const wanted = min === max ? `${min}` : `${min} to ${max}`;
    throw new InvalidArgumentError(`${spec.name} takes ${wanted} argument(s), got ${args.length}`);
  }
  if (spec.name === 'put_data') {
    const data = args[0];
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new InvalidArgumentError('put_data takes a Buffer, Uint8Array or string');
    return [];
  }
  if (spec.name === 'mode' && args[0] !== 'active' && args[0] !== 'passive') {
    throw new InvalidArgumentError(`mode must be 'active' or 'passive', got ${String(args[0])}`);
  }
  const words = args.map((arg, index) => {
    if (typeof arg !== 'string' && typeof arg !== 'number') throw new InvalidArgumentError(`${spec.name}: argument ${index + 1} must be a string`);
    const word = String(arg);
    assertSafeArgument(word, `${spec.name} argument ${index + 1}`, spec.kind === 'login' && index > 0);
    return word;
  });
  if (spec.name === 'quot') formatCommand(words[0]!, words.slice(1)); // the verb itself must be a word
  return words;
}

function asFtpError(error: unknown): FtpError {
  return error instanceof FtpError ? error : new FtpError('ERR_FTP_PROTOCOL', String(error));
}
