/**
 * A small in-process FTP server over an in-memory file tree (see ./memory-fs.ts), for `npm run demo`
 * and for tests of the high-level layer. No system setup: `await startMemoryServer({ files })`.
 *
 * Implements RFC 959 (with the RFC 1123 clarifications), RFC 2428 (EPSV/EPRT), the RFC 3659
 * extensions SIZE, MDTM, REST STREAM and MLST/MLSD, draft-bryan-ftpext-hash's HASH and OPTS HASH
 * (SHA-1, SHA-256, SHA-512, MD5; SHA-1 selected at login, as ProFTPD's mod_digest), and
 * SITE CHMOD. Deliberate simplifications:
 *  - TYPE A is accepted but data is sent and stored unchanged (no CRLF conversion), so transfers
 *    are byte-exact in both types and SIZE is the same in both.
 *  - Listings are in UTC; owner/group are always "ftp"; every file and directory is read-write
 *    (SITE CHMOD changes the mode listings show, not what may be done).
 *  - A data channel serves one transfer command and is closed after it, whatever its outcome.
 *  - Commands are run one at a time, in order; while a transfer runs only ABOR and STAT are
 *    answered at once (RFC 959 §4.1.3), everything else (QUIT too) waits for the transfer's reply.
 *  - PORT/EPRT may only name the control connection's peer address (no FTP bounce).
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { FsError, MemoryFs, resolvePath, splitPath, type FsNode } from './memory-fs.js';

export interface MemoryServerOptions {
  /** user -> password; default `{ demo: 'demo' }`. */
  users?: Record<string, string>;
  /** Initial files by absolute path, e.g. `{ '/pub/readme.txt': 'hi' }`; parent directories are created. */
  files?: Record<string, Buffer | string>;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Lines of the 220 banner (multi-line when more than one). */
  greeting?: string[];
  /** Trace of commands received (`#1 C> ...`, PASS masked) and replies sent (`#1 S> ...`). */
  log?: (line: string) => void;
  /**
   * Bytes per second each data connection carries at most, both ways; default unlimited. On
   * loopback a transfer is otherwise over before a progress report or an abort can happen.
   */
  rate?: number;
}

export interface MemoryServer {
  host: string;
  port: number;
  /** A copy of the file at `path`, or undefined when there is no such file. */
  readFile(path: string): Buffer | undefined;
  /** Creates or replaces a file (parent directories are created). */
  writeFile(path: string, data: Buffer | string): void;
  /** Closes the listener and every open control and data socket. */
  close(): Promise<void>;
}

interface Config {
  users: Record<string, string>;
  greeting: string[];
  log: ((line: string) => void) | undefined;
  rate: number | undefined;
}

const MAX_LINE = 8192;
const DATA_TIMEOUT_MS = 10_000;
const CHUNK = 64 * 1024;

export async function startMemoryServer(opts: MemoryServerOptions = {}): Promise<MemoryServer> {
  if (opts.rate !== undefined && !(opts.rate > 0 && Number.isFinite(opts.rate))) {
    throw new RangeError(`rate must be a positive number of bytes per second, got ${opts.rate}`);
  }
  const fs = new MemoryFs();
  for (const [path, data] of Object.entries(opts.files ?? {})) fs.writeFile(path, toBuffer(data), { parents: true });
  const config: Config = {
    users: opts.users ?? { demo: 'demo' },
    greeting: opts.greeting ?? ['ftp-session memory server ready.'],
    log: opts.log,
    rate: opts.rate,
  };
  const host = opts.host ?? '127.0.0.1';
  const sessions = new Set<Session>();
  let nextId = 1;

  const server = net.createServer((socket) => {
    const session = new Session(socket, fs, config, nextId++);
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => config.log?.(`server error: ${err.message}`));

  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    readFile(path) {
      const node = fs.stat(path);
      return node?.kind === 'file' ? Buffer.from(node.data) : undefined;
    },
    writeFile(path, data) {
      fs.writeFile(path, toBuffer(data), { parents: true });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve()); // resolves also when already closed (the callback gets an error)
        for (const session of sessions) session.destroy();
      });
    },
  };
}

