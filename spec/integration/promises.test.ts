/**
 * The promise layer on real servers (vsftpd, ProFTPD, Pure-FTPd), passive mode: every Nim-style
 * call (checked against the files on the server's disk), `request`, promise calls mixed with
 * posted commands, the session's and a call's transfer type (via the `debug` trace), download
 * and upload streams (backpressure measured in memory, bytes by sha256), and aborting a
 * running download, a queued call and a running upload. File transfers (retrFile/store) are in
 * files.test.ts. Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AbortError, FtpSession, ReplyError } from '../../lib/index.js';
import { drain, sha256 } from '../support/hash.js';
import { openTraced as open, rejectsWith, sent, tail, within, type Traced } from '../support/traced.js';
import { SERVER_KINDS, startServer, writeFixture, type RunningServer, type ServerKind } from '../support/servers.js';

const MiB = 1024 * 1024;
const BIG = randomBytes(64 * MiB);
const BIG_HASH = sha256(BIG);
const STREAMED = randomBytes(48 * MiB);
const SMALL = Buffer.from('small file\r\nwith two lines\n');
const LF_TEXT = 'one\ntwo\nthree\n';
const MTIME = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
/** SITE CHMOD: vsftpd never allows it to anonymous users (550); ProFTPD and Pure-FTPd do. */
const CHMOD_ALLOWED: Record<ServerKind, boolean> = { vsftpd: false, proftpd: true, pureftpd: true };

/** A forced GC (V8's flag set at run time), so the memory samples count live buffers, not garbage. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const isAbort = (error: unknown): boolean => error instanceof AbortError && error.code === 'ERR_FTP_ABORTED';

/** Asserts that `promise` rejects with an AbortError (code ERR_FTP_ABORTED); else fails with the end of the trace. */
const rejectsAborted = (promise: Promise<unknown>, trace: readonly string[]): Promise<void> =>
  rejectsWith(promise, isAbort, 'an AbortError (ERR_FTP_ABORTED)', trace);
const isReplyError = (code: number) => (error: unknown): boolean => error instanceof ReplyError && error.replyCode === code;

/** Records the session's `reconnecting` events (their reason) until stop(). */
function watchReconnects(ftp: FtpSession): { seen: string[]; stop: () => void } {
  const seen: string[] = [];
  const listener = (...args: unknown[]) => seen.push(args.map(String).join(' '));
  const on = ftp.on.bind(ftp) as (name: string, l: (...a: unknown[]) => void) => void;
  const off = ftp.off.bind(ftp) as (name: string, l: (...a: unknown[]) => void) => void;
  on('reconnecting', listener);
  return { seen, stop: () => off('reconnecting', listener) };
}

/** A Writable that takes `bytesPerSecond` at most (each write's callback waits until the pace allows it), hashing what it gets. */
function pacedSink(bytesPerSecond: number): { sink: Writable; result: () => { hash: string; length: number } } {
  const hash = createHash('sha256');
  const start = performance.now();
  let length = 0;
  const sink = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      length += chunk.length;
      setTimeout(callback, Math.max(0, start + (length / bytesPerSecond) * 1000 - performance.now()));
    },
  });
  return { sink, result: () => ({ hash: hash.digest('hex'), length }) };
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;

