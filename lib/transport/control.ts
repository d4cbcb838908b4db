/**
 * The control connection: one TCP socket, the reply parser, the reply timer and the trace.
 * It pairs replies with the commands sent on it (FIFO, 1xx replies never complete a command)
 * and knows nothing of sessions, queues or events.
 */
import { Socket } from 'node:net';
import { ConnectError, ConnectionClosedError, FtpError, ProtocolError, ReplyError, TimeoutError } from '../errors.js';
import { ReplyParser, type Reply, type ReplyLimits } from '../protocol/reply.js';
import type { Trace } from '../trace.js';

/** What {@link ControlConnection.open} needs. */
export interface ControlOptions {
  readonly host: string;
  readonly port: number;
  /** Milliseconds for TCP connect + greeting, and for each reply. */
  readonly timeout: number;
  readonly limits: ReplyLimits;
  readonly trace: Trace;
}

interface Waiter {
  resolve(reply: Reply): void;
  reject(error: FtpError): void;
}

/** A connected, greeted control connection. */
export class ControlConnection {
  /** Called with every reply, solicited or not (for the session's last-reply status). */
  onReply: (reply: Reply) => void = () => {};
  /** Called with a reply no command was waiting for (e.g. `421 Timeout` while idle). */
  onUnsolicited: (reply: Reply) => void = () => {};
  /** Called once when the connection is gone, whatever the cause. */
  onClose: (error: FtpError) => void = () => {};

  private readonly parser: ReplyParser;
  private readonly queued: Reply[] = [];
  private waiter: Waiter | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Final replies still owed to commands already sent. */
  private owed = 0;
  /** Keep-alive NOOPs sent during a transfer whose `200` is still to come: consumed here, never delivered. */
  private keepalives = 0;
  private closedWith: FtpError | null = null;

  private constructor(private readonly socket: Socket, private readonly options: ControlOptions) {
    this.parser = new ReplyParser(options.limits);
    this.parser.onLine = (line) => options.trace.received(line);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new ConnectionClosedError(`control connection error: ${error.message}`, { cause: error })));
    socket.on('close', () => this.fail(new ConnectionClosedError('control connection closed by the server')));
  }

  /**
   * Connects and waits for the greeting (a 120 is followed by waiting for the 220), all within
   * `timeout`. Rejects with ConnectError, TimeoutError, ReplyError (4xx/5xx greeting) or ProtocolError.
   */
  static open(options: ControlOptions): Promise<{ connection: ControlConnection; greeting: Reply }> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      let connection: ControlConnection | null = null;
      const timer = setTimeout(() => {
        const error = new TimeoutError(`Timeout (${options.timeout / 1000} seconds) connecting to ${options.host}:${options.port}`);
        if (connection) connection.destroy(error);
        else socket.destroy();
        reject(error);
      }, options.timeout);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (connection) return;
        clearTimeout(timer);
        reject(new ConnectError(`cannot connect to ${options.host}:${options.port}: ${error.message}`, error.code ?? null, { cause: error }));
      });
      socket.connect({ host: options.host, port: options.port }, () => {
        const conn = new ControlConnection(socket, options);
        connection = conn;
        conn.owed = 1; // the greeting
        const waitGreeting = (): void => {
          conn.nextReply(false).then((reply) => {
            if (reply.code === 120) {
              conn.owed = 1;
              waitGreeting();
              return;
            }
            clearTimeout(timer);
            if (reply.code >= 200 && reply.code < 300) {
              resolve({ connection: conn, greeting: reply });
            } else {
              const error = reply.code >= 400
                ? new ReplyError(reply.text, reply.code)
                : new ProtocolError(`unexpected greeting ${reply.code} ${reply.text}`);
              conn.destroy(error);
              reject(error);
            }
          }, (error: FtpError) => {
            clearTimeout(timer);
            reject(error);
          });
        };
        waitGreeting();
      });
    });
  }

  /** Local address of the socket (what active mode advertises by default). */
  get localAddress(): string {
    return this.socket.localAddress ?? '127.0.0.1';
  }

  /** Address of the server end (where passive data connections go by default). */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? this.options.host;
  }

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends one command line (already validated, without CRLF) and expects one final reply for it. */
  send(line: string): void {
    if (this.closedWith) return;
    this.options.trace.sent(line);
    this.owed++;
    this.socket.write(`${line}\r\n`);
  }

  /**
   * Sends a NOOP while a transfer runs, so the control connection does not look idle to the
   * server or a NAT. Its `200` is taken out of the reply stream wherever it comes (before or after
   * the transfer's final reply), so replies never shift.
   */
  keepalive(): void {
    if (this.closedWith) return;
    this.keepalives++;
    this.send('NOOP');
  }

  /** Sends `line` and resolves with its first reply (which may be a 1xx), within the reply timeout. */
  request(line: string): Promise<Reply> {
    this.send(line);
    return this.nextReply();
  }

  /** Sends `line` and resolves with its final reply, skipping any 1xx. */
  async command(line: string): Promise<Reply> {
    return this.final(await this.request(line));
  }

  /** `reply` itself when it is final, else the next final reply after it (1xx skipped). */
  async final(reply: Reply): Promise<Reply> {
    let current = reply;
    while (current.code < 200) current = await this.nextReply();
    return current;
  }

  /**
   * Resolves with the next reply owed to the commands sent. `timed`: the reply timeout runs now
   * (a transfer waits untimed while its data moves, then calls {@link startReplyTimer}).
   */
  nextReply(timed = true): Promise<Reply> {
    // A reply that arrived before the connection closed is still delivered (a 421's own text).
    const ready = this.queued.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.waiter) return Promise.reject(new Error('FtpSession bug: two waiters on one control connection'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (timed) this.startReplyTimer();
    });
  }

  /** Starts the reply timeout for the reply being waited for, if it is not running yet. */
  startReplyTimer(): void {
    if (!this.waiter || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.destroy(new TimeoutError(`Timeout (${this.options.timeout / 1000} seconds) waiting for a reply`));
    }, this.options.timeout);
  }

  /** Ends the connection at once (no QUIT): the waiter, if any, is rejected with `error`. */
  destroy(error: FtpError = new ConnectionClosedError('control connection closed')): void {
    this.fail(error);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.parser.push(chunk);
    } catch (error) {
      this.destroy(error instanceof FtpError ? error : new ProtocolError(String(error)));
      return;
    }
    for (const reply of replies) {
      if (this.closedWith) return;
      this.onReply(reply);
      if (this.owed === 0) this.onUnsolicited(reply);
      else if (this.keepalives > 0 && reply.code === 200) this.consumeKeepalive();
      else this.deliver(reply);
      // 421: the server is closing the connection (RFC 959); nothing more is sent on it.
      if (reply.code === 421) this.destroy(new ConnectionClosedError(`the server closed the connection: ${reply.code} ${reply.text}`, { replyCode: 421 }));
    }
  }

  private consumeKeepalive(): void {
    this.keepalives--;
    this.owed--;
  }

  private deliver(reply: Reply): void {
    if (reply.code >= 200) this.owed--;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      this.clearTimer();
      waiter.resolve(reply);
    } else {
      this.queued.push(reply);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fail(error: FtpError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.clearTimer();
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
    this.onClose(error);
  }
}
