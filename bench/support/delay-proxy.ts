/**
 * A delaying TCP proxy for FTP benchmarks: it adds round-trip time between an FTP client and a
 * real FTP server on loopback, where the kernel offers no netem qdisc. It carries the control
 * connection and the passive data connections.
 *
 * What it models:
 * - Latency: every byte, each way, is written on `rttMs / 2` after the proxy read it, in order.
 *   Chunks go out as they came (none are merged or split), except the server's control replies,
 *   which go out as whole lines: a line's delay counts from the arrival of its LF.
 * - Connection setup: the connect to the server starts `rttMs / 2` after the client's connect
 *   (the SYN going out). The client's own connect completes at once (the kernel answers it on
 *   loopback), so a new connection here costs one round trip less than over a real link: there
 *   the client's connect returns after one RTT and the server's first byte (greeting, download
 *   data) reaches it after two, here after one; likewise the client's first byte (an upload)
 *   reaches the server 0.5 RTT after its connect instead of 1.5. A client that waits for its
 *   data connection before it sends RETR or STOR (basic-ftp does) thus saves a round trip per
 *   transfer here; the proxy cannot charge it, as the command goes on another connection.
 * - Close: a FIN is passed on after the bytes queued before it, with the same delay. A reset or
 *   an error on one side destroys the other at once (with a reset where it is connected) and
 *   drops what is queued; a server that refuses the connect shows up as a reset.
 *
 * What it does not model: bandwidth (there is no limit), loss, reordering, jitter, TCP's slow
 * start and congestion window. To keep memory bounded it stops reading a side while more than
 * {@link QUEUE_HIGH} bytes of one direction are queued or unsent (and reads on below
 * {@link QUEUE_LOW}), which caps one direction at about QUEUE_HIGH per `rttMs / 2` (4 MiB per 5 ms
 * at 10 ms RTT), like a TCP window. Timers have millisecond granularity: delays are lower bounds,
 * late by about 0.5 ms per direction on an idle machine (a NOOP through `rttMs: 10` to vsftpd took
 * 11.2 to 12.4 ms here, 0.1 to 0.5 ms with `rttMs: 0`), more under load. The proxy's own sockets
 * have Nagle off (TCP_NODELAY), so it adds no waits for ACKs of its own.
 *
 * Plain FTP only: the proxy reads the control connection to rewrite passive replies, so it cannot
 * carry FTPS (the FTPS benchmark scenarios run without delay). Passive mode only: 227 (PASV) and
 * 229 (EPSV) replies are rewritten to point at a one-shot listener of the proxy, which forwards,
 * delayed the same way, to the port the server named on `target.host` (the address in a 227 is
 * ignored). Active mode (PORT/EPRT) is not supported: the server would connect straight to the
 * client, without delay.
 *
 * @example
 * ```ts
 * const server = await startServer('vsftpd');
 * const proxy = await startDelayProxy({ target: server, rttMs: 10 });
 * const ftp = await FtpSession.connect({ host: proxy.host, port: proxy.port, user: server.user, password: server.password });
 * // ... every command now takes at least 10 ms, every passive transfer a few round trips more
 * await ftp.close();
 * await proxy.close();
 * await server.stop();
 * ```
 */
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { listen, TrackedSockets } from '../../spec/support/tracked-sockets.js';
import { performance } from 'node:perf_hooks';
import { passivePort, rewritePassive } from '../../spec/support/passive-rewrite.js';

/** Where the proxy forwards to, how much delay it adds, where it listens. */
export interface DelayProxyOptions {
  /** The FTP server. Passive data connections go to this host too, whatever address a 227 names. */
  target: { host: string; port: number };
  /** Round-trip time added, in milliseconds (each direction gets half). 0: no delay. */
  rttMs: number;
  /** Address the control and passive data listeners bind to. Default `127.0.0.1`. */
  host?: string;
}

/** A running proxy; start it with {@link startDelayProxy}. */
export interface DelayProxy {
  /** Address and port clients connect to. */
  readonly host: string;
  readonly port: number;
  readonly rttMs: number;
  /** data connections carried so far */
  readonly dataConnections: number;
  /** Ends every socket and listener the proxy made; resolves when all are closed. */
  close(): Promise<void>;
}

