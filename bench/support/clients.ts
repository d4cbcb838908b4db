/**
 * How each client is told to do one transfer, and how what it printed is read back.
 *
 * - ftp-session, basic-ftp: `node bench/clients/<name>.mjs <job JSON>` (plain JavaScript, no
 *   loader), one JSON line out (see bench/clients/common.mjs).
 * - bare-socket: `node bench/clients/bare-socket.mjs <job JSON>`, downloads only.
 * - curl: one process; several files go through one `-K` config (one connection, reused);
 *   `-w` prints one line per transfer (bytes, rate, last reply code: 226, or with --parallel
 *   sometimes 221, the QUIT reply of a connection closed at its end).
 * - lftp: one process running a script (`-f`); its transfer log (`xfer:log-file`) gives one
 *   line per transfer with the byte range moved. Settings: `xfer:clobber on` (it writes to
 *   /dev/null, an existing file), `cmd:fail-exit true` (stop at the first failed command),
 *   `xfer:log-file`, and for FTPS `ssl:ca-file` and `ftp:ssl-force true`; the rest are its defaults.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every client the suite knows. */
export type ClientName = 'ftp-session' | 'basic-ftp' | 'bare-socket' | 'curl' | 'lftp';

/** Where a client connects (the server itself, or the delay proxy in front of it). */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  /** FTPS (explicit AUTH TLS, PROT P) with this CA file. */
  caFile?: string;
}

/** What one run moves. Remote paths are relative to the login folder. */
export type Transfer =
  | { kind: 'download'; remote: string; bytes: number; throttle?: number; loopDelay?: boolean; sampleRss?: boolean }
  | { kind: 'upload'; from: 'memory' | 'file'; remote: string; bytes: number; local: string; patternFile: string; loopDelay?: boolean }
  | { kind: 'small-down'; remotes: string[]; size: number }
  | { kind: 'small-up'; remotes: string[]; locals: string[]; size: number }
  | { kind: 'sessions'; count: number; listDir: string; file: string; size: number };

/** A command line, and the file the run's lftp transfer log goes to (lftp only). */
export interface Command {
  cmd: string;
  args: string[];
  xferLog?: string;
}

/** What a client said about its run, in one shape for all of them. */
export interface ClientReport {
  ok: boolean;
  error?: string;
  /** Bytes the client says it moved. */
  bytes?: number;
  /** Files moved whole (small files, sessions). */
  files?: number;
  /** The client's own rate, bytes/s over its transfer time (node clients, curl, lftp's log). */
  rate?: number;
  /** Node clients: seconds from the transfer command to its end, and their CPU ms in that time. */
  transferS?: number;
  cpuMs?: number;
  rssAfterImport?: number;
  /** upload-memory (node clients): seconds and CPU ms spent building the Buffer, before connecting. */
  sourceS?: number;
  sourceCpuMs?: number;
  loopDelay?: { p50: number; p99: number; max: number; count: number };
  /** curl: the longest single transfer, seconds (its stalls show here). */
  slowestS?: number;
  /** [ms, rss bytes, bytes moved] every 100 ms. */
  rss?: Array<[number, number, number]>;
}

const CLIENT_DIR = new URL('../clients/', import.meta.url);
const CURL_FORMAT = '%{size_download} %{size_upload} %{speed_download} %{speed_upload} %{response_code} %{time_total}\\n';

let scripts = 0;

/** The command line that makes `client` do `t` against `e`; config files go into `scratch`. */
export async function commandFor(client: ClientName, t: Transfer, e: Endpoint, scratch: string): Promise<Command> {
  switch (client) {
    case 'ftp-session':
    case 'basic-ftp':
    case 'bare-socket':
      return { cmd: process.execPath, args: [new URL(`${client}.mjs`, CLIENT_DIR).pathname, JSON.stringify(nodeJob(t, e))] };
    case 'curl':
      return curlCommand(t, e, scratch);
    case 'lftp':
      return lftpCommand(t, e, scratch);
  }
}

/** The job JSON of bench/clients/common.mjs. */
function nodeJob(t: Transfer, e: Endpoint): Record<string, unknown> {
  const server = { host: e.host, port: e.port, user: e.user, password: e.password, ...(e.caFile ? { caFile: e.caFile } : {}) };
  switch (t.kind) {
    case 'download':
      return { op: 'download', server, remote: t.remote, throttle: t.throttle, loopDelay: t.loopDelay, sampleRss: t.sampleRss };
    case 'upload':
      return t.from === 'memory'
        ? { op: 'upload-memory', server, remote: t.remote, size: t.bytes, patternFile: t.patternFile, loopDelay: t.loopDelay }
        : { op: 'upload-file', server, remote: t.remote, local: t.local, loopDelay: t.loopDelay };
    case 'small-down':
      return { op: 'small-down', server, remotes: t.remotes };
    case 'small-up':
      return { op: 'small-up', server, remotes: t.remotes, locals: t.locals };
    case 'sessions':
      return { op: 'sessions', server, sessions: t.count, listDir: t.listDir, file: t.file };
  }
}

