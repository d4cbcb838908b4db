// @ts-check
/**
 * The yardstick: the least a Node process must do to move a file over FTP. USER, PASS, TYPE I,
 * EPSV, then RETR or STOR by hand; no library, no streams, no per-chunk allocation.
 *
 * - `download`: the data socket is read with `onread` into one reused buffer; bytes are only counted.
 * - `upload-memory`: the Buffer (built like the library clients build theirs, common.mjs
 *   memorySource) is written to the data socket in one `end(buffer)`: libuv writes it as the
 *   kernel takes it, no JavaScript runs per chunk.
 * - `upload-file`: the file is read into four reused 1 MiB buffers, each written as soon as it is
 *   read, read into again once its write is done.
 *
 * Job: `{ "op": "download" | "upload-memory" | "upload-file", "server": { host, port, user, password },
 * "remote": "big.bin", "size", "patternFile", "local" }` (plain FTP only; `op` defaults to download).
 * Prints one JSON line: ok, bytes, transferS (RETR/STOR sent to both the 226 and the data end), rate, cpuMs.
 */
import { open } from 'node:fs/promises';
import net from 'node:net';
import { timedSource } from './common.mjs';

/** @typedef {{ code: number, text: string }} Reply */

/**
 * Reads FTP replies from the control socket (multi-line ones whole).
 * @param {net.Socket} socket
 */
function replyReader(socket) {
  /** @type {Reply[]} */
  const ready = [];
  /** @type {Array<(r: Reply) => void>} */
  const waiting = [];
  /** @type {((e: Error) => void) | null} */
  let failed = null;
  let pending = '';
  /** @type {string[]} */
  let lines = [];
  socket.setEncoding('latin1');
  socket.on('data', (/** @type {string} */ text) => {
    pending += text;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      lines.push(line);
      const first = /** @type {string} */ (lines[0]);
      const code = first.slice(0, 3);
      const done = first[3] === '-' ? line.startsWith(`${code} `) && lines.length > 1 : true;
      if (!done) continue;
      const reply = { code: Number(code), text: lines.join('\n') };
      lines = [];
      const w = waiting.shift();
      if (w) w(reply); else ready.push(reply);
    }
  });
  const fail = (/** @type {Error} */ e) => { failed?.(e); };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('control connection closed')));
  /** The next reply. @returns {Promise<Reply>} */
  return () => new Promise((resolve, reject) => {
    const r = ready.shift();
    if (r) { resolve(r); return; }
    failed = reject;
    waiting.push(resolve);
  });
}

/**
 * Sends a command and returns its reply, which must have the expected first digit.
 * @param {net.Socket} socket @param {() => Promise<Reply>} next @param {string} line @param {string} expect
 */
async function command(socket, next, line, expect) {
  socket.write(`${line}\r\n`);
  const reply = await next();
  if (!String(reply.code).startsWith(expect)) throw new Error(`${line.split(' ')[0]}: ${reply.text}`);
  return reply;
}

/**
 * Writes `local` to `data` through four reused 1 MiB buffers; resolves once the socket is finished.
 * @param {net.Socket} data @param {string} local
 */
async function sendFile(data, local) {
  const file = await open(local, 'r');
  try {
    const free = Array.from({ length: 4 }, () => Buffer.allocUnsafeSlow(1024 * 1024));
    /** @type {(() => void) | null} */
    let returned = null;
    for (;;) {
      while (free.length === 0) await new Promise((resolve) => { returned = () => resolve(undefined); });
      const buffer = /** @type {Buffer} */ (free.pop());
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      data.write(buffer.subarray(0, bytesRead), () => { free.push(buffer); returned?.(); returned = null; });
    }
  } finally {
    await file.close();
  }
  await new Promise((resolve, reject) => {
    data.once('error', reject);
    data.end(resolve);
  });
}