/** One direction stops reading at this many bytes queued or unsent… */
export const QUEUE_HIGH = 4 * 1024 * 1024;
/** …and reads on at this many. */
export const QUEUE_LOW = QUEUE_HIGH / 2;

const LF = 0x0a;

/** A chunk waiting for its time; `null` is the FIN. */
interface Due {
  at: number;
  chunk: Buffer | null;
}

/**
 * One direction of one connection: a FIFO of chunks with the time each is due, one timer armed
 * for the head at most. When it fires, every due chunk is written, then the timer is armed again
 * for the new head. The queue is bounded by pausing the reading side.
 */
class Lane {
  #queue: Array<Due | undefined> = [];
  #head = 0;
  /** Bytes in the queue. */
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;
  #to: Socket | undefined;
  #paused = false;
  /** The FIN went out, or the lane was dropped: nothing more is taken or written. */
  #done = false;

  constructor(
    private readonly delayMs: number,
    private readonly from: Socket,
  ) {}

  /** Sets the socket the bytes go to (the server side exists only once its connect started) and writes what is due. */
  attach(to: Socket): void {
    this.#to = to;
    to.on('drain', () => this.#pressure());
    this.#flush();
  }

  /** Queues a chunk (or the FIN: `null`) read at `readAt`, due `delayMs` later. */
  push(chunk: Buffer | null, readAt: number): void {
    if (this.#done) return;
    this.#queue.push({ at: readAt + this.delayMs, chunk });
    if (chunk !== null) this.#queued += chunk.length;
    if (this.#timer === undefined) this.#flush(); // writes at once when due (rttMs 0), else arms the timer
    this.#pressure();
  }

  /** Forgets everything queued and writes nothing more (the pair is being torn down). */
  drop(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
  }

  readonly #flush = (): void => {
    this.#timer = undefined;
    const to = this.#to;
    if (to === undefined || this.#done) return;
    if (to.destroyed) return this.drop();
    const now = performance.now();
    for (let next = this.#queue[this.#head]; next !== undefined && next.at <= now; next = this.#queue[this.#head]) {
      this.#queue[this.#head++] = undefined;
      if (next.chunk === null) {
        to.end();
        this.drop();
        return this.#resume();
      }
      this.#queued -= next.chunk.length;
      to.write(next.chunk);
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    const head = this.#queue[this.#head];
    // A timer may fire a little before performance.now() says the head is due: then it is armed again.
    if (head !== undefined) this.#timer = setTimeout(this.#flush, Math.max(1, Math.ceil(head.at - now)));
    this.#pressure();
  };

  /** Pauses the reading side above QUEUE_HIGH bytes queued or unsent, resumes it at QUEUE_LOW. */
  #pressure(): void {
    if (this.#done) return;
    const load = this.#queued + (this.#to?.writableLength ?? 0);
    if (!this.#paused && load >= QUEUE_HIGH) {
      this.#paused = true;
      this.from.pause();
    } else if (this.#paused && load <= QUEUE_LOW) {
      this.#resume();
    }
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.from.resume();
  }
}

/** The server's side of the control connection, read line by line so that passive replies can be rewritten. */
class ReplyReader {
  /** Bytes after the last LF. */
  #part = Buffer.alloc(0);
  /** The code of the multi-line reply being read (`ddd-` seen, `ddd ` not yet). */
  #multiCode: string | undefined;
  /** Whole lines go out in order through this chain (a rewrite waits for its listener). */
  #chain = Promise.resolve();

  constructor(
    private readonly lane: Lane,
    private readonly openPassive: (serverPort: number) => Promise<number | undefined>,
    private readonly host: string,
    private readonly fail: () => void,
  ) {}

  data(chunk: Buffer): void {
    const readAt = performance.now();
    const bytes = this.#part.length === 0 ? chunk : Buffer.concat([this.#part, chunk]);
    const cut = bytes.lastIndexOf(LF) + 1;
    this.#part = Buffer.from(bytes.subarray(cut)); // a copy: the chunk is not kept alive by a partial line
    if (cut > 0) this.#then(() => this.#release(bytes.subarray(0, cut), readAt));
  }

  end(): void {
    const readAt = performance.now();
    const rest = this.#part;
    this.#then(() => {
      if (rest.length > 0) this.lane.push(rest, readAt); // a last line without LF goes out as it is
      this.lane.push(null, readAt);
    });
  }

  #then(step: () => void | Promise<void>): void {
    this.#chain = this.#chain.then(step).catch(() => this.fail());
  }

  /** Queues whole lines, with the final line of a 227 or 229 reply pointing at a listener of the proxy. */
  async #release(lines: Buffer, readAt: number): Promise<void> {
    let out: Buffer[] | undefined; // set once a line was rewritten
    let start = 0;
    for (let nl = lines.indexOf(LF); nl >= 0; start = nl + 1, nl = lines.indexOf(LF, start)) {
      const line = lines.subarray(start, nl + 1);
      const text = line.toString('latin1');
      let final = false;
      if (this.#multiCode === undefined) {
        if (/^\d{3}-/.test(text)) this.#multiCode = text.slice(0, 3);
        else final = true;
      } else if (text.startsWith(`${this.#multiCode} `)) {
        this.#multiCode = undefined;
        final = true;
      }
      const serverPort = final ? passivePort(text) : undefined;
      const port = serverPort === undefined ? undefined : await this.openPassive(serverPort);
      if (port !== undefined) {
        out ??= [lines.subarray(0, start)];
        out.push(Buffer.from(rewritePassive(text, port, this.host), 'latin1'));
      } else {
        out?.push(line);
      }
    }
    this.lane.push(out === undefined ? lines : Buffer.concat(out), readAt);
  }
}