const quote = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

async function curlCommand(t: Transfer, e: Endpoint, scratch: string): Promise<Command> {
  const base = `ftp://${e.host}:${e.port}/`;
  const common = ['-sS', '-u', `${e.user}:${e.password}`, '-w', CURL_FORMAT, ...(e.caFile ? ['--ssl-reqd', '--cacert', e.caFile] : [])];
  const config = async (lines: string[]): Promise<string> => {
    const file = join(scratch, `curl-${++scripts}.cfg`);
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  };
  switch (t.kind) {
    case 'download':
      return { cmd: 'curl', args: [...common, '-o', '/dev/null', base + t.remote] };
    case 'upload': // curl reads a file even for the "from memory" scenario: the closest it has
      return { cmd: 'curl', args: [...common, '-T', t.local, base + t.remote] };
    case 'small-down':
      return { cmd: 'curl', args: [...common, '-K', await config(t.remotes.flatMap((r) => [`url = ${quote(base + r)}`, 'output = "/dev/null"']))] };
    case 'small-up':
      return { cmd: 'curl', args: [...common, '-K', await config(t.remotes.flatMap((r, i) => [`upload-file = ${quote(t.locals[i]!)}`, `url = ${quote(base + r)}`]))] };
    case 'sessions': {
      const lines = Array.from({ length: t.count }, () => [`url = ${quote(base + t.file)}`, 'output = "/dev/null"']).flat();
      return { cmd: 'curl', args: [...common, '--parallel', '--parallel-max', String(t.count), '-K', await config(lines)] };
    }
  }
}

async function lftpCommand(t: Transfer, e: Endpoint, scratch: string): Promise<Command> {
  const n = ++scripts;
  const xferLog = join(scratch, `lftp-${n}.xfer.log`);
  const lines = [
    'set xfer:clobber on', 'set cmd:fail-exit true', `set xfer:log-file ${quote(xferLog)}`,
    ...(e.caFile ? [`set ssl:ca-file ${quote(e.caFile)}`, 'set ftp:ssl-force true'] : []),
    `open -u ${quote(`${e.user},${e.password}`)} -p ${e.port} ${e.host}`,
  ];
  switch (t.kind) {
    case 'download': lines.push(`get ${quote(t.remote)} -o /dev/null`); break;
    case 'upload': lines.push(`put ${quote(t.local)} -o ${quote(t.remote)}`); break;
    case 'small-down': lines.push(...t.remotes.map((r) => `get ${quote(r)} -o /dev/null`)); break;
    case 'small-up': lines.push(...t.remotes.map((r, i) => `put ${quote(t.locals[i]!)} -o ${quote(r)}`)); break;
    case 'sessions': throw new Error('lftp is no peer for the sessions scenario');
  }
  lines.push('quit');
  const script = join(scratch, `lftp-${n}.lftp`);
  await writeFile(script, `${lines.join('\n')}\n`);
  await rm(xferLog, { force: true });
  return { cmd: 'lftp', args: ['-f', script], xferLog };
}

/** Reads what the client printed (or logged) about its run. */
export async function readReport(client: ClientName, stdout: string, command: Command): Promise<ClientReport> {
  switch (client) {
    case 'ftp-session':
    case 'basic-ftp':
    case 'bare-socket': {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(line) as ClientReport;
      } catch {
        return { ok: false, error: `no JSON line on stdout: ${line.slice(0, 200)}` };
      }
    }
    case 'curl': {
      // size_download size_upload speed_download speed_upload response_code time_total, per transfer
      const rows = stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
      const moved = rows.map((r) => (r[0] ?? 0) + (r[1] ?? 0));
      const rate = rows.length === 1 ? (rows[0]![2] ?? 0) + (rows[0]![3] ?? 0) : undefined;
      return {
        ok: rows.length > 0 && rows.every((r) => r[4]! >= 200 && r[4]! < 300), bytes: moved.reduce((a, b) => a + b, 0), files: rows.length,
        ...(rate !== undefined ? { rate } : {}), slowestS: Math.max(...rows.map((r) => r[5] ?? 0)),
      };
    }
    case 'lftp': {
      // "<date> <time> <from> -> <to> <start>-<end> <rate> <unit>/s" per transfer
      const text = command.xferLog ? await readFile(command.xferLog, 'utf8').catch(() => '') : '';
      const rows = text.trim().split('\n').filter(Boolean).map((l) => /\s(\d+)-(\d+)\s+([\d.]+)\s+(\w*)B\/s$/.exec(l));
      const units: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
      const moved = rows.map((m) => (m ? Number(m[2]) - Number(m[1]) : 0));
      const only = rows.length === 1 ? rows[0] : undefined;
      return {
        ok: rows.length > 0 && rows.every(Boolean), bytes: moved.reduce((a, b) => a + b, 0), files: rows.length,
        ...(only ? { rate: Number(only[3]) * (units[only[4] ?? ''] ?? NaN) } : {}),
      };
    }
  }
}
