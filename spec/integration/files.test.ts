/**
 * retrFile and store on real servers (vsftpd, ProFTPD with mod_digest, Pure-FTPd): 0 bytes, a
 * small and a 64 MiB file byte-exact (sha256 on disk), in passive mode and once in active mode;
 * result fields; the temporary `.part` name; progress reports; resume (half a file either way,
 * a remote file changed since, a complete target); ifExists skip/fail; abort in the middle; hash
 * verification (ProFTPD) with its fallback to sizes, and every onMismatch policy. The other
 * promise calls are in promises.test.ts. Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AbortError, ExistsError, IntegrityError, type FileTransferOptions, type FileTransferResult, type MismatchPolicy,
  type TransferProgress,
} from '../../lib/index.js';
import { sha256 } from '../support/hash.js';
import { openTraced as open, rejectsWith, sent, tail, within, type Traced } from '../support/traced.js';
import { SERVER_KINDS, startServer, writeFixture, type RunningServer, type ServerKind } from '../support/servers.js';

const MiB = 1024 * 1024;
const BIG = randomBytes(64 * MiB);
const BIG_HASH = sha256(BIG);
const HALF = BIG.length / 2;
/** The content a remote file is rewritten with (resume must then start over). */
const NEW = randomBytes(64 * MiB);
const SMALL = Buffer.from('small file\r\nwith two lines\n');
const MTIME = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
/** Written over the first bytes of a source after they were sent: the copy then differs in content, not in size. */
const HEADER = Buffer.from('these bytes changed after they were sent');
const CHANGED = Buffer.concat([HEADER, BIG.subarray(HEADER.length)]);
/** How `verify: 'hash'` checks: ProFTPD runs with mod_digest (HASH); vsftpd and Pure-FTPd have no hash command. */
const HASH_VERIFIED: Record<ServerKind, string> = { vsftpd: 'size', proftpd: 'HASH SHA-256', pureftpd: 'size' };

const isAbort = (error: unknown): boolean => error instanceof AbortError && error.code === 'ERR_FTP_ABORTED';

/** The `.part` files in a folder (`.<name>.<hex>.part`), only those of names starting with `prefix` when given. */
const parts = (dir: string, prefix = ''): string[] =>
  readdirSync(dir).filter((entry) => entry.endsWith('.part') && entry.startsWith(`.${prefix}`));
const fileHash = async (path: string): Promise<string> => sha256(await readFile(path));
/** Writes `HEADER` over the first bytes of a file, in place (same size). */
function overwriteStart(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, HEADER, 0, HEADER.length, 0);
  } finally {
    closeSync(fd);
  }
}

/** What reports saw while `progress.bin` moved: never the final name, always exactly one `.progress.bin.<hex>.part`. */
function checkWhileMoving(seen: ReadonlyArray<{ final: boolean; parts: string[] }>): void {
  assert.ok(seen.length >= 1, 'a report while the file was moving');
  for (const { final, parts: names } of seen) {
    assert.equal(final, false, 'the final name does not exist before the end');
    assert.equal(names.length, 1, names.join(' '));
    assert.match(names[0]!, /^\.progress\.bin\.[0-9a-f]{8}\.part$/);
  }
}

/** Progress reports: at least two, bytes never going down, the last one 100 % of `total`. */
function checkReports(reports: readonly TransferProgress[], total: number): void {
  const summary = reports.map((r) => `${r.bytes}/${r.total}`).join(' ');
  assert.ok(reports.length >= 2, `reports: ${summary}`);
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.bytes >= reports[i - 1]!.bytes, `not monotonic: ${summary}`);
  const last = reports.at(-1)!;
  assert.deepEqual([last.percent, last.bytes, last.total], [100, total, total], summary);
}

