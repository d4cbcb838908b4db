/**
 * The fast transfer paths: the transfer command sent right behind EPSV (one round trip fewer
 * per transfer) and what keeps replies in step when that goes wrong; `downloadTo` and its
 * reused read buffers; `fileSource` and its reused file buffers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSource, LocalIoError, ReplyError } from '../../lib/index.js';
import { sha256 } from '../support/hash.js';
import { within } from '../support/traced.js';
import { readData, sendData, serveDownload, type ScriptedConnection } from '../support/scripted-server.js';
import { BOUND, names, only, start, waitFor } from './harness.js';

const BIG = randomBytes(2 * 1024 * 1024 + 77);
const SMALL = Buffer.from('small file\n');

/**
 * An EPSV handler that waits before answering and records whether the next command had already
 * arrived by then (pipelined), then answers as usual.
 */
function watchingEpsv(record: boolean[]) {
  return async (conn: ScriptedConnection) => {
    const listener = await conn.listenPassive();
    await delay(60);
    record.push(conn.commands.at(-1) !== 'EPSV');
    await conn.send(`229 Entering Extended Passive Mode (|||${listener.port}|)`);
  };
}

describe('pipelined transfer commands', () => {
  it('the first transfer learns EPSV; later ones send RETR right behind it', BOUND, async (t) => {
    const pipelined: boolean[] = [];
    const { server, ftp } = await start(t, { files: { 'a.bin': BIG, 'b.txt': SMALL }, handlers: { EPSV: watchingEpsv(pipelined) } });
    assert.equal(sha256(await within(ftp.request('get', ['a.bin']), 5000, 'first get')), sha256(BIG));
    assert.deepEqual(await within(ftp.request('get', ['b.txt']), 5000, 'second get'), SMALL);
    assert.deepEqual(await within(ftp.request('get', ['b.txt']), 5000, 'third get'), SMALL);
    assert.deepEqual(pipelined, [false, true, true]);
    assert.deepEqual(server.commands.filter((line) => /^(EPSV|RETR)/.test(line)), ['EPSV', 'RETR a.bin', 'EPSV', 'RETR b.txt', 'EPSV', 'RETR b.txt']);
  });

  it('events of a pipelined get come in the usual order', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { files: { 'b.txt': SMALL } });
    ftp.post('get', 'b.txt');
    ftp.post('get', 'b.txt');
    await waitFor(seen, 'get_done', { count: 2 });
    const second = names(seen).slice(names(seen).indexOf('get_done') + 1);
    assert.deepEqual(second, ['get_connected', 'get_server', 'get_data', 'get_done']);
  });

  it('an upload goes behind EPSV once its source has data; the bytes arrive whole', BOUND, async (t) => {
    const pipelined: boolean[] = [];
    const { server, ftp } = await start(t, { handlers: { EPSV: watchingEpsv(pipelined) } });
    await within(ftp.upload('one.bin', BIG), 5000, 'first upload');
    await within(ftp.upload('two.bin', BIG.subarray(0, 1000)), 5000, 'second upload');
    assert.deepEqual(pipelined, [false, true]);
    assert.equal(sha256(server.uploads.get('one.bin')!), sha256(BIG));
    assert.deepEqual(server.uploads.get('two.bin'), BIG.subarray(0, 1000));
  });

  it('REST is never pipelined: a get from an offset waits for EPSV, then sends REST and RETR', BOUND, async (t) => {
    const pipelined: boolean[] = [];
    const { server, ftp } = await start(t, {
      files: { 'a.bin': BIG },
      handlers: {
        EPSV: watchingEpsv(pipelined),
        REST: (conn, cmd) => conn.send(`350 Restart position accepted (${cmd.arg}).`),
        RETR: async (conn) => {
          const rest = Number(/^REST (\d+)$/.exec(conn.commands.at(-2) ?? '')?.[1] ?? 0);
          await serveDownload(conn, BIG.subarray(rest), '150 Opening BINARY mode data connection.');
        },
      },
    }, { transferMode: 'binary' });
    await within(ftp.request('get', ['a.bin']), 5000, 'first get');
    const tail = await within(ftp.download('a.bin', { offset: 1000 }).toArray(), 5000, 'get from 1000') as Buffer[];
    assert.deepEqual(pipelined, [false, false]);
    assert.deepEqual(server.commands.slice(-3), ['EPSV', 'REST 1000', 'RETR a.bin']);
    assert.equal(sha256(tail), sha256(BIG.subarray(1000)));
  });

  it('EPSV refused on a pipelined attempt: the RETR reply behind it is read, replies stay in step', BOUND, async (t) => {
    let epsvCalls = 0;
    let freshPort = false;
    const { server, ftp } = await start(t, {
      files: { 'b.txt': SMALL },
      handlers: {
        EPSV: async (conn) => {
          epsvCalls++;
          if (epsvCalls === 2) return conn.send('425 Cannot open a passive port now.');
          const listener = await conn.listenPassive();
          freshPort = true;
          return conn.send(`229 Entering Extended Passive Mode (|||${listener.port}|)`);
        },
        RETR: async (conn, cmd) => {
          if (!freshPort) return conn.send('425 Use PORT or PASV first.');
          freshPort = false;
          return serveDownload(conn, SMALL, `150 Opening BINARY mode data connection for ${cmd.arg}.`);
        },
      },
    }, { maxCommandRetries: 0 });
    assert.deepEqual(await within(ftp.request('get', ['b.txt']), 5000, 'first get'), SMALL);
    const error = await ftp.request('get', ['b.txt']).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof ReplyError && error.replyCode === 425, String(error));
    assert.deepEqual(server.commands.slice(-2), ['EPSV', 'RETR b.txt'], 'RETR went out behind EPSV');
    const pwd = await within(ftp.request('pwd', []), 5000, 'pwd after');
    assert.equal(pwd.code, 257, 'the next command gets its own reply');
    assert.deepEqual(await within(ftp.request('get', ['b.txt']), 5000, 'third get'), SMALL);
  });

  it('the port is gone when the client connects (ProFTPD answers 550 and closes it): the 550 is the error', BOUND, async (t) => {
    let epsvCalls = 0;
    const { ftp } = await start(t, {
      files: { 'b.txt': SMALL },
      handlers: {
        EPSV: async (conn) => {
          epsvCalls++;
          const listener = await conn.listenPassive();
          if (epsvCalls === 2) await listener.close();
          return conn.send(`229 Entering Extended Passive Mode (|||${listener.port}|)`);
        },
        RETR: async (conn, cmd) => {
          if (epsvCalls === 2) return conn.send('550 Failed to open file.');
          return serveDownload(conn, SMALL, `150 Opening BINARY mode data connection for ${cmd.arg}.`);
        },
      },
    });
    await within(ftp.request('get', ['b.txt']), 5000, 'first get');
    const error = await ftp.request('get', ['missing']).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof ReplyError && error.replyCode === 550, String(error));
    assert.equal((await within(ftp.request('noop', []), 5000, 'noop after')).code, 200);
  });
});

