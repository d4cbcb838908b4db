/**
 * Real FTP servers for integration tests: vsftpd, ProFTPD and Pure-FTPd, each started as an
 * ordinary foreground child process on 127.0.0.1, on a free high port, with its own temporary
 * folder and a config filled from the templates in `spec/servers/`.
 *
 * Needs root and `npm run test:setup` (spec/servers/install.sh) first. Set `FTP_SERVERS_KEEP=1`
 * to keep each instance's folder (config, logs) after `stop()`.
 *
 * Server behaviour worth knowing when writing tests (measured on this machine):
 * - Pure-FTPd answers a wrong password only after 3 to 6 s (a compile-time delay), so a test of
 *   it needs a longer timeout than 5 s.
 * - ProFTPD's listener pauses about 400 ms after each session ends (its EINTR retry sleep on
 *   SIGCHLD, compile-time too): a connection opened right after another session closed (the
 *   readiness probe included) waits that long for its 220 greeting. stop() also takes ~400 ms.
 * - vsftpd allows anonymous logins only (any password).
 *
 * FTPS ({@link ServerOptions.tls}) uses the test PKI of `certs.ts`; TLS is then required on the
 * control and on every data connection. vsftpd (`require_ssl_reuse`, answers 522 and ends the
 * session) and ProFTPD (its default, answers 425) refuse a data connection that does not resume
 * the control connection's TLS session; Pure-FTPd does not check (Debian builds it without
 * ONLY_ACCEPT_REUSED_SSL_SESSIONS). With TLS 1.3 both send their session tickets after the
 * handshake, and a missing client certificate shows up as an alert on the client's first read.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { testCertificates, type CertAndKey, type TestCertificates } from './certs.js';

const execFileP = promisify(execFile);

/** The servers this project tests against. */
export type ServerKind = 'vsftpd' | 'proftpd' | 'pureftpd';

/** Every {@link ServerKind}, in a stable order. */
export const SERVER_KINDS: readonly ServerKind[] = ['vsftpd', 'proftpd', 'pureftpd'];

/** Tuning for one server instance. */
export interface ServerOptions {
  /** Close an idle control connection after this many seconds (Pure-FTPd: rounded up to minutes). Default 300. */
  idleTimeoutSec?: number;
  /** Abort a stalled data transfer after this many seconds (vsftpd, ProFTPD only). Default 300. */
  dataTimeoutSec?: number;
  /** Serve FTPS instead of plain FTP. */
  tls?: TlsServerOptions;
  /**
   * Offer file-hash commands: HASH (with OPTS HASH), XCRC, MD5/XMD5, XSHA/XSHA1, XSHA256 and
   * XSHA512, through ProFTPD's mod_digest (`proftpd-digest.conf.tmpl`; no digest cache, no size
   * limit; combines with `tls`). ProFTPD only: vsftpd 3.0.3 and Pure-FTPd 1.0.50 have no hash
   * command at all, so startServer throws for them. Reply formats: spec/integration/server-hash.test.ts.
   */
  hash?: boolean;
  /**
   * Allow FXP (server-to-server transfers): accept a PORT naming an address other than the
   * control connection's peer, and accept a passive data connection from such an address.
   * vsftpd: `port_promiscuous` and `pasv_promiscuous`; ProFTPD: `AllowForeignAddress on` (both
   * checks at once); Pure-FTPd: `-w` (FXP for non-anonymous users, which ours is). Default: each
   * server's own, strict: vsftpd answers `500 Illegal PORT command.` to a foreign PORT and
   * `425 Security: Bad IP connecting.` to the transfer command when the passive connection comes
   * from elsewhere; replies of the others: spec/integration/fxp-servers.test.ts. All of 127/8 is
   * local, so the checks only trigger when the client's control connection comes from another
   * loopback address than the servers' 127.0.0.1 (e.g. `localAddress: '127.0.0.2'`).
   *
   * `{ port, pasv }` sets the two checks separately (vsftpd only; startServer throws for the
   * others): e.g. `{ port: false, pasv: true }` refuses FXP when vsftpd is the PORT side but
   * allows it when vsftpd is the PASV side.
   */
  fxp?: boolean | { port: boolean; pasv: boolean };
}

