/**
 * The control connection: one TCP socket (TLS over it for FTPS), the reply parser, the reply
 * timer and the trace. It pairs replies with the commands sent on it (FIFO, 1xx replies never
 * complete a command) and knows nothing of sessions, queues or events.
 */
import { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ConnectError, ConnectionClosedError, FtpError, ProtocolError, ReplyError, SecurityError, TimeoutError } from '../errors.js';
import { ReplyParser, type Reply, type ReplyLimits } from '../protocol/reply.js';
import type { Trace } from '../trace.js';
import { endTls, startTls, TlsCarrier, tlsFailure, whenSecure, type TlsSetup } from './tls.js';
import type { Encoding } from '../options.js';

/** What {@link ControlConnection.open} needs. */
export interface ControlOptions {
  readonly host: string;
  readonly port: number;
  /** Milliseconds for TCP connect + greeting, and for each reply. */
  readonly timeout: number;
  readonly limits: ReplyLimits;
  /** How command lines are encoded and replies decoded. */
  readonly encoding: Encoding;
  readonly trace: Trace;
  /** The local address to connect from (undefined: the system's choice). */
  readonly localAddress: string | undefined;
  /** Implicit FTPS: TLS from the first byte, made with this. */
  readonly implicitTls: TlsSetup | undefined;
}

interface Waiter {
  resolve(reply: Reply): void;
  reject(error: FtpError): void;
  /** The reply timeout runs for it once it is the oldest waiter. */
  timed: boolean;
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
  /**
   * Who waits for the next replies, oldest first: each reply goes to the oldest. More than one
   * wait only when a transfer is started behind the final reply of the one before it.
   */
  private readonly waiters: Waiter[] = [];
  /** When the oldest waiter's reply timeout started (performance.now()), or null when it is not running. */
  private waitingSince: number | null = null;
  /**
   * The reply timeout's watchdog: one interval for the connection's life, a quarter of the
   * timeout, instead of a timer set and cleared for every reply (a reply is late by at most that).
   */
  private readonly watchdog: NodeJS.Timeout;
  /** Final replies still owed to commands already sent. */
  private owed = 0;
  /** Keep-alive NOOPs sent during a transfer whose `200` is still to come: consumed here, never delivered. */
  private keepalives = 0;
  private closedWith: FtpError | null = null;
  /** Where commands are written and replies read: `tcp` itself, or TLS over it (through `carrier`). */
  private channel: Socket;
  private carrier: TlsCarrier | null = null;
  /** The newest TLS session of the control connection (TLS 1.3 tickets arrive after the handshake). */
  private session: Buffer | undefined;
  /** AUTH TLS was sent: its 234 must be the last byte read in clear. */
  private upgrading = false;
  private readonly onChunk = (chunk: Buffer) => this.onData(chunk);
  private readonly onError = (error: Error) => this.fail(this.secure
    ? tlsFailure(error, 'TLS failed on the control connection')
    : new ConnectionClosedError(`control connection error: ${error.message}`, { cause: error }));
  private readonly onEnd = () => this.fail(new ConnectionClosedError('control connection closed by the server'));

  private constructor(private readonly tcp: Socket, private readonly options: ControlOptions) {
    this.parser = new ReplyParser(options.limits, options.encoding);
    this.parser.onLine = (line) => options.trace.received(line);
    this.channel = tcp;
    tcp.on('error', this.onError);
    tcp.on('close', this.onEnd);
    tcp.on('data', this.onChunk);
    this.watchdog = setInterval(() => this.checkReplyTimeout(), Math.max(1, Math.ceil(options.timeout / 4)));
    this.watchdog.unref();
  }