/** Whether a command after `line` comes within `ms` (polled every 10 ms). */
async function nextCommandCame(conn: ScriptedConnection, line: string, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 10) {
    if (conn.commands.at(-1) !== line) return true;
    await delay(10);
  }
  return false;
}

/**
 * A RETR handler that honours REST and, once the data is sent, records whether the next command
 * had already come (the next transfer sent ahead of this 226). `outOfStep`: it then answers that
 * EPSV at once, before this transfer's 226, as no server here does.
 */
function aheadRetr(record: boolean[], outOfStep = false) {
  let restAt = 0;
  return {
    REST: (conn: ScriptedConnection, cmd: { arg: string }) => {
      restAt = Number(cmd.arg);
      return conn.send(`350 Restarting at ${restAt}.`);
    },
    RETR: async (conn: ScriptedConnection, cmd: { line: string; arg: string }) => {
      const file = conn.owner.files.get(cmd.arg)!;
      await conn.send(`150 Opening BINARY mode data connection for ${cmd.arg} (${file.length} bytes).`);
      await sendData(await conn.dataSocket(), file.subarray(restAt));
      restAt = 0;
      const ahead = await nextCommandCame(conn, cmd.line, 100);
      record.push(ahead);
      if (ahead && outOfStep) {
        await conn.expect(/^EPSV/);
        const listener = await conn.listenPassive();
        await conn.send(`229 Entering Extended Passive Mode (|||${listener.port}|)`, '226 Transfer complete');
        return;
      }
      await conn.send('226 Transfer complete');
    },
  };
}