for (const kind of SERVER_KINDS) {
  describe(kind, { timeout: 180_000 }, () => {
    let server: RunningServer;
    let session: Traced;
    let local: string;
    const up = (name: string): string => `${server.uploadDir}/${name}`;
    const onDisk = (path: string): string => join(server.root, path.replace(/^\/+/, ''));

    before(async () => {
      server = await startServer(kind);
      await writeFixture(server, 'small.txt', SMALL);
      await writeFixture(server, 'lf.txt', Buffer.from(LF_TEXT));
      await writeFixture(server, 'big.bin', BIG);
      await writeFixture(server, 'streamed.bin', STREAMED);
      await writeFixture(server, 'dir/sub/inner.txt', Buffer.from('inner'));
      await utimes(onDisk('small.txt'), MTIME, MTIME);
      local = await mkdtemp(join(tmpdir(), `ftp-session-promises-${kind}-`));
      session = await open(server);
    });
    after(async () => {
      await session?.ftp.close();
      await server?.stop();
      if (local) await rm(local, { recursive: true, force: true });
    });

    it('pwd, cd, cdup, size, mdtm and features', async () => {
      const { ftp, trace } = session;
      assert.equal(await ftp.pwd(), '/');
      assert.equal((await ftp.cd('dir/sub')).code, 250);
      assert.equal(await ftp.pwd(), '/dir/sub');
      assert.ok([200, 250].includes((await ftp.cdup()).code));
      assert.equal(await ftp.pwd(), '/dir');
      await assert.rejects(ftp.cd('no-such-dir'), isReplyError(550));
      assert.equal(await ftp.pwd(), '/dir', 'a refused CWD leaves the directory');
      await ftp.cd('/');
      assert.equal(await ftp.size('small.txt'), SMALL.length);
      assert.equal(await ftp.size('big.bin'), BIG.length);
      await assert.rejects(ftp.size('no-such-file'), isReplyError(550));
      assert.equal((await ftp.mdtm('small.txt')).getTime(), MTIME.getTime());
      const features = await ftp.features();
      assert.ok(features.has('SIZE') && features.has('MDTM'), `FEAT: ${[...features.keys()].join(' ')}`);
      assert.equal(await ftp.features(), features, 'cached');
      assert.equal(sent(trace).filter((line) => line === 'FEAT').length, 1, 'FEAT is asked once per session');
    });

    it('rename and removeFile, checked on disk', async () => {
      const { ftp } = session;
      await writeFixture(server, up('before.txt'), Buffer.from('renamed'));
      assert.equal((await ftp.rename(up('before.txt'), up('after.txt'))).code, 250);
      assert.equal(existsSync(onDisk(up('before.txt'))), false);
      assert.equal(await readFile(onDisk(up('after.txt')), 'utf8'), 'renamed');
      await assert.rejects(ftp.rename(up('no-such-file'), up('x.txt')), isReplyError(550));
      assert.equal((await ftp.removeFile(up('after.txt'))).code, 250);
      assert.equal(existsSync(onDisk(up('after.txt'))), false);
      await assert.rejects(ftp.removeFile(up('after.txt')), isReplyError(550));
    });

    it('createDir: recursive with a leading /, twice, existing without recursive, missing parent', async () => {
      const { ftp } = session;
      const deep = `/${up('made/a/b')}`;
      await ftp.createDir(deep, { recursive: true });
      assert.ok((await stat(onDisk(deep))).isDirectory());
      await ftp.createDir(deep, { recursive: true }); // again: it exists, success
      await ftp.createDir(`/${up('made/a')}`); // not recursive, exists: success
      await ftp.createDir(up('made/c')); // relative, not recursive, new
      assert.ok((await stat(onDisk(up('made/c')))).isDirectory());
      await assert.rejects(ftp.createDir(up('made/none/x')), isReplyError(550), 'no parent and not recursive');
      assert.equal(existsSync(onDisk(up('made/none'))), false);
      await ftp.cd(`/${server.uploadDir}`);
      await ftp.createDir('made/a/b/c', { recursive: true }); // relative to the working directory
      assert.ok((await stat(onDisk(up('made/a/b/c')))).isDirectory());
      await ftp.cd('/');
    });

    it('removeDir: plain, refused when not empty, recursive over a tree', async () => {
      const { ftp } = session;
      await ftp.createDir(up('plain'));
      await ftp.removeDir(up('plain'));
      assert.equal(existsSync(onDisk(up('plain'))), false);
      await assert.rejects(ftp.removeDir(up('plain')), isReplyError(550));

      await writeFixture(server, up('tree/a.txt'), Buffer.from('a'));
      await writeFixture(server, up('tree/b.bin'), randomBytes(1000));
      await writeFixture(server, up('tree/sub/c.txt'), Buffer.from('c'));
      await writeFixture(server, up('tree/sub/deeper/d.txt'), Buffer.from('d'));
      await ftp.createDir(up('tree/sub/empty'));
      await assert.rejects(ftp.removeDir(up('tree')), ReplyError, 'RMD of a folder with files');
      assert.ok(existsSync(onDisk(up('tree/sub/deeper/d.txt'))));
      await ftp.removeDir(`/${up('tree')}`, { recursive: true });
      assert.equal(existsSync(onDisk(up('tree'))), false);
      assert.ok(existsSync(onDisk(server.uploadDir)), 'the parent stays');
    });

    it(`chmod with a number and a permission set (${CHMOD_ALLOWED[kind] ? 'allowed' : 'refused: anonymous'})`, async () => {
      const { ftp } = session;
      const file = up('mode.txt');
      await writeFixture(server, file, Buffer.from('m'));
      assert.equal(await mode(onDisk(file)), 0o644);
      if (!CHMOD_ALLOWED[kind]) {
        await assert.rejects(ftp.chmod(file, 0o600), isReplyError(550));
        await assert.rejects(ftp.chmod(file, { user: 'rw' }), isReplyError(550));
        assert.equal(await mode(onDisk(file)), 0o644);
        return;
      }
      assert.equal((await ftp.chmod(file, 0o600)).code, 200);
      assert.equal(await mode(onDisk(file)), 0o600);
      assert.equal((await ftp.chmod(file, { user: 'rwx', group: 'rx', other: 'r' })).code, 200);
      assert.equal(await mode(onDisk(file)), 0o754);
      await ftp.chmod(file, { user: 'rw', group: '' });
      assert.equal(await mode(onDisk(file)), 0o600);
      await assert.rejects(ftp.chmod(up('no-such-file'), 0o644), ReplyError);
    });

    it('existsFile: a file in another directory, a missing file, a directory', async () => {
      const { ftp } = session;
      await ftp.cd(`/${server.uploadDir}`);
      try {
        assert.equal(await ftp.existsFile('/dir/sub/inner.txt'), true);
        assert.equal(await ftp.existsFile('/small.txt'), true);
        assert.equal(await ftp.existsFile('/dir/sub/missing.txt'), false);
        assert.equal(await ftp.existsFile('/dir/sub'), false);
        assert.equal(await ftp.existsFile('/dir'), false);
      } finally {
        await ftp.cd('/');
      }
      assert.equal(await ftp.existsFile('dir/sub/inner.txt'), true);
    });

    it('listDirs (no empty, . or .. names) and list (text ending in newline)', async () => {
      const { ftp } = session;
      const names = await ftp.listDirs();
      for (const name of ['small.txt', 'big.bin', 'dir', server.uploadDir]) assert.ok(names.includes(name), `NLST: ${names.join(' | ')}`);
      assert.ok(names.every((name) => name.trim() !== '' && name !== '.' && name !== '..'), `NLST: ${JSON.stringify(names)}`);
      const inDir = await ftp.listDirs('dir');
      assert.deepEqual(inDir.map((name) => name.split('/').pop()), ['sub'], `NLST dir: ${JSON.stringify(inDir)}`);
      await ftp.createDir(up('nothing-inside'));
      assert.deepEqual(await ftp.listDirs(up('nothing-inside')), [], 'an empty folder: no entries at all');

      const text = await ftp.list();
      assert.equal(typeof text, 'string');
      assert.ok(text.endsWith('\n') && !text.includes('\r'), JSON.stringify(text.slice(-80)));
      const lines = text.slice(0, -1).split('\n');
      assert.ok(lines.every((line) => line !== ''), 'no empty line');
      assert.ok(lines.some((line) => / small\.txt$/.test(line)), text);
      assert.match(await ftp.list('dir/sub'), / inner\.txt\n$/);
    });

    it('retrText, request(get), request(nlst) and a simple request', async () => {
      const { ftp } = session;
      assert.equal(await ftp.retrText('small.txt'), SMALL.toString('utf8'));
      const bytes = await ftp.request('get', ['small.txt']);
      assert.ok(Buffer.isBuffer(bytes));
      assert.deepEqual(bytes, SMALL);
      assert.equal(sha256(await ftp.request('get', ['big.bin'])), BIG_HASH);
      const lines = await ftp.request('nlst', ['dir/sub']); // raw: Pure-FTPd lists . and .. too
      assert.deepEqual(lines.map((name) => name.split('/').pop()).filter((name) => name !== '.' && name !== '..'), ['inner.txt']);
      const pwd = await ftp.request('pwd', []);
      assert.deepEqual([pwd.code, pwd.value], [257, '/']);
      await assert.rejects(ftp.request('get', ['no-such-file']), isReplyError(550));
    });

    it('promise calls and posted commands keep their order; promise calls emit no command events', async () => {
      const { ftp } = session;
      const order: string[] = [];
      const onCd = (code: number) => order.push(`event cd ${code}`);
      const onPwd = (...args: unknown[]) => order.push(`event pwd ${String(args[3])}`);
      const onSize = () => order.push('event size');
      ftp.on('cd', onCd);
      ftp.on('pwd', onPwd);
      ftp.on('size', onSize);
      try {
        ftp.post('cd', 'dir');
        const a = ftp.pwd().then((dir) => order.push(`promise pwd ${dir}`));
        ftp.post('cd', 'sub');
        ftp.post('pwd');
        const b = ftp.size('inner.txt').then((size) => order.push(`promise size ${size}`));
        ftp.post('cd', '/');
        const c = ftp.pwd().then((dir) => order.push(`promise pwd ${dir}`));
        await within(Promise.all([a, b, c]), 10_000, 'the mixed calls');
      } finally {
        ftp.off('cd', onCd);
        ftp.off('pwd', onPwd);
        ftp.off('size', onSize);
      }
      assert.deepEqual(order, [
        'event cd 250', 'promise pwd /dir', 'event cd 250', 'event pwd /dir/sub', 'promise size 5', 'event cd 250', 'promise pwd /',
      ]);
    });

    it("transferMode: an 'ascii' session sends TYPE A for retrText; a call's 'binary' sends TYPE I", async () => {
      const { ftp, trace } = await open(server, { transferMode: 'ascii' });
      try {
        // All three convert LF to CRLF in TYPE A (vsftpd only with ascii_download_enable, set in its config).
        assert.equal(await ftp.retrText('lf.txt'), LF_TEXT.replace(/\n/g, '\r\n'));
        const ascii = sent(trace);
        assert.ok(ascii.indexOf('TYPE A') >= 0 && ascii.indexOf('TYPE A') < ascii.indexOf('RETR lf.txt'), ascii.join(' | '));

        const from = trace.length;
        const target = join(local, 'lf-binary.txt');
        const result = await ftp.retrFile('lf.txt', target, { transferMode: 'binary' });
        assert.equal(await readFile(target, 'utf8'), LF_TEXT, 'binary: the bytes as stored');
        assert.equal(result.verified, 'size');
        const binary = sent(trace, from);
        assert.ok(binary.includes('TYPE I') && binary.indexOf('TYPE I') < binary.indexOf('RETR lf.txt'), binary.join(' | '));
        assert.ok(!binary.includes('TYPE A'), binary.join(' | '));

        const again = trace.length;
        assert.equal(await ftp.retrText('lf.txt'), LF_TEXT.replace(/\n/g, '\r\n'), 'the session type comes back');
        const back = sent(trace, again);
        assert.ok(back.indexOf('TYPE A') >= 0 && back.indexOf('TYPE A') < back.indexOf('RETR lf.txt'), back.join(' | '));
      } finally {
        await ftp.close();
      }
    });

    it('download() into a slow Writable: backpressure keeps memory flat, bytes exact', async () => {
      const { ftp } = session;
      const rate = 24e6; // bytes per second: 48 MiB take ~2.1 s
      // The server sends the whole file in well under 0.5 s on loopback, so a download without
      // backpressure holds most of the 48 MiB in memory while the sink is still at a few MiB:
      // growth well above 30 MiB. With backpressure it stays near the stream's 1 MiB highWaterMark
      // (~2.5 MiB measured). GC is forced before each sample, so only live buffers count.
      const bound = 16 * MiB;
      gc();
      const base = process.memoryUsage();
      let peakBuffers = 0;
      let peakRss = 0;
      let samples = 0;
      const sampler = setInterval(() => {
        gc();
        const now = process.memoryUsage();
        samples++;
        peakBuffers = Math.max(peakBuffers, now.arrayBuffers - base.arrayBuffers);
        peakRss = Math.max(peakRss, now.rss - base.rss);
      }, 50);
      const started = performance.now();
      const { sink, result } = pacedSink(rate);
      try {
        await pipeline(ftp.download('streamed.bin'), sink);
      } finally {
        clearInterval(sampler);
      }
      const elapsed = performance.now() - started;
      const got = result();
      assert.equal(got.length, STREAMED.length);
      assert.equal(got.hash, sha256(STREAMED));
      assert.ok(elapsed > 0.9 * (STREAMED.length / rate) * 1000, `paced: ${elapsed} ms`);
      assert.ok(samples >= 20, `samples: ${samples}`);
      const report = `arrayBuffers +${(peakBuffers / MiB).toFixed(1)} MiB, rss +${(peakRss / MiB).toFixed(1)} MiB over ${samples} samples`;
      assert.ok(peakBuffers < bound, report);
    });

    it('upload() from a Readable, a Buffer and a string, byte-exact on disk', async () => {
      const { ftp } = session;
      const data = randomBytes(5 * MiB + 7);
      const sizes = [1, 1000, 65_536, 65_537, 3 * MiB, 123_456];
      async function* pieces(): AsyncGenerator<Buffer> {
        let at = 0;
        for (let i = 0; at < data.length; i++) {
          const size = sizes[i % sizes.length]!;
          yield data.subarray(at, at + size);
          at += size;
        }
      }
      await ftp.upload(up('from-readable.bin'), Readable.from(pieces()));
      assert.equal(sha256(await readFile(onDisk(up('from-readable.bin')))), sha256(data));
      await ftp.upload(up('from-iterable.bin'), pieces());
      assert.equal(sha256(await readFile(onDisk(up('from-iterable.bin')))), sha256(data));
      await ftp.upload(up('from-buffer.bin'), BIG);
      assert.equal(sha256(await readFile(onDisk(up('from-buffer.bin')))), BIG_HASH);
      const text = 'héllo wörld ✓\r\nline two\n'.repeat(1000);
      await ftp.upload(up('from-string.txt'), text);
      assert.deepEqual(await readFile(onDisk(up('from-string.txt'))), Buffer.from(text, 'utf8'));
      await ftp.upload(up('empty.bin'), Buffer.alloc(0));
      assert.equal((await stat(onDisk(up('empty.bin')))).size, 0);
      await ftp.upload(up('from-string.txt'), '!', { command: 'appe' });
      assert.deepEqual(await readFile(onDisk(up('from-string.txt'))), Buffer.from(`${text}!`, 'utf8'));
    });

    it('aborting a download mid-transfer rejects AbortError; the session goes on at once', async () => {
      const { ftp, trace } = await open(server); // its own session: a stuck one must not hold up the next tests
      try {
        const from = trace.length;
        const reconnects = watchReconnects(ftp);
        const controller = new AbortController();
        let seen = 0;
        const stream = ftp.download('big.bin', {
          signal: controller.signal,
          onData: (chunk) => { seen += chunk.length; if (seen >= 8 * MiB) controller.abort(); },
        });
        await rejectsAborted(within(drain(stream), 5_000, 'the aborted download'), trace);
        assert.ok(seen >= 8 * MiB && seen < BIG.length, `received ${seen}`);
        assert.ok(sent(trace, from).includes('ABOR'), tail(trace));
        // At once: not after the reply timeout (10 s here) and a reconnect.
        assert.equal(await within(ftp.size('big.bin'), 5_000, 'SIZE after the aborted download', trace), BIG.length);
        const target = join(local, 'after-abort.bin');
        const result = await ftp.retrFile('big.bin', target);
        assert.deepEqual([result.status, result.transferred], ['done', BIG.length]);
        assert.equal(sha256(await readFile(target)), BIG_HASH);

        // Leaving a download stream early (destroy) aborts too, and the session goes on.
        let read = 0;
        for await (const chunk of ftp.download('big.bin')) {
          read += (chunk as Buffer).length;
          if (read >= 4 * MiB) break;
        }
        assert.equal(await within(ftp.pwd(), 5_000, 'PWD after a destroyed download', trace), '/');
        assert.equal((await drain(ftp.download('big.bin'))).hash, BIG_HASH);
        reconnects.stop();
        assert.deepEqual(reconnects.seen, [], 'no reconnect');
      } finally {
        await ftp.close();
      }
    });

    it('aborting a call queued behind a running download rejects at once and sends nothing', async () => {
      const { ftp, trace } = session;
      const from = trace.length;
      let started!: () => void;
      const running = new Promise<void>((resolve) => { started = resolve; });
      // Never read until the end of the test: backpressure keeps the download running meanwhile.
      const stream = ftp.download('big.bin', { highWaterMark: 64 * 1024, onStart: () => started() });
      await within(running, 10_000, 'the 150 reply of the download');
      const controller = new AbortController();
      const queued = ftp.size('small.txt', { signal: controller.signal });
      const alreadyAborted = ftp.mdtm('small.txt', { signal: AbortSignal.abort() });
      const t0 = performance.now();
      controller.abort();
      await rejectsAborted(queued, trace);
      await rejectsAborted(alreadyAborted, trace);
      assert.ok(performance.now() - t0 < 1000, `rejected after ${performance.now() - t0} ms`);
      assert.equal(stream.readableEnded, false, 'the download is still running');
      assert.equal((await within(drain(stream), 20_000, 'the held download')).hash, BIG_HASH);
      assert.equal(await ftp.pwd(), '/');
      const commands = sent(trace, from);
      assert.ok(!commands.some((line) => line === 'SIZE small.txt' || line === 'MDTM small.txt'), commands.join(' | '));
    });

    it('aborting an upload mid-transfer rejects AbortError; the session goes on at once', async () => {
      const { ftp, trace } = session;
      const from = trace.length;
      const reconnects = watchReconnects(ftp);
      const controller = new AbortController();
      const chunk = randomBytes(MiB);
      let produced = 0;
      async function* slowSource(): AsyncGenerator<Buffer> {
        for (let i = 0; i < 512; i++) { // bounded: 512 MiB at most (about 2.5 s at this pace)
          produced += chunk.length;
          yield chunk;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      let flushed = 0;
      const upload = ftp.upload(up('aborted-upload.bin'), slowSource(), {
        signal: controller.signal,
        onFlushed: (bytes) => { flushed += bytes; if (flushed >= 4 * MiB) controller.abort(); },
      });
      await rejectsAborted(within(upload, 5_000, 'the aborted upload'), trace);
      assert.ok(flushed >= 4 * MiB && produced < 512 * MiB, `flushed ${flushed}, produced ${produced}`);
      assert.equal(await within(ftp.pwd(), 5_000, 'PWD after the aborted upload', trace), '/');
      reconnects.stop();
      assert.deepEqual(reconnects.seen, [], 'no reconnect');
      await ftp.upload(up('aborted-upload.bin'), BIG);
      assert.equal(sha256(await readFile(onDisk(up('aborted-upload.bin')))), BIG_HASH, tail(trace));
      assert.equal(await ftp.size(up('aborted-upload.bin')), BIG.length);
      assert.ok(sent(trace, from).some((line) => line.startsWith('STOR ')));
    });
  });
}