for (const kind of SERVER_KINDS) {
  describe(kind, { timeout: 240_000 }, () => {
    let server: RunningServer;
    let session: Traced;
    let local: string;
    let source: string; // a local copy of BIG to upload
    const up = (name: string): string => `${server.uploadDir}/${name}`;
    const onDisk = (path: string): string => join(server.root, path.replace(/^\/+/, ''));
    const remoteParts = (prefix?: string): string[] => parts(onDisk(server.uploadDir), prefix);

    before(async () => {
      server = await startServer(kind, kind === 'proftpd' ? { hash: true } : {});
      await writeFixture(server, 'empty.bin', Buffer.alloc(0));
      await writeFixture(server, 'small.txt', SMALL);
      await writeFixture(server, 'big.bin', BIG);
      await utimes(onDisk('big.bin'), MTIME, MTIME);
      local = await mkdtemp(join(tmpdir(), `ftp-session-files-${kind}-`));
      source = join(local, 'source.bin');
      await writeFile(source, BIG);
      await writeFile(join(local, 'empty.bin'), Buffer.alloc(0));
      await writeFile(join(local, 'small.txt'), SMALL);
      session = await open(server);
    });
    after(async () => {
      await session?.ftp.close();
      await server?.stop();
      if (local) await rm(local, { recursive: true, force: true });
    });

    it('retrFile: 0 bytes, a small file and 64 MiB byte-exact, with the result fields and the remote time', async () => {
      const { ftp } = session;
      for (const [name, data] of [['empty.bin', Buffer.alloc(0)], ['small.txt', SMALL], ['big.bin', BIG]] as const) {
        const target = join(local, `got-${name}`);
        const result = await ftp.retrFile(name, target);
        assert.deepEqual(result, { status: 'done', transferred: data.length, resumedFrom: 0, verified: 'size', attempts: 1 }, name);
        assert.equal(await fileHash(target), sha256(data), name);
      }
      assert.equal((await stat(join(local, 'got-big.bin'))).mtime.getTime(), MTIME.getTime(), "the local copy gets the remote file's time");
      assert.deepEqual(parts(local, 'got-'), []);
    });

    it('store: 0 bytes, a small file and 64 MiB byte-exact on the server', async () => {
      const { ftp } = session;
      for (const [file, data] of [['empty.bin', Buffer.alloc(0)], ['small.txt', SMALL], ['source.bin', BIG]] as const) {
        const remote = up(`stored-${file}`);
        const result = await ftp.store(join(local, file), remote);
        assert.deepEqual(result, { status: 'done', transferred: data.length, resumedFrom: 0, verified: 'size', attempts: 1 }, file);
        assert.equal(await fileHash(onDisk(remote)), sha256(data), file);
      }
      assert.deepEqual(remoteParts('stored-'), []);
    });

    it('retrFile 64 MiB: a temporary .part name while running, progress every 5 ms (a 64 MiB transfer takes about 50 ms here)', async () => {
      const { ftp } = session;
      const target = join(local, 'progress.bin');
      const reports: TransferProgress[] = [];
      const seen: Array<{ final: boolean; parts: string[] }> = [];
      const result = await ftp.retrFile('big.bin', target, {
        progressInterval: 5,
        onProgress: (progress) => {
          reports.push(progress);
          if (progress.bytes > 0 && progress.bytes < BIG.length) seen.push({ final: existsSync(target), parts: parts(local, 'progress.bin') });
        },
      });
      assert.equal(result.transferred, BIG.length);
      checkReports(reports, BIG.length);
      checkWhileMoving(seen);
      assert.equal(await fileHash(target), BIG_HASH);
      assert.deepEqual(parts(local, 'progress.bin'), []);
    });

    it('store 64 MiB: a temporary .part name while running, progress every 5 ms (a 64 MiB transfer takes about 50 ms here)', async () => {
      const { ftp } = session;
      const remote = up('progress.bin');
      const reports: TransferProgress[] = [];
      const seen: Array<{ final: boolean; parts: string[] }> = [];
      const result = await ftp.store(source, remote, {
        progressInterval: 5,
        onProgress: (progress) => {
          reports.push(progress);
          if (progress.bytes > 0 && progress.bytes < BIG.length) seen.push({ final: existsSync(onDisk(remote)), parts: remoteParts('progress.bin') });
        },
      });
      assert.equal(result.transferred, BIG.length);
      checkReports(reports, BIG.length);
      checkWhileMoving(seen);
      assert.equal(await fileHash(onDisk(remote)), BIG_HASH);
      assert.deepEqual(remoteParts('progress.bin'), []);
    });

    it('a tiny or empty file gets exactly one progress report, at 100 %', async () => {
      const { ftp } = session;
      for (const [name, data] of [['small.txt', SMALL], ['empty.bin', Buffer.alloc(0)]] as const) {
        const down: TransferProgress[] = [];
        await ftp.retrFile(name, join(local, `tiny-${name}`), { onProgress: (p) => down.push(p) });
        const upward: TransferProgress[] = [];
        await ftp.store(join(local, name), up(`tiny-${name}`), { onProgress: (p) => upward.push(p) });
        for (const reports of [down, upward]) {
          assert.equal(reports.length, 1, JSON.stringify(reports));
          assert.deepEqual([reports[0]!.percent, reports[0]!.bytes, reports[0]!.total], [100, data.length, data.length]);
        }
      }
    });

    it('active mode: retrFile and store of 64 MiB', async () => {
      const { ftp, trace } = await open(server, { connectionMode: 'active' });
      try {
        const target = join(local, 'active.bin');
        assert.equal((await ftp.retrFile('big.bin', target)).transferred, BIG.length);
        assert.equal(await fileHash(target), BIG_HASH);
        assert.equal((await ftp.store(source, up('active.bin'))).transferred, BIG.length);
        assert.equal(await fileHash(onDisk(up('active.bin'))), BIG_HASH);
        const commands = sent(trace);
        assert.ok(commands.some((c) => /^(EPRT|PORT) /.test(c)), commands.join(' | '));
        assert.ok(!commands.some((c) => /^(EPSV|PASV)$/.test(c)), commands.join(' | '));
      } finally {
        await ftp.close();
      }
    });

    it('resume: a half-downloaded 64 MiB file gets its other half', async () => {
      const { ftp, trace } = session;
      const target = join(local, 'half-down.bin');
      await writeFile(target, BIG.subarray(0, HALF));
      const now = new Date();
      await utimes(target, now, now);
      const from = trace.length;
      const result = await ftp.retrFile('big.bin', target, { ifExists: 'resume' });
      assert.deepEqual(result, { status: 'done', transferred: HALF, resumedFrom: HALF, verified: 'size', attempts: 1 });
      assert.equal(await fileHash(target), BIG_HASH);
      assert.ok(sent(trace, from).includes(`REST ${HALF}`), tail(trace));
      assert.equal((await stat(target)).mtime.getTime(), MTIME.getTime());
    });

    it('resume: a half-uploaded 64 MiB file gets its other half', async () => {
      const { ftp, trace } = session;
      const remote = up('half-up.bin');
      await writeFixture(server, remote, BIG.subarray(0, HALF));
      const from = trace.length;
      const result = await ftp.store(source, remote, { ifExists: 'resume' });
      assert.deepEqual(result, { status: 'done', transferred: HALF, resumedFrom: HALF, verified: 'size', attempts: 1 });
      assert.equal(await fileHash(onDisk(remote)), BIG_HASH);
      const commands = sent(trace, from);
      assert.ok(commands.includes(`REST ${HALF}`) || commands.includes(`APPE ${remote}`), commands.join(' | '));
    });

    it('resume: a remote file changed since the partial download starts over from byte 0', async () => {
      const { ftp, trace } = session;
      const target = join(local, 'changed.bin');
      await writeFile(target, BIG.subarray(0, HALF));
      const older = new Date(Date.now() - 3_600_000);
      await utimes(target, older, older);
      await writeFixture(server, 'changed.bin', NEW);
      const newer = new Date();
      await utimes(onDisk('changed.bin'), newer, newer);
      const from = trace.length;
      const result = await ftp.retrFile('changed.bin', target, { ifExists: 'resume' });
      assert.deepEqual([result.status, result.resumedFrom, result.transferred], ['done', 0, NEW.length]);
      assert.equal(await fileHash(target), sha256(NEW));
      assert.ok(!sent(trace, from).includes(`REST ${HALF}`), tail(trace));
    });

    it("resume: a complete target is 'complete' with nothing transferred, both ways", async () => {
      const { ftp, trace } = session;
      const target = join(local, 'complete.bin');
      await writeFile(target, BIG);
      const now = new Date();
      await utimes(target, now, now);
      let from = trace.length;
      const down = await ftp.retrFile('big.bin', target, { ifExists: 'resume' });
      assert.deepEqual([down.status, down.transferred, down.verified], ['complete', 0, 'size']);
      assert.ok(!sent(trace, from).some((c) => c.startsWith('RETR ')), tail(trace));
      assert.equal(await fileHash(target), BIG_HASH);

      await writeFixture(server, up('complete.bin'), BIG);
      from = trace.length;
      const upward = await ftp.store(source, up('complete.bin'), { ifExists: 'resume' });
      assert.deepEqual([upward.status, upward.transferred, upward.verified], ['complete', 0, 'size']);
      assert.ok(!sent(trace, from).some((c) => /^(STOR|APPE) /.test(c)), tail(trace));
    });

    it("ifExists 'skip' and 'fail' (ExistsError), both ways", async () => {
      const { ftp, trace } = session;
      const target = join(local, 'exists.txt');
      await writeFile(target, 'local keeps');
      const remote = up('exists.txt');
      await writeFixture(server, remote, Buffer.from('remote keeps'));
      const from = trace.length;
      assert.deepEqual(await ftp.retrFile('small.txt', target, { ifExists: 'skip' }), { status: 'skipped', transferred: 0, resumedFrom: 0, verified: null, attempts: 0 });
      await assert.rejects(ftp.retrFile('small.txt', target, { ifExists: 'fail' }), (e) => e instanceof ExistsError && e.code === 'ERR_FTP_EXISTS' && e.path === target);
      assert.equal(await readFile(target, 'utf8'), 'local keeps');
      assert.equal((await ftp.store(join(local, 'small.txt'), remote, { ifExists: 'skip' })).status, 'skipped');
      await assert.rejects(ftp.store(join(local, 'small.txt'), remote, { ifExists: 'fail' }), (e) => e instanceof ExistsError && e.code === 'ERR_FTP_EXISTS' && e.path === remote);
      assert.equal(await readFile(onDisk(remote), 'utf8'), 'remote keeps');
      assert.ok(!sent(trace, from).some((c) => /^(RETR|STOR|APPE) /.test(c)), sent(trace, from).join(' | '));
      assert.deepEqual([parts(local, 'exists.txt'), remoteParts('exists.txt')], [[], []]);
      // 'fail' with no target: an ordinary transfer.
      assert.equal((await ftp.retrFile('small.txt', join(local, 'fresh.txt'), { ifExists: 'fail' })).status, 'done');
      assert.equal((await ftp.store(join(local, 'small.txt'), up('fresh.txt'), { ifExists: 'fail' })).status, 'done');
    });

    /** retrFile or store of 64 MiB, aborted at its first progress report with bytes moved; resolves with the bytes then. */
    async function abortedTransfer(run: (options: FileTransferOptions) => Promise<unknown>, trace: readonly string[]): Promise<number> {
      const controller = new AbortController();
      let at = -1;
      const transfer = run({
        signal: controller.signal, progressInterval: 10,
        onProgress: (p) => { if (at < 0 && p.bytes > 0 && p.bytes < BIG.length) { at = p.bytes; controller.abort(); } },
      });
      await rejectsWith(within(transfer, 5_000, 'the aborted transfer', []), isAbort, 'an AbortError (ERR_FTP_ABORTED)', trace);
      assert.ok(at > 0, 'aborted in the middle');
      return at;
    }

    it('retrFile aborted in the middle: AbortError, no file left, the session goes on at once', async () => {
      const { ftp, trace } = await open(server); // its own session: a stuck one must not hold up the next tests
      try {
        const target = join(local, 'aborted.bin');
        await abortedTransfer((options) => ftp.retrFile('big.bin', target, options), trace);
        assert.deepEqual([existsSync(target), parts(local, 'aborted.bin')], [false, []]);
        assert.equal(await within(ftp.size('big.bin'), 5_000, 'SIZE after the abort', trace), BIG.length);
        assert.equal((await ftp.retrFile('big.bin', target)).transferred, BIG.length);
        assert.equal(await fileHash(target), BIG_HASH);

        // With ifExists 'resume' the partial file stays where it is, and the next call resumes it.
        const partial = join(local, 'aborted-resumed.bin');
        await abortedTransfer((options) => ftp.retrFile('big.bin', partial, { ...options, ifExists: 'resume' }), trace);
        const kept = (await stat(partial)).size;
        assert.ok(kept > 0 && kept < BIG.length, `kept ${kept}`);
        const result = await within(ftp.retrFile('big.bin', partial, { ifExists: 'resume' }), 10_000, 'the resumed retrFile', trace);
        assert.deepEqual([result.resumedFrom, result.transferred], [kept, BIG.length - kept]);
        assert.equal(await fileHash(partial), BIG_HASH);
      } finally {
        await ftp.close();
      }
    });

    it('store aborted in the middle: AbortError, no file or .part left on the server, the session goes on at once', async () => {
      const { ftp, trace } = await open(server);
      try {
        const remote = up('aborted.bin');
        await abortedTransfer((options) => ftp.store(source, remote, options), trace);
        assert.deepEqual([existsSync(onDisk(remote)), remoteParts('aborted.bin')], [false, []], `the commands after ABOR:${tail(trace, 8)}`);
        assert.equal(await within(ftp.size('big.bin'), 5_000, 'SIZE after the abort', trace), BIG.length);
        assert.equal((await ftp.store(source, remote)).transferred, BIG.length);
        assert.equal(await fileHash(onDisk(remote)), BIG_HASH);
      } finally {
        await ftp.close();
      }
    });

    it(`verify 'hash': ${HASH_VERIFIED[kind]}${kind === 'proftpd' ? '' : ' (no hash command: falls back to the size)'}`, async () => {
      const { ftp, trace } = session;
      const from = trace.length;
      const down = await ftp.retrFile('big.bin', join(local, 'hashed.bin'), { verify: 'hash' });
      assert.equal(down.verified, HASH_VERIFIED[kind]);
      const upward = await ftp.store(source, up('hashed.bin'), { verify: 'hash' });
      assert.equal(upward.verified, HASH_VERIFIED[kind]);
      assert.equal(await fileHash(onDisk(up('hashed.bin'))), BIG_HASH);
      const commands = sent(trace, from);
      if (kind === 'proftpd') assert.ok(commands.includes('HASH big.bin'), commands.join(' | '));
      else assert.ok(!commands.some((c) => /^(HASH|XSHA|XMD5|XCRC|MD5)/.test(c)), commands.join(' | '));
    });

    if (kind === 'proftpd') {
      const isMismatch = (error: unknown): boolean => error instanceof IntegrityError && error.method === 'HASH SHA-256' && error.code === 'ERR_FTP_INTEGRITY';

      /**
       * A 64 MiB transfer with `verify: 'hash'` whose source gets HEADER written over its first
       * bytes once, after they were sent: the copy has the old bytes, the source the new ones
       * (same size, so only the hash sees it).
       */
      function changedOnce(run: (options: FileTransferOptions) => Promise<FileTransferResult>, sourcePath: string, onMismatch: MismatchPolicy) {
        let changed = false;
        const transfer = run({
          verify: 'hash', onMismatch, progressInterval: 10,
          onProgress: (p) => {
            if (changed || p.bytes < MiB || p.bytes >= BIG.length) return;
            changed = true;
            overwriteStart(sourcePath);
          },
        });
        return { transfer, changed: () => changed };
      }

      for (const policy of ['throw', 'delete', 'retry'] as const) {
        it(`retrFile: the remote file changed during the transfer, onMismatch '${policy}'`, async () => {
          const { ftp, trace } = session;
          await writeFixture(server, 'verify.bin', BIG);
          const target = join(local, `mismatch-${policy}.bin`);
          const { transfer, changed } = changedOnce((o) => ftp.retrFile('verify.bin', target, o), onDisk('verify.bin'), policy);
          if (policy === 'retry') {
            const result = await transfer;
            assert.deepEqual([result.status, result.attempts, result.verified, result.transferred], ['done', 2, 'HASH SHA-256', 2 * BIG.length]);
            assert.equal(await fileHash(target), sha256(CHANGED), 'the second attempt got the new content');
          } else {
            await rejectsWith(transfer, isMismatch, 'an IntegrityError (HASH SHA-256)', trace);
            if (policy === 'throw') assert.equal(existsSync(target) && (await fileHash(target)), BIG_HASH, "'throw' keeps the copy");
            else assert.equal(existsSync(target), false, "'delete' removes the copy");
          }
          assert.ok(changed(), 'the source was changed during the transfer');
          assert.deepEqual(parts(local, `mismatch-${policy}.bin`), []);
        });

        it(`store: the local file changed during the transfer, onMismatch '${policy}'`, async () => {
          const { ftp, trace } = session;
          const sourcePath = join(local, `mismatch-source-${policy}.bin`);
          await writeFile(sourcePath, BIG);
          const remote = up(`mismatch-${policy}.bin`);
          const { transfer, changed } = changedOnce((o) => ftp.store(sourcePath, remote, o), sourcePath, policy);
          if (policy === 'retry') {
            const result = await transfer;
            assert.deepEqual([result.status, result.attempts, result.verified, result.transferred], ['done', 2, 'HASH SHA-256', 2 * BIG.length]);
            assert.equal(await fileHash(onDisk(remote)), sha256(CHANGED), 'the second attempt sent the new content');
          } else {
            await rejectsWith(transfer, isMismatch, 'an IntegrityError (HASH SHA-256)', trace);
            if (policy === 'throw') assert.equal(existsSync(onDisk(remote)) && (await fileHash(onDisk(remote))), BIG_HASH, "'throw' keeps the copy");
            else assert.equal(existsSync(onDisk(remote)), false, "'delete' removes the copy");
          }
          assert.ok(changed(), 'the source was changed during the transfer');
          assert.deepEqual(remoteParts(`mismatch-${policy}.bin`), []);
        });
      }
    }
  });
}