describe('transfers sent ahead', () => {
  const files = { 'a.bin': BIG, 'b.txt': SMALL, 'c.txt': Buffer.from('third\n') };

  it('queued gets: each next EPSV+RETR goes out once the data has ended, before the 226; events keep their order', BOUND, async (t) => {
    const ahead: boolean[] = [];
    const { server, ftp, seen } = await start(t, { files, handlers: aheadRetr(ahead) }, { transferMode: 'binary' });
    for (const name of ['a.bin', 'b.txt', 'c.txt']) ftp.post('get', name);
    await waitFor(seen, 'get_done', { count: 3, timeoutMs: 8000 });
    const bytes = (name: string) => Buffer.concat(only(seen, 'get_data').filter((event) => event.args[1] === name).map((event) => event.args[0] as Buffer));
    assert.equal(sha256(bytes('a.bin')), sha256(BIG));
    assert.deepEqual([bytes('b.txt'), bytes('c.txt')], [SMALL, files['c.txt']]);
    assert.deepEqual(ahead, [true, true, false]);
    assert.deepEqual(server.commands.filter((line) => /^(EPSV|RETR|TYPE)/.test(line)), ['TYPE I', 'EPSV', 'RETR a.bin', 'EPSV', 'RETR b.txt', 'EPSV', 'RETR c.txt']);
    const order = seen.filter((event) => event.name.startsWith('get_') && event.name !== 'get_data').map((event) => `${event.name} ${String(event.args.at(-1))}`);
    assert.deepEqual(order, ['a.bin', 'b.txt', 'c.txt'].flatMap((name) => [`get_connected ${name}`, `get_server ${name}`, `get_done ${name}`]));
  });

  it('never across a command that is no transfer (get, size, get)', BOUND, async (t) => {
    const ahead: boolean[] = [];
    const { ftp } = await start(t, { files, handlers: aheadRetr(ahead) }, { transferMode: 'binary' });
    const results = await within(Promise.all([
      ftp.request('get', ['b.txt']), ftp.request('size', ['b.txt']), ftp.request('get', ['c.txt']),
    ]), 8000, 'get, size, get');
    assert.deepEqual([results[0], (results[1] as { code: number }).code, results[2]], [SMALL, 213, files['c.txt']]);
    assert.deepEqual(ahead, [false, false]);
  });

  it('a server that answers a transfer sent ahead out of step: reconnect, every file exact, never ahead again', BOUND, async (t) => {
    const ahead: boolean[] = [];
    const { server, ftp, seen } = await start(t, { files, handlers: aheadRetr(ahead, true) }, { transferMode: 'binary', reconnectDelay: 10 });
    const got = await within(Promise.all(['a.bin', 'b.txt', 'c.txt', 'b.txt'].map((name) => ftp.request('get', [name]))), 8000, 'gets');
    assert.equal(sha256(got[0] as Buffer), sha256(BIG));
    assert.deepEqual(got.slice(1), [SMALL, files['c.txt'], SMALL]);
    assert.equal(only(seen, 'reconnecting').length, 1, 'one reconnect');
    assert.equal(only(seen, 'get_error').length, 0);
    // After the first out-of-step answer, every transfer waits for the 226 before it.
    assert.equal(ahead[0], true);
    assert.deepEqual(ahead.slice(1), ahead.slice(1).map(() => false));
    assert.ok(server.commands.includes(`REST ${BIG.length}`), 'the interrupted get resumed where its data ended');
  });
});