function toBuffer(data: Buffer | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

// ---------------------------------------------------------------------------------------------
// Data channels: what PASV/EPSV (we listen) or PORT/EPRT (we connect) set up for the next transfer.

interface DataChannel {
  /** The connected data socket, or null when none could be had (timeout, refused, closed). */
  acquire(): Promise<net.Socket | null>;
  close(): void;
  /** Closed already (a passive listener that timed out): a transfer command gets 425 at once. */
  readonly closed: boolean;
}

/** Listens on an ephemeral port; accepts one connection, from the control peer only; gives up after 10 s. */
class PassiveChannel implements DataChannel {
  private socket: net.Socket | null = null;
  private waiter: ((socket: net.Socket | null) => void) | null = null;
  closed = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly server: net.Server,
    private readonly peer: string,
  ) {
    server.on('connection', (socket) => this.onConnection(socket));
    server.on('error', () => this.close());
    this.timer = setTimeout(() => this.close(), DATA_TIMEOUT_MS);
  }

  static open(localAddress: string, peer: string): Promise<PassiveChannel> {
    const server = net.createServer({ allowHalfOpen: true });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, localAddress, () => {
        server.off('error', reject);
        resolve(new PassiveChannel(server, peer));
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.closed || this.socket || normalizeAddress(socket.remoteAddress) !== this.peer) {
      socket.destroy(); // a stranger (or a second connection): refuse, keep waiting for the client
      return;
    }
    this.socket = socket;
    this.server.close();
    if (this.waiter) this.handOver();
  }

  acquire(): Promise<net.Socket | null> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      if (this.socket || this.closed) this.handOver();
    });
  }

  private handOver(): void {
    const waiter = this.waiter;
    const socket = this.closed ? null : this.socket;
    this.waiter = null;
    this.socket = null; // now owned by the transfer
    clearTimeout(this.timer);
    waiter?.(socket);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.server.close();
    this.socket?.destroy();
    this.handOver();
  }
}

/** Connects to the address given by PORT/EPRT when the transfer starts. */
class ActiveChannel implements DataChannel {
  private socket: net.Socket | null = null;
  closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  acquire(): Promise<net.Socket | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const socket = net.connect({ host: this.host, port: this.port, allowHalfOpen: true });
      this.socket = socket;
      const fail = () => {
        socket.destroy();
        resolve(null);
      };
      socket.setTimeout(DATA_TIMEOUT_MS, fail);
      socket.once('error', fail);
      socket.once('close', fail); // close() called while connecting
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.off('error', fail).off('close', fail);
        socket.on('error', () => {});
        resolve(socket);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}

/**
 * The pace of one data connection at `rate` bytes per second: how many ms to wait before the
 * connection has carried `bytes` in all (0 when it may go on now; always 0 without a rate).
 */
function pacer(rate: number | undefined): (bytes: number) => number {
  const start = Date.now();
  return (bytes) => (rate === undefined ? 0 : Math.max(0, start + (bytes / rate) * 1000 - Date.now()));
}

/** Writes `data` with back-pressure (and at `rate`), closes our side, resolves once the socket is closed. */
function sendAndClose(socket: net.Socket, data: Buffer, progress: (bytes: number) => void, rate?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('data connection already closed'));
    let offset = 0;
    let ended = false;
    const wait = pacer(rate);
    let timer: NodeJS.Timeout | null = null;
    const pump = (): void => {
      while (offset < data.length) {
        const delay = wait(offset);
        if (delay > 0) {
          timer ??= setTimeout(() => {
            timer = null;
            pump();
          }, delay);
          return;
        }
        const chunk = data.subarray(offset, offset + CHUNK);
        offset += chunk.length;
        progress(chunk.length);
        if (!socket.write(chunk)) return; // wait for 'drain'
      }
      if (!ended) {
        ended = true;
        socket.end();
      }
    };
    socket.on('drain', pump);
    socket.on('finish', () => socket.destroy()); // all written: no need to wait for the client's FIN
    socket.on('error', reject);
    socket.on('close', () => {
      if (timer) clearTimeout(timer);
      if (ended) resolve();
      else reject(new Error('data connection closed early'));
    });
    pump();
  });
}

/** Reads (at `rate`) until the client closes its side, then closes ours; resolves once the socket is closed. */
function receiveUntilClosed(socket: net.Socket, onChunk: (chunk: Buffer) => void, rate?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('data connection already closed'));
    let gotEnd = false;
    let received = 0;
    const wait = pacer(rate);
    socket.on('data', (chunk: Buffer) => {
      onChunk(chunk);
      received += chunk.length;
      const delay = wait(received);
      if (delay > 0) {
        socket.pause(); // the client's writes stall until we read again
        setTimeout(() => socket.resume(), delay);
      }
    });
    socket.on('end', () => {
      gotEnd = true;
      socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => (gotEnd ? resolve() : reject(new Error('data connection reset'))));
  });
}

// ---------------------------------------------------------------------------------------------
// Replies and formatting

