/**
 * A fault-injection TCP proxy for FTP tests. It sits between a client and a real server,
 * forwards the control connection and the passive data connections byte for byte, records
 * every command, and breaks things on demand: a lost reply, a 421, a reset, a stalled link.
 *
 * Passive replies (227, 229) are rewritten to point at a one-shot listener of the proxy, which
 * forwards to the port the server advertised on `target.host`. Active mode (PORT/EPRT) is left
 * alone: the server connects straight to the client. The proxy reads plain-text FTP only.
 *
 * A fault ends or freezes the forwarding of that one connection; faults on the control
 * connection leave data connections alone and the other way round.
 *
 * @example
 * ```ts
 * const server = await startServer('vsftpd');
 * const proxy = await startFaultProxy({ target: server });
 * proxy.onCommand('DELE', 'close', 'after-reply'); // the server deletes, the client never hears
 * const ftp = FtpSession.spawn({ host: proxy.host, port: proxy.port, user: server.user, password: server.password });
 * ftp.post('delete', 'upload/old.txt');
 * // ... await the client's reaction (a lost connection), then:
 * assert.equal(proxy.commands.at(-1), 'DELE upload/old.txt');
 * await proxy.close();
 * await server.stop();
 * ```
 */
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { listen, TrackedSockets } from './tracked-sockets.js';
import { passivePort, rewritePassive } from './passive-rewrite.js';

/** Where the proxy forwards to and where it listens. */
export interface FaultProxyOptions {
  /** The FTP server. Passive data connections go to this host too, whatever address the server advertises. */
  target: { host: string; port: number };
  /** Address the control and passive data listeners bind to. Default `127.0.0.1`. */
  host?: string;
}

/**
 * What to do to a control connection:
 * - `'close'`: FIN to the client and the server at once (what still arrives is read and dropped);
 * - `'reset'`: RST to the client, the server side destroyed;
 * - `'stall'`: forward nothing more either way, not even a peer's close; the sockets stay open until
 *   {@link FaultProxy.close} and the bytes are never delivered;
 * - `{ reply }`: send this reply line (CRLF added) to the client and close both sides, like a server's 421.
 */
export type Fault = 'close' | 'reset' | 'stall' | { reply: string };

/** What to do to a data connection (see {@link FaultProxy.onData}). */
export type DataFault = 'close' | 'reset' | 'stall';

type LinkState = 'open' | 'stalled' | 'dead';

/** One proxied control connection. */
interface Link {
  index: number;
  client: Socket;
  server: Socket;
  state: LinkState;
  /** Bytes not yet ended by LF from each side, and the lines of the reply being read. */
  commandPart: Buffer;
  replyPart: Buffer;
  replyLines: Buffer[];
  /** The code of the multi-line reply being read (`ddd-` seen, `ddd ` not yet). */
  multiCode: string | undefined;
  /** Final replies seen and expected so far (both count the greeting); faults due instead of final reply number `at`. */
  finals: number;
  expected: number;
  swallow: Array<{ at: number; fault: Fault }>;
  /** Replies are delivered in order through this chain (a passive rewrite waits for a listener). */
  chain: Promise<void>;
  /** The passive listener not yet connected to, if any. */
  pasv: Server | undefined;
}

const LF = 0x0a;
const FINAL = /^[2-6]\d\d /;

/** Applies a fault to a client/server socket pair and says what state the pair is in now. */
function strike(client: Socket, server: Socket, fault: Fault): 'stalled' | 'dead' {
  if (fault === 'stall') {
    client.pause();
    server.pause();
    return 'stalled';
  }
  client.resume(); // drop whatever still arrives until the peers close
  server.resume();
  if (fault === 'reset') {
    client.resetAndDestroy();
    server.destroy();
  } else {
    if (fault === 'close') client.end();
    else client.end(`${fault.reply}\r\n`);
    server.end();
  }
  return 'dead';
}

/** A running proxy; create it with {@link startFaultProxy}. */
export class FaultProxy {
  /** Address and port clients connect to. */
  readonly host: string;
  readonly port: number;
  /** Every command line the client sent, exact, without CRLF, in order, across all connections; PASS lines are stored as `'PASS ****'`. */
  readonly commands: string[] = [];
  /** Same, tagged with the 1-based control connection index. */
  readonly log: Array<{ connection: number; line: string }> = [];
  /** Bytes forwarded on data connections, per direction, totals. */
  readonly dataBytes = { toClient: 0, toServer: 0 };

  readonly #target: { host: string; port: number };
  readonly #rules: Array<{ match: RegExp | string; fault: Fault; when: 'before' | 'after-reply' }> = [];
  readonly #dataFaults: Array<{ fault: DataFault; afterBytes: number }> = [];
  readonly #links: Link[] = [];
  readonly #tracked = new TrackedSockets();
  #accepted = 0;
  #closing: Promise<void> | undefined;