/**
 * STOR that reads the upload to its FIN, then keeps its side of the data connection open while
 * it records whether the next command came meanwhile. `resetFirst`: the first upload's data
 * connection then ends with RST, and no reply comes before the client closes the connection.
 */
function holdingStor(record: boolean[], resetFirst = false) {
  return {
    STOR: async (conn: ScriptedConnection, cmd: { line: string; arg: string }) => {
      await conn.send('150 Ok to send data');
      const data = await conn.dataSocket();
      const bytes = await readData(data);
      record.push(await nextCommandCame(conn, cmd.line, 300));
      if (resetFirst && record.length === 1) {
        data.resetAndDestroy();
        await conn.waitClosed(); // no reply: the client must not wait for one, nor send ABOR behind what it sent ahead
        return;
      }
      conn.owner.uploads.set(cmd.arg, bytes);
      data.end();
      await conn.send('226 Transfer complete');
    },
  };
}

describe('uploads sent ahead at the FIN', () => {
  const VSFTPD = '220 (vsFTPd 3.0.3)';
  const payloads = [BIG, SMALL, Buffer.from('third\n')];

  it('a vsftpd greeting: the next EPSV+STOR go out at the FIN, before the server closes its side; any other: only after', BOUND, async (t) => {
    for (const greeting of [VSFTPD, '220 some other server']) {
      const ahead: boolean[] = [];
      const { server, ftp } = await start(t, { greeting, halfOpenData: true, handlers: holdingStor(ahead) }, { transferMode: 'binary' });
      await within(Promise.all(payloads.map((data, i) => ftp.upload(`u${i}.bin`, data))), 8000, `uploads (${greeting})`);
      assert.deepEqual(ahead, greeting === VSFTPD ? [true, true, false] : [false, false, false], greeting);
      payloads.forEach((data, i) => assert.equal(sha256(server.uploads.get(`u${i}.bin`)!), sha256(data), `u${i}.bin (${greeting})`));
      assert.deepEqual(server.commands.filter((line) => /^(EPSV|STOR)/.test(line)), payloads.flatMap((_, i) => ['EPSV', `STOR u${i}.bin`]));
    }
  });

  it('the data connection fails after the FIN with a transfer sent ahead: no ABOR behind it, the connection is dropped, the next upload is exact', BOUND, async (t) => {
    const ahead: boolean[] = [];
    const { server, ftp, seen } = await start(t, { greeting: VSFTPD, halfOpenData: true, handlers: holdingStor(ahead, true) }, { transferMode: 'binary', reconnectDelay: 10 });
    const results = await within(Promise.allSettled(payloads.slice(0, 2).map((data, i) => ftp.upload(`u${i}.bin`, data))), 8000, 'uploads');
    assert.equal(results[0]?.status, 'rejected', 'an upload the server never confirmed does not look successful');
    assert.match(String((results[0] as PromiseRejectedResult).reason), /ECONNRESET/);
    assert.equal(results[1]?.status, 'fulfilled');
    assert.equal(sha256(server.uploads.get('u1.bin')!), sha256(SMALL));
    assert.equal(ahead[0], true, 'u1 was sent ahead at the FIN of u0');
    assert.ok(!server.commands.includes('ABOR'), server.commands.join(', '));
    assert.equal(only(seen, 'reconnecting').length, 1);
  });
});

