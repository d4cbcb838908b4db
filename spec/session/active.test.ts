/**
 * Active mode: EPRT advertising the control socket's local address, PORT fallback (remembered),
 * only the control peer may connect, and a bounded wait for it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError } from '../../lib/index.js';
import { delay, sendData, waitClosed, type Handler } from '../support/scripted-server.js';
import { BOUND, errorOf, names, only, start, until, waitFor } from './harness.js';

const files = { 'a.txt': 'first file\n', 'b.txt': 'second file\n' };
const text = (seen: Parameters<typeof only>[0]) => Buffer.concat(only(seen, 'get_data').map((event) => event.args[0] as Buffer)).toString();
const active = { connectionMode: 'active' } as const;

describe('active mode', () => {
  it("EPRT advertises the control socket's local address (not the server's, never 0.0.0.0)", BOUND, async (t) => {
    // The server listens on 127.0.0.2, so the client's own address (127.0.0.1) differs from the peer's.
    const { server, ftp, seen } = await start(t, { host: '127.0.0.2', files }, active);
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_done');
    assert.equal(text(seen), 'first file\n');
    const clientAddress = server.connections[0]!.socket.remoteAddress!.replace(/^::ffff:/, '');
    const eprt = server.commands[2]!;
    assert.match(eprt, /^EPRT \|1\|[\d.]+\|\d+\|$/);
    assert.equal(eprt.split('|')[2], clientAddress);
    assert.notEqual(eprt.split('|')[2], '0.0.0.0');
    assert.notEqual(eprt.split('|')[2], '127.0.0.2');
    assert.deepEqual(names(seen).slice(2), ['get_server', 'get_connected', 'get_data', 'get_done']);
  });

  it('EPRT refused (500): PORT is used, and remembered for the next transfer', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { files, handlers: { EPRT: (conn) => conn.send('500 EPRT not understood') } }, active);
    ftp.post('get', 'a.txt');
    ftp.post('get', 'b.txt');
    await waitFor(seen, 'get_done', { count: 2 });
    assert.equal(text(seen), 'first file\nsecond file\n');
    const sent = server.commands.slice(2).map((line) => line.replace(/ .*/, ''));
    assert.deepEqual(sent, ['EPRT', 'PORT', 'RETR', 'PORT', 'RETR']);
    assert.match(server.commands[3]!, /^PORT 127,0,0,1,\d+,\d+$/);
  });

  it('a data connection from a stranger (127.0.0.2) is refused; the control peer (127.0.0.1) is accepted', BOUND, async (t) => {
    let strangerClosed = false;
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening data connection');
          const stranger = await conn.connectBack({ localAddress: '127.0.0.2' });
          stranger.write('STOLEN DATA\n');
          await waitClosed(stranger, 2000);
          strangerClosed = true;
          await sendData(await conn.connectBack({ localAddress: '127.0.0.1' }), 'the real data\n');
          await conn.send('226 Transfer complete');
        },
      },
    }, active);
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_done');
    assert.ok(strangerClosed, "the session closed the stranger's connection");
    assert.equal(text(seen), 'the real data\n');
  });

  it('no data connection at all: get_error(null, msg, param, TimeoutError) within the timeout', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { handlers: { RETR: (conn) => conn.send('150 Opening data connection') } }, { ...active, timeout: 500, reconnect: false });
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_server');
    const began = Date.now();
    const failure = await waitFor(seen, 'get_error');
    const elapsed = Date.now() - began;
    assert.equal(failure.args[0], null);
    assert.equal(failure.args[2], 'a.txt');
    errorOf(failure, TimeoutError);
    assert.ok(elapsed < 1500, `get_error ${elapsed} ms after the 150 (timeout 500)`);
    assert.equal(only(seen, 'get_done').length, 0);
  });

  it('the server connects, then resets the data connection before its 150: get_error, no uncaught ECONNRESET', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          (await conn.dataSocket()).resetAndDestroy();
          await delay(100);
          await conn.send('150 Opening data connection');
          await conn.send('426 Connection reset; transfer aborted.');
        },
      },
    }, active);
    ftp.post('get', 'a.txt');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    const failure = only(seen, 'get_error')[0]!;
    assert.ok([null, 426].includes(failure.args[0] as number | null), String(failure.args[0]));
    assert.equal(failure.args[2], 'a.txt');
    assert.deepEqual(only(seen, 'noop')[0]!.args, [200, 'NOOP ok.', undefined]);
    assert.equal(only(seen, 'get_done').length, 0);
  });

  // Regression: before 0325acc the late 425 was paired with NOOP, and NOOP's 200 with PWD.
  it('after the data-connection timeout, the late final reply to RETR is not taken as the next command\'s reply', BOUND, async (t) => {
    const lateReply: Handler = async (conn) => {
      await conn.send('150 Opening data connection');
      await delay(800); // the session gives up at 500 ms; the server's own timeout fires later
      await conn.send('425 Failed to establish connection.');
    };
    const { ftp, seen } = await start(t, { handlers: { RETR: lateReply } }, { ...active, timeout: 500 });
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_error');
    ftp.post('noop');
    ftp.post('pwd');
    await until(() => seen.some((event) => event.name === 'pwd' || event.name === 'pwd_error'), 'pwd or pwd_error');
    assert.deepEqual(names(seen).slice(4), ['noop', 'pwd'], JSON.stringify(seen.slice(4).map((e) => [e.name, ...e.args.slice(0, 2)])));
    assert.deepEqual(only(seen, 'noop')[0]!.args, [200, 'NOOP ok.', undefined]);
  });

  it("post('mode', 'active') switches a passive session: the next transfer uses EPRT", BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { files });
    ftp.post('get', 'a.txt');
    ftp.post('mode', 'active');
    ftp.post('get', 'b.txt');
    await waitFor(seen, 'get_done', { count: 2 });
    assert.deepEqual(only(seen, 'mode').map((event) => event.args), [['active']]);
    assert.deepEqual(server.commands.slice(2).map((line) => line.replace(/ .*/, '')), ['EPSV', 'RETR', 'EPRT', 'RETR']);
    assert.equal(text(seen), 'first file\nsecond file\n');
  });
});
