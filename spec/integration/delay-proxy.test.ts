/**
 * The delaying proxy of the benchmarks (bench/support/delay-proxy.ts): the library through it to a
 * real vsftpd (added latency on the control connection, 1 MiB each way byte-exact, data
 * connections counted), the same with no delay, and against the scripted server for what vsftpd
 * will not do on demand: replies split across writes, a multi-line reply holding a line that
 * looks like a 227, a PASV naming a foreign address, a server's reset. Timing checks are lower
 * bounds only. Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { startDelayProxy, type DelayProxy } from '../../bench/support/delay-proxy.js';
import { FtpSession } from '../../lib/index.js';
import { drain, sha256 } from '../support/hash.js';
import { readData, scriptedServer, serveDownload, type ScriptedServer } from '../support/scripted-server.js';
import { startServer, writeFixture, type RunningServer } from '../support/servers.js';

const OPTS = { timeout: 30_000 };
const WAIT_MS = 10_000;
const MiB = 1024 * 1024;
const BIG = randomBytes(MiB);

/** Rejects after `ms` unless `promise` settles first. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Milliseconds `fn` took (performance.now, so the same clock as the proxy's). */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** A raw control connection: whole replies (multi-line aware), every wait bounded. */
class RawControl {
  #text = '';
  #wake: Array<() => void> = [];
  error: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    const wake = () => this.#wake.splice(0).forEach((f) => f());
    socket.on('data', (chunk: Buffer) => { this.#text += chunk.toString('latin1'); wake(); });
    socket.on('end', wake);
    socket.on('error', (error) => { this.error = error; wake(); });
    this.closed = new Promise((res) => socket.once('close', () => { wake(); res(); }));
  }

  static async open(host: string, port: number): Promise<RawControl> {
    const socket = connect(port, host);
    const control = new RawControl(socket);
    await within(new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    }), WAIT_MS, `connect to ${port}`);
    return control;
  }

  /** The next whole reply (every line, CRLF kept), or null once the stream ended without one. */
  async reply(): Promise<string | null> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const m = /^(\d{3})(?: [^\n]*\n|-[^]*?\n\1 [^\n]*\n)/.exec(this.#text);
      if (m) {
        this.#text = this.#text.slice(m[0].length);
        return m[0];
      }
      if (this.socket.readableEnded || this.socket.destroyed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no whole reply within ${WAIT_MS} ms (got ${JSON.stringify(this.#text)})`);
      await within(new Promise<void>((res) => this.#wake.push(res)), left, 'reply').catch(() => {});
    }
  }

  command(line: string): Promise<string | null> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }
}

/** Connects to 127.0.0.1:`port` (bounded); rejects with the connect error. */
async function openData(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await within(new Promise<void>((res, rej) => {
    socket.once('connect', res);
    socket.once('error', rej);
  }), WAIT_MS, `data connect to ${port}`);
  socket.on('error', () => {});
  return socket;
}

/** The port a (rewritten) 227 or 229 reply names; a 227 must name the proxy's address. */
function advertised(reply: string | null, proxy: DelayProxy): number {
  const pasv = /^227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply ?? '');
  if (pasv) {
    assert.equal(pasv.slice(1, 5).join('.'), proxy.host, `227 names the proxy: ${reply}`);
    return Number(pasv[5]) * 256 + Number(pasv[6]);
  }
  const epsv = /^229 .*\(\|\|\|(\d+)\|\)/.exec(reply ?? '');
  assert.ok(epsv, `a passive reply: ${reply}`);
  return Number(epsv[1]);
}

let server: RunningServer;
before(async () => {
  server = await startServer('vsftpd');
  await writeFixture(server, 'big.bin', BIG);
});
after(() => server?.stop());

for (const rttMs of [20, 0]) {
  test(`rttMs ${rttMs}, the library to vsftpd: NOOP takes the round trip, 1 MiB down and up byte-exact, data connections counted`, OPTS, async () => {
    const proxy = await startDelayProxy({ target: server, rttMs });
    let ftp: FtpSession | undefined;
    try {
      assert.equal(proxy.rttMs, rttMs);
      assert.equal(proxy.host, '127.0.0.1');
      ftp = await within(FtpSession.connect({
        host: proxy.host, port: proxy.port, user: server.user, password: server.password, transferMode: 'binary',
      }), WAIT_MS, 'connect and login');
      const session = ftp;
      for (let i = 0; i < 3; i++) {
        const { ms } = await timed(() => within(session.request('noop', []), WAIT_MS, 'NOOP'));
        assert.ok(ms >= rttMs, `NOOP #${i} took ${ms.toFixed(2)} ms, less than the ${rttMs} ms round trip`);
      }

      const down = await timed(() => within(drain(session.download('big.bin')), WAIT_MS, 'download'));
      assert.deepEqual(down.value, { hash: sha256(BIG), length: BIG.length });
      // EPSV, then the data connection: the upstream connect waits rtt/2 and the first byte as much again.
      assert.ok(down.ms >= 2 * rttMs, `the download took ${down.ms.toFixed(2)} ms, less than two round trips`);

      const name = `${server.uploadDir}/up-${rttMs}.bin`;
      await within(session.upload(name, BIG), WAIT_MS, 'upload');
      assert.equal(sha256(await readFile(join(server.root, name))), sha256(BIG));
      assert.equal(proxy.dataConnections, 2);
    } finally {
      await ftp?.close();
      await within(proxy.close(), WAIT_MS, 'proxy.close()');
    }
  });
}

test('replies split across writes, multi-line replies, PASV with a foreign address and EPSV, one-shot listeners (scripted server, rttMs 10)', OPTS, async () => {
  const PAYLOAD = randomBytes(200_000);
  const UPLOAD = randomBytes(150_000);
  const scripted: ScriptedServer = await scriptedServer({
    files: { 'a.bin': PAYLOAD },
    greeting: (conn) => conn.sendRaw('220-Welcome,\r\n220-two lines\r\n220 ready\r\n', { cuts: [3, 12, 20, 30], delayMs: 3 }).then(() => {}),
    handlers: {
      // A line starting "227 " inside a 214 reply is not the reply's end: it must pass unchanged.
      HELP: (conn) => conn.sendRaw('214-Help\r\n227 (9,9,9,9,9,9) is not a reply\r\n214 Help OK.\r\n', { cuts: [9, 25] }),
      PASV: async (conn) => {
        const listener = await conn.listenPassive();
        const line = `227 Entering Passive Mode (10,9,8,7,${listener.port >> 8},${listener.port & 255}).\r\n`;
        await conn.sendRaw(line, { cuts: [2, 20, line.length - 4], delayMs: 3 });
      },
      RETR: (conn, cmd) => serveDownload(conn, cmd.arg === 'a.bin' ? PAYLOAD : Buffer.alloc(0)),
    },
  });
  const proxy = await startDelayProxy({ target: scripted.address, rttMs: 10 });
  const controls: RawControl[] = [];
  const sockets: Socket[] = [];
  try {
    const { ms: greetMs, value: ctl } = await timed(async () => {
      const opened = await RawControl.open(proxy.host, proxy.port);
      controls.push(opened);
      assert.equal(await opened.reply(), '220-Welcome,\r\n220-two lines\r\n220 ready\r\n');
      return opened;
    });
    assert.ok(greetMs >= 10, `the greeting came ${greetMs.toFixed(2)} ms after connecting`);
    assert.equal(await ctl.command('HELP'), '214-Help\r\n227 (9,9,9,9,9,9) is not a reply\r\n214 Help OK.\r\n');

    // PASV: the server names 10.9.8.7, the proxy forwards to its port on target.host.
    const pasv = await ctl.command('PASV');
    const pasvPort = advertised(pasv, proxy);
    assert.match(pasv ?? '', /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)\.\r\n$/);
    const download = await openData(pasvPort);
    sockets.push(download);
    assert.match((await ctl.command('RETR a.bin')) ?? '', /^150 /);
    assert.equal(sha256(await readData(download, WAIT_MS)), sha256(PAYLOAD));
    assert.match((await ctl.reply()) ?? '', /^226 /);
    await assert.rejects(openData(pasvPort), /ECONNREFUSED/, 'the listener took one connection only');

    // EPSV (the scripted server's own handler), an upload through it.
    const epsv = await ctl.command('EPSV');
    const upload = await openData(advertised(epsv, proxy));
    sockets.push(upload);
    assert.match((await ctl.command('STOR up.bin')) ?? '', /^150 /);
    upload.end(UPLOAD);
    assert.match((await ctl.reply()) ?? '', /^226 /);
    assert.equal(sha256(scripted.uploads.get('up.bin') ?? Buffer.alloc(0)), sha256(UPLOAD));
    assert.equal(proxy.dataConnections, 2);

    const { ms: noopMs } = await timed(() => ctl.command('NOOP'));
    assert.ok(noopMs >= 10, `NOOP took ${noopMs.toFixed(2)} ms`);
    assert.match((await ctl.command('QUIT')) ?? '', /^221 /);
    assert.equal(await ctl.reply(), null, 'the server\'s FIN is passed on');
  } finally {
    controls.forEach((c) => c.socket.destroy());
    sockets.forEach((s) => s.destroy());
    await within(proxy.close(), WAIT_MS, 'proxy.close()');
    await scripted.close();
  }
});

test("a server's reset resets the client; close() releases a passive listener nobody used", OPTS, async () => {
  const scripted = await scriptedServer({ handlers: { SITE: (conn) => conn.reset() } });
  const proxy = await startDelayProxy({ target: scripted.address, rttMs: 10 });
  const controls: RawControl[] = [];
  try {
    const doomed = await RawControl.open(proxy.host, proxy.port);
    controls.push(doomed);
    assert.match((await doomed.reply()) ?? '', /^220 /);
    assert.equal(await doomed.command('SITE reset'), null);
    await within(doomed.closed, WAIT_MS, 'client close');
    assert.equal((doomed.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');

    const idle = await RawControl.open(proxy.host, proxy.port);
    controls.push(idle);
    assert.match((await idle.reply()) ?? '', /^220 /);
    const port = advertised(await idle.command('EPSV'), proxy);
    await within(proxy.close(), WAIT_MS, 'proxy.close()');
    await within(idle.closed, WAIT_MS, 'client close after proxy.close()');
    await assert.rejects(openData(port), /ECONNREFUSED/);
    assert.equal(proxy.dataConnections, 0);
  } finally {
    controls.forEach((c) => c.socket.destroy());
    await within(proxy.close(), WAIT_MS, 'proxy.close()');
    await scripted.close();
  }
});
