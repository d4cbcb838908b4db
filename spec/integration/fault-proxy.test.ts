/**
 * The fault-injection proxy (spec/support/fault-proxy.ts) against a real vsftpd, driven by a raw
 * socket client written here (no library code): forwarding and the command log, PASV/EPSV
 * rewriting with byte-exact transfers both ways, and each kind of fault on the control and the
 * data connections. Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sha256 } from '../support/hash.js';
import { startServer, writeFixture, type RunningServer } from '../support/servers.js';

const OPTS = { timeout: 20_000 };
const WAIT_MS = 5_000;
const BIG = randomBytes(1024 * 1024);
/** Too big for loopback socket buffers: vsftpd is still writing when a data fault hits, so it notices. */
const HUGE = randomBytes(32 * 1024 * 1024);

/** Rejects after `ms` unless `promise` settles first. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A socket that records what it receives and how it ended, every wait bounded. */
class Peer {
  readonly received: Buffer[] = [];
  error: Error | undefined;
  ended = false;
  readonly closed: Promise<void>;
  #wake: Array<() => void> = [];

  constructor(readonly socket: Socket) {
    const wake = () => this.#wake.splice(0).forEach((f) => f());
    socket.on('data', (chunk: Buffer) => { this.received.push(chunk); wake(); });
    socket.on('end', () => { this.ended = true; wake(); });
    socket.on('error', (err) => { this.error = err; wake(); });
    this.closed = new Promise((res) => socket.once('close', () => { wake(); res(); }));
  }

