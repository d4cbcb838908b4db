/**
 * A tiny raw FTP control connection for tests that must speak the protocol themselves (FXP,
 * server quirks): send a line, read the next reply (multi-line replies joined), each wait
 * bounded by a timeout. Not the library: nothing here interprets a reply beyond its code.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** One reply: its code and every line (without CRLF). */
export interface RawReply {
  code: number;
  lines: string[];
}

/** The reply's lines joined with `\n`. */
export const replyText = (r: RawReply): string => r.lines.join('\n');

/** Where to connect, and from which local address. */
export interface RawConnectOptions {
  host: string;
  port: number;
  /** Bind the control socket to this local address (e.g. 127.0.0.2: all of 127/8 is local on Linux). */
  localAddress?: string;
  /** Bound for the connection and the greeting. Default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_WAIT_MS = 10_000;

export class RawFtp {
  private socket: Socket | TLSSocket;
  private buffer = '';
  /** Lines of a multi-line reply still being read. */
  private partial: string[] = [];
  private readonly replies: RawReply[] = [];
  private waiter: (() => void) | undefined;
  private closedWith: Error | undefined;
  /** The 220 (or other) greeting. */
  greeting: RawReply = { code: 0, lines: [] };
  /** Every line sent and received, `> ` / `< ` prefixed, for failure messages. */
  readonly log: string[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Connects and reads the greeting. */
  static async connect(o: RawConnectOptions): Promise<RawFtp> {
    const socket = connect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    const ftp = new RawFtp(socket);
    try {
      ftp.greeting = await ftp.reply(o.timeoutMs ?? DEFAULT_WAIT_MS);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return ftp;
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('control connection closed')));
  }

  private fail(err: Error): void {
    this.closedWith ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.log.push(`< ${line}`);
      this.partial.push(line);
      const first = this.partial[0] ?? '';
      const code = first.slice(0, 3);
      // A reply ends on a line "ddd " (or "ddd" alone) with the first line's code; a first line "ddd-" opens a multi-line reply.
      const multi = /^\d{3}-/.test(first);
      if (!multi || (line.startsWith(code) && (line.length === 3 || line[3] === ' ') && this.partial.length > 1)) {
        this.replies.push({ code: Number(code), lines: this.partial });
        this.partial = [];
      }
    }
    this.wake();
  }

  /** Sends one command line (CRLF added). */
  send(line: string): void {
    this.log.push(`> ${line.startsWith('PASS ') ? 'PASS ****' : line}`);
    this.socket.write(`${line}\r\n`);
  }

  /** The next reply, or null when none comes within `ms` (nothing is consumed then). Rejects when the connection ends first. */
  async replyWithin(ms: number): Promise<RawReply | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const next = this.replies.shift();
      if (next) return next;
      if (this.closedWith) throw new Error(`${this.closedWith.message}; log:\n${this.log.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((res) => {
        const timer = setTimeout(() => { this.waiter = undefined; res(); }, left);
        this.waiter = () => { clearTimeout(timer); res(); };
      });
    }
  }

  /** The next reply; rejects after `ms` without one. */
  async reply(ms = DEFAULT_WAIT_MS): Promise<RawReply> {
    const r = await this.replyWithin(ms);
    if (!r) throw new Error(`no reply within ${ms} ms; log:\n${this.log.join('\n')}`);
    return r;
  }

  /** Sends a command and returns its (first) reply. */
  async cmd(line: string, ms = DEFAULT_WAIT_MS): Promise<RawReply> {
    this.send(line);
    return this.reply(ms);
  }

  /** The next reply that is not a 1xx preliminary one (those are skipped). */
  async final(ms = DEFAULT_WAIT_MS): Promise<RawReply> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await this.reply(Math.max(1, deadline - Date.now()));
      if (r.code >= 200) return r;
    }
  }

  /** Sends a command and expects a reply with this code. */
  async expect(line: string, code: number, ms = DEFAULT_WAIT_MS): Promise<RawReply> {
    const r = await this.cmd(line, ms);
    if (r.code !== code) throw new Error(`${line}: expected ${code}, got ${replyText(r)}; log:\n${this.log.join('\n')}`);
    return r;
  }

  /** USER then PASS (if asked for); rejects unless the login ends in 230. */
  async login(user: string, password: string): Promise<void> {
    const r = await this.cmd(`USER ${user}`);
    const done = r.code === 331 ? await this.cmd(`PASS ${password}`) : r;
    if (done.code !== 230) throw new Error(`login failed: ${replyText(done)}; log:\n${this.log.join('\n')}`);
  }

  /** AUTH TLS, then the TLS handshake on the control connection (certificate not checked). */
  async startTls(): Promise<void> {
    await this.expect('AUTH TLS', 234);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    this.socket = secure;
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('TLS handshake timed out')), DEFAULT_WAIT_MS);
      secure.once('secureConnect', () => { clearTimeout(timer); res(); });
      secure.once('error', (err) => { clearTimeout(timer); rej(err); });
    });
    this.attach(secure);
  }

  private closing = false;

  /** QUIT (its reply waited for at most 1 s), then the socket is destroyed. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.closedWith) {
      try {
        this.send('QUIT');
        await this.replyWithin(1_000);
      } catch { /* already closing */ }
    }
    this.socket.destroy();
  }
}

/** `h1,h2,h3,h4,p1,p2` and what it means, from a 227 reply. */
export interface PasvAddress { tuple: string; host: string; port: number }

/** Parses a 227 reply's `h1,h2,h3,h4,p1,p2`; throws when there is none. */
export function parsePasv(r: RawReply): PasvAddress {
  const m = /(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})/.exec(replyText(r));
  if (r.code !== 227 || !m) throw new Error(`not a 227 reply with an address: ${replyText(r)}`);
  const n = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return { tuple: n.join(','), host: n.slice(0, 4).join('.'), port: n[4] * 256 + n[5] };
}

/** The port of a 229 reply `(|||port|)`; throws when there is none. */
export function parseEpsv(r: RawReply): number {
  const m = /\(([!-~])\1\1(\d+)\1\)/.exec(replyText(r));
  if (r.code !== 229 || !m) throw new Error(`not a 229 reply with a port: ${replyText(r)}`);
  return Number(m[2]);
}

/** The `h1,h2,h3,h4,p1,p2` tuple PORT wants for host:port. */
export function portTuple(host: string, port: number): string {
  return `${host.split('.').join(',')},${port >> 8},${port & 255}`;
}
