/**
 * The promise API against the scripted server: the cases real servers will not produce on
 * demand. ABOR answered in three ways, aborting queued calls, promise/post ordering, a refused
 * first login, download backpressure down to the server's socket, a stale REST (RFC 3659 §5.3),
 * REST refused on resume (download and upload), junk SIZE and MDTM, hostile or unreadable LIST
 * lines for a recursive removeDir, a failing upload source, and hash verification (HASH, XCRC).
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  AbortError, AuthError, FtpSession, IntegrityError, LocalIoError, ProtocolError, ReplyError,
  type FileTransferResult, type TransferProgress,
} from '../../lib/index.js';
import { sha256 } from '../support/hash.js';
import {
  delay, endData, readData, scriptedServer, serveDownload, waitClosed, writePieces, type Handler, type ScriptedConnection,
} from '../support/scripted-server.js';
import { BOUND, names, only, PASSWORD, start, until, USER, waitFor } from './harness.js';

const MiB = 1024 * 1024;

/** A promise with its resolve function, for handlers and tests to meet. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => { resolve = res; });
  return { promise, resolve };
}

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** The error `promise` rejects with (bounded); fails the test when it resolves. */
async function rejection(promise: Promise<unknown>, what: string, ms = 5000): Promise<unknown> {
  try {
    const value = await within(promise, what, ms);
    assert.fail(`${what}: resolved (${JSON.stringify(value)}) where a rejection was expected`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return error;
  }
}

/** `promise`, marked handled now (so a rejection awaited later is not reported as unhandled). */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** A temporary local folder, removed after the test. */
async function localDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ftp-promises-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Leftover temporary files (`.<name>.<hex>.part`) in `dir`. */
async function partFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.part'));
}

/** Waits (bounded) until `socket` has room again or is gone; true when it drained. */
function drained(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean) => () => {
      clearTimeout(timer);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(value);
    };
    const onDrain = done(true);
    const onClose = done(false);
    const timer = setTimeout(done(false), ms);
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** The first `/\(N bytes\)/` 150 line for a RETR of `length` bytes. */
const opening = (name: string, length: number) => `150 Opening BINARY mode data connection for ${name} (${length} bytes).`;

/**
 * REST and RETR honouring REST: REST answers `restReply(offset)` (350 remembers the offset);
 * RETR is refused with `refuse(n)` for the n-th RETR (1-based) when it returns a line, else
 * serves the file from the remembered offset.
 */
function restartable(options: { restReply?: (offset: number) => string; refuse?: (n: number) => string | null } = {}): Record<string, Handler> {
  const offsets = new Map<ScriptedConnection, number>();
  let retrs = 0;
  return {
    REST: (conn, cmd) => {
      const line = options.restReply?.(Number(cmd.arg)) ?? `350 Restart position accepted (${cmd.arg}).`;
      if (line.startsWith('350')) offsets.set(conn, Number(cmd.arg));
      return conn.send(line);
    },
    RETR: (conn, cmd) => {
      const from = offsets.get(conn) ?? 0;
      offsets.delete(conn);
      const refusal = options.refuse?.(++retrs) ?? null;
      if (refusal) return conn.send(refusal);
      const file = conn.owner.files.get(cmd.arg);
      if (!file) return conn.send('550 Failed to open file.');
      return serveDownload(conn, file.subarray(from), opening(cmd.arg, file.length - from));
    },
  };
}