  /** @internal Use {@link startFaultProxy}. */
  constructor(listener: Server, target: { host: string; port: number }, host: string) {
    this.#target = { host: target.host, port: target.port };
    this.host = host;
    this.port = (listener.address() as AddressInfo).port;
    this.#tracked.server(listener);
    listener.on('connection', (client) => this.#accept(client));
  }

  /** Control connections accepted so far. */
  get connections(): number {
    return this.#accepted;
  }

  /**
   * Arms a one-shot fault for the next client command whose line matches `match`: a RegExp tested
   * against the whole line (without CRLF, PASS unmasked), or a string compared with the verb,
   * case-insensitive. Rules armed together are tried in the order they were armed.
   *
   * `'before'` (default): the command is not forwarded; the fault happens instead.
   * `'after-reply'`: the command is forwarded, the server's final reply to it (the end of a
   * possibly multi-line reply with a code of 200 or more) is swallowed, then the fault happens:
   * "the server did it, the reply was lost". The command appears in {@link commands} either way.
   */
  onCommand(match: RegExp | string, fault: Fault, when: 'before' | 'after-reply' = 'before'): void {
    if (when !== 'before' && when !== 'after-reply') throw new TypeError(`bad 'when': ${String(when)}`);
    this.#rules.push({ match, fault, when });
  }

  /** Applies a fault to the current control connection (the latest one not yet closed by a fault) now, e.g. `{ reply: '421 Idle timeout' }` while idle. */
  faultControl(fault: Fault): void {
    const link = [...this.#links].reverse().find((l) => l.state !== 'dead');
    if (link === undefined) throw new Error('no live control connection to fault');
    this.#fault(link, fault);
  }

  /**
   * Arms a one-shot fault for the next passive data connection: once `afterBytes` bytes have been
   * forwarded server→client (downloads) or client→server (uploads), `'close'` sends FIN both ways
   * (what arrives afterwards is read and dropped), `'reset'` sends RST to the client and destroys
   * the server side, `'stall'` holds every further byte. The control connection is untouched.
   */
  onData(fault: DataFault, afterBytes: number): void {
    if (!Number.isSafeInteger(afterBytes) || afterBytes < 0) throw new RangeError(`bad afterBytes: ${afterBytes}`);
    this.#dataFaults.push({ fault, afterBytes });
  }

  /** Closes every socket and listener (client and server sides), stalled ones included. Resolves when all are closed. */
  close(): Promise<void> {
    return (this.#closing ??= this.#tracked.closeAll());
  }

  #accept(client: Socket): void {
    if (this.#closing) return void client.destroy();
    this.#tracked.socket(client);
    const server = this.#tracked.socket(connect({ ...this.#target, allowHalfOpen: true }));
    const link: Link = {
      index: ++this.#accepted, client, server, state: 'open', commandPart: Buffer.alloc(0),
      replyPart: Buffer.alloc(0), replyLines: [], multiCode: undefined, finals: 0, expected: 1,
      swallow: [], chain: Promise.resolve(), pasv: undefined,
    };
    this.#links.push(link);
    client.on('data', (chunk: Buffer) => this.#fromClient(link, chunk));
    server.on('data', (chunk: Buffer) => this.#fromServer(link, chunk));
    client.on('end', () => {
      if (link.state === 'open') server.end(link.commandPart);
    });
    server.on('end', () => {
      link.chain = link.chain.then(() => {
        if (link.state === 'open') client.end(Buffer.concat([...link.replyLines, link.replyPart]));
      });
    });
    let open = 2;
    const closed = (other: Socket) => () => {
      if (link.state === 'open') other.destroy();
      if (--open > 0) return;
      this.#links.splice(this.#links.indexOf(link), 1);
      link.pasv?.close();
    };
    client.once('close', closed(server));
    server.once('close', closed(client));
  }

  #fromClient(link: Link, chunk: Buffer): void {
    if (link.state !== 'open') return;
    let rest = Buffer.concat([link.commandPart, chunk]);
    for (let nl = rest.indexOf(LF); nl >= 0 && link.state === 'open'; nl = rest.indexOf(LF)) {
      const raw = rest.subarray(0, nl + 1);
      rest = rest.subarray(nl + 1);
      const line = raw.toString('utf8').replace(/\r?\n$/, '');
      const shown = /^PASS\b/i.test(line) ? 'PASS ****' : line;
      this.commands.push(shown);
      this.log.push({ connection: link.index, line: shown });
      const rule = this.#takeRule(line);
      if (rule?.when === 'before') {
        this.#fault(link, rule.fault);
        return;
      }
      link.expected++;
      if (rule) link.swallow.push({ at: link.expected, fault: rule.fault });
      link.server.write(raw);
    }
    link.commandPart = rest;
  }

  /** Removes and returns the first armed rule that matches the command line. */
  #takeRule(line: string) {
    const verb = line.split(' ', 1)[0]?.toUpperCase();
    const i = this.#rules.findIndex(({ match }) => {
      if (typeof match === 'string') return match.toUpperCase() === verb;
      match.lastIndex = 0;
      return match.test(line);
    });
    return i < 0 ? undefined : this.#rules.splice(i, 1)[0];
  }

  /** Splits the server's bytes into lines and whole replies, and queues each reply for delivery. */
  #fromServer(link: Link, chunk: Buffer): void {
    if (link.state !== 'open') return; // a stalled link holds the bytes: they are never delivered
    let rest = Buffer.concat([link.replyPart, chunk]);
    for (let nl = rest.indexOf(LF); nl >= 0; nl = rest.indexOf(LF)) {
      const raw = rest.subarray(0, nl + 1);
      rest = rest.subarray(nl + 1);
      link.replyLines.push(raw);
      const text = raw.toString('latin1');
      if (link.multiCode === undefined && /^\d{3}-/.test(text)) link.multiCode = text.slice(0, 3);
      else if (link.multiCode === undefined || text.startsWith(`${link.multiCode} `)) {
        const lines = link.replyLines;
        link.replyLines = [];
        link.multiCode = undefined;
        link.chain = link.chain.then(() => this.#deliver(link, lines)).catch(() => { link.client.destroy(); });
      }
    }
    link.replyPart = rest;
  }

  /** Forwards one whole reply, rewriting passive replies, or swallows it and applies an armed fault. */
  async #deliver(link: Link, lines: Buffer[]): Promise<void> {
    if (link.state !== 'open') return;
    const last = lines.at(-1)?.toString('latin1') ?? '';
    if (FINAL.test(last)) {
      link.finals++;
      const i = link.swallow.findIndex(({ at }) => at === link.finals);
      if (i >= 0) return this.#fault(link, link.swallow.splice(i, 1)[0]!.fault);
      const serverPort = passivePort(last);
      if (serverPort !== undefined) {
        const port = await this.#openData(link, serverPort);
        if (link.state !== 'open') return;
        if (port !== undefined) lines = [...lines.slice(0, -1), Buffer.from(rewritePassive(last, port, this.host), 'latin1')];
      }
    }
    link.client.write(Buffer.concat(lines));
  }

