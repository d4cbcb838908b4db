/**
 * Reconnect, restore and retry against the scripted server: the cases a real server will not
 * produce on demand (fault catalogue sections B, C, D and E). The same scenarios run through a
 * fault-injecting proxy in front of real servers in spec/integration/reconnect.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  ConnectionClosedError, OutcomeUnknownError, PartialTransferError, ReplyError, RestoreError, SessionClosedError,
} from '../../lib/index.js';
import { sha256 } from '../support/hash.js';
import { delay, endData, sendData, serveDownload, writePieces, type Handler, type ScriptedConnection } from '../support/scripted-server.js';
import { BOUND, errorOf, names, only, start, until, waitFor } from './harness.js';

const received = (seen: { name: string; args: unknown[] }[]): Buffer => Buffer.concat(only(seen, 'get_data').map((event) => event.args[0] as Buffer));
/** Commands received on the `index`-th control connection. */
const on = (conn: ScriptedConnection): string[] => conn.commands;

/** RETR that honours REST and, the first time only, stops after `cut` bytes in the way `fault` says. */
function cutDownload(payload: Buffer, cut: number, fault: 'reset-both' | 'short-226'): Record<string, Handler> {
  const offsets = new Map<ScriptedConnection, number>();
  let first = true;
  return {
    REST: (conn, cmd) => {
      offsets.set(conn, Number(cmd.arg));
      return conn.send(`350 Restart position accepted (${cmd.arg}).`);
    },
    RETR: async (conn) => {
      const from = offsets.get(conn) ?? 0;
      offsets.delete(conn);
      const rest = payload.subarray(from);
      if (!first) return serveDownload(conn, rest, `150 Opening BINARY mode data connection (${payload.length} bytes).`);
      first = false;
      await conn.send(`150 Opening BINARY mode data connection (${payload.length} bytes).`);
      const data = await conn.dataSocket();
      if (fault === 'short-226') {
        await sendData(data, rest.subarray(0, cut));
        return conn.send('226 Transfer complete.');
      }
      await new Promise<void>((resolve) => data.write(rest.subarray(0, cut), () => resolve()));
      await delay(50);
      data.resetAndDestroy();
      conn.reset();
    },
  };
}

