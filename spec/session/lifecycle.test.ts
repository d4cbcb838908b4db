/** The end of a session: close() idle or busy, quit, posting after close, the server hanging up. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionClosedError } from '../../lib/index.js';
import { delay, stall } from '../support/scripted-server.js';
import { BOUND, PASSWORD, USER, errorOf, names, only, settle, start, until, waitFor } from './harness.js';

describe('lifecycle', () => {
  it('close() on an idle session sends QUIT and resolves; disconnected then closed', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    await waitFor(seen, 'authenticated');
    await ftp.close();
    await settle();
    assert.equal(ftp.state, 'closed');
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'QUIT']);
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'disconnected', 'closed']);
    await server.connections[0]!.waitClosed(1000);
  });

  it('state events follow the session: connecting, authenticating, ready, busy, ready, closing, closed', BOUND, async (t) => {
    const { ftp, seen } = await start(t);
    const moves: string[] = []; // registered after spawn: state events are never synchronous
    ftp.on('state', (to, from) => moves.push(`${from}->${to}`));
    ftp.post('noop');
    await waitFor(seen, 'noop');
    await ftp.close();
    await settle();
    assert.deepEqual(moves, ['idle->connecting', 'connecting->authenticating', 'authenticating->ready', 'ready->busy', 'busy->ready', 'ready->closing', 'closing->closed']);
  });

  it('close() fails the queued command (and the running one) with SessionClosedError; no QUIT while busy', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { CWD: stall } });
    ftp.post('cd', '/running');
    ftp.post('cd', '/queued');
    await until(() => server.commands.includes('CWD /running'), 'CWD sent');
    await ftp.close();
    await settle();
    const errors = only(seen, 'cd_error');
    assert.deepEqual(errors.map((event) => event.args[2]), ['/queued', '/running']);
    for (const failure of errors) {
      assert.equal(failure.args[0], null);
      errorOf(failure, SessionClosedError);
    }
    assert.deepEqual(names(seen).slice(2), ['cd_error', 'cd_error', 'disconnected', 'closed']);
    assert.deepEqual(server.commands.slice(2), ['CWD /running']);
    assert.equal(ftp.state, 'closed');
  });

  it('close() before login (no credentials) fails the commands waiting for it', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {}, {}, { credentials: false });
    await waitFor(seen, 'connected');
    ftp.post('pwd');
    await ftp.close();
    await settle();
    const failure = only(seen, 'pwd_error')[0]!;
    errorOf(failure, SessionClosedError);
    assert.equal(ftp.state, 'closed');
  });

  it('close() while connected but not logged in (awaiting_login) sends QUIT', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {}, {}, { credentials: false });
    await waitFor(seen, 'connected');
    await until(() => ftp.state === 'awaiting_login', 'awaiting_login');
    await ftp.close();
    assert.deepEqual(server.commands, ['QUIT']);
  });

  it('post after close: <name>_error(null, msg, param, SessionClosedError), nothing sent', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    await waitFor(seen, 'authenticated');
    await ftp.close();
    ftp.post('cd', '/late');
    ftp.post('get', 'late.bin');
    await waitFor(seen, 'get_error');
    const cd = only(seen, 'cd_error')[0]!;
    assert.deepEqual(cd.args.slice(0, 1), [null]);
    assert.equal(cd.args[2], '/late');
    errorOf(cd, SessionClosedError);
    errorOf(only(seen, 'get_error')[0]!, SessionClosedError);
    assert.deepEqual(server.commands.slice(2), ['QUIT']);
  });

  it("post('quit'): quit(221, ...), then disconnected and closed", BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    ftp.post('quit');
    await waitFor(seen, 'closed');
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'quit', 'disconnected', 'closed']);
    assert.deepEqual(only(seen, 'quit')[0]!.args, [221, 'Goodbye.', undefined]);
    assert.equal(ftp.state, 'closed');
    assert.deepEqual(server.commands.slice(2), ['QUIT']);
  });

  it('an unsolicited "421 Timeout." while idle, then the server closes: server_message(421, ...), disconnected', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        PASS: async (conn) => {
          await conn.send('230 Login successful.');
          await delay(100);
          await conn.send('421 Timeout.');
          conn.end();
        },
      },
    });
    await waitFor(seen, 'disconnected');
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'server_message', 'disconnected']);
    assert.deepEqual(only(seen, 'server_message')[0]!.args, [421, 'Timeout.']);
    assert.equal(ftp.state, 'idle');
    assert.equal(ftp.code, 421);
    await ftp.close();
    assert.equal(ftp.state, 'closed');
  });

  it('the server resetting the connection during a command (reconnect off): disconnected, then <name>_error', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { handlers: { PWD: (conn) => conn.reset() } }, { reconnect: false });
    ftp.post('pwd');
    await waitFor(seen, 'pwd_error');
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'disconnected', 'pwd_error']);
    assert.equal(only(seen, 'pwd_error')[0]!.args[0], null);
    assert.equal(ftp.code, 421);
    assert.equal(ftp.state, 'idle');
  });
});
