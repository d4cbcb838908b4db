/**
 * Downloads (RETR, NLST): `_done` only after both the data EOF and the final 2xx, whatever their
 * order; error replies after complete data; size checks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PartialTransferError, ReplyError } from '../../lib/index.js';
import { delay, sendData, writePieces } from '../support/scripted-server.js';
import { BOUND, errorOf, names, only, start, waitFor } from './harness.js';

const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));

/** The bytes of every get_data event, joined. */
const received = (seen: Parameters<typeof only>[0]) => Buffer.concat(only(seen, 'get_data').map((event) => event.args[0] as Buffer));

describe('downloads', () => {
  it('150 and 226 before any data: every get_data, then get_done exactly once', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          const data = await conn.dataSocket();
          await conn.send('150 Opening BINARY mode data connection');
          await conn.send('226 Transfer complete');
          await delay(100);
          await sendData(data, payload, { pieceSize: 32 * 1024, delayMs: 5 });
        },
      },
    }, { blockSize: 16 * 1024 });
    ftp.post('get', 'file.bin');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    const events = names(seen).slice(2);
    assert.deepEqual(events.filter((name) => name !== 'get_data'), ['get_connected', 'get_server', 'get_done', 'noop']);
    assert.ok(events.lastIndexOf('get_data') < events.indexOf('get_done'), 'get_done comes after the last get_data');
    assert.deepEqual(only(seen, 'get_server')[0]!.args, [150, 'Opening BINARY mode data connection', 'file.bin']);
    assert.deepEqual(only(seen, 'get_done')[0]!.args, ['file.bin']);
    assert.ok(received(seen).equals(payload), 'the file arrived byte-exact');
    assert.ok(only(seen, 'get_data').every((event) => (event.args[0] as Buffer).length <= 16 * 1024 && event.args[1] === 'file.bin'));
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'RETR file.bin', 'NOOP']);
  });

  it('226 before the data EOF (POE t/05_ready_early): dir_done after every dir_data', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        NLST: async (conn) => {
          await conn.send('150 Here comes the directory listing.');
          const data = await conn.dataSocket();
          await writePieces(data, 'a.txt\r\nb.txt\r\n');
          await delay(50);
          await conn.send('226 Directory send OK.');
          await delay(150);
          await sendData(data, 'c.txt\r\nd.txt\r\n');
        },
      },
    });
    ftp.post('dir');
    await waitFor(seen, 'dir_done');
    assert.deepEqual(names(seen).slice(2), ['dir_connected', 'dir_server', 'dir_data', 'dir_data', 'dir_data', 'dir_data', 'dir_done']);
    assert.deepEqual(only(seen, 'dir_data').map((event) => event.args[0]), ['a.txt', 'b.txt', 'c.txt', 'd.txt']);
  });

  it('data and its EOF before the 150: get_done after both, file complete', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await sendData(await conn.dataSocket(), payload.subarray(0, 5000));
          await delay(100);
          await conn.send('150 Opening data connection');
          await delay(50);
          await conn.send('226 Transfer complete');
        },
      },
    });
    ftp.post('get', 'early.bin');
    await waitFor(seen, 'get_done');
    const events = names(seen).slice(2);
    assert.deepEqual(events.filter((name) => name !== 'get_data'), ['get_connected', 'get_server', 'get_done']);
    assert.ok(received(seen).equals(payload.subarray(0, 5000)));
  });

  it('150, complete data, then 426: get_error(426), never get_done; the next command runs', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening data connection');
          await sendData(await conn.dataSocket(), payload.subarray(0, 1000));
          await delay(50);
          await conn.send('426 Connection closed; transfer aborted.');
        },
      },
    });
    ftp.post('get', 'f.bin');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    const failure = await waitFor(seen, 'get_error');
    assert.deepEqual(failure.args.slice(0, 3), [426, 'Connection closed; transfer aborted.', 'f.bin']);
    assert.equal(errorOf(failure, ReplyError).replyCode, 426);
    assert.equal(only(seen, 'get_done').length, 0);
    assert.deepEqual(names(seen).slice(-2), ['get_error', 'noop']);
  });

  it('451 while the server keeps the data connection open: get_error(451) at once, the next command runs', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening data connection');
          await writePieces(await conn.dataSocket(), payload.subarray(0, 1000)); // no EOF, ever
          await delay(50);
          await conn.send('451 Local error in processing.');
        },
      },
    }, { timeout: 3000 });
    ftp.post('get', 'f.bin');
    ftp.post('noop');
    await waitFor(seen, 'get_server');
    const began = Date.now();
    await waitFor(seen, 'noop');
    assert.ok(Date.now() - began < 1000, 'no wait for a data timeout');
    const failure = only(seen, 'get_error')[0]!;
    assert.deepEqual(failure.args.slice(0, 3), [451, 'Local error in processing.', 'f.bin']);
    assert.equal(only(seen, 'get_done').length, 0);
    assert.deepEqual(only(seen, 'noop')[0]!.args, [200, 'NOOP ok.', undefined]);
  });

  it('550 on RETR: get_error(550, text, param, ReplyError); the next command runs', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    ftp.post('get', 'missing.txt');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(names(seen).slice(2), ['get_connected', 'get_error', 'noop']);
    const failure = only(seen, 'get_error')[0]!;
    assert.deepEqual(failure.args.slice(0, 3), [550, 'Failed to open file.', 'missing.txt']);
    errorOf(failure, ReplyError);
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'RETR missing.txt', 'NOOP']);
  });

  it('150 announcing (100 bytes) in TYPE I, 44 bytes sent: get_error with PartialTransferError', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      handlers: {
        RETR: async (conn) => {
          await conn.send('150 Opening BINARY mode data connection for short.bin (100 bytes).');
          await sendData(await conn.dataSocket(), payload.subarray(0, 44));
          await conn.send('226 Transfer complete.');
        },
      },
    }, { transferMode: 'binary', reconnect: false }); // spec/session/reconnect.test.ts resumes it
    ftp.post('get', 'short.bin');
    const failure = await waitFor(seen, 'get_error');
    assert.equal(failure.args[2], 'short.bin');
    assert.match(errorOf(failure, PartialTransferError).message, /56 bytes short/);
    assert.equal(only(seen, 'get_done').length, 0);
    assert.equal(received(seen).length, 44);
    assert.deepEqual(server.commands.slice(2), ['TYPE I', 'EPSV', 'RETR short.bin']);
  });

  it('the full announced size in TYPE I gives get_done (the size check is not a false alarm)', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { files: { 'full.bin': payload.subarray(0, 100) } }, { transferMode: 'binary' });
    ftp.post('get', 'full.bin');
    await waitFor(seen, 'get_done');
    assert.equal(received(seen).length, 100);
    assert.equal(only(seen, 'get_error').length, 0);
  });

  // A reset data connection, before the session starts reading it, must be an error event, not an
  // uncaught ECONNRESET (which kills the caller's process).
  for (const replies of [['425 Data connection reset'], ['150 Opening data connection', '426 Connection reset; transfer aborted.']]) {
    it(`data connection reset before the RETR reply, then ${replies.join(' / ')}: get_error, the next command runs`, BOUND, async (t) => {
      const { ftp, seen } = await start(t, {
        handlers: {
          RETR: async (conn) => {
            (await conn.dataSocket()).resetAndDestroy();
            await delay(100);
            for (const line of replies) await conn.send(line);
          },
        },
      });
      ftp.post('get', 'reset.bin');
      ftp.post('noop');
      await waitFor(seen, 'noop');
      const failure = only(seen, 'get_error')[0]!;
      // Either the server's failure code or null (the data connection's own error) may win.
      assert.ok([null, Number(replies.at(-1)!.slice(0, 3))].includes(failure.args[0] as number | null), String(failure.args[0]));
      assert.equal(failure.args[2], 'reset.bin');
      assert.deepEqual(only(seen, 'noop')[0]!.args, [200, 'NOOP ok.', undefined]);
      assert.equal(only(seen, 'get_done').length, 0);
      assert.deepEqual(names(seen).slice(-2), ['get_error', 'noop']);
    });
  }

  it('an empty file (data opens and closes at once, 226): get_done and no get_data', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { files: { 'empty.txt': '' } });
    ftp.post('get', 'empty.txt');
    await waitFor(seen, 'get_done');
    assert.deepEqual(names(seen).slice(2), ['get_connected', 'get_server', 'get_done']);
  });
});
