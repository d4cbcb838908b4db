/**
 * Transfers sent ahead (lib/run/transfer.ts, startEarly) against the three real servers: with
 * transfers queued, each one's EPSV and RETR/STOR go out as soon as the data of the one before
 * has ended, before that one's 226. Checked here: every file byte-exact, downloads and uploads
 * mixed with other commands, the order of the commands on the wire, that sending ahead really
 * happened (the trace's note), that replies stayed in step (no reconnect, no out-of-step
 * error), that uploads go ahead at their FIN on vsftpd only (the other two answer commands
 * during an upload), and that an abort or a failure of a transfer sent ahead leaves the session usable.
 * Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256 } from '../support/hash.js';
import type { FtpSession } from '../../lib/index.js';
import { SERVER_KINDS, startServer, writeFixture, type RunningServer } from '../support/servers.js';
import { openTraced, sent, tail, within } from '../support/traced.js';

const FILES = 24;
const WAIT_MS = 60_000;

/** Sizes around the edges that matter: empty, one byte, a socket read, several reads. */
const sizeOf = (i: number): number => [0, 1, 4096, 65_536, 300_000, 1_000_003][i % 6]!;

/** The whole file, through downloadTo with a function (its chunks are lent: copied here). */
async function fetch(ftp: FtpSession, remote: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await ftp.downloadTo(remote, (chunk) => { chunks.push(Buffer.from(chunk)); }, options);
  return Buffer.concat(chunks);
}

const aheadNotes = (trace: readonly string[]): number => trace.filter((line) => line.includes('sent ahead, before')).length;

