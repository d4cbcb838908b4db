// @ts-check
/**
 * Probes behind the reasons of bench/targets.ts (run by `bench/profile.ts --probe <name>`, which
 * makes the world and the job): plain node on dist/esm, one job JSON argument, lines of text out.
 *
 * - `warm`: 3 blocks of N small transfers on one session (downloadTo, or fileSource uploads with
 *   `up`): wall and CPU per file per block, CPU split between the main thread and the others
 *   (V8's compiler and GC threads, libuv's pool), from /proc/self/task.
 * - `file-source`: reading the N small local files as fileSource does (fs/promises open, stat,
 *   read, close) and with readFileSync, 3 rounds: CPU and wall per file.
 * - `block-size`: the big upload from fileSource with the default blockSize (64 KiB) and with
 *   1 MiB, 4 times each, alternating, a new session each: in-process CPU and time.
 * - `linger`: RETR of one small file by hand, the client's FIN on the data connection sent at
 *   once or held back 100 ms: when vsftpd's 226 comes (it closes the data socket with SO_LINGER).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';
import { FtpSession, fileSource } from '../../dist/esm/index.js';

const job = JSON.parse(process.argv[2] ?? '{}');
const { host, port, user, password } = job.server;
/** @param {Record<string, unknown>} [more] */
const connect = (more = {}) => FtpSession.connect({ host, port, user, password, transferMode: 'binary', ...more });
const ms = (/** @type {number} */ v) => v.toFixed(3);

/** CPU ms (user, sys) per thread group: the main thread, and all others. */
function threads() {
  const out = { main: [0, 0], others: [0, 0] };
  for (const t of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const into = t === String(process.pid) ? out.main : out.others;
    into[0] += Number(f[11]) * 10; // clock ticks of 10 ms
    into[1] += Number(f[12]) * 10;
  }
  return out;
}

async function warm() {
  const n = job.remotes.length;
  const t0 = threads();
  const ftp = await connect();
  const t1 = threads();
  console.log(`start-up, import and login: main thread ${t1.main[0] + t1.main[1]} ms, other threads ${t1.others[0] + t1.others[1]} ms (before the import: main ${t0.main[0] + t0.main[1]} ms)`);
  for (let block = 0; block < 3; block++) {
    const a = threads();
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      if (job.up) await ftp.upload(job.remotes[i].replace(/^small\//, 'upload/'), fileSource(job.locals[i]));
      else await ftp.downloadTo(job.remotes[i], () => {});
    }
    const wall = performance.now() - start;
    const b = threads();
    const d = (/** @type {'main' | 'others'} */ k, /** @type {0 | 1} */ i) => (b[k][i] - a[k][i]) / n;
    console.log(`files ${block * n + 1}-${block * n + n}: wall ${ms(wall / n)} ms/file; CPU ms/file: main thread ${ms(d('main', 0) + d('main', 1))} (user ${ms(d('main', 0))}, sys ${ms(d('main', 1))}), other threads ${ms(d('others', 0) + d('others', 1))}`);
  }
  await ftp.close();
}

async function readFileSource() {
  const files = /** @type {string[]} */ (job.locals);
  const ways = {
    'fs/promises open, stat, read, close': async () => {
      for (const f of files) {
        const h = await open(f, 'r');
        const { size } = await h.stat();
        await h.read(Buffer.allocUnsafeSlow(size + 1), 0, size + 1, 0);
        await h.close();
      }
    },
    'fileSource, iterated': async () => {
      for (const f of files) for await (const chunk of fileSource(f)) void chunk;
    },
    readFileSync: async () => {
      for (const f of files) readFileSync(f);
    },
  };
  for (let round = 1; round <= 3; round++) {
    for (const [name, fn] of Object.entries(ways)) {
      const c0 = process.cpuUsage();
      const start = performance.now();
      await fn();
      const wall = performance.now() - start;
      const c = process.cpuUsage(c0);
      console.log(`round ${round}, ${name}: wall ${ms(wall / files.length)} ms/file, CPU ${ms((c.user + c.system) / 1000 / files.length)} ms/file`);
    }
  }
}

async function blockSize() {
  for (let i = 0; i < 8; i++) {
    const size = i % 2 === 0 ? undefined : 1024 * 1024;
    const ftp = await connect(size ? { blockSize: size } : {});
    const c0 = process.cpuUsage();
    const start = performance.now();
    await ftp.upload(job.remote, fileSource(job.local));
    const seconds = (performance.now() - start) / 1000;
    const c = process.cpuUsage(c0);
    await ftp.close();
    console.log(`blockSize ${size ?? 'default (64 KiB)'}: transfer ${ms(seconds)} s, in-process CPU ${ms((c.user + c.system) / 1e6)} s (user ${ms(c.user / 1e6)}, sys ${ms(c.system / 1e6)})`);
  }
}

async function linger() {
  const control = net.connect(port, host);
  control.setEncoding('latin1');
  let text = '';
  /** @param {RegExp} re @returns {Promise<RegExpExecArray>} */
  const reply = (re) => new Promise((resolve) => {
    const check = () => {
      const m = re.exec(text);
      if (!m) return;
      text = text.slice(m.index + m[0].length);
      control.off('data', on);
      resolve(m);
    };
    const on = (/** @type {string} */ s) => { text += s; check(); };
    control.on('data', on);
    check();
  });
  await reply(/^220 .*\r\n/m);
  control.write(`USER ${user}\r\n`);
  if ((await reply(/^(230|331) .*\r\n/m))[1] === '331') {
    control.write(`PASS ${password}\r\n`);
    await reply(/^230 .*\r\n/m);
  }
  control.write('TYPE I\r\n');
  await reply(/^200 .*\r\n/m);
  for (const hold of [0, 100, 0, 100]) {
    control.write('EPSV\r\n');
    const epsv = await reply(/\|\|\|(\d+)\|/);
    const data = net.connect({ host, port: Number(epsv[1]), allowHalfOpen: true });
    await new Promise((resolve) => data.once('connect', resolve));
    const start = performance.now();
    const at = () => (performance.now() - start).toFixed(1);
    let end = '';
    data.on('data', () => {});
    data.on('end', () => { end = at(); setTimeout(() => data.end(), hold); });
    control.write(`RETR ${job.remotes[0]}\r\n`);
    await reply(/^150 .*\r\n/m);
    await reply(/^226 .*\r\n/m);
    console.log(`client FIN ${hold ? `held ${hold} ms` : 'at once'}: the server's data end at ${end} ms, 226 at ${at()} ms after RETR`);
    data.destroy();
  }
  control.end('QUIT\r\n');
}

const probes = { warm, 'file-source': readFileSource, 'block-size': blockSize, linger };
const probe = probes[/** @type {keyof typeof probes} */ (job.probe)];
if (!probe) throw new Error(`unknown probe ${job.probe}; known: ${Object.keys(probes).join(', ')}`);
await probe();
