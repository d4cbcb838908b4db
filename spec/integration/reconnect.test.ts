/**
 * Reconnect (issue #3) against real servers, with the fault-injection proxy in front of them:
 * an idle 421, a silent FIN, a reset during a command, a lost DELE reply (vsftpd cannot prove
 * the outcome, ProFTPD can with MLST), a drop between RNFR and RNTO, downloads resumed with
 * REST, a real vsftpd idle timeout, a working directory gone on reconnect, a reconnect target
 * that refuses, and reconnect()/disconnect(). Every test checks the exact commands sent on each
 * control connection, the events, connectCount, and moved data by sha256.
 * Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FtpSession, OutcomeUnknownError, RestoreError, type FtpSessionOptions } from '../../lib/index.js';
import { nextEvent, recordEvents, runCommand, type Recorded } from '../support/events.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sha256 } from '../support/hash.js';
import { startServer, writeFixture, type RunningServer } from '../support/servers.js';

const TEST = { timeout: 30_000 };
const WAIT_MS = 8_000;
/** Big enough that vsftpd is still writing when a data fault hits. */
const HUGE = randomBytes(32 * 1024 * 1024);
const HUGE_HASH = sha256(HUGE);
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Cleanup registered by a test, run in reverse order of registration (session before proxy before server). */
type Cleanup = { after: (fn: () => Promise<void> | void) => void };
function cleanups(t: Cleanup): (fn: () => Promise<unknown> | unknown) => void {
  const stack: Array<() => Promise<unknown> | unknown> = [];
  t.after(async () => {
    for (const fn of stack.reverse()) {
      try {
        await fn();
      } catch {
        // keep releasing the rest
      }
    }
  });
  return (fn) => stack.push(fn);
}