/**
 * FTPS settings. TLS is always required for the login and for every data connection, and data
 * connections must resume the control connection's TLS session (not enforced by Pure-FTPd).
 */
export interface TlsServerOptions {
  /** `explicit`: AUTH TLS on the normal port. `implicit`: TLS from the first byte (vsftpd and ProFTPD only). */
  mode: 'explicit' | 'implicit';
  /** Accept only this TLS version. Default: TLS 1.2 and 1.3. */
  version?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * The certificate the server presents (see `certs.ts`): `good` (default, the test CA's, for
   * 127.0.0.1 and localhost), `wrongName` (the test CA's, for wrong.example only) or `wrongCa`
   * (for 127.0.0.1 and localhost, from an unrelated CA).
   */
  cert?: 'good' | 'wrongName' | 'wrongCa';
  /** Refuse clients without a certificate from the test CA (`testCertificates().client`). vsftpd and ProFTPD only. */
  requireClientCert?: boolean;
  /** Accept CCC (the login and data stay required to be protected). ProFTPD only. */
  allowCcc?: boolean;
}

/** A started server. */
export interface RunningServer {
  kind: ServerKind;
  host: '127.0.0.1';
  port: number;
  /** Credentials that log in. */
  user: string;
  password: string;
  /** Absolute local path of the folder the login lands in ("/" as the client sees it). */
  root: string;
  /** Name (relative to `root`) of a folder the login may write, mkdir, delete and rename in. */
  uploadDir: string;
  /** True when a wrong password gets 530 (false for anonymous logins, which accept anything). Pure-FTPd takes 3–6 s to say so. */
  badPasswordRejected: boolean;
  features: { mlsd: boolean };
  pid: number;
  /** How to reach an FTPS server (absent for plain FTP). */
  tls?: {
    mode: 'explicit' | 'implicit';
    /** PEM of the CA that signed the server's certificate (the unrelated CA for `cert: 'wrongCa'`). */
    ca: string;
  };
  /**
   * The server's stdout/stderr (and for vsftpd its protocol log is `dirname(logFile)/vsftpd.log`;
   * with TLS, ProFTPD's TLS log is `dirname(logFile)/tls.log`).
   */
  logFile: string;
  /** SIGTERM by PID (and its session processes), SIGKILL after 3 s, wait, remove the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

const UPLOAD_DIR = 'upload';
const PASSWORD = 'ftp-session-pw';
const READY_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 4;

/** Repository root: from this file's folder when known (CommonJS), else up from the cwd. */
function repoRoot(): string {
  const starts = typeof __dirname === 'string' ? [__dirname, process.cwd()] : [process.cwd()];
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'spec/servers/install.sh'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error('cannot find the repository root (spec/servers/install.sh)');
}
const REPO = repoRoot();
const UNPACKED = join(REPO, '.servers/root');
const BIN = {
  vsftpd: '/usr/sbin/vsftpd',
  proftpd: join(UNPACKED, 'usr/sbin/proftpd'),
  pureftpd: join(UNPACKED, 'usr/sbin/pure-ftpd'),
  purepw: join(UNPACKED, 'usr/bin/pure-pw'),
} as const;

/** uid/gid of the `ftp` user from /etc/passwd (every server writes as that user). */
function ftpIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('ftp:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('no ftp user: run npm run test:setup');
  return { uid: Number(uid), gid: Number(gid) };
}

let hashCache: Promise<string> | undefined;
/** SHA-512 crypt hash of {@link PASSWORD} (cheap to check, unlike pure-pw's argon2id default). */
function passwordHash(): Promise<string> {
  hashCache ??= new Promise((res, rej) => {
    const child = execFile('openssl', ['passwd', '-6', '-stdin'], (err, out) =>
      err ? rej(err) : res(out.trim()),
    );
    child.stdin?.end(PASSWORD);
  });
  return hashCache;
}

/** Ports of the servers this process is starting or running. */
const portsInUse = new Set<number>();

/** A port that was free a moment ago on 127.0.0.1 (and is not one of ours). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const srv = createServer();
      srv.once('error', rej);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
      });
    });
    if (!portsInUse.has(port)) return port;
  }
}

/** Whether process `pid` holds the socket listening on 127.0.0.1:`port` (not some other process). */
function listensOn(pid: number, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A' && f[9] !== undefined) inodes.add(`socket:[${f[9]}]`);
  }
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try { return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch { return false; }
    });
  } catch {
    return false;
  }
}