  /** Opens a one-shot passive listener forwarding to `serverPort`; undefined when nobody will use it. */
  async #openData(link: Link, serverPort: number): Promise<number | undefined> {
    link.pasv?.close(); // a newer PASV replaces one the client never used, as on the server
    const listener = await listen(this.host);
    if (this.#closing || link.state === 'dead') {
      listener.close();
      return undefined; // nobody will use it; #deliver drops the reply
    }
    this.#tracked.server(listener);
    link.pasv = listener;
    listener.on('connection', (client) => {
      if (link.pasv === listener) link.pasv = undefined;
      if (!listener.listening) return void client.destroy();
      listener.close();
      this.#pipeData(client, serverPort);
    });
    return (listener.address() as AddressInfo).port;
  }

  /** Forwards one data connection both ways, counting bytes, and applies the armed data fault if any. */
  #pipeData(client: Socket, serverPort: number): void {
    if (this.#closing) return void client.destroy();
    this.#tracked.socket(client);
    const server = this.#tracked.socket(connect({ host: this.#target.host, port: serverPort, allowHalfOpen: true }));
    const armed = this.#dataFaults.shift();
    let budget = armed ? armed.afterBytes : Infinity; // bytes to forward before the fault
    let state: LinkState | 'flushing' = 'open';
    const fault = (): void => {
      if (armed !== undefined && (state === 'open' || state === 'flushing')) state = strike(client, server, armed.fault);
    };
    const forward = (from: Socket, to: Socket, key: 'toClient' | 'toServer'): void => {
      from.on('data', (chunk: Buffer) => {
        if (state !== 'open') return;
        const part = chunk.length > budget ? chunk.subarray(0, budget) : chunk;
        budget -= part.length;
        this.dataBytes[key] += part.length;
        if (budget === 0) {
          state = 'flushing'; // forward nothing more, and fault once the last part is written
          from.pause();
          to.write(part, fault);
        } else if (!to.write(part)) {
          from.pause();
          to.once('drain', () => state === 'open' && from.resume());
        }
      });
      from.on('end', () => state === 'open' && to.end());
      from.once('close', () => state === 'open' && to.destroy());
    };
    forward(server, client, 'toClient');
    forward(client, server, 'toServer');
    if (budget === 0) fault();
  }

  #fault(link: Link, fault: Fault): void {
    if (link.state !== 'dead') link.state = strike(link.client, link.server, fault);
  }
}

/** Starts a proxy to `options.target`, listening on a free port of `options.host` (default 127.0.0.1). */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = options.host ?? '127.0.0.1';
  return new FaultProxy(await listen(host), options.target, host);
}