/** Resolves once `ready()` is true (polled every 10 ms); rejects after `ms` with `what` and a hint. */
async function until(ready: () => boolean, what: string, hint: () => unknown = () => '', ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; ${JSON.stringify(hint())}`);
    await sleep(10);
  }
}

/** The recorded events named `name`. */
const named = (events: Recorded[], name: string) => events.filter((e) => e.name === name);
/** The event names recorded after the login, in order. */
const names = (events: Recorded[]) => events.map((e) => e.name).filter((n) => n !== 'connected' && n !== 'authenticated');
/** The command lines sent on control connection `index` (1-based). */
const sentOn = (proxy: FaultProxy, index: number) => proxy.log.filter((l) => l.connection === index).map((l) => l.line);

interface Opened {
  ftp: FtpSession;
  events: Recorded[];
}

/** A session logged in through `target` (a proxy or a server) as `server`'s user, its events recorded from the start. */
async function open(
  add: ReturnType<typeof cleanups>, target: { host: string; port: number }, server: RunningServer, extra: Partial<FtpSessionOptions> = {},
): Promise<Opened> {
  const ftp = FtpSession.spawn({
    host: target.host, port: target.port, user: server.user, password: server.password,
    timeout: 5000, transferMode: 'binary', debug: process.env.FTP_DEBUG ? 2 : false, ...extra,
  });
  add(() => ftp.close());
  const events = recordEvents(ftp);
  await nextEvent(ftp, 'authenticated', WAIT_MS);
  return { ftp, events };
}

async function proxyTo(add: ReturnType<typeof cleanups>, server: RunningServer): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: server });
  add(() => proxy.close());
  return proxy;
}

describe('reconnect through the fault proxy, vsftpd', { timeout: 300_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer('vsftpd');
    await writeFixture(server, 'a/b/f', Buffer.from('0123456789abcdef\n')); // 17 bytes
    await writeFixture(server, 'd33/g', Buffer.alloc(1234, 7));
    await writeFixture(server, 'd34/h', Buffer.alloc(4321, 9));
    await writeFixture(server, 'upload/d36.txt', Buffer.from('delete me'));
    await writeFixture(server, 'upload/d35-from.txt', Buffer.from('rename me'));
    await writeFixture(server, 'e44.bin', HUGE);
    await writeFixture(server, 'e47.bin', HUGE);
    await writeFixture(server, 'd38/gone/x', Buffer.from('x'));
    await writeFixture(server, 'd10/n', Buffer.alloc(10));
  });
  after(() => server?.stop());

  it('D32: an idle 421 waits for work (lazy), then restores TYPE and the directory and runs it', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server);
    assert.equal((await runCommand(ftp, 'cd', ['a/b'])).event, 'cd');
    assert.equal((await runCommand(ftp, 'type', ['I'])).event, 'type');
    assert.deepEqual(sentOn(proxy, 1), ['USER anonymous', 'CWD a/b', 'PWD', 'TYPE I']);

    proxy.faultControl({ reply: '421 Idle timeout' });
    await nextEvent(ftp, 'disconnected', WAIT_MS);
    await until(() => ftp.state === 'idle', 'state idle', () => ftp.state);
    await sleep(300);
    assert.equal(ftp.state, 'idle', 'lazy: no reconnect without work');
    assert.equal(proxy.connections, 1);
    assert.equal(ftp.connectCount, 1);
    assert.deepEqual(named(events, 'server_message').map((e) => e.args), [[421, 'Idle timeout']]);
    assert.equal(named(events, 'reconnecting').length, 0);
    const mark = events.length;

    const size = await runCommand(ftp, 'size', ['f']);
    assert.deepEqual([size.event, size.args[0], size.args[2], size.args[3]], ['size', 213, 'f', 17]);
    const later = events.slice(mark);
    assert.deepEqual(names(later), ['reconnecting', 'reconnected', 'size']);
    assert.equal(later[0]!.args[0], 1, 'reconnect attempt 1');
    assert.deepEqual(later[1]!.args, [2]);
    assert.deepEqual(sentOn(proxy, 2), ['USER anonymous', 'TYPE I', 'CWD /a/b', 'PWD', 'SIZE f']);
    assert.equal(ftp.connectCount, 2);
    assert.equal(proxy.connections, 2);
  });

  it('D33: a silent FIN while idle with lazyReconnect false reconnects at once', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server, { lazyReconnect: false });
    assert.equal((await runCommand(ftp, 'cd', ['d33'])).event, 'cd');

    const reconnected = nextEvent(ftp, 'reconnected', WAIT_MS);
    proxy.faultControl('close');
    assert.deepEqual(await reconnected, [2]);
    assert.equal(ftp.connectCount, 2);
    await until(() => ftp.state === 'ready', 'state ready', () => ftp.state);
    assert.deepEqual(sentOn(proxy, 2), ['USER anonymous', 'CWD /d33', 'PWD'], 'restored with nothing posted');
    assert.deepEqual(names(events), ['cd', 'disconnected', 'reconnecting', 'reconnected']);

    const size = await runCommand(ftp, 'size', ['g']);
    assert.deepEqual([size.event, size.args[0], size.args[3]], ['size', 213, 1234]);
    assert.deepEqual(sentOn(proxy, 2), ['USER anonymous', 'CWD /d33', 'PWD', 'SIZE g']);
    assert.equal(ftp.connectCount, 2);
  });

  it('D34: a reset during SIZE replays it on a new connection: one size event, no error', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server);
    assert.equal((await runCommand(ftp, 'cd', ['d34'])).event, 'cd');
    proxy.onCommand('SIZE', 'reset');

    const size = await runCommand(ftp, 'size', ['h']);
    assert.deepEqual([size.event, size.args[0], size.args[2], size.args[3]], ['size', 213, 'h', 4321]);
    await sleep(100); // a late duplicate or error event would show up by now
    assert.equal(named(events, 'size').length, 1);
    assert.equal(named(events, 'size_error').length, 0);
    assert.equal(ftp.connectCount, 2);
    assert.deepEqual(sentOn(proxy, 1), ['USER anonymous', 'CWD d34', 'PWD', 'SIZE h']);
    assert.deepEqual(sentOn(proxy, 2), ['USER anonymous', 'CWD /d34', 'PWD', 'SIZE h']);
    assert.deepEqual(names(events), ['cd', 'disconnected', 'reconnecting', 'reconnected', 'size']);
  });

  it('D36: a lost DELE reply on vsftpd (no MLST) is an OutcomeUnknownError, DELE is not sent twice', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server);
    const path = join(server.root, 'upload/d36.txt');
    assert.ok(existsSync(path));
    proxy.onCommand('DELE', 'close', 'after-reply');

    const outcome = await runCommand(ftp, 'delete', ['upload/d36.txt']);
    assert.equal(outcome.event, 'delete_error');
    const [code, , param, error] = outcome.args as [number | null, string, string, Error];
    assert.equal(code, null);
    assert.equal(param, 'upload/d36.txt');
    assert.ok(error instanceof OutcomeUnknownError, `got ${String(error)}`);
    assert.equal((error as OutcomeUnknownError).code, 'ERR_FTP_OUTCOME_UNKNOWN');
    assert.equal(existsSync(path), false, 'the server did delete it');
    assert.equal(proxy.commands.filter((c) => c.startsWith('DELE')).length, 1, 'DELE sent once');
    assert.deepEqual(sentOn(proxy, 1), ['USER anonymous', 'DELE upload/d36.txt']);
    assert.deepEqual(sentOn(proxy, 2), ['USER anonymous', 'FEAT', 'SIZE upload/d36.txt']);
    assert.equal(ftp.connectCount, 2);
    assert.deepEqual(names(events), ['disconnected', 'reconnecting', 'reconnected', 'delete_error']);
  });

  it('D35: a drop between RNFR and RNTO runs the pair again on the new connection', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server);
    const from = join(server.root, 'upload/d35-from.txt');
    const to = join(server.root, 'upload/d35-to.txt');
    proxy.onCommand('RNTO', 'close'); // not forwarded: the rename did not happen

    const outcome = await runCommand(ftp, 'rename', ['upload/d35-from.txt', 'upload/d35-to.txt']);
    const hint = { outcome: outcome.args.slice(0, 3), sent: proxy.log };
    assert.equal(outcome.event, 'rename', JSON.stringify(hint));
    assert.equal(outcome.args[2], 'upload/d35-to.txt');
    await sleep(100);
    assert.equal(named(events, 'rename').length, 1);
    assert.equal(named(events, 'rename_partial').length, 1);
    assert.equal(named(events, 'rename_error').length, 0);
    assert.equal(existsSync(from), false);
    assert.equal(readFileSync(to, 'utf8'), 'rename me');
    assert.deepEqual(sentOn(proxy, 1), ['USER anonymous', 'RNFR upload/d35-from.txt', 'RNTO upload/d35-to.txt']);
    // Between login and the pair, only checks of where the file is (FEAT, then SIZE or MLST of a path) may run.
    const second = sentOn(proxy, 2);
    const probes = second.slice(1, -2);
    assert.deepEqual(
      [second[0], ...second.slice(-2)], ['USER anonymous', 'RNFR upload/d35-from.txt', 'RNTO upload/d35-to.txt'], JSON.stringify(second),
    );
    assert.ok(probes.every((c) => /^(FEAT|(SIZE|MLST) upload\/d35-(from|to)\.txt)$/.test(c)), JSON.stringify(second));
    assert.equal(ftp.connectCount, 2);
    assert.deepEqual(names(events), ['rename_partial', 'disconnected', 'reconnecting', 'reconnected', 'rename']);
  });

  for (const [fault, afterBytes, file] of [['reset', 5_000_000, 'e44.bin'], ['close', 3_000_000, 'e47.bin']] as const) {
    it(`E44/E47: a get cut by a data ${fault} after ${afterBytes} bytes resumes with REST, byte-exact`, TEST, async (t) => {
      const add = cleanups(t);
      const proxy = await proxyTo(add, server);
      const { ftp, events } = await open(add, proxy, server);
      proxy.onData(fault, afterBytes);
      // get_data events of the first RETR are all delivered before REST reaches the proxy (that
      // takes an ABOR or final-reply round trip first), and none of the second's can come before it.
      let beforeRest = 0;
      ftp.on('get_data', (chunk) => {
        if (!proxy.commands.some((c) => c.startsWith('REST'))) beforeRest += chunk.length;
      });

      const outcome = await runCommand(ftp, 'get', [file], 25_000);
      assert.equal(outcome.event, 'get_done', JSON.stringify({ args: outcome.args.slice(0, 3), sent: proxy.log }));
      const data = outcome.data as Buffer[];
      assert.equal(Buffer.concat(data).length, HUGE.length);
      assert.equal(sha256(data), HUGE_HASH);
      await sleep(100);
      assert.equal(named(events, 'get_done').length, 1);
      assert.equal(named(events, 'get_error').length, 0);
      assert.equal(named(events, 'get_server').length, 1, 'announced once');
      assert.equal(named(events, 'get_connected').length, 1, 'announced once');

      const all = sentOn(proxy, 1);
      const rest = all.find((c) => c.startsWith('REST')) ?? 'REST ?';
      const offset = Number(rest.slice(5));
      t.diagnostic(`${fault}: REST ${offset}, ${beforeRest} bytes delivered before it; commands ${JSON.stringify(all)}`);
      assert.equal(offset, beforeRest, 'resumed at the bytes delivered before the fault');
      assert.ok(offset > 0 && offset <= afterBytes, `0 < ${offset} <= ${afterBytes}`);
      // A FIN delivers every byte the proxy forwarded; a RST may discard the last ones unread.
      if (fault === 'close') assert.equal(offset, afterBytes);
      const abort = all.includes('ABOR') ? ['ABOR', 'NOOP'] : []; // sent when the data side failed before the final reply (NOOP: the resync after ABOR)
      assert.deepEqual(all, ['USER anonymous', 'TYPE I', 'EPSV', `RETR ${file}`, ...abort, 'EPSV', `REST ${offset}`, `RETR ${file}`]);
      assert.equal(proxy.dataBytes.toClient, afterBytes + HUGE.length - offset, 'the second RETR sent exactly the rest');
      assert.equal(proxy.connections, 1, 'a data fault leaves the control connection alone');
      assert.equal(ftp.connectCount, 1);
    });
  }

  it('D38: a working directory gone on reconnect fails the restore (cwd, 550) and the queued command', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server);
    assert.equal((await runCommand(ftp, 'cd', ['d38/gone'])).event, 'cd');
    rmSync(join(server.root, 'd38/gone'), { recursive: true, force: true });
    proxy.faultControl('close');
    await nextEvent(ftp, 'disconnected', WAIT_MS);
    await until(() => ftp.state === 'idle', 'state idle', () => ftp.state);
    const mark = events.length;

    const failed = nextEvent(ftp, 'reconnect_error', WAIT_MS);
    const outcome = await runCommand(ftp, 'size', ['x']);
    const [code, , error] = await failed;
    assert.equal(code, 550);
    assert.ok(error instanceof RestoreError, `got ${String(error)}`);
    assert.equal((error as RestoreError).step, 'cwd');
    assert.equal(error.replyCode, 550);
    assert.equal(outcome.event, 'size_error');
    assert.equal(outcome.args[2], 'x');
    assert.ok(outcome.args[3] instanceof RestoreError);
    // The restore connection is dropped (disconnected) before the session gives up.
    assert.deepEqual(names(events.slice(mark)), ['reconnecting', 'disconnected', 'reconnect_error', 'size_error']);
    assert.deepEqual(sentOn(proxy, 2), ['USER anonymous', 'CWD /d38/gone']);
    assert.equal(proxy.commands.includes('SIZE x'), false);
    assert.equal(ftp.state, 'idle');
    assert.equal(ftp.connectCount, 2);
  });

  it('D37: a reconnect target that refuses: three attempts, reconnect_error, then noop_error', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server, { retryStrategy: (attempt) => (attempt <= 3 ? 50 : null) });
    await proxy.close(); // the listener is gone: the port refuses
    await nextEvent(ftp, 'disconnected', WAIT_MS);
    await until(() => ftp.state === 'idle', 'state idle', () => ftp.state);
    const mark = events.length;

    const started = Date.now();
    const outcome = await runCommand(ftp, 'noop', [], WAIT_MS);
    assert.equal(outcome.event, 'noop_error');
    assert.ok(Date.now() - started < 3_000, 'no hang');
    const seen = events.slice(mark);
    assert.deepEqual(names(seen), ['reconnecting', 'reconnecting', 'reconnecting', 'reconnect_error', 'noop_error']);
    assert.deepEqual(seen.slice(0, 3).map((e) => e.args.slice(0, 2)), [[1, 50], [2, 50], [3, 50]]);
    const [code, , error] = seen[3]!.args as [number | null, string, Error];
    assert.equal(code, null);
    assert.equal((error as { code?: string }).code, 'ERR_FTP_CONNECT');
    assert.equal(ftp.state, 'idle');
    assert.equal(ftp.connectCount, 4, 'the first connection and three attempts');
  });

  it('reconnect() while idle reconnects without QUIT; disconnect() then a post heals it', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server);
    assert.equal((await runCommand(ftp, 'cd', ['d10'])).event, 'cd');

    const reconnected = nextEvent(ftp, 'reconnected', WAIT_MS);
    ftp.reconnect();
    assert.deepEqual(await reconnected, [2]);
    assert.equal(ftp.connectCount, 2);
    await until(() => ftp.state === 'ready', 'state ready', () => ftp.state);
    assert.deepEqual(sentOn(proxy, 1), ['USER anonymous', 'CWD d10', 'PWD']);
    assert.deepEqual(sentOn(proxy, 2), ['USER anonymous', 'CWD /d10', 'PWD']);

    ftp.disconnect();
    await nextEvent(ftp, 'disconnected', WAIT_MS);
    await until(() => ftp.state === 'idle', 'state idle', () => ftp.state);
    await sleep(200);
    assert.equal(proxy.connections, 2, 'lazy after disconnect()');
    const size = await runCommand(ftp, 'size', ['n']);
    assert.deepEqual([size.event, size.args[3]], ['size', 10]);
    assert.equal(ftp.connectCount, 3);
    assert.deepEqual(sentOn(proxy, 3), ['USER anonymous', 'CWD /d10', 'PWD', 'SIZE n']);
    assert.equal(proxy.commands.includes('QUIT'), false);
    assert.deepEqual(names(events), [
      'cd', 'disconnected', 'reconnecting', 'reconnected', 'disconnected', 'reconnecting', 'reconnected', 'size',
    ]);
  });
});

describe('reconnect through the fault proxy, ProFTPD', { timeout: 120_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer('proftpd');
    await writeFixture(server, 'upload/d36.txt', Buffer.from('delete me'));
  });
  after(() => server?.stop());

  it('D36: a lost DELE reply is proven by MLST on the new connection', TEST, async (t) => {
    const add = cleanups(t);
    const proxy = await proxyTo(add, server);
    const { ftp, events } = await open(add, proxy, server);
    proxy.onCommand('DELE', 'close', 'after-reply');

    const outcome = await runCommand(ftp, 'delete', ['upload/d36.txt'], 15_000);
    assert.equal(outcome.event, 'delete', JSON.stringify({ args: outcome.args.slice(0, 3), sent: proxy.log }));
    assert.equal(outcome.args[0], 250);
    assert.match(outcome.args[1] as string, /verified/);
    assert.equal(outcome.args[2], 'upload/d36.txt');
    assert.equal(existsSync(join(server.root, 'upload/d36.txt')), false);
    assert.equal(proxy.commands.filter((c) => c.startsWith('DELE')).length, 1, 'DELE sent once');
    assert.deepEqual(sentOn(proxy, 1), ['USER tester', 'PASS ****', 'DELE upload/d36.txt']);
    assert.deepEqual(sentOn(proxy, 2), ['USER tester', 'PASS ****', 'FEAT', 'MLST upload/d36.txt']);
    assert.equal(ftp.connectCount, 2);
    assert.deepEqual(names(events), ['disconnected', 'reconnecting', 'reconnected', 'delete']);
  });
});

describe('a real vsftpd idle timeout', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer('vsftpd', { idleTimeoutSec: 1 });
    await writeFixture(server, 'idle/s', Buffer.alloc(777, 1));
  });
  after(() => server?.stop());

  it("vsftpd's 421 Timeout, then the next command reconnects and runs in the same directory", TEST, async (t) => {
    const add = cleanups(t);
    // No proxy here: the commands of each connection come from the session's trace (a new one starts at each 220 greeting).
    const connections: string[][] = [];
    const debug = (line: string) => {
      const [, dir, text] = /^FtpSession#\d+(>>>|<<<) (.*)$/.exec(line) ?? [];
      if (dir === '<<<' && text!.startsWith('220 ')) connections.push([]);
      else if (dir === '>>>') connections.at(-1)?.push(text!);
    };
    const { ftp, events } = await open(add, server, server, { debug });
    const message = nextEvent(ftp, 'server_message', WAIT_MS);
    const disconnected = nextEvent(ftp, 'disconnected', WAIT_MS);
    assert.equal((await runCommand(ftp, 'cd', ['idle'])).event, 'cd');
    const [code, text] = await message;
    assert.equal(code, 421);
    assert.match(text, /Timeout/);
    await disconnected;
    await until(() => ftp.state === 'idle', 'state idle', () => ftp.state);
    assert.equal(ftp.connectCount, 1);

    const size = await runCommand(ftp, 'size', ['s']);
    assert.deepEqual([size.event, size.args[0], size.args[2], size.args[3]], ['size', 213, 's', 777]);
    assert.equal(ftp.connectCount, 2);
    assert.deepEqual(names(events), ['cd', 'server_message', 'disconnected', 'reconnecting', 'reconnected', 'size']);
    assert.deepEqual(connections, [['USER anonymous', 'CWD idle', 'PWD'], ['USER anonymous', 'CWD /idle', 'PWD', 'SIZE s']]);
  });
});