/** One connection through the proxy: the client's socket, the server's (from `delayMs` on), a lane each way. */
class Hop {
  readonly up: Lane;
  down: Lane | undefined;
  server: Socket | undefined;
  /** The passive listener this control connection's last 227/229 pointed at, while nobody connected to it. */
  pasv: Server | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #open = 1; // sockets not yet closed

  constructor(
    proxy: DelayProxyServer,
    readonly client: Socket,
    target: { host: string; port: number },
    delayMs: number,
    /** Reads the server's bytes into the down lane; the default passes the chunks on. */
    readServer: ((server: Socket, down: Lane) => void) | undefined,
    private readonly onClosed: () => void,
  ) {
    this.up = new Lane(delayMs, client);
    proxy.track(client);
    client.on('data', (chunk: Buffer) => this.up.push(chunk, performance.now()));
    client.on('end', () => this.up.push(null, performance.now()));
    client.once('close', (hadError) => this.#closed(client, hadError));
    const start = (): void => {
      this.#connectTimer = undefined;
      const server = proxy.track(connect({ host: target.host, port: target.port, allowHalfOpen: true }));
      this.server = server;
      this.#open++;
      const down = (this.down = new Lane(delayMs, server));
      down.attach(client);
      this.up.attach(server);
      if (readServer) readServer(server, down);
      else {
        server.on('data', (chunk: Buffer) => down.push(chunk, performance.now()));
        server.on('end', () => down.push(null, performance.now()));
      }
      server.once('close', (hadError) => this.#closed(server, hadError));
    };
    const due = performance.now() + delayMs;
    const wait = (): void => {
      const left = due - performance.now(); // a timer may fire a little early: then it waits again
      if (left > 0) this.#connectTimer = setTimeout(wait, Math.max(1, Math.ceil(left)));
      else start();
    };
    wait();
  }

  /** Tears the pair down at once: lanes dropped, a pending connect cancelled (sockets are the proxy's to destroy). */
  stop(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.up.drop();
    this.down?.drop();
    this.pasv?.close();
    this.pasv = undefined;
  }

  /** A reset or error on one side destroys the other; a clean close ends only the lane into that socket. */
  #closed(socket: Socket, hadError: boolean): void {
    (socket === this.client ? this.down : this.up)?.drop();
    if (hadError || this.#connectTimer !== undefined) {
      this.stop();
      const other = socket === this.client ? this.server : this.client;
      if (other !== undefined && !other.destroyed) {
        if (other.connecting) other.destroy();
        else other.resetAndDestroy();
      }
    }
    if (--this.#open === 0 && this.#connectTimer === undefined) {
      this.stop();
      this.onClosed();
    }
  }
}

/** The proxy behind {@link DelayProxy}. */
class DelayProxyServer implements DelayProxy {
  readonly host: string;
  readonly port: number;
  readonly rttMs: number;
  readonly #target: { host: string; port: number };
  readonly #delayMs: number;
  readonly #tracked = new TrackedSockets();
  readonly #hops = new Set<Hop>();
  /** Passive listeners still being opened, and those closed unused right after: close() waits for both. */
  readonly #opening = new Set<Promise<unknown>>();
  readonly #discarding = new Set<Promise<void>>();
  #dataConnections = 0;
  #closing: Promise<void> | undefined;