async function main() {
  const job = JSON.parse(process.argv[2] ?? '{}');
  const op = job.op ?? 'download';
  const { host, port, user, password } = job.server;
  /** @type {Record<string, unknown>} */
  const out = { client: 'bare-socket', op, ok: false, rssAfterImport: process.memoryUsage.rss() };
  const control = net.connect({ host, port });
  try {
    // Built before connecting, as common.mjs does for the library clients.
    const memory = op === 'upload-memory' ? timedSource(out, job.size, job.patternFile) : undefined;
    const next = replyReader(control);
    const greeting = await next();
    if (greeting.code !== 220) throw new Error(`greeting: ${greeting.text}`);
    const userReply = await command(control, next, `USER ${user}`, '');
    if (userReply.code === 331) await command(control, next, `PASS ${password}`, '2');
    else if (userReply.code !== 230) throw new Error(`USER: ${userReply.text}`);
    await command(control, next, 'TYPE I', '2');
    const epsv = await command(control, next, 'EPSV', '2');
    const dataPort = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv.text)?.[1]);
    if (!dataPort) throw new Error(`EPSV: ${epsv.text}`);
    const result = op === 'download'
      ? await download(control, next, host, dataPort, job.remote)
      : await upload(control, next, host, dataPort, job.remote, memory ?? job.local);
    await command(control, next, 'QUIT', '2').catch(() => undefined);
    Object.assign(out, { ok: true, ...result, rate: result.bytes / result.transferS });
  } catch (error) {
    out.error = error instanceof Error ? error.message : String(error);
    process.exitCode = 1;
  }
  control.destroy();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/**
 * RETR into one reused 256 KiB buffer.
 * @param {net.Socket} control @param {() => Promise<Reply>} next @param {string} host @param {number} dataPort @param {string} remote
 */
async function download(control, next, host, dataPort, remote) {
  let bytes = 0;
  // onread is read by the Socket constructor (net.connect passes it there); socket.connect()
  // ignores it, and @types/node declares it for connect options only, hence the cast.
  const onread = { buffer: Buffer.allocUnsafe(256 * 1024), callback: (/** @type {number} */ n) => { bytes += n; return true; } };
  const data = new net.Socket(/** @type {net.SocketConstructorOpts} */ (/** @type {unknown} */ ({ onread })));
  const dataEnd = when(data, 'end');
  data.connect({ host, port: dataPort });
  await when(data, 'connect');
  data.resume(); // with onread, 'end' comes only once the socket flows
  const { value: done, ...cost } = await measured(async () => {
    await command(control, next, `RETR ${remote}`, '1');
    return (await Promise.all([next(), dataEnd]))[0];
  });
  if (done.code !== 226) throw new Error(`RETR: ${done.text}`);
  data.destroy();
  return { bytes, ...cost };
}

/**
 * STOR from a Buffer (one end(buffer)) or from a file (see sendFile).
 * @param {net.Socket} control @param {() => Promise<Reply>} next @param {string} host @param {number} dataPort
 * @param {string} remote @param {Buffer | string} source
 */
async function upload(control, next, host, dataPort, remote, source) {
  const data = net.connect({ host, port: dataPort });
  const closed = when(data, 'close');
  await when(data, 'connect');
  data.resume(); // the server's FIN after ours is read, so 'close' comes
  let bytes = 0;
  const { value: done, ...cost } = await measured(async () => {
    await command(control, next, `STOR ${remote}`, '1');
    if (typeof source === 'string') {
      await sendFile(data, source);
      bytes = data.bytesWritten;
    } else {
      data.end(source);
      bytes = source.length;
    }
    return (await Promise.all([next(), closed]))[0];
  });
  if (done.code !== 226) throw new Error(`STOR: ${done.text}`);
  return { bytes, ...cost };
}

/**
 * Resolves with `event` of `socket`; rejects on its 'error'.
 * @param {net.Socket} socket @param {string} event
 */
function when(socket, event) {
  return new Promise((resolve, reject) => {
    socket.once(event, resolve);
    socket.once('error', reject);
  });
}

/**
 * Runs `transfer` (from the transfer command to its final reply and the data's end), with its
 * wall time and the process's CPU over it.
 * @template T @param {() => Promise<T>} transfer
 * @returns {Promise<{ value: T, transferS: number, cpuMs: number }>}
 */
async function measured(transfer) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await transfer();
  const transferS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, transferS, cpuMs: (cpu.user + cpu.system) / 1000 };
}

await main();