/** Fills `{{NAME}}` placeholders of a template in spec/servers/. */
async function fillTemplate(name: string, values: Record<string, string | number>): Promise<string> {
  const text = await readFile(join(REPO, 'spec/servers', name), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${name}: no value for {{${key}}}`);
    return String(value);
  });
}

/** The TLS options with the files resolved. */
interface TlsSetup {
  mode: TlsServerOptions['mode']; version: TlsServerOptions['version']; server: CertAndKey;
  /** PEM of the CA that signed `server`. */
  issuer: string;
  /** The test CA's certificate file (checks client certificates). */
  caFile: string;
  clientCert: boolean;
  allowCcc: boolean;
}
/** Which foreign addresses a server accepts: in PORT, and as the source of a passive data connection. */
interface Foreign { port: boolean; pasv: boolean }
interface Layout { dir: string; root: string; port: number; idle: number; data: number; tls: TlsSetup | undefined; hash: boolean; fxp: Foreign }
interface Launch { bin: string; args: string[]; user: string; anonymous: boolean; mlsd: boolean; env?: NodeJS.ProcessEnv }

/**
 * vsftpd and Pure-FTPd cannot pin a TLS version themselves; OpenSSL's own config can, through
 * OPENSSL_CONF in their environment (it replaces /etc/ssl/openssl.cnf, which sets nothing here).
 */
async function opensslEnv(dir: string, version: TlsServerOptions['version']): Promise<NodeJS.ProcessEnv | undefined> {
  if (version === undefined) return undefined;
  const file = join(dir, 'openssl.cnf');
  await writeFile(file, [
    'openssl_conf = init', '[init]', 'ssl_conf = ssl', '[ssl]', 'system_default = tls',
    '[tls]', `MinProtocol = ${version}`, `MaxProtocol = ${version}`, '',
  ].join('\n'), { mode: 0o644 });
  return { ...process.env, OPENSSL_CONF: file };
}

/** Writes the kind's config files into `l.dir` and says how to run it. */
async function prepare(kind: ServerKind, l: Layout): Promise<Launch> {
  const { uid, gid } = ftpIds();
  const pasvMin = 20_000 + 1_000 * Math.floor(Math.random() * 39);
  const common = { DIR: l.dir, ROOT: l.root, UPLOAD_DIR, PORT: l.port, IDLE_TIMEOUT: l.idle, DATA_TIMEOUT: l.data };
  const yes = (on: boolean): string => (on ? 'YES' : 'NO');
  const conf = join(l.dir, `${kind}.conf`);
  switch (kind) {
    case 'vsftpd': {
      const emptyDir = join(l.dir, 'empty');
      await mkdir(emptyDir, { mode: 0o755 });
      const values = {
        ...common, EMPTY_DIR: emptyDir, PASV_MIN: pasvMin, PASV_MAX: pasvMin + 999,
        PORT_PROMISCUOUS: yes(l.fxp.port), PASV_PROMISCUOUS: yes(l.fxp.pasv),
      };
      let text = await fillTemplate('vsftpd.conf.tmpl', values);
      const env = await opensslEnv(l.dir, l.tls?.version);
      if (l.tls) {
        text += await fillTemplate('vsftpd-tls.conf.tmpl', {
          IMPLICIT: yes(l.tls.mode === 'implicit'), CERT_FILE: l.tls.server.certPath, KEY_FILE: l.tls.server.keyPath,
          CA_FILE: l.tls.caFile, CLIENT_CERT: yes(l.tls.clientCert),
        });
      }
      await writeFile(conf, text);
      return { bin: BIN.vsftpd, args: [conf], user: 'anonymous', anonymous: true, mlsd: false, ...(env ? { env } : {}) };
    }
    case 'proftpd': {
      const hash = await passwordHash();
      await writeFile(join(l.dir, 'ftpd.passwd'), `tester:${hash}:${uid}:${gid}::${l.root}:/bin/false\n`, { mode: 0o600 });
      await writeFile(join(l.dir, 'ftpd.group'), `ftp:x:${gid}:\n`, { mode: 0o644 });
      // prepare() is only reached with port === pasv for ProFTPD (startServer checks).
      let text = await fillTemplate('proftpd.conf.tmpl', { ...common, FOREIGN: l.fxp.port ? 'on' : 'off' });
      if (l.tls) {
        text += await fillTemplate('proftpd-tls.conf.tmpl', {
          DIR: l.dir, MODULE_DIR: join(UNPACKED, 'usr/lib/proftpd'), PROTOCOLS: l.tls.version ?? 'TLSv1.2 TLSv1.3',
          CERT_FILE: l.tls.server.certPath, KEY_FILE: l.tls.server.keyPath, CA_FILE: l.tls.caFile,
          CLIENT_CERT: l.tls.clientCert ? 'on' : 'off', REQUIRED: l.tls.allowCcc ? 'auth+data' : 'on', IMPLICIT: l.tls.mode === 'implicit' ? ' UseImplicitSSL' : '',
        });
      }
      if (l.hash) text += await fillTemplate('proftpd-digest.conf.tmpl', { MODULE_DIR: join(UNPACKED, 'usr/lib/proftpd') });
      await writeFile(conf, text);
      return { bin: BIN.proftpd, args: ['-n', '-c', conf], user: 'tester', anonymous: false, mlsd: true };
    }
    case 'pureftpd': {
      const passwd = join(l.dir, 'pureftpd.passwd');
      const pdb = join(l.dir, 'pureftpd.pdb');
      // The line format pure-pw writes; the hash is ours (SHA-512 crypt) instead of argon2id.
      await writeFile(passwd, `tester:${await passwordHash()}:${uid}:${gid}::${l.root}/./::::::::::::\n`, { mode: 0o600 });
      await execFileP(BIN.purepw, ['mkdb', pdb, '-f', passwd]);
      const minutes = String(Math.max(1, Math.ceil(l.idle / 60)));
      const args = [
        '-S', `127.0.0.1,${l.port}`, '-4', '-H', '-E', '-A', '-u', '1',
        '-p', `${pasvMin}:${pasvMin + 999}`, '-P', '127.0.0.1',
        '-l', `puredb:${pdb}`, '-I', minutes, '-c', '200', '-C', '200',
        // -w: FXP (foreign addresses in PORT and on passive connections) for non-anonymous users.
        ...(l.fxp.port ? ['-w'] : []),
        // -Y 3: TLS required for the login and for data connections; -2: a PEM with key and certificate.
        ...(l.tls ? ['-Y', '3', '-2', l.tls.server.bundlePath] : []),
      ];
      const env = await opensslEnv(l.dir, l.tls?.version);
      return { bin: BIN.pureftpd, args, user: 'tester', anonymous: false, mlsd: true, ...(env ? { env } : {}) };
    }
  }
}

/** Servers started by this process and not yet exited, by PID. */
const live = new Map<number, ChildProcess>();

/** A process as seen in /proc: its PID and start time (so a reused PID is never signalled). */
interface Proc { pid: number; start: string }

function procStat(pid: number): { ppid: number; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    return { ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * `pid`'s descendants: the session processes the server forked. vsftpd and Pure-FTPd sessions
 * outlive a SIGTERM to the listener, so stop() signals them too.
 */
function descendants(pid: number): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st) children.set(st.ppid, [...(children.get(st.ppid) ?? []), { pid: Number(name), start: st.start }]);
  }
  const found: Proc[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) { found.push(c); walk(c.pid); }
  };
  walk(pid);
  return found;
}

/** Signals each process that still is the one recorded (same PID and start time). */
function signal(procs: readonly Proc[], sig: NodeJS.Signals): void {
  for (const p of procs) {
    if (procStat(p.pid)?.start !== p.start) continue;
    try { process.kill(p.pid, sig); } catch { /* already gone */ }
  }
}

/** The server and its sessions, while node has not seen the server exit (so its PID is still ours). */
function tree(child: ChildProcess): Proc[] {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return [];
  const self = procStat(pid);
  return self ? [...descendants(pid), { pid, start: self.start }] : [];
}

let hooksInstalled = false;
/** On exit (or SIGINT/SIGTERM), SIGKILL every server still running, with its sessions. */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = (): void => {
    for (const child of live.values()) signal(tree(child), 'SIGKILL');
    live.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** How the readiness probe connects: plain, or (implicit FTPS) with TLS, offering the test client certificate. */
type Probe = () => Socket;

/** The first line a connection to the port gets, or null (refused, closed or silent for 2 s). */
function firstLine(open: Probe, abort: Promise<void>): Promise<string | null> {
  return new Promise((res) => {
    const sock = open();
    const done = (line: string | null): void => { sock.destroy(); res(line); };
    let buf = '';
    sock.setTimeout(2_000, () => done(null));
    sock.on('error', () => done(null));
    sock.on('close', () => done(null));
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl));
    });
    void abort.then(() => done(null));
  });
}

/** Resolves once a connection to the port gets a line starting with 220; rejects when the server exits first. */
async function waitFor220(open: Probe, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => { gone = true; });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const line = await firstLine(open, exited);
    if (gone) throw new Error('the server exited before greeting');
    if (line?.startsWith('220')) return;
    if (line !== null) throw new Error(`unexpected greeting: ${line}`);
    if (Date.now() > deadline) throw new Error(`no 220 greeting within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every ancestor of `path` must be searchable by others, or the servers' unprivileged users cannot reach it. */
async function checkTraversable(path: string): Promise<void> {
  for (let dir = path; dirname(dir) !== dir; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) {
      throw new Error(`${dir} is not searchable by others: set TMPDIR to a folder like /tmp`);
    }
  }
}

/**
 * Starts a server of the given kind on 127.0.0.1 and resolves once it greets with 220.
 * Each call gets its own temp folder (FTP root inside, with a writable {@link RunningServer.uploadDir}).
 */
export async function startServer(kind: ServerKind, opts: ServerOptions = {}): Promise<RunningServer> {
  for (const bin of kind === 'pureftpd' ? [BIN.pureftpd, BIN.purepw] : [BIN[kind]]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run test:setup (as root)`);
  }
  if (opts.tls && kind === 'pureftpd' && (opts.tls.mode === 'implicit' || opts.tls.requireClientCert)) {
    throw new Error('pureftpd: only explicit FTPS without client certificates');
  }
  if (opts.hash && kind !== 'proftpd') {
    throw new Error(`${kind}: no file-hash commands (no HASH, XCRC, XMD5, XSHA1, XSHA256): hash is ProFTPD only`);
  }
  const fxp: Foreign = typeof opts.fxp === 'object' ? { ...opts.fxp } : { port: opts.fxp === true, pasv: opts.fxp === true };
  if (fxp.port !== fxp.pasv && kind !== 'vsftpd') {
    throw new Error(`${kind}: one switch allows foreign addresses in PORT and on passive connections alike: fxp { port, pasv } is vsftpd only`);
  }
  installExitHooks();
  const { uid, gid } = ftpIds();
  const certs = opts.tls ? await testCertificates() : undefined;
  const tls = certs && opts.tls ? tlsSetup(opts.tls, certs) : undefined;
  const base = tmpdir();
  await checkTraversable(base);
  let lastError = '';
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = await mkdtemp(join(base, `ftp-session-${kind}-`));
    const logFile = join(dir, 'server.log');
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    let port = 0;
    try {
      await chmod(dir, 0o755);
      const root = join(dir, 'root');
      await mkdir(join(root, UPLOAD_DIR), { recursive: true, mode: 0o755 });
      await chmod(root, 0o755);
      await chown(join(root, UPLOAD_DIR), uid, gid);
      port = await freePort();
      portsInUse.add(port);
      const launch = await prepare(kind, {
        dir, root, port, idle: opts.idleTimeoutSec ?? 300, data: opts.dataTimeoutSec ?? 300, tls, hash: opts.hash === true, fxp,
      });
      const logFd = openSync(logFile, 'a');
      // vsftpd reports fatal errors ("500 OOPS: ...") on file descriptor 0, so it gets the log there too.
      const stdin = kind === 'vsftpd' ? logFd : 'ignore';
      const proc = spawn(launch.bin, launch.args, { cwd: dir, stdio: [stdin, logFd, logFd], ...(launch.env ? { env: launch.env } : {}) });
      child = proc;
      closeSync(logFd);
      exited = new Promise<void>((res) => {
        proc.once('exit', () => res());
        proc.once('error', () => { if (proc.pid === undefined) res(); }); // spawn failed
      });
      const pid = proc.pid;
      if (pid === undefined) throw new Error(`could not spawn ${launch.bin}`);
      live.set(pid, proc);
      proc.once('exit', () => live.delete(pid));
      proc.unref(); // a forgotten server must not keep the test process alive; the exit hook kills it
      const client = certs?.client;
      const probe: Probe = tls?.mode === 'implicit' && client
        ? () => tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, cert: client.cert, key: client.key })
        : () => connect(port, '127.0.0.1');
      await waitFor220(probe, exited);
      if (!listensOn(pid, port)) throw new Error(`port ${port} answered, but not from ${kind}: address already in use`);
      const reach = tls ? { mode: tls.mode, ca: tls.issuer } : undefined;
      return running(kind, launch, { dir, root, port, pid, logFile, child: proc, exited, tls: reach });
    } catch (err) {
      if (child) {
        child.ref(); // keep the event loop alive while waiting for the exit
        signal(tree(child), 'SIGKILL');
      }
      await exited;
      portsInUse.delete(port);
      const log = await readFile(logFile, 'utf8').catch(() => '');
      lastError = `${kind} did not start: ${(err as Error).message}\n${log}`;
      await rm(dir, { recursive: true, force: true });
      if (!/address already in use|could not bind|unable to bind/i.test(log)) break;
    }
  }
  throw new Error(lastError);
}

/** Resolves the certificate choice to files. */
function tlsSetup(o: TlsServerOptions, certs: TestCertificates): TlsSetup {
  const wrongCa = o.cert === 'wrongCa';
  const server = wrongCa ? certs.wrongCaServer : o.cert === 'wrongName' ? certs.wrongName : certs.server;
  return {
    mode: o.mode, version: o.version, server, issuer: (wrongCa ? certs.wrongCa : certs.ca).cert,
    caFile: certs.ca.certPath, clientCert: o.requireClientCert === true, allowCcc: o.allowCcc === true,
  };
}

interface Started {
  dir: string; root: string; port: number; pid: number; logFile: string; child: ChildProcess; exited: Promise<void>;
  tls: RunningServer['tls'];
}

function running(kind: ServerKind, launch: Launch, st: Started): RunningServer {
  const { dir, child, exited } = st;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      child.ref(); // keep the event loop alive until the server is gone
      const procs = tree(child);
      signal(procs, 'SIGTERM');
      const timer = setTimeout(() => signal([...procs, ...tree(child)], 'SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
      signal(procs, 'SIGKILL'); // sessions that ignored SIGTERM and outlived the listener
      child.unref();
      portsInUse.delete(st.port);
      if (process.env.FTP_SERVERS_KEEP !== '1') await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  return {
    kind, host: '127.0.0.1', port: st.port, user: launch.user,
    password: launch.anonymous ? 'anonymous@' : PASSWORD, root: st.root, uploadDir: UPLOAD_DIR,
    badPasswordRejected: !launch.anonymous, features: { mlsd: launch.mlsd }, pid: st.pid, logFile: st.logFile, stop,
    ...(st.tls ? { tls: st.tls } : {}),
  };
}

/**
 * Writes a fixture file under the server's root (parents created), mode 0644 (folders 0755).
 * Inside `uploadDir` files and new folders belong to the `ftp` user, so the login can
 * overwrite, rename and delete them; elsewhere they belong to root (read-only for the login).
 */
export async function writeFixture(server: RunningServer, relPath: string, data: Buffer): Promise<void> {
  const target = resolve(server.root, relPath.replace(/^\/+/, ''));
  const rel = relative(server.root, target);
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) throw new Error(`${relPath} is outside the FTP root`);
  const upload = join(server.root, server.uploadDir);
  const { uid, gid } = ftpIds();
  const owner = (p: string): [number, number] => (p.startsWith(upload + sep) ? [uid, gid] : [0, 0]);
  let dir = server.root;
  for (const part of rel.split(sep).slice(0, -1)) {
    dir = join(dir, part);
    if (existsSync(dir)) continue;
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await chown(dir, ...owner(dir));
  }
  await writeFile(target, data);
  await chmod(target, 0o644);
  await chown(target, ...owner(target));
}
