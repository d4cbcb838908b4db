/**
 * store and retrFile with a progress line: a few MiB up and down, each aborted at 40 % and then
 * resumed from where it stopped (REST + STOR up, REST + RETR down), each copy checked by hash
 * when the server has a hash command, else by size.
 *
 *   npx tsx examples/files-progress.ts [host] [port] [user] [password] [dir]
 *
 * With no arguments it runs against an FTP server embedded in this process, limited to 8 MiB/s
 * per data connection so that the transfers last long enough to watch (and to abort); see
 * examples/support/target.ts for a real server. On a fast real server a transfer may finish
 * before the abort: the example then says so and goes on.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { AbortError, FtpSession, type FileTransferOptions, type FileTransferResult, type TransferProgress } from '../lib/index.js';
import { openTarget } from './support/target.js';

const SIZE = 6 * 1024 * 1024;
const MiB = 1024 * 1024;

/** One progress line, redrawn in place on a terminal. */
function show(label: string, p: TransferProgress, end = false): void {
  const percent = p.percent === undefined ? '   ?  ' : `${p.percent.toFixed(1).padStart(5)}%`;
  const total = p.total === undefined ? '?' : (p.total / MiB).toFixed(1);
  const eta = p.etaSeconds === undefined ? '?' : p.etaSeconds.toFixed(1);
  const line = `${label.padEnd(18)} ${percent}  ${(p.bytes / MiB).toFixed(1)} of ${total} MiB  ${(p.bytesPerSecond / MiB).toFixed(1)} MiB/s  ETA ${eta} s`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}\x1b[K${end ? '\n' : ''}`);
  else console.log(line);
}

function summary(result: FileTransferResult): string {
  return `${result.status}: ${result.transferred} bytes moved from byte ${result.resumedFrom}, ${result.attempts} attempt(s), checked by ${result.verified}`;
}

/** Runs `transfer` with a signal that aborts it once 40 % of the file is done. */
async function abortAtForty(label: string, transfer: (options: FileTransferOptions) => Promise<FileTransferResult>): Promise<void> {
  const abort = new AbortController();
  try {
    await transfer({
      ifExists: 'resume', // keeps what was transferred when it fails, and writes in place (no temporary name)
      signal: abort.signal,
      progressInterval: 100,
      onProgress: (p) => {
        show(label, p);
        if ((p.percent ?? 0) >= 40) abort.abort();
      },
    });
    if (process.stdout.isTTY) console.log();
    console.log(`${label}: finished before the abort (a fast server): nothing to resume`);
  } catch (error) {
    if (!(error instanceof AbortError)) throw error;
    if (process.stdout.isTTY) console.log();
    console.log(`${label}: ${error.name} (${error.code}); the session goes on`);
  }
}

async function main(): Promise<void> {
  const target = await openTarget({ rate: 8 * MiB });
  console.log(`Connecting to ${target.name}`);
  const local = mkdtempSync(join(tmpdir(), 'ftp-session-files-'));
  const ftp = await FtpSession.connect({ ...target.options, transferMode: 'binary' });
  const remote = posix.join(target.dir, 'ftp-session-files.bin');
  try {
    const original = join(local, 'original.bin');
    writeFileSync(original, randomBytes(SIZE));

    // Upload: aborted at 40 %, then resumed from the size the server holds.
    await abortAtForty('store (aborted)', (options) => ftp.store(original, remote, options));
    console.log(`server holds ${await ftp.size(remote)} of ${SIZE} bytes`);
    const up = await ftp.store(original, remote, {
      ifExists: 'resume', verify: 'hash', progressInterval: 200, onProgress: (p) => show('store (resumed)', p, p.percent === 100),
    });
    console.log(`store: ${summary(up)}`);

    // Download: aborted at 40 %, then resumed from the local size (the remote file is unchanged).
    const copy = join(local, 'copy.bin');
    await abortAtForty('retrFile (aborted)', (options) => ftp.retrFile(remote, copy, options));
    console.log(`local copy holds ${statSync(copy).size} of ${SIZE} bytes`);
    const down = await ftp.retrFile(remote, copy, {
      ifExists: 'resume', verify: 'hash', progressInterval: 200, onProgress: (p) => show('retrFile (resumed)', p, p.percent === 100),
    });
    console.log(`retrFile: ${summary(down)}`);

    const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    assert.equal(sha256(copy), sha256(original), 'the round trip changed the file');
    console.log(`round trip byte-exact: sha256 ${sha256(copy).slice(0, 16)}...`);

    // Once more with the default ifExists ('overwrite'): a temporary name, renamed when complete.
    const again = await ftp.retrFile(remote, copy, { progressInterval: 200, onProgress: (p) => show('retrFile (again)', p, p.percent === 100) });
    console.log(`retrFile: ${summary(again)}`);
    await ftp.removeFile(remote);
  } finally {
    await ftp.close();
    await target.close();
    rmSync(local, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