  /** Starts TLS over the TCP socket (through a carrier, so CCC can end it); the handshake runs in the background. */
  private startTls(setup: TlsSetup): TLSSocket {
    this.tcp.off('data', this.onChunk);
    this.carrier = new TlsCarrier(this.tcp);
    const secure = startTls(setup, this.carrier);
    // Listened to from the start: TLS 1.2 hands its session over during the handshake.
    secure.on('session', (session: Buffer) => { this.session = session; });
    return secure;
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
      socket.connect({ host: options.host, port: options.port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, () => {
        const conn = new ControlConnection(socket, options);
        connection = conn;
        const handshake = options.implicitTls ? conn.secureWith(conn.startTls(options.implicitTls), 'implicit') : Promise.resolve();
        handshake.then(() => conn.greeting()).then((greeting) => {
          clearTimeout(timer);
          resolve({ connection: conn, greeting });
        }, (error: FtpError) => {
          clearTimeout(timer);
          conn.destroy(error);
          reject(error);
        });
      });
    });
  }

  /** Waits for the greeting (past any 120); a 4xx/5xx greeting is a ReplyError, any other a ProtocolError. */
  private async greeting(): Promise<Reply> {
    for (;;) {
      this.owed = 1;
      const reply = await this.nextReply(false);
      if (reply.code === 120) continue;
      if (reply.code >= 200 && reply.code < 300) return reply;
      throw reply.code >= 400 ? new ReplyError(reply.text, reply.code) : new ProtocolError(`unexpected greeting ${reply.code} ${reply.text}`);
    }
  }

  /**
   * Explicit FTPS: sends AUTH TLS and, on 234, runs the TLS handshake on this connection.
   * Resolves with null once secure, or with AUTH's reply when the server refused (nothing
   * else was sent). Rejects with a SecurityError, the connection dropped, when the handshake
   * fails or when the server sent anything after its 234 (such bytes would be read as replies
   * though they never passed through TLS: CVE-2021-22947).
   */
  async upgrade(setup: TlsSetup): Promise<Reply | null> {
    this.upgrading = true;
    const reply = await this.command('AUTH TLS');
    this.upgrading = false;
    if (reply.code !== 234) return reply;
    // onData stopped reading in clear the moment the 234 came.
    await this.secureWith(this.startTls(setup), 'AUTH TLS');
    return null;
  }

  /** Waits for the handshake, then reads and writes through TLS; on failure drops the connection and rethrows. */
  private async secureWith(secure: TLSSocket, how: string): Promise<void> {
    try {
      await whenSecure(secure, this.options.timeout, 'control connection');
    } catch (error) {
      this.destroy(error as FtpError);
      throw error;
    }
    this.options.trace.note(`TLS ${secure.getProtocol() ?? ''} (${how})`);
    this.channel = secure;
    secure.on('data', this.onChunk);
    secure.on('error', this.onError);
    secure.on('close', this.onEnd);
  }

  /**
   * CCC (RFC 4217 §12.3): on the server's 200 both sides end TLS and the connection goes on in
   * clear over the same TCP socket (data connections stay protected). Resolves with null once
   * clear, or with CCC's reply when the server refused (the connection stays TLS).
   */
  async clear(): Promise<Reply | null> {
    const secure = this.channel as TLSSocket;
    // The server's close_notify may follow its 200 at once, and be read before this method
    // resumes: watch for it from before CCC is sent.
    let peerEnded = false;
    const onPeerEnd = () => { peerEnded = true; };
    secure.once('end', onPeerEnd);
    const reply = await this.command('CCC');
    secure.off('end', onPeerEnd);
    if (reply.code < 200 || reply.code >= 300) return reply;
    secure.off('data', this.onChunk);
    secure.off('error', this.onError);
    secure.off('close', this.onEnd);
    secure.on('error', () => {}); // late news of a TLS layer being dropped
    try {
      await endTls(secure, peerEnded, this.options.timeout);
    } catch (error) {
      this.destroy(error as FtpError);
      throw error;
    }
    this.carrier!.release();
    this.carrier = null;
    this.channel = this.tcp;
    this.tcp.on('data', this.onChunk);
    this.tcp.resume();
    this.options.trace.note('TLS ended on the control connection (CCC)');
    return null;
  }

  /** Whether the control connection runs over TLS. */
  get secure(): boolean {
    return this.channel !== this.tcp;
  }

  /** The TLS session a data connection resumes (servers such as vsftpd and ProFTPD require it). */
  get tlsSession(): Buffer | undefined {
    return this.session;
  }

  /** Local address of the socket (what active mode advertises by default). */
  get localAddress(): string {
    return this.tcp.localAddress ?? '127.0.0.1';
  }

  /** Address of the server end (where passive data connections go by default). */
  get remoteAddress(): string {
    return this.tcp.remoteAddress ?? this.options.host;
  }

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends one command line (already validated, without CRLF) and expects one final reply for it. */
  send(line: string): void {
    this.sendAll([line]);
  }

  /** Sends command lines in one write (pipelined: one syscall, one packet) and expects a final reply for each. */
  sendAll(lines: readonly string[]): void {
    if (this.closedWith) return;
    for (const line of lines) this.options.trace.sent(line);
    this.owed += lines.length;
    this.channel.write(lines.length === 1 ? `${lines[0]}\r\n` : `${lines.join('\r\n')}\r\n`, this.options.encoding);
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
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject, timed });
      if (timed && this.waiters.length === 1) this.waitingSince = performance.now();
    });
  }

  /**
   * Brings replies back in step after ABOR: sends NOOP and consumes every reply up to its 200.
   * ABOR's own reply (225, 226, 500, ...) is consumed whether the server sends one or not
   * (Pure-FTPd answers ABOR of a running RETR with one 226 for both). Within the reply timeout.
   */
  async sync(): Promise<void> {
    this.send('NOOP');
    for (let replies = 0; ; replies++) {
      if (replies > 8) throw new ProtocolError('no reply to NOOP after ABOR: replies are out of step');
      if ((await this.nextReply()).code === 200) break;
    }
    this.owed = this.keepalives; // everything sent before the NOOP is answered (or never will be)
  }

  /** Starts the reply timeout for the oldest waiter's reply, if it is not running yet. */
  startReplyTimer(): void {
    const oldest = this.waiters[0];
    if (!oldest || this.waitingSince !== null) return;
    oldest.timed = true;
    this.waitingSince = performance.now();
  }

  private checkReplyTimeout(): void {
    if (this.waitingSince === null || performance.now() - this.waitingSince < this.options.timeout) return;
    this.destroy(new TimeoutError(`Timeout (${this.options.timeout / 1000} seconds) waiting for a reply`));
  }

  /** Ends the connection at once (no QUIT): every waiter is rejected with `error`. */
  destroy(error: FtpError = new ConnectionClosedError('control connection closed')): void {
    this.fail(error);
  }

  private onData(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.parser.push(chunk);
    } catch (error) {
      this.destroy(error instanceof FtpError ? error : new ProtocolError(String(error)));
      return;
    }
    if (this.upgrading && replies.some((reply) => reply.code === 234)) {
      this.stopReadingClear(replies);
      if (this.closedWith) return;
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

  /**
   * The server agreed to TLS: nothing more may be read in clear. The 234 must be the last
   * byte received; anything after it is refused, not parsed.
   */
  private stopReadingClear(replies: readonly Reply[]): void {
    const extra = replies.length - 1 - replies.findIndex((reply) => reply.code === 234);
    if (extra > 0 || this.parser.pendingBytes > 0) {
      this.destroy(new SecurityError('PIPELINED_AFTER_AUTH', 'the server sent data after 234 and before the TLS handshake: refused (it would not be protected by TLS)'));
      return;
    }
    this.tcp.pause(); // stops reading from the kernel: the next bytes are TLS's
  }

  private consumeKeepalive(): void {
    this.keepalives--;
    this.owed--;
  }

  private deliver(reply: Reply): void {
    if (reply.code >= 200) this.owed--;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.clearTimer();
      if (this.waiters[0]?.timed) this.waitingSince = performance.now();
      waiter.resolve(reply);
    } else {
      this.queued.push(reply);
    }
  }

  private clearTimer(): void {
    this.waitingSince = null;
  }

  private fail(error: FtpError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.clearTimer();
    clearInterval(this.watchdog);
    this.channel.destroy();
    this.tcp.destroy();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.onClose(error);
  }
}
