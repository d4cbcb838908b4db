/** Per-phase timeouts: a missing reply, a slow-but-moving transfer (never times out), a stalled one. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError } from '../../lib/index.js';
import { delay, endData, stall, writePieces } from '../support/scripted-server.js';
import { BOUND, errorOf, names, only, start, waitFor } from './harness.js';

describe('timeouts', () => {
  it('a reply that never comes (reconnect off): disconnected, cd_error(null, msg, param, TimeoutError), code 421, message "Timeout"', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { CWD: stall } }, { timeout: 500, reconnect: false });
    await waitFor(seen, 'authenticated');
    const began = Date.now();
    ftp.post('cd', '/slow');
    const failure = await waitFor(seen, 'cd_error');
    const elapsed = Date.now() - began;
    await waitFor(seen, 'disconnected');
    assert.deepEqual(failure.args.slice(0, 1), [null]);
    assert.equal(failure.args[2], '/slow');
    errorOf(failure, TimeoutError);
    assert.ok(elapsed >= 450 && elapsed < 1500, `cd_error after ${elapsed} ms (timeout 500)`);
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'disconnected', 'cd_error']);
    assert.equal(ftp.code, 421);
    assert.match(ftp.message, /Timeout/);
    assert.equal(ftp.ok(), false);
    assert.equal(ftp.state, 'idle');
    await server.connections[0]!.waitClosed(1000);
    assert.deepEqual(server.commands.slice(2), ['CWD /slow'], 'nothing more was sent on that connection (no QUIT)');
  });

  it('a slow but moving download (a byte every 50 ms for 1.5 s, timeout 500 ms) completes', BOUND, async (t) => {
    const bytes = Buffer.from('0123456789abcdefghijklmnopqrst'); // 30 bytes
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening data connection');
          const data = await conn.dataSocket();
          await writePieces(data, bytes, { pieceSize: 1, delayMs: 50 });
          await endData(data);
          await conn.send('226 Transfer complete');
        },
      },
    }, { timeout: 500 });
    ftp.post('get', 'slow.bin');
    await waitFor(seen, 'get_done', { timeoutMs: 5000 });
    assert.equal(only(seen, 'get_error').length, 0);
    assert.deepEqual(Buffer.concat(only(seen, 'get_data').map((event) => event.args[0] as Buffer)), bytes);
  });

  it('a stalled download (half the data, then silence) with a server that honours ABOR: get_error TimeoutError, session usable', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening BINARY mode data connection (2000 bytes)');
          await writePieces(await conn.dataSocket(), Buffer.alloc(1000, 1));
          await conn.expect(/^ABOR$/, 3000); // ... nothing more until the client gives up
          await conn.send('426 Transfer aborted.', '226 ABOR command successful.');
        },
      },
    }, { timeout: 500 });
    ftp.post('get', 'stalled.bin');
    ftp.post('noop');
    await waitFor(seen, 'get_data');
    const began = Date.now();
    const failure = await waitFor(seen, 'get_error', { timeoutMs: 4000 });
    const elapsed = Date.now() - began;
    await waitFor(seen, 'noop');
    assert.equal(failure.args[2], 'stalled.bin');
    errorOf(failure, TimeoutError);
    assert.ok(elapsed < 1500, `get_error ${elapsed} ms after the data stopped (timeout 500)`);
    assert.equal(only(seen, 'get_done').length, 0);
    assert.equal(only(seen, 'disconnected').length, 0);
    assert.deepEqual(only(seen, 'noop')[0]!.args, [200, 'NOOP ok.', undefined]);
    // The first NOOP is the session's resync after ABOR (its 200 proves both ABOR replies were read); the second is the posted one.
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'RETR stalled.bin', 'ABOR', 'NOOP', 'NOOP']);
  });

  it('a stalled download with a server that then ignores everything: get_error TimeoutError, the connection is dropped', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening BINARY mode data connection (2000 bytes)');
          await writePieces(await conn.dataSocket(), Buffer.alloc(1000, 1));
        },
        ABOR: stall,
      },
    }, { timeout: 500, reconnect: false });
    ftp.post('get', 'stalled.bin');
    await waitFor(seen, 'get_data');
    const began = Date.now();
    const failure = await waitFor(seen, 'get_error', { timeoutMs: 4000 });
    const elapsed = Date.now() - began;
    assert.equal(failure.args[2], 'stalled.bin');
    errorOf(failure, TimeoutError);
    assert.equal(only(seen, 'get_done').length, 0);
    // The data idle timer (500 ms) fires, then the reply to ABOR gets its own 500 ms.
    assert.ok(elapsed < 2000, `get_error ${elapsed} ms after the data stopped (timeout 500)`);
    await waitFor(seen, 'disconnected');
    assert.equal(ftp.code, 421);
  });

  it('a stalled download where the server then answers 426: get_error, and the session stays usable', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening data connection');
          const data = await conn.dataSocket();
          await writePieces(data, Buffer.alloc(1000, 1));
          await new Promise((resolve) => data.once('close', resolve)); // the session gives up on the data
          await delay(20);
          await conn.send('426 Connection closed; transfer aborted.');
        },
      },
    }, { timeout: 500 });
    ftp.post('get', 'stalled.bin');
    ftp.post('noop');
    await waitFor(seen, 'noop', { timeoutMs: 4000 });
    assert.deepEqual(names(seen).slice(2).filter((name) => name !== 'get_data'), ['get_connected', 'get_server', 'get_error', 'noop']);
    assert.equal(ftp.connectCount, 1);
  });
});