/** FEAT's lines; `HASH` lists {@link HASHES}, the session's current one marked with `*`. */
const FEATURES = ['EPRT', 'EPSV', 'HASH', 'MDTM', 'MLST type*;size*;modify*;perm*;', 'REST STREAM', 'SIZE', 'UTF8'];
/** HASH algorithms by their IANA name (as HASH and OPTS HASH spell them): node:crypto's name. */
const HASHES: Readonly<Record<string, string>> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512', MD5: 'md5' };
const ALL_FACTS = ['type', 'size', 'modify', 'perm'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HALF_YEAR_MS = 182 * 24 * 3600 * 1000;

/** '::ffff:127.0.0.1' and '127.0.0.1' are the same peer. */
function normalizeAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/** RFC 959 quoting of a pathname inside a 257 reply: embedded quotes are doubled. */
function quotePath(path: string): string {
  return `"${path.replace(/"/g, '""')}"`;
}

/** YYYYMMDDHHMMSS in UTC (MDTM, MLSx modify fact). */
function timeVal(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** `rwxr-xr-x` for 0o755: the permission bits as `ls -l` shows them. */
function modeString(mode: number): string {
  return [6, 3, 0].map((shift) => {
    const bits = (mode >> shift) & 7;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  }).join('');
}

/** One `ls -l` line. */
function lsLine(name: string, node: FsNode, now = Date.now()): string {
  const mode = (node.kind === 'dir' ? 'd' : '-') + modeString(node.mode ?? (node.kind === 'dir' ? 0o755 : 0o644));
  const size = node.kind === 'dir' ? 4096 : node.data.length;
  const t = node.mtime;
  const recent = Math.abs(now - t.getTime()) < HALF_YEAR_MS;
  const when = recent
    ? `${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}`
    : ` ${t.getUTCFullYear()}`;
  const date = `${MONTHS[t.getUTCMonth()]} ${String(t.getUTCDate()).padStart(2)} ${when}`;
  return `${mode} ${node.kind === 'dir' ? 2 : 1} ftp      ftp      ${String(size).padStart(10)} ${date} ${name}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------
// One control connection

interface Command {
  /** Needs a logged-in user (else 530). */
  auth: boolean;
  /** Needs a non-empty argument (else 501). */
  needsArg?: boolean;
  run(arg: string, ctx: CommandContext): void | Promise<void>;
}

/** State that only the command right after REST / RNFR may use. */
interface CommandContext {
  rest: number;
  renameFrom: string | null;
}

interface Transfer {
  channel: DataChannel;
  what: string;
  path: string;
  bytes: number;
  socket: net.Socket | null;
  done: boolean;
}

class Session {
  private buffer: Buffer = Buffer.alloc(0);
  private discarding = false;
  private readonly queue: Array<string | null> = [];
  private running = false;
  private closed = false;
  /** QUIT was answered: read no more commands. */
  private ending = false;
  private user: string | null = null;
  private loggedIn = false;
  private cwd = '/';
  private type: 'A' | 'I' = 'A';
  /** The algorithm HASH uses (OPTS HASH changes it). */
  private hash = 'SHA-1';
  private rest = 0;
  private renameFrom: string | null = null;
  private epsvAll = false;
  private mlstFacts = new Set(ALL_FACTS);
  private data: DataChannel | null = null;
  private transfer: Transfer | null = null;
  private readonly peer: string;

  constructor(
    private readonly socket: net.Socket,
    private readonly fs: MemoryFs,
    private readonly config: Config,
    private readonly id: number,
  ) {
    this.peer = normalizeAddress(socket.remoteAddress);
    // Replies are small writes (150 then 226): without this, Nagle holds the 226 back until the
    // client's delayed ACK of the 150 arrives, ~40 ms later.
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.log(`control socket error: ${err.message}`));
    socket.on('close', () => this.destroy());
    this.reply(220, config.greeting.length > 0 ? config.greeting : ['ready.']);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.data?.close();
    this.data = null;
    this.transfer?.channel.close();
    this.transfer?.socket?.destroy();
    this.socket.destroy();
  }

  private log(line: string): void {
    this.config.log?.(`#${this.id} ${line}`);
  }

  /** Sends a reply; several lines make a multi-line reply (`code-first`, ..., `code last`). */
  private reply(code: number, text: string | string[]): void {
    const lines = (Array.isArray(text) ? text : [text]).map((line) => line.replace(/[\r\n]/g, ' '));
    const out =
      lines.length === 1
        ? [`${code} ${lines[0]}`]
        : [
            `${code}-${lines[0]}`,
            // a middle line starting with digits could be taken for the last one: indent it
            ...lines.slice(1, -1).map((line) => (/^\d/.test(line) ? ` ${line}` : line)),
            `${code} ${lines[lines.length - 1]}`,
          ];
    for (const line of out) this.log(`S> ${line}`);
    if (!this.closed && this.socket.writable) this.socket.write(`${out.join('\r\n')}\r\n`);
  }

  // --- reading command lines ---

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf(0x0a)) !== -1) {
      const raw = this.buffer.subarray(0, nl);
      this.buffer = this.buffer.subarray(nl + 1);
      if (this.discarding) this.discarding = false; // tail of an over-long line, already answered
      else this.onLine(raw.length > MAX_LINE ? null : decodeLine(raw));
    }
    if (this.buffer.length > MAX_LINE && !this.discarding) {
      this.discarding = true;
      this.onLine(null);
    }
    if (this.discarding) this.buffer = Buffer.alloc(0);
  }

  /** `line` null: the line was too long. */
  private onLine(line: string | null): void {
    if (this.closed || this.ending) return;
    const verb = line?.split(' ', 1)[0]?.toUpperCase();
    if (this.transfer && (verb === 'ABOR' || verb === 'STAT')) {
      void this.execute(line); // answered during the transfer
      return;
    }
    this.queue.push(line);
    void this.runQueue();
  }

  private async runQueue(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0 && !this.closed && !this.ending) await this.execute(this.queue.shift() ?? null);
    this.running = false;
  }

  private async execute(line: string | null): Promise<void> {
    if (line === null) return this.reply(500, 'Command line too long.');
    const space = line.indexOf(' ');
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? '' : line.slice(space + 1);
    this.log(`C> ${verb === 'PASS' ? 'PASS ****' : line.replace(/\0/g, '\\0')}`);
    const ctx: CommandContext = { rest: this.rest, renameFrom: this.renameFrom };
    this.rest = 0;
    this.renameFrom = null;
    if (line.includes('\0')) return this.reply(500, 'Command line contains a NUL byte.');
    if (verb === '') return this.reply(500, 'Empty command line.');
    const command = Object.hasOwn(this.commands, verb) ? this.commands[verb] : undefined;
    if (!command) return this.reply(502, `Command not implemented: ${verb.slice(0, 20)}`);
    if (command.auth && !this.loggedIn) return this.reply(530, 'Please login with USER and PASS.');
    if (command.needsArg && arg === '') return this.reply(501, `Syntax error: ${verb} needs an argument.`);
    try {
      await command.run(arg, ctx);
    } catch (err) {
      if (err instanceof FsError) this.reply(550, err.message);
      else {
        this.log(`internal error: ${err instanceof Error ? err.stack : String(err)}`);
        this.reply(451, 'Local error in processing.');
      }
    }
  }

  private resolve(arg: string): string {
    return resolvePath(this.cwd, arg);
  }

  // --- the commands ---

  private readonly commands: Record<string, Command> = {
    USER: { auth: false, needsArg: true, run: (arg) => {
      this.loggedIn = false;
      this.user = arg;
      this.reply(331, `Password required for ${arg}.`);
    } },
    PASS: { auth: false, run: (arg) => {
      if (this.loggedIn) return this.reply(230, 'Already logged in.');
      if (this.user === null) return this.reply(503, 'Login with USER first.');
      const user = this.user;
      if (Object.hasOwn(this.config.users, user) && this.config.users[user] === arg) {
        this.loggedIn = true;
        this.cwd = '/';
        return this.reply(230, `User ${user} logged in.`);
      }
      this.user = null;
      return this.reply(530, 'Login incorrect.');
    } },
    ACCT: { auth: false, run: () => this.reply(202, 'No account needed.') },
    QUIT: { auth: false, run: () => {
      this.reply(221, 'Goodbye.');
      this.ending = true;
      this.queue.length = 0;
      this.socket.end(); // 'close' then cleans up
    } },
    NOOP: { auth: false, run: () => this.reply(200, 'NOOP ok.') },
    SYST: { auth: false, run: () => this.reply(215, 'UNIX Type: L8') },
    FEAT: { auth: false, run: () => {
      const hashes = Object.keys(HASHES).map((name) => (name === this.hash ? `${name}*` : name)).join(';');
      return this.reply(211, ['Features:', ...FEATURES.map((f) => ` ${f === 'HASH' ? `HASH ${hashes};` : f}`), 'End']);
    } },
    HELP: { auth: false, run: (arg) => {
      if (arg !== '') {
        const verb = arg.trim().toUpperCase();
        if (Object.hasOwn(this.commands, verb)) return this.reply(214, `${verb} is implemented.`);
        return this.reply(502, `Unknown command ${verb.slice(0, 20)}.`);
      }
      const verbs = Object.keys(this.commands).sort();
      const rows: string[] = [];
      for (let i = 0; i < verbs.length; i += 8) rows.push(` ${verbs.slice(i, i + 8).map((v) => v.padEnd(5)).join(' ').trimEnd()}`);
      return this.reply(214, ['The following commands are recognized:', ...rows, 'Help OK.']);
    } },
    OPTS: { auth: false, needsArg: true, run: (arg) => {
      const [name = '', ...rest] = arg.split(' ');
      const value = rest.join(' ');
      switch (name.toUpperCase()) {
        case 'UTF8':
          if (value.toUpperCase() === 'ON') return this.reply(200, 'Always in UTF8 mode.');
          return this.reply(504, 'UTF8 cannot be turned off.');
        case 'HASH': {
          if (value === '') return this.reply(200, this.hash);
          const name = Object.keys(HASHES).find((known) => known === value.toUpperCase());
          if (name === undefined) return this.reply(501, `${value.slice(0, 20)}: Unsupported algorithm`);
          this.hash = name;
          return this.reply(200, value);
        }
        case 'MLST': {
          const wanted = value.split(';').map((f) => f.toLowerCase()).filter((f) => ALL_FACTS.includes(f));
          this.mlstFacts = new Set(wanted);
          return this.reply(200, `MLST OPTS ${wanted.map((f) => `${f};`).join('')}`);
        }
        default:
          return this.reply(501, `Option not understood: ${name.slice(0, 20)}`);
      }
    } },

    PWD: { auth: true, run: () => this.reply(257, `${quotePath(this.cwd)} is the current directory.`) },
    CWD: { auth: true, needsArg: true, run: (arg) => this.changeDir(arg) },
    CDUP: { auth: true, run: () => this.changeDir('..') },
    TYPE: { auth: true, needsArg: true, run: (arg) => {
      const t = arg.toUpperCase().replace(/\s+/g, ' ').trim();
      if (t === 'I' || t === 'L 8') this.type = 'I';
      else if (t === 'A' || t === 'A N') this.type = 'A';
      else if (/^(A [TC]|E( [NTC])?|L \d+)$/.test(t)) return this.reply(504, `Type ${t} not implemented.`);
      else return this.reply(501, 'Syntax error in TYPE.');
      return this.reply(200, `Type set to ${this.type}.`);
    } },
    MODE: { auth: true, needsArg: true, run: (arg) => this.onlyParam('MODE', arg, 'S', 'BC') },
    STRU: { auth: true, needsArg: true, run: (arg) => this.onlyParam('STRU', arg, 'F', 'RP') },
    ALLO: { auth: true, run: () => this.reply(202, 'No storage allocation necessary.') },

    MKD: { auth: true, needsArg: true, run: (arg) => {
      const path = this.resolve(arg);
      this.fs.mkdir(path);
      this.reply(257, `${quotePath(path)} directory created.`);
    } },
    RMD: { auth: true, needsArg: true, run: (arg) => {
      this.fs.rmdir(this.resolve(arg));
      this.reply(250, 'Directory removed.');
    } },
    DELE: { auth: true, needsArg: true, run: (arg) => {
      this.fs.unlink(this.resolve(arg));
      this.reply(250, 'File deleted.');
    } },
    RNFR: { auth: true, needsArg: true, run: (arg) => {
      const path = this.resolve(arg);
      if (!this.fs.stat(path)) throw new FsError('ENOENT', path);
      this.renameFrom = path;
      this.reply(350, 'Ready for RNTO.');
    } },
    RNTO: { auth: true, needsArg: true, run: (arg, ctx) => {
      if (ctx.renameFrom === null) return this.reply(503, 'RNFR required first.');
      this.fs.rename(ctx.renameFrom, this.resolve(arg));
      return this.reply(250, 'Rename successful.');
    } },
    SIZE: { auth: true, needsArg: true, run: (arg) => {
      this.reply(213, String(this.fs.file(this.resolve(arg)).data.length));
    } },
    MDTM: { auth: true, needsArg: true, run: (arg) => {
      const path = this.resolve(arg);
      const node = this.fs.stat(path);
      if (!node) throw new FsError('ENOENT', path);
      this.reply(213, timeVal(node.mtime));
    } },
    HASH: { auth: true, needsArg: true, run: (arg) => {
      const path = this.resolve(arg);
      const node = this.fs.stat(path);
      if (!node) throw new FsError('ENOENT', path);
      if (node.kind !== 'file') return this.reply(553, `${arg}: Not a regular file`);
      const digest = createHash(HASHES[this.hash] ?? 'sha1').update(node.data).digest('hex');
      return this.reply(213, `${this.hash} 0-${node.data.length} ${digest} ${arg}`);
    } },
    SITE: { auth: true, needsArg: true, run: (arg) => {
      const [word = '', mode = '', ...rest] = arg.split(' ');
      switch (word.toUpperCase()) {
        case 'CHMOD': {
          const target = rest.join(' ');
          if (!/^[0-7]{1,4}$/.test(mode) || target === '') return this.reply(501, 'Usage: SITE CHMOD <octal mode> <path>');
          const path = this.resolve(target);
          const node = this.fs.stat(path);
          if (!node) throw new FsError('ENOENT', path);
          node.mode = parseInt(mode, 8) & 0o777;
          return this.reply(200, 'SITE CHMOD command successful.');
        }
        case 'HELP':
          return this.reply(214, ['The following SITE commands are recognized:', ' CHMOD', ' HELP', 'SITE HELP OK.']);
        default:
          return this.reply(500, `SITE ${word.slice(0, 20)} not understood.`);
      }
    } },
    STAT: { auth: true, run: (arg) => this.status(arg) },
    MLST: { auth: true, run: (arg) => {
      const path = this.resolve(arg);
      const node = this.fs.stat(path);
      if (!node) throw new FsError('ENOENT', path);
      this.reply(250, [`Listing ${path}`, ` ${this.facts(node, path)} ${path}`, 'End']);
    } },

    PASV: { auth: true, run: () => this.passive(false) },
    EPSV: { auth: true, run: (arg) => this.passive(true, arg) },
    PORT: { auth: true, needsArg: true, run: (arg) => {
      const nums = arg.split(',').map((n) => (/^\d{1,3}$/.test(n.trim()) ? Number(n) : NaN));
      if (nums.length !== 6 || nums.some((n) => !(n >= 0 && n <= 255))) return this.reply(501, 'Syntax error in PORT.');
      const [h1, h2, h3, h4, p1 = 0, p2 = 0] = nums;
      return this.active(`${h1}.${h2}.${h3}.${h4}`, p1 * 256 + p2);
    } },
    EPRT: { auth: true, needsArg: true, run: (arg) => {
      const parts = arg.split(arg[0] ?? '|'); // "|1|132.235.1.2|6275|": any delimiter, RFC 2428 §2
      const [, proto, address = '', port = ''] = parts;
      if (parts.length !== 5 || !/^\d{1,5}$/.test(port)) return this.reply(501, 'Syntax error in EPRT.');
      if (proto !== '1' && proto !== '2') return this.reply(522, 'Network protocol not supported, use (1,2)');
      if ((proto === '1' && !net.isIPv4(address)) || (proto === '2' && !net.isIPv6(address))) {
        return this.reply(501, 'Bad address in EPRT.');
      }
      return this.active(address, Number(port));
    } },

    REST: { auth: true, needsArg: true, run: (arg) => {
      if (!/^\d{1,15}$/.test(arg)) return this.reply(501, 'REST needs a byte offset.');
      this.rest = Number(arg);
      return this.reply(350, `Restarting at ${this.rest}. Send STOR or RETR to continue.`);
    } },
    ABOR: { auth: true, run: () => {
      const transfer = this.transfer;
      this.data?.close();
      this.data = null;
      if (transfer && !transfer.done) {
        transfer.done = true;
        transfer.channel.close(); // stops a connect/accept still under way
        transfer.socket?.destroy();
        this.reply(426, 'Connection closed; transfer aborted.');
      }
      this.reply(226, 'ABOR command successful.');
    } },

    LIST: { auth: true, run: (arg) => this.listing('LIST', arg) },
    NLST: { auth: true, run: (arg) => this.listing('NLST', arg) },
    MLSD: { auth: true, run: (arg) => this.listing('MLSD', arg) },
    RETR: { auth: true, needsArg: true, run: (arg, ctx) => this.retrieve(arg, ctx.rest) },
    STOR: { auth: true, needsArg: true, run: (arg, ctx) => this.store('STOR', this.resolve(arg), ctx.rest) },
    APPE: { auth: true, needsArg: true, run: (arg) => this.store('APPE', this.resolve(arg), 0) },
    STOU: { auth: true, run: (arg) => {
      const base = this.resolve(arg === '' ? 'upload' : arg);
      let path = base;
      for (let n = 1; this.fs.stat(path); n++) path = `${base}.${n}`;
      return this.store('STOU', path, 0);
    } },
  };

  // --- command helpers ---

  private changeDir(arg: string): void {
    const path = this.resolve(arg);
    this.fs.dir(path);
    this.cwd = path;
    this.reply(250, `Directory changed to ${path}.`);
  }

  private onlyParam(verb: string, arg: string, supported: string, known: string): void {
    const value = arg.trim().toUpperCase();
    if (value === supported) return this.reply(200, `${verb} set to ${value}.`);
    if (value.length === 1 && known.includes(value)) return this.reply(504, `${verb} ${value} not implemented.`);
    return this.reply(501, `Syntax error in ${verb}.`);
  }

  private status(arg: string): void {
    if (arg === '') {
      const t = this.transfer;
      return this.reply(211, [
        'FTP server status:',
        ` Connected to ${this.peer}`,
        ` Logged in as ${this.user ?? '?'}`,
        ` TYPE: ${this.type === 'I' ? 'BINARY' : 'ASCII'}, MODE: Stream, STRU: File`,
        t ? ` ${t.what} ${t.path}: ${t.bytes} bytes transferred` : ' No data transfer in progress',
        'End of status',
      ]);
    }
    const entries = this.listTarget(arg);
    return this.reply(213, [`Status of ${this.resolve(arg)}:`, ...entries.map(([name, node]) => lsLine(name, node)), 'End of status']);
  }

  /** The MLSx facts of a node, honouring OPTS MLST. */
  private facts(node: FsNode, path: string): string {
    const facts: string[] = [];
    const on = (fact: string): boolean => this.mlstFacts.has(fact);
    if (on('type')) facts.push(`type=${node.kind}`);
    if (on('size') && node.kind === 'file') facts.push(`size=${node.data.length}`);
    if (on('modify')) facts.push(`modify=${timeVal(node.mtime)}`);
    if (on('perm')) facts.push(`perm=${node.kind === 'file' ? 'adfrw' : path === '/' ? 'celmp' : 'cdeflmp'}`);
    return facts.map((fact) => `${fact};`).join('');
  }

  /**
   * What LIST/NLST/STAT name: a directory's entries, one file (shown as typed), or the matches of
   * a '*'/'?' pattern in the last component. Leading `ls` options ('-la') are ignored.
   */
  private listTarget(arg: string): Array<[shownName: string, node: FsNode]> {
    const typed = arg.replace(/^(-[a-zA-Z]+\s*)+/, '');
    const path = this.resolve(typed);
    const node = this.fs.stat(path);
    if (node?.kind === 'dir') return this.fs.list(path);
    if (node) return [[typed, node]];
    const { parent, name } = splitPath(path);
    if (/[*?]/.test(name) && this.fs.stat(parent)?.kind === 'dir') {
      const pattern = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      const prefix = typed.slice(0, typed.lastIndexOf('/') + 1);
      return this.fs.list(parent).filter(([n]) => pattern.test(n)).map(([n, child]) => [prefix + n, child]);
    }
    throw new FsError('ENOENT', path);
  }

  private async passive(extended: boolean, arg = ''): Promise<void> {
    const local = normalizeAddress(this.socket.localAddress);
    if (!extended && this.epsvAll) return this.reply(503, 'Only EPSV is allowed after EPSV ALL.');
    if (extended && arg.toUpperCase() === 'ALL') {
      this.epsvAll = true;
      return this.reply(200, 'EPSV ALL ok.');
    }
    const family = net.isIPv4(local) ? '1' : '2';
    if (extended && arg !== '' && arg !== family) return this.reply(522, `Network protocol not supported, use (${family})`);
    if (!extended && family !== '1') return this.reply(425, 'PASV needs IPv4: use EPSV.');
    this.data?.close();
    this.data = null;
    const channel = await PassiveChannel.open(local, this.peer);
    if (this.closed) return channel.close();
    this.data = channel;
    const port = channel.port;
    if (extended) return this.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
    return this.reply(227, `Entering Passive Mode (${local.split('.').join(',')},${port >> 8},${port & 255}).`);
  }

  private active(address: string, port: number): void {
    if (this.epsvAll) return this.reply(503, 'Only EPSV is allowed after EPSV ALL.');
    if (port === 0) return this.reply(501, 'Port 0 is not allowed.');
    if (normalizeAddress(address) !== this.peer) return this.reply(500, 'Illegal address: must be the address of the control connection.');
    this.data?.close();
    this.data = new ActiveChannel(address, port);
    return this.reply(200, 'Active data connection set up.');
  }

  /** The data channel for a transfer command, or null after replying 425. */
  private takeChannel(): DataChannel | null {
    const channel = this.data;
    this.data = null;
    if (!channel) this.reply(425, 'Use PORT, EPRT, PASV or EPSV first.');
    else if (channel.closed) this.reply(425, 'Passive data connection timed out; send PASV or EPSV again.');
    return channel?.closed ? null : channel;
  }

  /**
   * Runs one transfer over `channel`: 150, connect, `work`, then 226 once the data connection is
   * closed (425 if it never opened, 426 if it broke or was aborted). The channel is always closed.
   */
  private async transferOver(channel: DataChannel, what: string, path: string, opening: string,
    work: (socket: net.Socket, transfer: Transfer) => Promise<void>, completed = 'Transfer complete.'): Promise<void> {
    const transfer: Transfer = { channel, what, path, bytes: 0, socket: null, done: false };
    this.transfer = transfer;
    this.reply(150, opening);
    const finish = (code: number, text: string): void => {
      if (transfer.done) return;
      transfer.done = true;
      this.reply(code, text);
    };
    try {
      const socket = await channel.acquire();
      if (transfer.done || this.closed) {
        socket?.destroy(); // aborted while connecting
        return;
      }
      if (!socket) return finish(425, "Can't open data connection.");
      transfer.socket = socket;
      await work(socket, transfer);
      finish(226, completed);
    } catch {
      finish(426, 'Connection closed; transfer aborted.');
    } finally {
      channel.close();
      transfer.socket?.destroy();
      this.transfer = null;
    }
  }

  private mode(): string {
    return this.type === 'I' ? 'BINARY' : 'ASCII';
  }

  private async listing(what: 'LIST' | 'NLST' | 'MLSD', arg: string): Promise<void> {
    const channel = this.takeChannel();
    if (!channel) return;
    const path = this.resolve(arg);
    let lines: string[];
    try {
      if (what === 'MLSD') {
        if (this.fs.stat(path)?.kind === 'file') {
          channel.close();
          return this.reply(501, `${path}: Not a directory`); // RFC 3659 §7.2.1: MLSD wants a directory
        }
        lines = this.fs.list(path).map(([name, node]) => `${this.facts(node, resolvePath(path, name))} ${name}`);
      } else {
        const now = Date.now();
        lines = this.listTarget(arg).map(([name, node]) => (what === 'NLST' ? name : lsLine(name, node, now)));
      }
    } catch (err) {
      channel.close();
      throw err;
    }
    const body = Buffer.from(lines.map((line) => `${line}\r\n`).join(''), 'utf8');
    await this.transferOver(channel, what, path, `Here comes the ${what === 'NLST' ? 'name list' : 'listing'}.`,
      (socket, t) => sendAndClose(socket, body, (n) => (t.bytes += n), this.config.rate));
  }

  private async retrieve(arg: string, rest: number): Promise<void> {
    const channel = this.takeChannel();
    if (!channel) return;
    const path = this.resolve(arg);
    const node = this.fs.stat(path);
    if (node?.kind !== 'file' || rest > node.data.length) {
      channel.close();
      if (node?.kind === 'file') return this.reply(554, `Invalid REST parameter: ${path} has ${node.data.length} bytes.`);
      throw new FsError(node ? 'EISDIR' : 'ENOENT', path);
    }
    const data = node.data.subarray(rest); // a snapshot: the file system never mutates a Buffer in place
    await this.transferOver(channel, 'RETR', path, `Opening ${this.mode()} mode data connection for ${path} (${data.length} bytes).`,
      (socket, t) => sendAndClose(socket, data, (n) => (t.bytes += n), this.config.rate));
  }

  private async store(what: 'STOR' | 'APPE' | 'STOU', path: string, rest: number): Promise<void> {
    const channel = this.takeChannel();
    if (!channel) return;
    const existing = this.fs.stat(path);
    const options = what === 'APPE' ? { append: true } : { offset: rest };
    try {
      if (rest > 0 && rest > (existing?.kind === 'file' ? existing.data.length : 0)) {
        channel.close();
        return this.reply(554, `Invalid REST parameter for ${path}.`);
      }
      this.fs.writeFile(path, Buffer.alloc(0), options); // creates or truncates now, like open(2)
    } catch (err) {
      channel.close();
      if (err instanceof FsError) return this.reply(553, err.message);
      throw err;
    }
    const name = splitPath(path).name;
    const opening = what === 'STOU' ? `FILE: ${name}` : `Opening ${this.mode()} mode data connection for ${path}.`;
    const chunks: Buffer[] = [];
    try {
      await this.transferOver(channel, what, path, opening, (socket, t) => receiveUntilClosed(socket, (chunk) => {
        chunks.push(chunk);
        t.bytes += chunk.length;
      }, this.config.rate), what === 'STOU' ? `Transfer complete (unique file name: ${name}).` : 'Transfer complete.');
    } finally {
      // what arrived is kept even when the transfer broke, as on a disk
      try {
        this.fs.writeFile(path, Buffer.concat(chunks), options);
      } catch (err) {
        this.log(`could not save ${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/** Bytes of one command line (without its LF) to text: drops Telnet IAC sequences and the CR. */
function decodeLine(raw: Buffer): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] ?? 0;
    if (b !== 0xff) {
      bytes.push(b);
      continue;
    }
    const next = raw[i + 1];
    if (next === undefined || next < 0xf0) continue; // lone IAC (e.g. its DM went out of band)
    if (next === 0xff) bytes.push(0xff); // IAC IAC: a literal 255
    i += next >= 0xfb && next < 0xff ? 2 : 1; // WILL/WONT/DO/DONT carry an option byte
  }
  if (bytes[bytes.length - 1] === 0x0d) bytes.pop();
  return Buffer.from(bytes).toString('utf8');
}