  static async open(host: string, port: number): Promise<Peer> {
    const socket = connect(port, host);
    const peer = new Peer(socket);
    await within(new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    }), WAIT_MS, `connect to ${port}`);
    return peer;
  }

  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Resolves once `ready()` returns something other than undefined (checked on every socket event). */
  async until<T>(ready: () => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms;
    for (let value = ready(); ; value = ready()) {
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${ms} ms (got ${JSON.stringify(this.bytes.toString('latin1').slice(-200))})`);
      await within(new Promise<void>((res) => this.#wake.push(res)), left, what).catch(() => {});
    }
  }

  /** Resolves when the socket closed; the end is `'eof'`, `'error'` or `'destroyed'`. */
  async end(ms = WAIT_MS): Promise<string> {
    await within(this.closed, ms, 'socket close');
    return this.error ? `error ${(this.error as NodeJS.ErrnoException).code}` : this.ended ? 'eof' : 'destroyed';
  }
}

/** A control connection: reads whole replies (multi-line aware). */
class Control extends Peer {
  #taken = 0; // characters of the received text already returned as replies

  /** The next whole reply (every line, CRLF kept), or null on end of stream. */
  async reply(ms = WAIT_MS): Promise<string | null> {
    return this.until(() => {
      const text = this.bytes.toString('latin1').slice(this.#taken);
      const end = /^(\d{3})(?: [^\n]*\n|-[^]*?\n\1 [^\n]*\n)/.exec(text);
      if (end) {
        this.#taken += end[0].length;
        return end[0];
      }
      return this.socket.readableEnded || this.socket.destroyed ? null : undefined;
    }, 'reply', ms);
  }

  async command(line: string): Promise<string | null> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  static async login(proxy: FaultProxy, server: RunningServer): Promise<Control> {
    const ctl = new Control((await Peer.open(proxy.host, proxy.port)).socket);
    assert.match((await ctl.reply()) ?? '', /^220 /);
    assert.match((await ctl.command(`USER ${server.user}`)) ?? '', /^2\d\d /); // vsftpd: anonymous needs no password
    assert.match((await ctl.command('TYPE I')) ?? '', /^200 /);
    return ctl;
  }
}

/** Sends PASV or EPSV and connects to the port the (rewritten) reply names, on the proxy's host. */
async function openData(ctl: Control, proxy: FaultProxy, verb: 'PASV' | 'EPSV'): Promise<{ data: Peer; reply: string; port: number }> {
  const reply = (await ctl.command(verb)) ?? '';
  const m = verb === 'PASV'
    ? /^227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply)
    : /^229 .*\(\|\|\|(\d+)\|\)/.exec(reply);
  assert.ok(m, `${verb} reply: ${reply}`);
  const port = verb === 'PASV' ? Number(m[5]) * 256 + Number(m[6]) : Number(m[1]);
  if (verb === 'PASV') assert.equal(m.slice(1, 5).join('.'), proxy.host);
  return { data: await Peer.open(proxy.host, port), reply, port };
}

let server: RunningServer;
before(async () => {
  server = await startServer('vsftpd');
  await writeFixture(server, 'big.bin', BIG);
  await writeFixture(server, 'huge.bin', HUGE);
  await writeFixture(server, 'small.txt', Buffer.from('hello\r\n'));
});
after(() => server?.stop());

/** A proxy in front of the server, closed after the test even when it fails. */
async function proxyFor(t: { after: (fn: () => Promise<void>) => void }): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: server });
  t.after(() => proxy.close());
  return proxy;
}

test('forwards the control connection and logs every command, PASS masked', OPTS, async (t) => {
  const proxy = await proxyFor(t);
  const ctl = await Control.login(proxy, server);
  assert.match((await ctl.command('PASS secret')) ?? '', /^230 /); // already logged in
  assert.match((await ctl.command('SYST')) ?? '', /^215 UNIX/);
  // Two commands in one segment, then one split across three.
  ctl.socket.write('NOOP\r\nPWD\r\n');
  assert.match((await ctl.reply()) ?? '', /^200 /);
  assert.match((await ctl.reply()) ?? '', /^257 "\/"/);
  for (const part of ['SI', 'ZE small', '.txt\r\n']) {
    ctl.socket.write(part);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match((await ctl.reply()) ?? '', /^213 7\r\n$/);
  assert.match((await ctl.command('FEAT')) ?? '', /^211-[^]*\n211 End\r\n$/, 'a multi-line reply arrives whole');
  assert.match((await ctl.command('QUIT')) ?? '', /^221 /);
  assert.equal(await ctl.end(), 'eof');

  const second = await Control.login(proxy, server);
  second.socket.end('QUIT\r\n');
  assert.match((await second.reply()) ?? '', /^221 /);
  await second.end();

  const first = ['USER anonymous', 'TYPE I', 'PASS ****', 'SYST', 'NOOP', 'PWD', 'SIZE small.txt', 'FEAT', 'QUIT'];
  assert.deepEqual(proxy.commands, [...first, 'USER anonymous', 'TYPE I', 'QUIT']);
  assert.deepEqual(proxy.log.map((e) => e.connection), [...first.map(() => 1), 2, 2, 2]);
  assert.equal(proxy.connections, 2);
});

test('rewrites PASV and EPSV replies and forwards data byte-exact both ways', OPTS, async (t) => {
  const proxy = await proxyFor(t);
  const ctl = await Control.login(proxy, server);
  for (const verb of ['PASV', 'EPSV'] as const) {
    const { data, reply } = await openData(ctl, proxy, verb);
    assert.match(reply, verb === 'PASV' ? /^227 Entering Passive Mode \(.*\)\.\r\n$/ : /^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)\r\n$/);
    assert.match((await ctl.command('RETR big.bin')) ?? '', /^150 /);
    assert.equal(await data.end(), 'eof');
    assert.match((await ctl.reply()) ?? '', /^226 /);
    assert.equal(sha256(data.bytes), sha256(BIG), `${verb}: ${data.bytes.length} bytes`);
  }
  const upload = BIG.subarray(0, 300_000);
  const { data } = await openData(ctl, proxy, 'EPSV');
  assert.match((await ctl.command(`STOR ${server.uploadDir}/up.bin`)) ?? '', /^150 /);
  data.socket.end(upload);
  await data.end();
  assert.match((await ctl.reply()) ?? '', /^226 /);
  assert.equal(sha256(await readFile(join(server.root, server.uploadDir, 'up.bin'))), sha256(upload));
  assert.deepEqual(proxy.dataBytes, { toClient: 2 * BIG.length, toServer: upload.length });
});

test("onCommand('SIZE', { reply }) answers for the server and closes", OPTS, async (t) => {
  const proxy = await proxyFor(t);
  proxy.onCommand('SIZE', { reply: '421 x' });
  const ctl = await Control.login(proxy, server);
  assert.match((await ctl.command('NOOP')) ?? '', /^200 /);
  assert.equal(await ctl.command('size small.txt'), '421 x\r\n', 'the verb matches case-insensitively');
  assert.equal(await ctl.reply(), null);
  assert.equal(await ctl.end(), 'eof');
  assert.equal(proxy.commands.at(-1), 'size small.txt');

  const again = await Control.login(proxy, server); // one-shot: the next SIZE gets through
  assert.equal(await again.command('SIZE small.txt'), '213 7\r\n');
  again.socket.destroy();
});

test("onCommand('DELE', 'close', 'after-reply'): the server deletes, the client sees only EOF", OPTS, async (t) => {
  const proxy = await proxyFor(t);
  const name = `${server.uploadDir}/doomed.txt`;
  await writeFixture(server, name, Buffer.from('bye'));
  proxy.onCommand('DELE', 'close', 'after-reply');
  const ctl = await Control.login(proxy, server);
  assert.equal(await ctl.command(`DELE ${name}`), null, 'no reply, just the end of the stream');
  assert.equal(await ctl.end(), 'eof');
  assert.equal(existsSync(join(server.root, name)), false, 'the file is gone on the server');
  assert.equal(proxy.commands.at(-1), `DELE ${name}`);
});

test('onCommand with a RegExp and reset, and faultControl with a reply while idle', OPTS, async (t) => {
  const proxy = await proxyFor(t);
  proxy.onCommand(/^CWD \/nowhere$/, 'reset');
  const ctl = await Control.login(proxy, server);
  assert.match((await ctl.command('CWD /')) ?? '', /^250 /, 'a line the RegExp does not match goes through');
  assert.equal(await ctl.command('CWD /nowhere'), null);
  assert.equal(await ctl.end(), 'error ECONNRESET');

  const idle = await Control.login(proxy, server);
  proxy.faultControl({ reply: '421 Idle timeout' });
  assert.equal(await idle.reply(), '421 Idle timeout\r\n');
  assert.equal(await idle.end(), 'eof');
  assert.throws(() => proxy.faultControl('close'), /no live control connection/);
});

test("onData('reset', 65536) cuts a download after 64 KiB, the control connection lives on", OPTS, async (t) => {
  const proxy = await proxyFor(t);
  proxy.onData('reset', 65_536);
  const ctl = await Control.login(proxy, server);
  const { data } = await openData(ctl, proxy, 'EPSV');
  assert.match((await ctl.command('RETR huge.bin')) ?? '', /^150 /);
  assert.equal(await data.end(), 'error ECONNRESET');
  const got = data.bytes;
  assert.ok(got.length <= 65_536, `got ${got.length} bytes`);
  assert.deepEqual(got, HUGE.subarray(0, got.length), 'a prefix of the file');
  assert.equal(proxy.dataBytes.toClient, 65_536);
  // With a file that fits in the socket buffers (1 MiB) vsftpd has already said 226 by now.
  assert.match((await ctl.reply()) ?? '', /^426 /, 'vsftpd reports the broken data connection');
  assert.match((await ctl.command('NOOP')) ?? '', /^200 /);

  // One-shot: the next transfer is whole.
  const next = await openData(ctl, proxy, 'PASV');
  assert.match((await ctl.command('RETR big.bin')) ?? '', /^150 /);
  assert.equal(await next.data.end(), 'eof');
  assert.match((await ctl.reply()) ?? '', /^226 /);
  assert.equal(sha256(next.data.bytes), sha256(BIG));
});

test("onData('close', n) ends a download early with a clean EOF", OPTS, async (t) => {
  const proxy = await proxyFor(t);
  proxy.onData('close', 100_000);
  const ctl = await Control.login(proxy, server);
  const { data } = await openData(ctl, proxy, 'PASV');
  assert.match((await ctl.command('RETR big.bin')) ?? '', /^150 /);
  assert.equal(await data.end(), 'eof');
  assert.deepEqual(data.bytes, BIG.subarray(0, 100_000));
  // The proxy drains what the server still sends, so vsftpd finishes and reports success.
  assert.match((await ctl.reply()) ?? '', /^226 /);
});

test('stall holds bytes on data and control, and close() still ends promptly', OPTS, async (t) => {
  const proxy = await proxyFor(t);
  proxy.onData('stall', 1000);
  const ctl = await Control.login(proxy, server);
  const { data } = await openData(ctl, proxy, 'EPSV');
  assert.match((await ctl.command('RETR big.bin')) ?? '', /^150 /);
  await data.until(() => (data.bytes.length >= 1000 ? true : undefined), 'first 1000 bytes');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(data.bytes, BIG.subarray(0, 1000), 'nothing after the first 1000 bytes');

  proxy.faultControl('stall');
  const before = ctl.bytes.length;
  ctl.socket.write('NOOP\r\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ctl.bytes.length, before, 'no reply through a stalled link');
  assert.equal(ctl.socket.readableEnded, false);

  const started = Date.now();
  await within(proxy.close(), 2_000, 'proxy.close()');
  assert.ok(Date.now() - started < 1_000, `close() took ${Date.now() - started} ms`);
  assert.notEqual(await ctl.end(), 'destroyed');
  assert.notEqual(await data.end(), 'destroyed');
});

test("after-reply swallows only the matching command's reply when commands are pipelined", OPTS, async (t) => {
  const proxy = await proxyFor(t);
  proxy.onCommand('PWD', { reply: '421 lost' }, 'after-reply');
  const ctl = await Control.login(proxy, server);
  ctl.socket.write('NOOP\r\nPWD\r\nNOOP\r\n');
  assert.match((await ctl.reply()) ?? '', /^200 /);
  assert.equal(await ctl.reply(), '421 lost\r\n');
  assert.equal(await ctl.reply(), null);
});

test('close() releases a passive listener nobody connected to', OPTS, async (t) => {
  const proxy = await proxyFor(t);
  const ctl = await Control.login(proxy, server);
  const reply = (await ctl.command('EPSV')) ?? '';
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(reply)?.[1]);
  assert.ok(port > 0, reply);
  await within(proxy.close(), 2_000, 'proxy.close()');
  await ctl.end();
  await assert.rejects(Peer.open(proxy.host, port), /ECONNREFUSED/);
});
