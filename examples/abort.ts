/**
 * Aborting: a download stopped half-way by an AbortSignal (the data connection is closed, ABOR
 * is sent, the server's 426/226 are read), another stopped by destroying its stream, a queued
 * command taken out of the queue; then the same session goes on as if nothing happened.
 *
 *   npx tsx examples/abort.ts [host] [port] [user] [password] [dir]
 *
 * With no arguments it runs against an FTP server embedded in this process, limited to 16 MiB/s
 * per data connection so that the abort lands mid-transfer; see examples/support/target.ts for
 * a real server. The protocol lines of each abort are printed, indented.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { AbortError, FtpSession } from '../lib/index.js';
import { openTarget } from './support/target.js';

const SIZE = 8 * 1024 * 1024;
const MiB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function main(): Promise<void> {
  const target = await openTarget({ rate: 16 * MiB });
  console.log(`Connecting to ${target.name}`);
  let tracing = Boolean(process.env.FTP_DEBUG);
  const ftp = await FtpSession.connect({
    ...target.options,
    transferMode: 'binary',
    debug: (line) => {
      if (tracing && /^\S*(>>>|<<<) /.test(line)) console.log(`    ${line.replace(/^FtpSession#\d+/, '')}`);
    },
  });
  const remote = posix.join(target.dir, 'ftp-session-abort.bin');
  const data = randomBytes(SIZE);
  try {
    await ftp.upload(remote, data);
    console.log(`uploaded ${SIZE} bytes to ${remote}`);

    // 1. An AbortSignal, fired once 1 MiB has arrived.
    const abort = new AbortController();
    let received = 0;
    const download = ftp.download(remote, {
      signal: abort.signal,
      onData: (chunk) => {
        received += chunk.length;
        if (received >= MiB) abort.abort();
      },
    });
    tracing = true;
    try {
      for await (const chunk of download) void chunk;
      console.log('the download finished before the abort (a fast server)');
    } catch (error) {
      assert.ok(error instanceof AbortError, String(error));
      console.log(`signal:   ${error.name} (${error.code}) after ${received} of ${SIZE} bytes`);
    }
    tracing = Boolean(process.env.FTP_DEBUG);

    // 2. Destroying the stream aborts too: here by leaving a for-await loop early. The abort
    // finishes in the background; the next command (PWD) runs once it has.
    let taken = 0;
    tracing = true;
    for await (const chunk of ftp.download(remote)) {
      taken += (chunk as Buffer).length;
      if (taken >= 2 * MiB) break; // destroys the stream: ABOR, as above
    }
    const pwd = await ftp.pwd();
    tracing = Boolean(process.env.FTP_DEBUG);
    console.log(`destroy:  left the loop after ${taken} bytes; then pwd ${pwd}`);

    // 3. A queued command leaves the queue at once; the one running is not touched.
    const queued = new AbortController();
    const running = ftp.size(remote);
    const waiting = ftp.mdtm(remote, { signal: queued.signal });
    queued.abort();
    const [size, time] = await Promise.allSettled([running, waiting]);
    assert.equal(size.status, 'fulfilled');
    assert.ok(time.status === 'rejected' && time.reason instanceof AbortError);
    console.log(`queued:   mdtm rejected with ${time.reason.name} without being sent; size (already running) gave ${size.value}`);

    // 4. The session is as good as new: the whole file, byte for byte.
    const copy = await ftp.request('get', [remote]);
    assert.equal(sha256(copy), sha256(data));
    console.log(`then:     a full download of ${copy.length} bytes, byte-exact`);
    await ftp.removeFile(remote);
  } finally {
    await ftp.close();
    await target.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