describe('reconnect', () => {
  it('idle 421 then close: lazy by default; the next command reconnects, restores OPTS, TYPE and CWD (checked by PWD), then runs', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      files: { 'f.bin': Buffer.alloc(1234) },
      handlers: { PWD: (conn) => conn.send('257 "/a/b" is the current directory'), OPTS: (conn) => conn.send('200 Always in UTF8 mode.') },
    });
    ftp.post('opts', 'UTF8', 'ON');
    ftp.post('type', 'I');
    ftp.post('cd', '/a/b');
    await waitFor(seen, 'cd');
    const first = await server.connection(0);
    await first.send('421 Timeout.');
    first.end();
    await waitFor(seen, 'disconnected');
    await delay(200);
    assert.equal(ftp.state, 'idle', 'lazy: no reconnect without work');
    assert.equal(ftp.connectCount, 1);
    ftp.post('size', 'f.bin');
    const size = await waitFor(seen, 'size');
    assert.equal(size.args[3], 1234);
    assert.equal(ftp.connectCount, 2);
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'OPTS UTF8 ON', 'TYPE I', 'CWD /a/b', 'PWD', 'SIZE f.bin']);
    assert.deepEqual(names(seen).slice(-6), ['cd', 'server_message', 'disconnected', 'reconnecting', 'reconnected', 'size']);
    assert.deepEqual(only(seen, 'reconnecting')[0]!.args.slice(0, 2), [1, 0]);
    assert.deepEqual(only(seen, 'reconnected')[0]!.args, [2]);
  });

  it('a silent close while idle with lazyReconnect false: reconnects at once; connect_count 2; no event for the caller but the lifecycle ones', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {}, { lazyReconnect: false });
    await waitFor(seen, 'authenticated');
    (await server.connection(0)).end();
    await waitFor(seen, 'reconnected');
    assert.equal(ftp.connectCount, 2);
    assert.equal(ftp.state, 'ready');
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'disconnected', 'reconnecting', 'reconnected']);
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret']);
  });

  it('a reset while SIZE is pending: one transparent retry; size once, no size_error; later commands keep their order', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      files: { 'f.txt': 'hello' },
      handlers: { SIZE: (conn, cmd) => (conn.index === 0 ? conn.reset() : conn.send(`213 ${conn.owner.files.get(cmd.arg)!.length}`)) },
    });
    ftp.post('size', 'f.txt');
    ftp.post('pwd');
    await waitFor(seen, 'pwd');
    assert.deepEqual(only(seen, 'size').map((event) => event.args[3]), [5]);
    assert.equal(only(seen, 'size_error').length, 0);
    assert.deepEqual(names(seen).filter((name) => name === 'size' || name === 'pwd'), ['size', 'pwd']);
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'SIZE f.txt', 'PWD']);
  });

  it('a drop between RNFR and RNTO: the source still exists (MLST), so the pair runs again, never a lone RNTO; rename_partial and rename once', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: {
        RNFR: async (conn) => {
          await conn.send('350 Ready for RNTO.');
          if (conn.index === 0) conn.reset();
        },
        FEAT: (conn) => conn.send('211-Features:', ' MLST type*;size*;', '211 End'),
        MLST: (conn, cmd) => conn.send(cmd.arg === 'old' ? '250- Listing old\r\n type=file; old\r\n250 End' : '550 No such file.'),
      },
    });
    ftp.post('rename', 'old', 'new');
    await waitFor(seen, 'rename');
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'FEAT', 'MLST old', 'RNFR old', 'RNTO new']);
    assert.equal(only(seen, 'rename_partial').length, 1);
    assert.deepEqual(only(seen, 'rename')[0]!.args, [250, 'Rename successful.', 'new']);
    assert.equal(only(seen, 'rename_error').length, 0);
  });

  it('a lost DELE reply, server with MLST: the outcome is proved (MLST 550) and reported as done, DELE is not sent twice', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: {
        DELE: (conn) => (conn.index === 0 ? conn.reset() : conn.send('250 Delete operation successful.')),
        FEAT: (conn) => conn.send('211-Features:', ' MLST type*;size*;', ' SIZE', '211 End'),
        MLST: (conn) => conn.send('550 No such file.'),
      },
    });
    ftp.post('delete', 'gone.txt');
    const done = await waitFor(seen, 'delete');
    assert.equal(done.args[0], 250);
    assert.match(done.args[1] as string, /verified after reconnecting/);
    assert.equal(done.args[2], 'gone.txt');
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'FEAT', 'MLST gone.txt']);
    assert.equal(server.commands.filter((line) => line.startsWith('DELE')).length, 1);
  });

  it('a lost DELE reply, the file still there (SIZE 213): DELE runs again, once', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      files: { 'still.txt': 'x' },
      handlers: { DELE: (conn) => (conn.index === 0 ? conn.reset() : conn.send('250 Delete operation successful.')) },
    });
    ftp.post('delete', 'still.txt');
    await waitFor(seen, 'delete');
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'FEAT', 'SIZE still.txt', 'DELE still.txt']);
    assert.deepEqual(only(seen, 'delete')[0]!.args.slice(0, 3), [250, 'Delete operation successful.', 'still.txt']);
  });

  it('a lost reply the server offers no way to check (SITE; MKD without MLST): <name>_error with OutcomeUnknownError, never replayed', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: { SITE: (conn) => conn.reset(), MKD: (conn) => (conn.index === 1 ? conn.reset() : conn.send('257 created')) },
    });
    ftp.post('site', 'CHMOD', '600', 'f');
    ftp.post('mkdir', 'd');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    errorOf(only(seen, 'site_error')[0]!, OutcomeUnknownError);
    errorOf(only(seen, 'mkdir_error')[0]!, OutcomeUnknownError);
    assert.equal(server.commands.filter((line) => line.startsWith('SITE')).length, 1);
    assert.equal(server.commands.filter((line) => line.startsWith('MKD')).length, 1);
    assert.equal(ftp.connectCount, 3);
  });

  it('a transient 450 is retried (the action did not happen); a 550 never is', BOUND, async (t) => {
    let dele = 0;
    const { server, ftp, seen } = await start(t, {
      handlers: {
        DELE: (conn) => conn.send(++dele === 1 ? '450 File busy.' : '250 Deleted.'),
        RMD: (conn) => conn.send('550 Not empty.'),
      },
    });
    ftp.post('delete', 'f');
    ftp.post('rmdir', 'd');
    await waitFor(seen, 'rmdir_error');
    assert.deepEqual(only(seen, 'delete')[0]!.args.slice(0, 2), [250, 'Deleted.']);
    assert.equal(only(seen, 'delete_error').length, 0);
    assert.equal(errorOf(only(seen, 'rmdir_error')[0]!, ReplyError).replyCode, 550);
    assert.deepEqual(server.commands.slice(2), ['DELE f', 'DELE f', 'RMD d']);
    assert.equal(ftp.connectCount, 1);
  });

  it('a 421 reply to a command: the connection is treated as closed, the command runs again after the reconnect', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: { DELE: (conn) => (conn.index === 0 ? conn.send('421 Service closing.') : conn.send('250 Deleted.')) },
    });
    ftp.post('delete', 'f');
    await waitFor(seen, 'delete');
    assert.deepEqual(on(await server.connection(0)).slice(2), ['DELE f'], 'nothing more went to the closing connection');
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'DELE f']);
  });

  it('an interrupted get resumes with REST right before RETR: get_data carries every byte exactly once', BOUND, async (t) => {
    const payload = randomBytes(300_000);
    const { server, ftp, seen } = await start(t, { handlers: cutDownload(payload, 100_000, 'reset-both') }, { transferMode: 'binary' });
    ftp.post('get', 'big.bin');
    await waitFor(seen, 'get_done');
    const bytes = received(seen);
    assert.equal(bytes.length, payload.length);
    assert.equal(sha256(bytes), sha256(payload));
    const again = on(await server.connection(1));
    assert.deepEqual(again.slice(0, 3), ['USER user', 'PASS secret', 'TYPE I']);
    assert.equal(again.at(-2), 'REST 100000');
    assert.equal(again.at(-1), 'RETR big.bin');
    assert.equal(only(seen, 'get_connected').length, 1);
    assert.equal(only(seen, 'get_server').length, 1);
    assert.equal(only(seen, 'get_done').length, 1);
    assert.equal(only(seen, 'get_error').length, 0);
  });

  it('a short binary transfer confirmed by 226 resumes on the same connection (REST 44) and completes byte-exact', BOUND, async (t) => {
    const payload = randomBytes(100);
    const { server, ftp, seen } = await start(t, { handlers: cutDownload(payload, 44, 'short-226') }, { transferMode: 'binary' });
    ftp.post('get', 'short.bin');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(received(seen), payload);
    assert.equal(ftp.connectCount, 1);
    assert.deepEqual(server.commands.slice(2), ['TYPE I', 'EPSV', 'RETR short.bin', 'EPSV', 'REST 44', 'RETR short.bin', 'NOOP']);
  });

  it('REST refused: get_error with PartialTransferError naming the refusal; no byte is delivered twice', BOUND, async (t) => {
    const payload = randomBytes(100);
    const handlers = { ...cutDownload(payload, 44, 'short-226'), REST: ((conn) => conn.send('502 REST not implemented.')) as Handler };
    const { ftp, seen } = await start(t, { handlers }, { transferMode: 'binary' });
    ftp.post('get', 'short.bin');
    const failure = await waitFor(seen, 'get_error');
    assert.equal(failure.args[0], 502);
    assert.match(errorOf(failure, PartialTransferError).message, /refused REST 44/);
    assert.deepEqual(received(seen), payload.subarray(0, 44));
  });

  it('an upload fed by put_data and cut off mid-way: put_error with PartialTransferError saying how many bytes were written', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        STOR: async (conn) => {
          await conn.send('150 Ok to send data.');
          const data = await conn.dataSocket();
          await new Promise((resolve) => data.once('data', resolve));
          conn.reset();
        },
      },
    });
    ftp.post('put', 'up.bin');
    ftp.post('put_data', Buffer.alloc(1000, 1));
    await waitFor(seen, 'put_flushed');
    const failure = await waitFor(seen, 'put_error');
    assert.match(errorOf(failure, PartialTransferError).message, /after 1000 bytes were written/);
    assert.equal(only(seen, 'put_closed').length, 0);
  });

  it('the working directory is gone on reconnect (CWD 550): reconnect_error with RestoreError; the queued command fails and never runs elsewhere', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: {
        CWD: (conn) => conn.send(conn.index === 0 ? '250 Directory changed.' : '550 Failed to change directory.'),
        PWD: (conn) => conn.send('257 "/data/x" is the current directory'),
      },
    });
    ftp.post('cd', '/data/x');
    await waitFor(seen, 'cd');
    (await server.connection(0)).end();
    await waitFor(seen, 'disconnected');
    ftp.post('size', 'f');
    const failure = await waitFor(seen, 'reconnect_error');
    const error = errorOf(failure, RestoreError) as RestoreError;
    assert.equal(error.step, 'cwd');
    assert.equal(error.replyCode, 550);
    errorOf(await waitFor(seen, 'size_error'), RestoreError);
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'CWD /data/x']);
    assert.equal(ftp.state, 'idle');
  });

  it('the server stays down: bounded attempts with the retry strategy, then reconnect_error and every queued command fails', BOUND, async (t) => {
    const attempts: Array<[number, string]> = [];
    const { server, ftp, seen } = await start(t, {
      greeting: async (conn) => {
        if (conn.index === 0) await conn.send('220 hello');
        else conn.reset();
      },
    }, {
      retryStrategy: (attempt, error) => {
        attempts.push([attempt, error.code]);
        return attempt <= 3 ? 20 : null;
      },
    });
    await waitFor(seen, 'authenticated');
    (await server.connection(0)).end();
    await waitFor(seen, 'disconnected');
    ftp.post('pwd');
    ftp.post('noop');
    await waitFor(seen, 'reconnect_error');
    await waitFor(seen, 'noop_error');
    assert.deepEqual(only(seen, 'reconnecting').map((event) => event.args[0]), [1, 2, 3]);
    assert.deepEqual(attempts.map(([attempt]) => attempt), [1, 2, 3, 4]);
    errorOf(only(seen, 'pwd_error')[0]!, ConnectionClosedError);
    assert.deepEqual(names(seen).slice(-3), ['reconnect_error', 'pwd_error', 'noop_error']);
    assert.equal(ftp.state, 'idle');
    assert.equal(ftp.connectCount, 4);
  });

  it('a 421 greeting is retried under the backoff (USER never sent on that socket); a 421 to PASS once is retried too', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      greeting: async (conn) => {
        if (conn.index === 0) {
          await conn.send('421 Too many users, try later.');
          conn.end();
        } else {
          await conn.send('220 welcome');
        }
      },
      handlers: { PASS: (conn) => conn.send(conn.index === 1 ? '421 Try again.' : '230 Login successful.') },
    });
    await waitFor(seen, 'authenticated');
    assert.equal(ftp.connectCount, 3);
    assert.deepEqual(server.connections.map((conn) => conn.commands), [[], ['USER user', 'PASS secret'], ['USER user', 'PASS secret']]);
    assert.deepEqual(names(seen), ['reconnecting', 'connected', 'disconnected', 'reconnecting', 'connected', 'authenticated']);
  });

  it('a wrong password (530) is not retried: login_error once, awaiting_login', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { PASS: (conn) => conn.send('530 Login incorrect.') } });
    await waitFor(seen, 'login_error');
    await delay(100);
    assert.equal(ftp.connectCount, 1);
    assert.equal(ftp.state, 'awaiting_login');
    assert.equal(server.commands.length, 2);
  });

  it('reconnect(): drops without QUIT, restores, connect_count 2; disconnect(): the session heals when work arrives', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    await waitFor(seen, 'authenticated');
    ftp.reconnect();
    await waitFor(seen, 'reconnected');
    assert.equal(ftp.connectCount, 2);
    assert.ok(!server.commands.includes('QUIT'));
    ftp.disconnect();
    await waitFor(seen, 'disconnected', { count: 2 });
    await until(() => ftp.state === 'idle', 'idle after disconnect()');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.equal(ftp.connectCount, 3);
  });

  it('close() while reconnecting: no more attempts, queued commands fail with SessionClosedError', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      greeting: async (conn) => {
        if (conn.index === 0) await conn.send('220 hello');
        else conn.reset();
      },
    }, { retryStrategy: () => 200 });
    await waitFor(seen, 'authenticated');
    (await server.connection(0)).end();
    ftp.post('noop');
    await waitFor(seen, 'reconnecting');
    await ftp.close();
    const count = server.connections.length;
    await delay(400);
    assert.equal(server.connections.length, count, 'no attempt after close()');
    errorOf(only(seen, 'noop_error')[0]!, SessionClosedError);
    assert.equal(ftp.state, 'closed');
  });

  it('keepalive: NOOP after the idle time, no event for it; the replies stay paired with their commands', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {}, { keepalive: 100 });
    await waitFor(seen, 'authenticated');
    await until(() => server.commands.filter((line) => line === 'NOOP').length >= 2, 'two keepalive NOOPs', 2000);
    ftp.post('pwd');
    const pwd = await waitFor(seen, 'pwd');
    assert.equal(pwd.args[3], '/');
    assert.equal(only(seen, 'noop').length, 0);
  });

  it('keepalive during a long transfer: NOOPs on the control connection, their 200s consumed before and after the 226', BOUND, async (t) => {
    const payload = randomBytes(3000);
    const { server, ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening BINARY mode data connection (3000 bytes).');
          const data = await conn.dataSocket();
          await writePieces(data, payload.subarray(0, 1000));
          await conn.expect(/^NOOP$/, 2000); // answered during the transfer, before the 226
          await conn.send('200 NOOP ok.');
          await writePieces(data, payload.subarray(1000), { pieceSize: 500, delayMs: 60 });
          await endData(data);
          await conn.send('226 Transfer complete.'); // later NOOPs are answered after this, in order
        },
      },
    }, { keepalive: 50, transferMode: 'binary' });
    ftp.post('get', 'slow.bin');
    ftp.post('pwd');
    const pwd = await waitFor(seen, 'pwd');
    assert.equal(pwd.args[3], '/');
    assert.deepEqual(received(seen), payload);
    assert.equal(only(seen, 'get_done').length, 1);
    const noops = server.commands.filter((line) => line === 'NOOP').length;
    assert.ok(noops >= 2, `${noops} keep-alive NOOPs`);
    assert.equal(only(seen, 'noop').length, 0);
  });

  it('a 421 to the PWD that follows a cd: the cd runs again after the reconnect from the previous directory; one outcome', BOUND, async (t) => {
    let pwd = 0;
    const cwd = new Map<ScriptedConnection, string>();
    const { server, ftp, seen } = await start(t, {
      handlers: {
        CWD: (conn, cmd) => {
          cwd.set(conn, cmd.arg.startsWith('/') ? cmd.arg : `${cwd.get(conn) ?? ''}/${cmd.arg}`);
          return conn.send('250 Directory changed.');
        },
        PWD: (conn) => conn.send(++pwd === 2 ? '421 Service not available.' : `257 "${cwd.get(conn) ?? '/'}"`),
      },
    });
    ftp.post('cd', '/a');
    ftp.post('cd', 'b');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(only(seen, 'cd').map((event) => event.args[2]), ['/a', 'b']);
    assert.equal(only(seen, 'cd_error').length, 0);
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'CWD /a', 'PWD', 'CWD b', 'PWD', 'NOOP']);
  });

  it('a listing answered 421 after some lines: exactly one list_error, nothing replayed', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: {
        LIST: async (conn) => {
          await conn.send('150 Here comes the directory listing.');
          await sendData(await conn.dataSocket(), 'a.txt\r\nb.txt\r\n');
          await delay(100); // the lines are delivered before the 421 replaces the 226
          await conn.send('421 Timeout.');
        },
      },
    });
    ftp.post('list');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    await delay(50);
    assert.equal(only(seen, 'list_error').length, 1);
    assert.equal(only(seen, 'list_error')[0]!.args[0], 421);
    assert.equal(only(seen, 'list_data').length, 2);
    assert.equal(server.commands.filter((line) => line === 'LIST').length, 1);
  });

  it('a 421 to EPSV is a lost connection, not a missing feature: EPSV is used again after the reconnect', BOUND, async (t) => {
    let epsv = 0;
    const { server, ftp, seen } = await start(t, {
      files: { 'f.txt': 'hello' },
      handlers: {
        EPSV: async (conn) => {
          if (++epsv === 1) return conn.send('421 Timeout.');
          const listener = await conn.listenPassive();
          return conn.send(`229 Entering Extended Passive Mode (|||${listener.port}|)`);
        },
      },
    });
    ftp.post('get', 'f.txt');
    await waitFor(seen, 'get_done');
    assert.equal(received(seen).toString(), 'hello');
    assert.deepEqual(on(await server.connection(1)), ['USER user', 'PASS secret', 'EPSV', 'RETR f.txt']);
    assert.ok(!server.commands.includes('PASV'));
  });

  it('reconnect: false keeps POE behaviour: no retry, no reconnect', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { SIZE: (conn) => conn.reset() } }, { reconnect: false });
    ftp.post('size', 'f');
    await waitFor(seen, 'size_error');
    await delay(100);
    assert.equal(ftp.connectCount, 1);
    assert.equal(ftp.state, 'idle');
    assert.equal(server.connections.length, 1);
  });
});
