/** Uploads (put, appe, stou): buffering before put_connected, put_flushed, put_closed after 2xx, limits. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { InvalidStateError, ReplyError } from '../../lib/index.js';
import { delay, readData, type DataListener, type Handler } from '../support/scripted-server.js';
import { BOUND, errorOf, names, only, start, waitFor } from './harness.js';

const bytes = (length: number, seed = 1) => Buffer.from(Array.from({ length }, (_, i) => (i * seed + 13) % 256));
const flushedTotal = (seen: Parameters<typeof only>[0]) => only(seen, 'put_flushed').reduce((sum, event) => sum + (event.args[0] as number), 0);

describe('uploads', () => {
  it('put_data posted right after put (before put_connected) is delivered byte-exact', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    const chunks = [bytes(10), Buffer.from('ünïcode text\n'), bytes(70_000, 7)];
    ftp.post('put', 'up.bin');
    for (const chunk of chunks) ftp.post('put_data', chunk);
    ftp.post('put_close');
    await waitFor(seen, 'put_closed');
    assert.ok(server.uploads.get('up.bin')!.equals(Buffer.concat(chunks)), 'the server stored exactly the posted bytes');
    const events = names(seen).slice(2);
    assert.deepEqual(events.filter((name) => name !== 'put_flushed'), ['put_connected', 'put_server', 'put_closed']);
    assert.deepEqual(only(seen, 'put_flushed').map((event) => event.args), chunks.map((chunk) => [chunk.length, 'up.bin']), 'one put_flushed per chunk, in order');
    assert.equal(flushedTotal(seen), Buffer.concat(chunks).length);
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'STOR up.bin']);
  });

  it('put_data as a string is sent as UTF-8', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    ftp.post('put', 'text.txt');
    ftp.post('put_data', 'grüße\r\n');
    ftp.post('put_close');
    await waitFor(seen, 'put_closed');
    assert.equal(server.uploads.get('text.txt')!.toString('utf8'), 'grüße\r\n');
    assert.equal(flushedTotal(seen), Buffer.byteLength('grüße\r\n'));
  });

  it("put_closed comes only after the server's 226 (226 delayed 200 ms after data EOF)", BOUND, async (t) => {
    const timeline: string[] = [];
    const { ftp, seen } = await start(t, {
      handlers: {
        STOR: async (conn, cmd) => {
          await conn.send('150 Ok to send data');
          const data = await readData(await conn.dataSocket());
          timeline.push(`server: data EOF after ${data.length} bytes`);
          await delay(200);
          timeline.push('server: 226');
          await conn.send('226 Transfer complete');
          conn.owner.uploads.set(cmd.arg, data);
        },
      },
    });
    ftp.on('put_closed', () => timeline.push('client: put_closed'));
    ftp.post('put', 'late.bin');
    ftp.post('put_data', bytes(5000));
    ftp.post('put_close');
    await waitFor(seen, 'put_closed');
    assert.deepEqual(timeline, ['server: data EOF after 5000 bytes', 'server: 226', 'client: put_closed']);
  });

  it('a 552 final reply: put_error(552, ...), never put_closed', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        STOR: async (conn) => {
          await conn.send('150 Ok to send data');
          await readData(await conn.dataSocket());
          await conn.send('552 Requested file action aborted. Exceeded storage allocation.');
        },
      },
    });
    ftp.post('put', 'big.bin');
    ftp.post('put_data', bytes(3000));
    ftp.post('put_close');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    const failure = await waitFor(seen, 'put_error');
    assert.deepEqual(failure.args.slice(0, 3), [552, 'Requested file action aborted. Exceeded storage allocation.', 'big.bin']);
    errorOf(failure, ReplyError);
    assert.equal(only(seen, 'put_closed').length, 0);
  });

  it('a 552 while the data still flows stops the upload: put_error(552), the session stays usable', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        STOR: async (conn) => {
          await conn.send('150 Ok to send data');
          const data = await conn.dataSocket();
          await new Promise((resolve) => data.once('data', resolve));
          await conn.send('552 Disk full.');
          data.destroy();
        },
      },
    });
    ftp.post('put', 'full.bin');
    ftp.post('put_data', bytes(1000));
    // No put_close: the server's reply alone must end the upload.
    const failure = await waitFor(seen, 'put_error');
    assert.deepEqual(failure.args.slice(0, 3), [552, 'Disk full.', 'full.bin']);
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.equal(only(seen, 'put_closed').length, 0);
  });

  it('put_data with no open upload: put_error(null, msg, undefined, InvalidStateError)', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    await waitFor(seen, 'authenticated');
    ftp.post('put_data', 'orphan');
    ftp.post('put_close');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    const errors = only(seen, 'put_error');
    assert.equal(errors.length, 2);
    for (const failure of errors) {
      assert.deepEqual(failure.args.slice(0, 1), [null]);
      assert.equal(failure.args[2], undefined);
      errorOf(failure, InvalidStateError);
    }
    assert.deepEqual(server.commands.slice(2), ['NOOP']);
  });

  it('a chunk larger than blockSize is written in slices of at most blockSize; the server gets every byte', BOUND, async (t) => {
    let listener: DataListener | undefined;
    const writes: number[] = [];
    const original = Socket.prototype.write;
    // Spy on writes to the data port: only the session's data socket writes there.
    Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      if (listener && this.remotePort === listener.port && this.remoteAddress?.endsWith('127.0.0.1')) writes.push((chunk as Buffer).length);
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof Socket.prototype.write;
    t.after(() => { Socket.prototype.write = original; });
    const { server, ftp, seen } = await start(t, {
      handlers: {
        EPSV: async (conn) => {
          listener = await conn.listenPassive();
          await conn.send(`229 Entering Extended Passive Mode (|||${listener.port}|)`);
        },
      },
    }, { blockSize: 1024 });
    const chunk = bytes(10_000, 3);
    ftp.post('put', 'sliced.bin');
    ftp.post('put_data', chunk);
    ftp.post('put_close');
    await waitFor(seen, 'put_closed');
    assert.ok(server.uploads.get('sliced.bin')!.equals(chunk));
    assert.deepEqual(only(seen, 'put_flushed').map((event) => event.args[0]), [10_000]);
    assert.equal(writes.reduce((a, b) => a + b, 0), 10_000, `writes seen: ${writes.join(',')}`);
    assert.ok(writes.every((size) => size <= 1024), `every write is at most blockSize: ${writes.join(',')}`);
  });

  it('maxUploadBuffer passed: put_error with InvalidStateError, never put_closed', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {}, { maxUploadBuffer: 1000 });
    ftp.post('put', 'too-much.bin');
    ftp.post('put_data', bytes(600));
    ftp.post('put_data', bytes(600)); // 1200 pending > 1000
    ftp.post('put_close');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    const failure = await waitFor(seen, 'put_error');
    assert.equal(failure.args[2], 'too-much.bin');
    assert.match(errorOf(failure, InvalidStateError).message, /1000/);
    assert.equal(only(seen, 'put_closed').length, 0);
  });

  it('appe sends APPE and stou sends STOU (put_server names the file)', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    ftp.post('appe', 'log.txt');
    ftp.post('put_data', 'line 1\n');
    ftp.post('put_close');
    ftp.post('stou');
    ftp.post('put_data', 'unique\n');
    ftp.post('put_close');
    await waitFor(seen, 'put_closed', { count: 2 });
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'APPE log.txt', 'EPSV', 'STOU']);
    assert.deepEqual(only(seen, 'put_server').map((event) => event.args), [[150, 'Ok to send data', 'log.txt'], [150, 'FILE: stou.1', undefined]]);
    assert.equal(server.uploads.get('log.txt')!.toString(), 'line 1\n');
    assert.equal(server.uploads.get('stou.1')!.toString(), 'unique\n');
  });

  it('a 550 to STOR: put_error(550); put_data posted for it then fails with InvalidStateError, not into a later upload', BOUND, async (t) => {
    const refuse: Handler = (conn) => conn.send('550 Permission denied.');
    const { server, ftp, seen } = await start(t, { handlers: { STOR: refuse } });
    ftp.post('put', 'denied.bin');
    ftp.post('put_data', 'x');
    ftp.post('put_close');
    await waitFor(seen, 'put_error');
    assert.deepEqual(only(seen, 'put_error')[0]!.args.slice(0, 3), [550, 'Permission denied.', 'denied.bin']);
    ftp.post('put_data', 'late');
    await waitFor(seen, 'put_error', { count: 2 });
    errorOf(only(seen, 'put_error')[1]!, InvalidStateError);
    assert.equal(only(seen, 'put_closed').length, 0);
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'STOR denied.bin']);
  });
});