  constructor(listener: Server, options: DelayProxyOptions, host: string) {
    this.host = host;
    this.port = (listener.address() as AddressInfo).port;
    this.rttMs = options.rttMs;
    this.#delayMs = options.rttMs / 2;
    this.#target = { host: options.target.host, port: options.target.port };
    this.#tracked.server(listener);
    listener.on('connection', (client: Socket) => this.#control(client));
  }

  get dataConnections(): number {
    return this.#dataConnections;
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#hops.forEach((hop) => hop.stop());
    const opening = [...this.#opening];
    this.#closing = this.#tracked.closeAll()
      .then(() => Promise.allSettled(opening)) // #openPassive has discarded each of them by then
      .then(() => Promise.all(this.#discarding))
      .then(() => {});
    return this.#closing;
  }

  /**
   * Tracks a socket until it closes; errors (resets) are expected and end in 'close'. No Nagle:
   * the proxy writes each chunk as the sender did, instead of holding a small write until the
   * last one is acknowledged (with delayed ACKs, 40 ms per FTP reply that follows another).
   */
  track(socket: Socket): Socket {
    socket.setNoDelay(true);
    return this.#tracked.socket(socket);
  }


  #control(client: Socket): void {
    if (this.#closing) return void client.destroy();
    const hop: Hop = new Hop(this, client, this.#target, this.#delayMs, (server, down) => {
      const reader = new ReplyReader(down, (serverPort) => this.#openPassive(hop, serverPort), this.host, () => {
        client.destroy();
        server.destroy();
      });
      server.on('data', (chunk: Buffer) => reader.data(chunk));
      server.on('end', () => reader.end());
    }, () => this.#hops.delete(hop));
    this.#hops.add(hop);
  }

  /** Opens the one-shot listener for a passive reply, before the reply goes on; its port, or undefined when nobody will use it. */
  #openPassive(hop: Hop, serverPort: number): Promise<number | undefined> {
    const opening = this.#openPassiveNow(hop, serverPort);
    this.#opening.add(opening);
    const forget = () => void this.#opening.delete(opening);
    opening.then(forget, forget);
    return opening;
  }

  async #openPassiveNow(hop: Hop, serverPort: number): Promise<number | undefined> {
    hop.pasv?.close(); // a newer PASV replaces one the client never used, as on the server
    hop.pasv = undefined;
    const listener = await listen(this.host);
    if (this.#closing || !this.#hops.has(hop)) {
      const discarded = new Promise<void>((res) => listener.close(() => res()));
      this.#discarding.add(discarded);
      void discarded.then(() => this.#discarding.delete(discarded));
      return undefined; // the reply goes on unchanged, or not at all: nobody is left to use it
    }
    this.#tracked.server(listener);
    hop.pasv = listener;
    listener.on('connection', (client: Socket) => {
      if (hop.pasv === listener) hop.pasv = undefined;
      if (!listener.listening || this.#closing) return void client.destroy();
      listener.close();
      this.#dataConnections++;
      const data: Hop = new Hop(this, client, { host: this.#target.host, port: serverPort }, this.#delayMs, undefined, () => this.#hops.delete(data));
      this.#hops.add(data);
    });
    return (listener.address() as AddressInfo).port;
  }
}

/** Starts a proxy to `options.target` adding `options.rttMs`, listening on a free port of `options.host` (default 127.0.0.1). */
export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  if (!Number.isFinite(options.rttMs) || options.rttMs < 0) throw new RangeError(`bad rttMs: ${options.rttMs}`);
  const host = options.host ?? '127.0.0.1';
  return new DelayProxyServer(await listen(host), options, host);
}