for (const kind of SERVER_KINDS) {
  describe(`send ahead: ${kind}`, () => {
    let server: RunningServer;
    const contents: Buffer[] = [];

    before(async () => {
      server = await startServer(kind);
      for (let i = 0; i < FILES; i++) {
        contents.push(randomBytes(sizeOf(i)));
        await writeFixture(server, `ahead/f${i}.bin`, contents[i]!);
      }
    });
    after(async () => { await server?.stop(); });

    test('queued downloads: each sent ahead of the one before, every file byte-exact, one connection', async () => {
      const { ftp, trace } = await openTraced(server);
      try {
        let reconnects = 0;
        ftp.on('reconnecting', () => { reconnects++; });
        const downloads = contents.map((_, i) => fetch(ftp, `ahead/f${i}.bin`));
        const got = await within(Promise.all(downloads), WAIT_MS, 'downloads', trace);
        got.forEach((data, i) => assert.equal(sha256(data), sha256(contents[i]!), `f${i}.bin${tail(trace)}`));
        // The first has nothing to go ahead of; the rest may all have been sent ahead.
        assert.ok(aheadNotes(trace) >= FILES - 2, `sent ahead ${aheadNotes(trace)} times${tail(trace)}`);
        assert.equal(reconnects, 0, tail(trace));
        const wire = sent(trace).filter((line) => /^(EPSV|RETR)/.test(line));
        assert.deepEqual(wire, contents.flatMap((_, i) => ['EPSV', `RETR ahead/f${i}.bin`]));
        // Sent ahead means: the next RETR left before the 226 of the one before it came.
        const firstAhead = trace.findIndex((line) => line.includes('sent ahead, before'));
        const next226 = trace.findIndex((line, at) => at > firstAhead && /<<< 226/.test(line));
        assert.ok(firstAhead > 0 && next226 > firstAhead, tail(trace));
        assert.equal(await ftp.size('ahead/f5.bin'), contents[5]!.length, 'the session is in step afterwards');
      } finally {
        await ftp.close();
      }
    });

    test('queued uploads and downloads mixed with other commands keep order and bytes', async () => {
      const { ftp, trace } = await openTraced(server);
      try {
        const ops: Array<Promise<unknown>> = [];
        for (let i = 0; i < 8; i++) {
          ops.push(ftp.upload(`${server.uploadDir}/up${i}.bin`, contents[i]!));
          if (i === 3) ops.push(ftp.size('ahead/f4.bin'));
          ops.push(fetch(ftp, `ahead/f${i}.bin`));
        }
        const results = await within(Promise.all(ops), WAIT_MS, 'mixed', trace);
        assert.equal(results.filter((r) => Buffer.isBuffer(r)).length, 8);
        assert.ok(results.includes(contents[4]!.length), 'SIZE answered in its place');
        for (let i = 0; i < 8; i++) {
          const onDisk = await readFile(join(server.root, server.uploadDir, `up${i}.bin`));
          assert.equal(sha256(onDisk), sha256(contents[i]!), `up${i}.bin${tail(trace)}`);
        }
        assert.ok(aheadNotes(trace) >= 8, `sent ahead ${aheadNotes(trace)} times${tail(trace)}`);
      } finally {
        await ftp.close();
      }
    });

    test('queued uploads: sent ahead at the FIN on vsftpd only (it reads no command during an upload), every file exact', async () => {
      const { ftp, trace } = await openTraced(server);
      try {
        let reconnects = 0;
        ftp.on('reconnecting', () => { reconnects++; });
        const uploads = contents.slice(0, 12).map((data, i) => ftp.upload(`${server.uploadDir}/fin${i}.bin`, data));
        await within(Promise.all(uploads), WAIT_MS, 'uploads', trace);
        for (let i = 0; i < 12; i++) {
          const onDisk = await readFile(join(server.root, server.uploadDir, `fin${i}.bin`));
          assert.equal(sha256(onDisk), sha256(contents[i]!), `fin${i}.bin${tail(trace)}`);
        }
        assert.equal(reconnects, 0, tail(trace));
        const atFin = trace.filter((line) => line.includes("(at the upload's FIN)")).length;
        // ProFTPD (450) and Pure-FTPd (500) answer a command that comes during an upload: never at the FIN there.
        if (kind === 'vsftpd') assert.ok(atFin >= 10, `sent ahead at the FIN ${atFin} times${tail(trace)}`);
        else assert.equal(atFin, 0, tail(trace));
        assert.ok(aheadNotes(trace) >= 10, `sent ahead ${aheadNotes(trace)} times${tail(trace)}`);
        const wire = sent(trace).filter((line) => /^(EPSV|STOR)/.test(line));
        assert.deepEqual(wire, contents.slice(0, 12).flatMap((_, i) => ['EPSV', `STOR ${server.uploadDir}/fin${i}.bin`]));
      } finally {
        await ftp.close();
      }
    });

    test('a missing file sent ahead fails alone; the transfers around it succeed', async () => {
      const { ftp, trace } = await openTraced(server);
      try {
        const first = fetch(ftp, 'ahead/f3.bin');
        const missing = fetch(ftp, 'ahead/no-such-file.bin');
        const last = fetch(ftp, 'ahead/f4.bin');
        assert.equal(sha256(await within(first, WAIT_MS, 'first', trace)), sha256(contents[3]!));
        await assert.rejects(within(missing, WAIT_MS, 'missing', trace), (error: { replyCode?: number }) => error.replyCode === 550, tail(trace));
        assert.equal(sha256(await within(last, WAIT_MS, 'last', trace)), sha256(contents[4]!));
        assert.ok(aheadNotes(trace) >= 1, tail(trace));
      } finally {
        await ftp.close();
      }
    });

    test('aborting a transfer already sent ahead: it fails with AbortError, the next one is exact', async () => {
      const { ftp, trace } = await openTraced(server);
      try {
        const controller = new AbortController();
        const first = fetch(ftp, 'ahead/f5.bin');
        const doomed = fetch(ftp, 'ahead/f4.bin', { signal: controller.signal });
        const next = fetch(ftp, 'ahead/f2.bin');
        // Abort once the doomed one was sent ahead (its EPSV and RETR are on the wire).
        const sentAhead = new Promise<void>((resolve) => {
          const check = setInterval(() => {
            if (trace.some((line) => line.includes('RETR ahead/f4.bin'))) {
              clearInterval(check);
              resolve();
            }
          }, 1);
          setTimeout(() => { clearInterval(check); resolve(); }, WAIT_MS).unref();
        });
        await sentAhead;
        controller.abort();
        assert.equal(sha256(await within(first, WAIT_MS, 'first', trace)), sha256(contents[5]!));
        await assert.rejects(within(doomed, WAIT_MS, 'doomed', trace), (error: Error) => error.name === 'AbortError' || (error as { code?: string }).code === 'ERR_FTP_ABORTED', tail(trace));
        assert.equal(sha256(await within(next, WAIT_MS, 'next', trace)), sha256(contents[2]!), tail(trace));
        assert.equal(await ftp.size('ahead/f1.bin'), 1, 'in step afterwards');
      } finally {
        await ftp.close();
      }
    });
  });
}