describe('downloadTo', () => {
  it('a function sink borrows chunks from a few reused buffers, in order, byte-exact', BOUND, async (t) => {
    const { ftp } = await start(t, { files: { 'a.bin': BIG } });
    await within(ftp.request('get', ['a.bin']), 5000, 'learn EPSV'); // borrowed reads need passive mode, known or not
    const chunks: Buffer[] = [];
    const backing = new Set<ArrayBufferLike>();
    const bytes = await within(ftp.downloadTo('a.bin', (chunk) => {
      backing.add(chunk.buffer);
      chunks.push(Buffer.from(chunk)); // a copy: the chunk itself is only lent
    }), 5000, 'downloadTo');
    assert.equal(bytes, BIG.length);
    assert.equal(sha256(chunks), sha256(BIG));
    assert.ok(backing.size <= 4, `${backing.size} distinct buffers for ${chunks.length} chunks`);
  });

  it('a chunk held by an async sink is not overwritten until the sink is done with it', BOUND, async (t) => {
    const { ftp } = await start(t, { files: { 'a.bin': BIG } });
    let at = 0;
    let mismatches = 0;
    const bytes = await within(ftp.downloadTo('a.bin', async (chunk) => {
      const start = at;
      at += chunk.length;
      const expected = sha256(BIG.subarray(start, start + chunk.length));
      await delay(2);
      if (sha256(chunk) !== expected) mismatches++;
    }), 8000, 'downloadTo');
    assert.equal(bytes, BIG.length);
    assert.equal(at, BIG.length);
    assert.equal(mismatches, 0);
  });

  it('a sink that throws stops the transfer with LocalIoError; the session goes on', BOUND, async (t) => {
    const { ftp } = await start(t, { files: { 'a.bin': BIG } });
    const error = await ftp.downloadTo('a.bin', () => { throw new Error('disk full'); }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof LocalIoError, String(error));
    assert.match((error as Error).message, /disk full/);
    assert.equal((await within(ftp.request('noop', []), 5000, 'noop after')).code, 200);
  });

  it('a Writable sink gets every byte and is ended', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { files: { 'a.bin': BIG } });
    const got: Buffer[] = [];
    let finished = false;
    const sink = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        got.push(chunk);
        setImmediate(callback);
      },
      final(callback) {
        finished = true;
        callback();
      },
    });
    assert.equal(await within(ftp.downloadTo('a.bin', sink), 8000, 'downloadTo'), BIG.length);
    assert.equal(finished, true);
    assert.equal(sha256(got), sha256(BIG));
    assert.equal(only(seen, 'get_data').length, 0, 'promise calls emit no command events');
  });
});

describe('fileSource', () => {
  it('uploads a local file byte-exact: from the start, from an offset, empty, small, around the first read\'s size', BOUND, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ftp-session-file-source-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const data = randomBytes(5 * 1024 * 1024 + 3); // more than the four 1 MiB buffers: they must be reused
    const path = join(dir, 'local.bin');
    await writeFile(path, data);
    const { server, ftp } = await start(t);
    await within(ftp.upload('whole.bin', fileSource(path)), 8000, 'upload');
    await within(ftp.upload('tail.bin', fileSource(path, { start: 4_000_000 })), 8000, 'upload from an offset');
    await writeFile(join(dir, 'empty.bin'), '');
    await writeFile(join(dir, 'small.bin'), SMALL);
    await within(ftp.upload('empty.bin', fileSource(join(dir, 'empty.bin'))), 8000, 'empty file');
    await within(ftp.upload('small.bin', fileSource(join(dir, 'small.bin'))), 8000, 'small file');
    assert.equal(server.uploads.get('empty.bin')?.length, 0);
    assert.deepEqual(server.uploads.get('small.bin'), SMALL);
    assert.equal(sha256(server.uploads.get('whole.bin')!), sha256(data));
    assert.equal(sha256(server.uploads.get('tail.bin')!), sha256(data.subarray(4_000_000)));
    // Around the size of the first read (64 KiB), which alone ends a smaller file.
    for (const size of [65_535, 65_536, 65_537, 1024 * 1024 + 65_536]) {
      const name = `edge-${size}.bin`;
      await writeFile(join(dir, name), data.subarray(0, size));
      await within(ftp.upload(name, fileSource(join(dir, name))), 8000, name);
      assert.equal(sha256(server.uploads.get(name)!), sha256(data.subarray(0, size)), name);
    }
  });

  it('a missing file fails the upload with LocalIoError before STOR is sent', BOUND, async (t) => {
    const { server, ftp } = await start(t);
    const error = await ftp.upload('x.bin', fileSource('/nonexistent/ftp-session/file')).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof LocalIoError, String(error));
    assert.equal(server.commands.some((line) => line.startsWith('STOR')), false);
  });
});
