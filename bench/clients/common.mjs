// @ts-check
/**
 * What the Node benchmark clients (ftp-session.mjs, basic-ftp.mjs) share: the job they are given,
 * the sinks and sources, the in-process measurements, and the one JSON line they print.
 *
 * Plain JavaScript on purpose: the suite times each client as a whole process, start-up
 * included, so no TypeScript loader may run inside it.
 *
 * The job is one JSON argument (see `Job` below), written by bench/scenarios.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';

/**
 * @typedef {object} Server
 * @property {string} host
 * @property {number} port
 * @property {string} user
 * @property {string} password
 * @property {string} [caFile] PEM file of the CA: FTPS (explicit AUTH TLS, PROT P) when set
 */

/**
 * @typedef {object} Job
 * @property {'download' | 'upload-memory' | 'upload-file' | 'small-down' | 'small-up' | 'sessions'} op
 * @property {Server} server
 * @property {string} [remote] download: the file; uploads: where it goes
 * @property {number} [size] upload-memory: bytes to upload
 * @property {string} [patternFile] upload-memory: a block repeated to fill the buffer (same bytes as the source file)
 * @property {string} [local] upload-file: the local file
 * @property {string[]} [remotes] small-down: remote files; small-up: remote names
 * @property {string[]} [locals] small-up: local files, one per remote name
 * @property {number} [sessions] sessions: how many at once
 * @property {string} [listDir] sessions: the folder each session lists
 * @property {string} [file] sessions: the file each session downloads
 * @property {boolean} [loopDelay] measure event-loop delay during the transfer
 * @property {number} [throttle] download: the sink takes at most this many bytes/s
 * @property {boolean} [sampleRss] sample RSS every 100 ms
 */

/**
 * The operations a client library provides; each returns the bytes it moved.
 * @typedef {object} Impl
 * @property {string} name
 * @property {(server: Server) => Promise<any>} connect
 * @property {(client: any) => Promise<void>} close
 * @property {(client: any, remote: string, sink: Writable) => Promise<void>} download
 * @property {(client: any, remote: string, data: Buffer) => Promise<void>} uploadMemory
 * @property {(client: any, remote: string, local: string) => Promise<void>} uploadFile
 * @property {(client: any, remotes: string[]) => Promise<number>} downloadSmall
 * @property {(client: any, remotes: string[], locals: string[]) => Promise<number>} uploadSmall
 * @property {(server: Server, dir: string, file: string) => Promise<number>} oneSession connect, list, download, close
 */

/** A Writable that drops what it gets and counts it (`bytes`). */
export class NullSink extends Writable {
  bytes = 0;

  constructor() {
    super({ highWaterMark: 1024 * 1024 });
  }

  /** @override @param {Buffer} chunk @param {BufferEncoding} _enc @param {(error?: Error | null) => void} cb */
  _write(chunk, _enc, cb) {
    this.bytes += chunk.length;
    cb();
  }
}

/**
 * A Writable that takes `bytesPerSecond` on average: each write's callback waits until the
 * bytes taken so far are due at that rate.
 */
export class ThrottledSink extends Writable {
  bytes = 0;
  start = 0;

  /** @param {number} bytesPerSecond */
  constructor(bytesPerSecond) {
    super({ highWaterMark: 64 * 1024 });
    this.bytesPerSecond = bytesPerSecond;
  }

  /** @override @param {Buffer} chunk @param {BufferEncoding} _enc @param {(error?: Error | null) => void} cb */
  _write(chunk, _enc, cb) {
    if (this.start === 0) this.start = performance.now();
    this.bytes += chunk.length;
    const wait = this.start + (this.bytes / this.bytesPerSecond) * 1000 - performance.now();
    if (wait >= 1) setTimeout(cb, wait); else cb();
  }
}

/** A new {@link NullSink}. */
export const nullSink = () => new NullSink();

/**
 * A buffer of `size` bytes: the pattern block repeated (the source file holds the same bytes).
 * @param {number} size
 * @param {string} patternFile
 */
export function memorySource(size, patternFile) {
  const block = readFileSync(patternFile);
  return Buffer.allocUnsafe(size).fill(block);
}

/**
 * {@link memorySource}, its wall time and this process's CPU for it put in `out` as `sourceS` and
 * `sourceCpuMs` (building 1 GiB means faulting in 1 GiB of fresh memory: mostly system time).
 * @param {Record<string, unknown>} out @param {number} size @param {string} patternFile
 */