describe('promises: abort', () => {
  const payload = randomBytes(4321);
  for (const { label, replies } of [
    { label: '426 then 226', replies: ['426 Connection closed; transfer aborted.', '226 Closing data connection.'] },
    { label: 'only 226', replies: ['226 Abort successful.'] },
    { label: '426 then 500 (ABOR unknown)', replies: ['426 Connection closed; transfer aborted.', '500 Unknown command.'] },
  ]) {
    it(`abort during RETR, server answers ${label}: AbortError, data connection closed and ABOR sent, the next command gets its own reply`, BOUND, async (t) => {
      const written = deferred();
      const seenByServer: { dataClosedAtAbor: boolean | null; dataClosed: boolean } = { dataClosedAtAbor: null, dataClosed: false };
      const trace: string[] = [];
      const { server, ftp } = await start(t, {
        files: { 'big.bin': payload },
        handlers: {
          RETR: async (conn) => {
            await conn.send('150 Opening BINARY mode data connection for big.bin.');
            const data = await conn.dataSocket();
            await writePieces(data, randomBytes(64 * 1024)); // never ends: only the abort stops it
            written.resolve();
            await conn.expect(/^ABOR$/);
            seenByServer.dataClosedAtAbor = data.closed || data.readableEnded;
            await waitClosed(data, 2000);
            seenByServer.dataClosed = true;
            await conn.send(...replies);
          },
        },
      }, { timeout: 1000, debug: (line) => trace.push(line) });
      const controller = new AbortController();
      const pending = ftp.request('get', ['big.bin'], { signal: controller.signal });
      await within(written.promise, 'the server wrote the first data');
      const began = Date.now();
      controller.abort(new Error('the caller gave up'));
      const error = await rejection(pending, 'the aborted get');
      const took = Date.now() - began;
      assert.ok(error instanceof AbortError, `expected AbortError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_FTP_ABORTED');
      assert.equal(seenByServer.dataClosed, true, 'the client closed the data connection');

      // The next commands each get their own reply: a shifted 226/500 would be taken for SIZE's 213 and fail to parse.
      assert.equal(await within(ftp.size('big.bin'), 'size after the abort'), payload.length);
      assert.equal(await within(ftp.pwd(), 'pwd after the abort'), '/');
      // ABOR, then a NOOP whose 200 proves every reply before it (one or two) was consumed.
      const commands = server.connections[0]!.commands.slice(2);
      assert.deepEqual(commands, ['EPSV', 'RETR big.bin', 'ABOR', 'NOOP', 'TYPE I', 'SIZE big.bin', 'PWD'], JSON.stringify(trace));
      assert.equal(ftp.connectCount, 1, 'the same connection goes on, whatever the server answered to ABOR');
      assert.ok(took < 900, `rejected ${took} ms after abort(), before the 1000 ms reply timeout`);
      t.diagnostic(`${label}: rejected ${took} ms after abort(); data closed when ABOR arrived: ${seenByServer.dataClosedAtAbor}`);
    });
  }

  it('abort of a queued call: rejects at once, its command never reaches the server', BOUND, async (t) => {
    const gate = deferred();
    const { server, ftp } = await start(t, {
      files: { 'f.bin': 'abc' },
      handlers: {
        NOOP: async (conn) => {
          await within(gate.promise, 'the test opening the gate').catch(() => {});
          await conn.send('200 NOOP ok.');
        },
      },
    });
    await within(ftp.ready(), 'login');
    let noopDone = false;
    const first = ftp.request('noop', []).then((reply) => { noopDone = true; return reply; });
    const controller = new AbortController();
    const queued: Array<Promise<unknown>> = [
      quiet(ftp.size('f.bin', { signal: controller.signal })),
      quiet(ftp.request('get', ['f.bin'], { signal: controller.signal })),
      quiet(ftp.retrText('f.bin', { signal: controller.signal })),
    ];
    await until(() => server.commands.includes('NOOP'), 'NOOP reached the server');
    const began = Date.now();
    controller.abort();
    for (const [index, call] of queued.entries()) {
      const error = await rejection(call, `queued call ${index}`, 1000);
      assert.ok(error instanceof AbortError, `queued call ${index}: ${String(error)}`);
      assert.equal(error.code, 'ERR_FTP_ABORTED');
    }
    assert.ok(Date.now() - began < 500, 'rejected at once, not after the running NOOP');
    assert.equal(noopDone, false, 'the running NOOP is still waiting for its reply');
    gate.resolve();
    assert.equal((await within(first, 'the noop')).code, 200);
    assert.equal(await within(ftp.pwd(), 'pwd'), '/');
    assert.deepEqual(server.commands.slice(2), ['NOOP', 'PWD'], 'no TYPE, SIZE, EPSV or RETR of the aborted calls');
  });

  it('an already-aborted signal rejects every kind of call without sending anything', BOUND, async (t) => {
    const { server, ftp } = await start(t, { files: { 'f.bin': 'abc' } });
    const dir = await localDir(t);
    const local = join(dir, 'up.bin');
    await writeFile(local, 'local bytes');
    await within(ftp.ready(), 'login');
    const sentBefore = server.commands.length;
    const signal = AbortSignal.abort(new Error('too late'));
    const stream = ftp.download('f.bin', { signal });
    const streamFailed = new Promise<unknown>((resolve) => stream.once('error', resolve));
    const calls: Array<[string, Promise<unknown>]> = [
      ['pwd', ftp.pwd({ signal })],
      ['size', ftp.size('f.bin', { signal })],
      ['request get', ftp.request('get', ['f.bin'], { signal })],
      ['upload', ftp.upload('up.bin', 'data', { signal })],
      ['retrFile', ftp.retrFile('f.bin', join(dir, 'down.bin'), { signal })],
      ['store', ftp.store(local, 'up.bin', { signal })],
      ['download stream', within(streamFailed, 'the download stream error').then((error) => { throw error; })],
    ];
    for (const [, call] of calls) quiet(call);
    for (const [name, call] of calls) {
      const error = await rejection(call, name);
      assert.ok(error instanceof AbortError, `${name}: ${String(error)}`);
    }
    await within(ftp.request('noop', []), 'noop');
    assert.deepEqual(server.commands.slice(sentBefore), ['NOOP'], 'nothing of the aborted calls was sent');
    assert.deepEqual(await readdir(dir), ['up.bin'], 'no local file was created');
  });
});

describe('promises: ordering and login', () => {
  it('post and promise calls share one FIFO: the server sees call order; promise calls emit no command event', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    ftp.post('noop');
    assert.equal(await within(ftp.pwd(), 'pwd'), '/');
    ftp.post('syst');
    await waitFor(seen, 'syst');
    // Interleaved without awaiting in between.
    ftp.post('noop');
    const pwd = ftp.pwd();
    ftp.post('syst');
    const stat = ftp.request('stat', []);
    ftp.post('noop');
    assert.equal(await within(pwd, 'pwd'), '/');
    assert.equal((await within(stat, 'stat')).code, 211);
    await waitFor(seen, 'noop', { count: 3 });
    assert.deepEqual(server.commands.slice(2), ['NOOP', 'PWD', 'SYST', 'NOOP', 'PWD', 'SYST', 'STAT', 'NOOP']);
    const commandEvents = names(seen).filter((name) => !['connected', 'authenticated'].includes(name));
    assert.deepEqual(commandEvents, ['noop', 'syst', 'noop', 'syst', 'noop'], 'posted calls emit, promise calls (pwd, stat) do not');
    assert.equal(only(seen, 'pwd').length + only(seen, 'stat').length, 0);
  });

  it('a first login refused (530): pending promise calls and ready() reject with the AuthError, none hangs', BOUND, async (t) => {
    const { server, ftp } = await start(t, { handlers: { PASS: (conn) => conn.send('530 Login incorrect.') } });
    const calls: Array<[string, Promise<unknown>]> = [
      ['ready', ftp.ready()],
      ['pwd', ftp.pwd()],
      ['size', ftp.size('x')],
      ['request get', ftp.request('get', ['x'])],
      ['upload', ftp.upload('x', 'data')],
    ];
    for (const [, call] of calls) quiet(call);
    for (const [name, call] of calls) {
      const error = await rejection(call, name);
      assert.ok(error instanceof AuthError, `${name}: ${String(error)}`);
      assert.equal(error.code, 'ERR_FTP_AUTH');
      assert.equal(error.replyCode, 530);
    }
    assert.deepEqual(server.commands, ['USER user', 'PASS secret'], 'nothing of the calls was sent');
  });

  it('FtpSession.connect() with a refused first login rejects with AuthError and closes the session', BOUND, async (t) => {
    const server = await scriptedServer({ handlers: { PASS: (conn) => conn.send('530 Login incorrect.') } });
    t.after(async () => {
      await server.close();
      assert.deepEqual(server.errors, []);
    });
    const error = await rejection(FtpSession.connect({ ...server.address, user: USER, password: PASSWORD, timeout: 2000 }), 'connect()');
    assert.ok(error instanceof AuthError, String(error));
    assert.equal(error.replyCode, 530);
    const conn = await server.connection(0);
    await within(conn.closed, 'the session closed its control connection', 3000);
    assert.deepEqual(conn.commands.filter((line) => line !== 'QUIT'), ['USER user', 'PASS secret']);
    await delay(100);
    assert.equal(server.connections.length, 1, 'no reconnect after the refusal');
  });
});

describe('promises: download backpressure', () => {
  const SIZE = 32 * MiB;
  const payload = randomBytes(SIZE);
  const hash = sha256(payload);

  /** RETR writing `payload` as fast as the socket takes it, recording when write() says "full". */
  function fastRetr(state: { accepted: number; waiting: boolean; fullReturns: number; maxWritable: number; data: Socket | null }): Handler {
    return async (conn) => {
      await conn.send(opening('big.bin', SIZE));
      const data = await conn.dataSocket();
      state.data = data;
      for (let at = 0; at < SIZE; at += 256 * 1024) {
        const more = data.write(payload.subarray(at, at + 256 * 1024));
        state.accepted = Math.min(SIZE, at + 256 * 1024);
        state.maxWritable = Math.max(state.maxWritable, data.writableLength);
        if (more) continue;
        state.fullReturns++;
        state.waiting = true;
        const ok = await drained(data, 10_000);
        state.waiting = false;
        if (!ok) return; // the client went away; the test reports it
      }
      await endData(data, 10_000);
      await conn.send('226 Transfer complete.');
    };
  }

  /** Reads `stream`, pausing for `pauseMs` after the first chunk; `during` runs while paused. */
  async function readSlowly(stream: Readable, pauseMs: number, during: (delivered: () => number) => Promise<void>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let got = 0;
    const firstChunk = deferred();
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        got += chunk.length;
        if (chunks.length === 1) {
          stream.pause();
          firstChunk.resolve();
        }
      });
      stream.once('end', () => resolve());
      stream.once('error', reject);
    });
    ended.catch(() => {});
    await within(firstChunk.promise, 'the first chunk');
    const resumeAt = Date.now() + pauseMs;
    await during(() => got);
    await delay(Math.max(0, resumeAt - Date.now()));
    stream.resume();
    await within(ended, 'the end of the download', 20_000);
    return Buffer.concat(chunks);
  }

  it('a paused reader blocks the server-side socket; resumed, all 32 MiB arrive byte-exact', { timeout: 30_000 }, async (t) => {
    const state = { accepted: 0, waiting: false, fullReturns: 0, maxWritable: 0, data: null as Socket | null };
    const { server, ftp } = await start(t, { handlers: { RETR: fastRetr(state) } }, { timeout: 2000 });
    let delivered = 0;
    const stream = ftp.download('big.bin', { highWaterMark: 256 * 1024, onData: (chunk) => { delivered += chunk.length; } });
    let paused: { accepted: number[]; delivered: number[]; read: number[]; waiting: boolean[]; writable: number[] } | null = null;
    const bytes = await readSlowly(stream, 1000, async (read) => {
      const samples = { accepted: [] as number[], delivered: [] as number[], read: [] as number[], waiting: [] as boolean[], writable: [] as number[] };
      for (const at of [400, 900]) {
        await delay(at === 400 ? 400 : 500);
        samples.accepted.push(state.accepted);
        samples.delivered.push(delivered);
        samples.read.push(read());
        samples.waiting.push(state.waiting);
        samples.writable.push(state.data?.writableLength ?? -1);
      }
      paused = samples;
    });
    const seen = paused!;
    t.diagnostic(`while paused: server accepted ${JSON.stringify(seen.accepted)} bytes, waiting for drain ${JSON.stringify(seen.waiting)}, writableLength ${JSON.stringify(seen.writable)}; client delivered ${JSON.stringify(seen.delivered)}, read ${JSON.stringify(seen.read)}; write() returned false ${state.fullReturns} times`);
    assert.deepEqual(seen.waiting, [true, true], 'the server is blocked waiting for drain while the reader is paused');
    assert.equal(seen.accepted[0], seen.accepted[1], 'the server accepted no more bytes during the pause');
    assert.ok(seen.writable[0]! > 0, 'bytes sit in the server socket\'s write buffer');
    assert.ok(seen.accepted[1]! < SIZE / 2, `server accepted ${seen.accepted[1]} bytes: far below 32 MiB`);
    assert.equal(seen.delivered[0], seen.delivered[1], 'the session took no more data off the socket during the pause');
    assert.ok(seen.delivered[1]! < 2 * MiB, `the session buffered ${seen.delivered[1]} bytes (highWaterMark 256 KiB)`);
    assert.ok(state.fullReturns > 0);
    assert.equal(bytes.length, SIZE);
    assert.equal(sha256(bytes), hash, 'byte-exact');
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'RETR big.bin']);
  });

  it('paused 1500 ms with timeout 500: no data timeout, the transfer completes byte-exact', { timeout: 30_000 }, async (t) => {
    const state = { accepted: 0, waiting: false, fullReturns: 0, maxWritable: 0, data: null as Socket | null };
    const { server, ftp } = await start(t, { handlers: { RETR: fastRetr(state) } }, { timeout: 500 });
    const stream = ftp.download('big.bin', { highWaterMark: 256 * 1024 });
    const bytes = await readSlowly(stream, 1500, async () => {});
    assert.equal(bytes.length, SIZE);
    assert.equal(sha256(bytes), hash, 'byte-exact');
    assert.equal(await within(ftp.pwd(), 'pwd after'), '/');
    assert.equal(ftp.connectCount, 1, 'no timeout, no reconnect');
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'RETR big.bin', 'PWD']);
  });
});

describe('promises: REST', () => {
  const remote = randomBytes(5000);
  /** A local partial copy (the first 1000 bytes), older than nothing the server says (MDTM 2024). */
  async function partial(t: TestContext): Promise<{ dir: string; local: string }> {
    const dir = await localDir(t);
    const local = join(dir, 'f.bin');
    await writeFile(local, remote.subarray(0, 1000));
    return { dir, local };
  }

  it('resume order: TYPE I, SIZE, MDTM, then EPSV, then REST right before RETR; byte-exact', BOUND, async (t) => {
    const { server, ftp } = await start(t, { files: { 'f.bin': remote }, handlers: restartable() });
    const { dir, local } = await partial(t);
    const result = await within(ftp.retrFile('f.bin', local, { ifExists: 'resume' }), 'retrFile');
    assert.deepEqual(result, { status: 'done', transferred: 4000, resumedFrom: 1000, verified: 'size', attempts: 1 } satisfies FileTransferResult);
    assert.ok((await readFile(local)).equals(remote));
    assert.deepEqual(server.commands.slice(2), ['TYPE I', 'SIZE f.bin', 'MDTM f.bin', 'EPSV', 'REST 1000', 'RETR f.bin', 'SIZE f.bin']);
    assert.deepEqual(await partFiles(dir), []);
  });

  it('stale REST (RFC 3659 §5.3): REST 1000 accepted, RETR refused 550; the next plain get sends REST 0 before RETR', BOUND, async (t) => {
    const other = randomBytes(777);
    const { server, ftp } = await start(t, {
      files: { 'f.bin': remote, 'other.bin': other },
      handlers: restartable({ refuse: (n) => (n === 1 ? '550 Permission denied.' : null) }),
    });
    const { local } = await partial(t);
    const error = await rejection(ftp.retrFile('f.bin', local, { ifExists: 'resume' }), 'retrFile');
    assert.ok(error instanceof ReplyError, String(error));
    assert.equal(error.replyCode, 550);
    assert.ok((await readFile(local)).equals(remote.subarray(0, 1000)), 'the partial copy is left as it was (resume mode)');
    const bytes = await within(ftp.request('get', ['other.bin']), 'the next get');
    assert.ok(bytes.equals(other), 'the next get starts at byte 0');
    assert.deepEqual(server.commands.slice(2), [
      'TYPE I', 'SIZE f.bin', 'MDTM f.bin', 'EPSV', 'REST 1000', 'RETR f.bin', 'EPSV', 'REST 0', 'RETR other.bin',
    ]);
  });

  it('REST refused (502) on a resumed retrFile: the local file is truncated and downloaded from 0, no duplicate', BOUND, async (t) => {
    const { server, ftp } = await start(t, {
      files: { 'f.bin': remote },
      handlers: restartable({ restReply: () => '502 REST not implemented.' }),
    });
    const { dir, local } = await partial(t);
    const result = await within(ftp.retrFile('f.bin', local, { ifExists: 'resume' }), 'retrFile');
    const content = await readFile(local);
    assert.equal(content.length, remote.length, 'no appended duplicate');
    assert.ok(content.equals(remote), 'the local file equals the remote one');
    assert.equal(result.status, 'done');
    assert.equal(result.transferred, 5000, 'the whole file moved once');
    assert.equal(result.verified, 'size');
    assert.equal(result.attempts, 2);
    assert.deepEqual(server.commands.slice(2), [
      'TYPE I', 'SIZE f.bin', 'MDTM f.bin', 'EPSV', 'REST 1000', 'EPSV', 'RETR f.bin', 'SIZE f.bin',
    ]);
    assert.equal((await stat(local)).mtime.toISOString(), '2024-01-02T03:04:05.000Z', 'stamped with the remote MDTM');
    assert.deepEqual(await partFiles(dir), []);
  });

  for (const variant of [
    { label: 'REST refused (502)', restReply: () => '502 REST not implemented.', stor: null },
    { label: 'REST accepted, STOR refused (553)', restReply: null, stor: '553 Could not create file.' },
  ] as const) {
    it(`upload resume fallback, ${variant.label}: APPE from the remote SIZE; the server receives exactly the tail`, BOUND, async (t) => {
      const whole = randomBytes(300_000);
      const head = 100_000;
      const appended: Buffer[] = [];
      const { server, ftp } = await start(t, {
        handlers: {
          SIZE: (conn, cmd) => {
            const file = conn.owner.uploads.get(cmd.arg);
            return conn.send(file ? `213 ${file.length}` : '550 Could not get file size.');
          },
          REST: (conn, cmd) => conn.send(variant.restReply?.() ?? `350 Restart position accepted (${cmd.arg}).`),
          STOR: async (conn, cmd) => {
            if (variant.stor) return conn.send(variant.stor);
            return conn.send(`550 STOR ${cmd.arg}: not expected in this test.`);
          },
          APPE: async (conn, cmd) => {
            await conn.send('150 Ok to send data.');
            const bytes = await readData(await conn.dataSocket());
            appended.push(bytes);
            conn.owner.uploads.set(cmd.arg, Buffer.concat([conn.owner.uploads.get(cmd.arg) ?? Buffer.alloc(0), bytes]));
            await conn.send('226 Transfer complete.');
          },
        },
      });
      server.uploads.set('up.bin', whole.subarray(0, head));
      const dir = await localDir(t);
      const local = join(dir, 'up.bin');
      await writeFile(local, whole);
      const result = await within(ftp.store(local, 'up.bin', { ifExists: 'resume' }), 'store');
      assert.equal(appended.length, 1, 'one APPE');
      assert.ok(appended[0]!.equals(whole.subarray(head)), `APPE carried exactly the tail (${appended[0]!.length} bytes)`);
      assert.ok(server.uploads.get('up.bin')!.equals(whole), 'the remote file is complete');
      assert.deepEqual(result, { status: 'done', transferred: whole.length - head, resumedFrom: head, verified: 'size', attempts: 1 } satisfies FileTransferResult);
      const commands = server.commands.slice(2);
      assert.deepEqual(commands.slice(0, 4), ['TYPE I', 'SIZE up.bin', 'EPSV', `REST ${head}`]);
      assert.equal(commands.at(-1), 'SIZE up.bin');
      assert.equal(commands.at(-2), 'APPE up.bin');
      assert.equal(commands.filter((line) => line.startsWith('APPE')).length, 1);
      if (variant.stor) assert.ok(commands.includes('STOR up.bin'));
      else assert.equal(commands.includes('STOR up.bin'), false, 'no STOR after the refused REST');
    });
  }
});

describe('promises: junk replies and hostile names', () => {
  const file = randomBytes(50_000);
  for (const junk of ['213 file: 213, Size =51', '213 99999999999999999999']) {
    it(`SIZE '${junk}' and MDTM '213 2003040a102659': retrFile works; total undefined until the 150's (N bytes); no NaN`, BOUND, async (t) => {
      const trace: string[] = [];
      const { server, ftp } = await start(t, {
        handlers: {
          SIZE: (conn) => conn.send(junk),
          MDTM: (conn) => conn.send('213 2003040a102659'),
          RETR: async (conn) => {
            await delay(150); // progress ticks before the 150 arrives
            await conn.send(opening('f.bin', file.length));
            const data = await conn.dataSocket();
            await writePieces(data, file, { pieceSize: 5000, delayMs: 25 });
            await endData(data);
            await conn.send('226 Transfer complete.');
          },
        },
      }, { debug: (line) => trace.push(line) });
      const dir = await localDir(t);
      const local = join(dir, 'f.bin');
      const reports: TransferProgress[] = [];
      const outcome = await within(ftp.retrFile('f.bin', local, { onProgress: (p) => reports.push({ ...p }), progressInterval: 20 }), 'retrFile')
        .then((result) => ({ result, error: null }), (error: unknown) => ({ result: null, error }));
      // Progress first (it is reported whatever the outcome), then the outcome.
      for (const report of reports) {
        for (const [key, value] of Object.entries(report)) {
          assert.ok(value === undefined || Number.isFinite(value), `${key} = ${String(value)} in ${JSON.stringify(report)}`);
        }
      }
      const firstKnown = reports.findIndex((report) => report.total !== undefined);
      assert.ok(firstKnown > 0, `reports before the 150 have no total: ${JSON.stringify(reports.slice(0, 3))}`);
      assert.ok(reports.slice(0, firstKnown).every((report) => report.total === undefined && report.percent === undefined && report.etaSeconds === undefined));
      assert.ok(reports.slice(firstKnown).every((report) => report.total === file.length), 'the total is the 150\'s (N bytes) from then on');
      const protocol = trace.filter((line) => /(>>>|<<<) /.test(line)).map((line) => line.replace(/^FtpSession#\d+/, ''));
      assert.equal(outcome.error, null, `retrFile rejected with ${String(outcome.error)}; protocol trace ${JSON.stringify(protocol)}`);
      const { result } = outcome;
      assert.ok((await readFile(local)).equals(file), 'byte-exact');
      assert.equal(result!.status, 'done');
      assert.notEqual(result!.verified, 'size', 'a SIZE that cannot be read verified nothing');
      assert.deepEqual({ ...reports.at(-1)!, bytesPerSecond: 0 }, { bytes: file.length, total: file.length, percent: 100, bytesPerSecond: 0, etaSeconds: 0 });
      assert.deepEqual(server.commands.slice(2, 6), ['TYPE I', 'SIZE f.bin', 'MDTM f.bin', 'EPSV']);
      assert.deepEqual(await partFiles(dir), []);
    });
  }

  const unixLine = (name: string) => `-rw-r--r--    1 ftp      ftp             5 Jan  1  2024 ${name}`;
  const hostile = [['../evil'], ['/etc/x'], ['a/b'], ['dir/../../etc/passwd'], ['ok.txt', '../evil', 'sub']];
  for (const listing of [...hostile.map((names) => names.map(unixLine)), ['../evil'], ['ok.txt', 'not a listing line']]) {
    it(`removeDir(dir, {recursive}) without MLST, LIST gives ${JSON.stringify(listing)}: ProtocolError, no DELE/RMD at all`, BOUND, async (t) => {
      const { server, ftp } = await start(t, { listing });
      const error = await rejection(ftp.removeDir('dir', { recursive: true }), 'removeDir');
      assert.ok(error instanceof ProtocolError, String(error));
      const removals = server.commands.filter((line) => /^(DELE|RMD)\b/.test(line));
      assert.deepEqual(removals, [], 'nothing removed: the listing is refused before any removal');
      assert.deepEqual(server.commands.slice(2), ['FEAT', 'EPSV', 'LIST -a dir']);
    });
  }
});

describe('promises: upload source failure', () => {
  it('a Readable that errors after 100 KiB: upload rejects with LocalIoError; ABOR or a broken data connection, never a success', BOUND, async (t) => {
    const received = deferred<{ bytes: number; how: 'end' | 'close'; abor: boolean; finalReply: string }>();
    const { server, ftp } = await start(t, {
      handlers: {
        STOR: async (conn) => {
          await conn.send('150 Ok to send data.');
          const data = await conn.dataSocket();
          let how: 'end' | 'close' = 'close';
          data.once('end', () => { how = 'end'; });
          const bytes = await readData(data);
          // A real server: ABOR now gets 426 + 226; without ABOR, an EOF (FIN) looks like a complete file.
          const next = await conn.nextCommand(1000).catch(() => null);
          const abor = next?.verb === 'ABOR';
          const finalReply = abor || how === 'close' ? '426 Connection closed; transfer aborted.' : '226 Transfer complete.';
          await conn.send(finalReply, ...(abor ? ['226 Abort successful.'] : []));
          received.resolve({ bytes: bytes.length, how, abor, finalReply });
        },
      },
    });
    let produced = 0;
    const source = new Readable({
      read() {
        setTimeout(() => {
          if (produced >= 100 * 1024) {
            this.destroy(new Error('EIO: the local disk failed'));
            return;
          }
          produced += 10 * 1024;
          this.push(Buffer.alloc(10 * 1024, 7));
        }, 10);
      },
    });
    const error = await rejection(ftp.upload('up.bin', source), 'upload');
    assert.ok(error instanceof LocalIoError, String(error));
    assert.equal(error.code, 'ERR_FTP_LOCAL_IO');
    assert.match(error.message, /EIO: the local disk failed/);
    const seen = await within(received.promise, 'the STOR handler');
    t.diagnostic(JSON.stringify(seen));
    assert.ok(seen.abor || seen.how === 'close', `the server got ABOR or a broken data connection (got ${JSON.stringify(seen)})`);
    assert.equal(produced, 100 * 1024);
    assert.ok(seen.bytes <= produced, `${seen.bytes} bytes: at most the ${produced} bytes the source produced`);
    assert.equal(await within(ftp.pwd(), 'pwd after'), '/', 'the session goes on, replies in step');
    const commands = server.commands.slice(2);
    assert.deepEqual(commands.filter((line) => line !== 'ABOR'), ['EPSV', 'STOR up.bin', 'NOOP', 'PWD'], 'the NOOP after ABOR resynchronises the replies');
  });

  it('a source that fails before anything was sent: LocalIoError and no STOR', BOUND, async (t) => {
    const { server, ftp } = await start(t);
    await within(ftp.ready(), 'login');
    const source = new Readable({ read() { this.destroy(new Error('ENOENT: gone')); } });
    const error = await rejection(ftp.upload('up.bin', source), 'upload');
    assert.ok(error instanceof LocalIoError, String(error));
    await within(ftp.request('noop', []), 'noop');
    assert.equal(server.commands.some((line) => /^(STOR|APPE)\b/.test(line)), false);
    assert.equal(server.uploads.size, 0);
  });
});

describe('promises: hash verification', () => {
  const content = randomBytes(70_000);
  const digest = createHash('sha256').update(content).digest('hex');
  const feat = (...lines: string[]): Handler => (conn) => conn.send('211-Features:', ...lines.map((line) => ` ${line}`), '211 End');

  it("FEAT 'HASH SHA-1;SHA-256*': verify 'hash' sends HASH path (no OPTS, SHA-256 is selected) and compares", BOUND, async (t) => {
    const { server, ftp } = await start(t, {
      files: { 'f.bin': content },
      handlers: {
        FEAT: feat('EPSV', 'SIZE', 'HASH SHA-1;SHA-256*'),
        HASH: (conn, cmd) => conn.send(`213 SHA-256 0-${content.length} ${digest} ${cmd.arg}`),
      },
    });
    const dir = await localDir(t);
    const local = join(dir, 'f.bin');
    const result = await within(ftp.retrFile('f.bin', local, { verify: 'hash' }), 'retrFile');
    assert.equal(result.verified, 'HASH SHA-256');
    assert.ok((await readFile(local)).equals(content));
    const commands = server.commands.slice(2);
    assert.deepEqual(commands.filter((line) => /^(FEAT|OPTS|HASH|X)/.test(line)), ['FEAT', 'HASH f.bin']);
    assert.deepEqual(await partFiles(dir), []);
  });

  for (const ifExists of ['overwrite', 'resume'] as const) {
    it(`a wrong HASH with onMismatch 'throw', ifExists '${ifExists}': IntegrityError (method HASH SHA-256); the copy is kept under its final name, no .part left`, BOUND, async (t) => {
      const { server, ftp } = await start(t, {
        files: { 'f.bin': content },
        handlers: {
          FEAT: feat('EPSV', 'SIZE', 'HASH SHA-1;SHA-256*'),
          HASH: (conn, cmd) => conn.send(`213 SHA-256 0-${content.length} ${'0'.repeat(64)} ${cmd.arg}`),
        },
      });
      const dir = await localDir(t);
      const local = join(dir, 'f.bin');
      const error = await rejection(ftp.retrFile('f.bin', local, { verify: 'hash', onMismatch: 'throw', ifExists }), 'retrFile');
      assert.ok(error instanceof IntegrityError, String(error));
      assert.equal(error.code, 'ERR_FTP_INTEGRITY');
      assert.equal(error.method, 'HASH SHA-256');
      assert.match(error.message, /differs/);
      assert.equal(server.commands.filter((line) => line.startsWith('RETR')).length, 1, "'throw' does not transfer again");
      // 'throw' keeps the complete but unverified copy under its final name for the caller to inspect.
      assert.deepEqual(await readdir(dir), ['f.bin']);
      assert.ok((await readFile(local)).equals(content), 'the copy stays as received');
    });
  }

  it("FEAT with XCRC only: verify 'hash' on a store uses XCRC", BOUND, async (t) => {
    const { server, ftp } = await start(t, {
      handlers: {
        FEAT: feat('EPSV', 'SIZE', 'XCRC'),
        SIZE: (conn, cmd) => {
          const stored = conn.owner.uploads.get(cmd.arg);
          return conn.send(stored ? `213 ${stored.length}` : '550 Could not get file size.');
        },
        XCRC: (conn, cmd) => {
          const stored = conn.owner.uploads.get(cmd.arg);
          if (!stored) return conn.send('550 No such file.');
          return conn.send(`250 ${crc32(stored).toString(16).toUpperCase().padStart(8, '0')}`);
        },
      },
    });
    const dir = await localDir(t);
    const local = join(dir, 'up.bin');
    await writeFile(local, content);
    await utimes(local, new Date(), new Date());
    const result = await within(ftp.store(local, 'up.bin', { verify: 'hash' }), 'store');
    assert.equal(result.verified, 'XCRC');
    assert.equal(result.status, 'done');
    const commands = server.commands.slice(2);
    const stor = commands.find((line) => line.startsWith('STOR '))!;
    const temp = stor.slice(5);
    assert.match(temp, /^\.up\.bin\.[0-9a-f]+\.part$/);
    assert.ok(server.uploads.get(temp)!.equals(content));
    assert.deepEqual(commands.filter((line) => /^(FEAT|OPTS|HASH|XCRC|RNFR|RNTO)/.test(line)), ['FEAT', `XCRC ${temp}`, `RNFR ${temp}`, 'RNTO up.bin']);
  });
});
