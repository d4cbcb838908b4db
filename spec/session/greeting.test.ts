/** The greeting: multi-line, 120 then 220, refusals, junk, silence, and POE's retry with `connect`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { ConnectError, FtpSession, InvalidStateError, ProtocolError, ReplyError, TimeoutError } from '../../lib/index.js';
import { recordEvents } from '../support/events.js';
import { delay, scriptedServer } from '../support/scripted-server.js';
import { BOUND, PASSWORD, USER, errorOf, names, start, waitFor } from './harness.js';

describe('greeting', () => {
  it('a 5-line banner gives connected(220, last line) and then the login', BOUND, async (t) => {
    const banner = ['220-Welcome to the scripted server', '220-line two', 'line three without a code', '220-line four', '220 ready for you'];
    const { server, seen } = await start(t, { greeting: banner });
    await waitFor(seen, 'authenticated');
    assert.deepEqual(seen.slice(0, 2), [
      { name: 'connected', args: [220, 'ready for you'] },
      { name: 'authenticated', args: [230, 'Login successful.'] },
    ]);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`]);
  });

  it('120 then 220: waits for the 220 before sending USER', BOUND, async (t) => {
    let commandsBefore220 = -1;
    const { server, seen } = await start(t, {
      greeting: async (conn) => {
        await conn.send('120 Service ready in 1 minute');
        await delay(150);
        commandsBefore220 = conn.owner.commands.length;
        await conn.send('220 ready now');
      },
    });
    await waitFor(seen, 'authenticated');
    assert.equal(commandsBefore220, 0, 'nothing was sent while only the 120 had arrived');
    assert.deepEqual(seen[0], { name: 'connected', args: [220, 'ready now'] });
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`]);
  });

  it('a 421 greeting gives connect_error(421, text) and USER is never sent', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      greeting: async (conn) => {
        await conn.send('421 Too many users, try later');
        conn.end();
      },
    }, { reconnect: false }); // with reconnect on, a 421 greeting is retried (reconnect.test.ts)
    const failure = await waitFor(seen, 'connect_error');
    assert.equal(failure.args[0], 421);
    assert.equal(failure.args[1], 'Too many users, try later');
    assert.equal((errorOf(failure, ReplyError)).replyCode, 421);
    await (await server.connection(0)).waitClosed();
    assert.deepEqual(server.commands, []);
    assert.deepEqual(names(seen), ['connect_error']);
    assert.equal(ftp.state, 'idle');
    assert.equal(ftp.code, 421);
  });

  it('a non-FTP greeting (HTTP/1.1 200 OK) gives connect_error with ProtocolError; nothing is sent', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { greeting: ['HTTP/1.1 200 OK', 'Content-Length: 0', ''] });
    const failure = await waitFor(seen, 'connect_error');
    assert.equal(failure.args[0], null);
    errorOf(failure, ProtocolError);
    await (await server.connection(0)).waitClosed();
    assert.deepEqual(server.commands, []);
    assert.equal(ftp.state, 'idle');
  });

  it('a greeting that never comes gives connect_error with TimeoutError within the timeout', BOUND, async (t) => {
    const began = Date.now();
    const { server, ftp, seen } = await start(t, { greeting: null }, { timeout: 500 });
    const failure = await waitFor(seen, 'connect_error');
    const elapsed = Date.now() - began;
    assert.equal(failure.args[0], null);
    errorOf(failure, TimeoutError);
    assert.ok(elapsed >= 450 && elapsed < 1500, `connect_error after ${elapsed} ms (timeout 500)`);
    await (await server.connection(0)).waitClosed(1000);
    assert.deepEqual(server.commands, []);
    assert.equal(ftp.code, 421);
    assert.match(ftp.message, /Timeout/);
  });

  it('a refused TCP connection gives connect_error(null, msg, ConnectError) with the system code', BOUND, async (t) => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve)); // nothing listens there now
    const ftp = FtpSession.spawn({ host: '127.0.0.1', port, user: USER, password: PASSWORD, timeout: 2000 });
    t.after(() => ftp.close());
    const seen = recordEvents(ftp);
    const failure = await waitFor(seen, 'connect_error');
    assert.equal(failure.args[0], null);
    assert.equal((errorOf(failure, ConnectError) as ConnectError).syscallCode, 'ECONNREFUSED');
    assert.equal(ftp.state, 'idle');
    assert.equal(ftp.code, 421);
  });

  it("post('connect') after connect_error connects again (POE's retry); queued commands then run", BOUND, async (t) => {
    const server = await scriptedServer({
      greeting: async (conn) => {
        if (conn.index === 0) {
          await conn.send('421 Service not available, closing control connection');
          conn.end();
        } else {
          await conn.send('220 welcome back');
        }
      },
    });
    const ftp = FtpSession.spawn({ ...server.address, user: USER, password: PASSWORD, timeout: 2000, reconnect: false });
    t.after(async () => { await server.close(); await ftp.close(); });
    const seen = recordEvents(ftp);
    ftp.post('pwd'); // posted before the first (failing) connect: kept for the next one
    await waitFor(seen, 'connect_error');
    assert.equal(ftp.connectCount, 1);
    ftp.post('connect');
    await waitFor(seen, 'pwd');
    assert.equal(ftp.connectCount, 2);
    assert.deepEqual(names(seen), ['connect_error', 'connected', 'authenticated', 'pwd']);
    assert.deepEqual(seen[1]!.args, [220, 'welcome back']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'PWD']);
    assert.equal(server.connections[0]!.commands.length, 0, 'nothing was sent on the refused connection');
  });

  it("post('connect') while connected is an error event, not a second connection", BOUND, async (t) => {
    const { ftp, seen } = await start(t);
    await waitFor(seen, 'authenticated');
    ftp.post('connect');
    const error = await waitFor(seen, 'error');
    assert.ok(error.args[0] instanceof InvalidStateError);
    assert.equal(error.args[1], 'connect');
    assert.equal(ftp.connectCount, 1);
  });
});