export function timedSource(out, size, patternFile) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const data = memorySource(size, patternFile);
  const cpu = process.cpuUsage(cpu0);
  Object.assign(out, { sourceS: (performance.now() - t0) / 1000, sourceCpuMs: (cpu.user + cpu.system) / 1000 });
  return data;
}

/** Event-loop delay (ms) while `fn` runs, from a 1 ms-resolution histogram. */
function loopDelayMonitor() {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return () => {
    h.disable();
    const ms = (/** @type {number} */ ns) => Math.round(ns / 1e4) / 100;
    return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), count: h.count };
  };
}

/**
 * RSS every 100 ms, with the bytes moved so far at each sample.
 * @param {() => number} progress
 */
function rssSampler(progress) {
  /** @type {Array<[number, number, number]>} [ms since start, rss bytes, bytes moved] */
  const samples = [];
  const t0 = performance.now();
  const take = () => { samples.push([Math.round(performance.now() - t0), process.memoryUsage.rss(), progress()]); };
  take();
  const timer = setInterval(take, 100);
  return () => { clearInterval(timer); take(); return samples; };
}

/**
 * Runs `job` with `impl` and prints one JSON line: `ok`, `bytes`, `files`, `transferS` (from the
 * transfer command to its end), `rate` (bytes/s over transferS), `cpuMs` (this process's
 * user+sys during the transfer), `rssAfterImport`, for upload-memory `sourceS` and `sourceCpuMs`
 * (building the Buffer), and when asked `loopDelay` and `rss` samples.
 * Exit code 1 when the job failed (the line then has `error`).
 * @param {Impl} impl
 */
export async function runClient(impl) {
  /** @type {Job} */
  const job = JSON.parse(process.argv[2] ?? '{}');
  /** @type {Record<string, unknown>} */
  const out = { client: impl.name, op: job.op, ok: false, rssAfterImport: process.memoryUsage.rss() };
  /** @type {any} */
  let client;
  try {
    const data = job.op === 'upload-memory' ? timedSource(out, need(job.size), need(job.patternFile)) : undefined;
    if (job.op !== 'sessions') client = await impl.connect(job.server);
    const sink = job.throttle ? new ThrottledSink(job.throttle) : new NullSink();
    let moved = () => sink.bytes;
    const stopDelay = job.loopDelay ? loopDelayMonitor() : undefined;
    const stopRss = job.sampleRss ? rssSampler(() => moved()) : undefined;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let bytes = 0;
    switch (job.op) {
      case 'download':
        await impl.download(client, need(job.remote), sink);
        bytes = sink.bytes;
        break;
      case 'upload-memory':
        await impl.uploadMemory(client, need(job.remote), /** @type {Buffer} */ (data));
        bytes = need(job.size);
        break;
      case 'upload-file':
        await impl.uploadFile(client, need(job.remote), need(job.local));
        bytes = statSync(need(job.local)).size;
        break;
      case 'small-down':
        bytes = await impl.downloadSmall(client, need(job.remotes));
        out.files = need(job.remotes).length;
        break;
      case 'small-up':
        bytes = await impl.uploadSmall(client, need(job.remotes), need(job.locals));
        out.files = need(job.remotes).length;
        break;
      case 'sessions': {
        const n = need(job.sessions);
        let done = 0;
        moved = () => done;
        const each = await Promise.all(Array.from({ length: n }, async () => {
          const b = await impl.oneSession(job.server, need(job.listDir), need(job.file));
          done++;
          return b;
        }));
        bytes = each.reduce((a, b) => a + b, 0);
        out.files = n;
        break;
      }
      default:
        throw new Error(`unknown op ${String(job.op)}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (stopDelay) out.loopDelay = stopDelay();
    if (stopRss) out.rss = stopRss();
    Object.assign(out, { ok: true, bytes, transferS: seconds, rate: bytes / seconds, cpuMs: (cpu.user + cpu.system) / 1000 });
    if (client !== undefined) await impl.close(client);
  } catch (error) {
    out.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.exitCode = 1;
    if (client !== undefined) await impl.close(client).catch(() => undefined);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/**
 * @template T
 * @param {T | undefined} value
 * @returns {T}
 */
function need(value) {
  if (value === undefined) throw new Error('the job misses a field this op needs');
  return value;
}
