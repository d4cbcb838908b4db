/**
 * Listings and whole folders: upload a small tree, list it as typed entries (MLSD or LIST,
 * whichever the server has), look at one entry with stat, walk a listing with `for await`,
 * download the tree elsewhere and compare it byte for byte, then remove it.
 *
 *   npx tsx examples/trees.ts [host] [port] [user] [password] [dir]
 *
 * With no arguments it runs against an FTP server embedded in this process (see
 * examples/support/target.ts for a real one).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { FtpSession, type TreeProgress } from '../lib/index.js';
import { openTarget } from './support/target.js';

/** A few files in nested folders, one name with spaces and one with non-ASCII letters. */
function makeTree(root: string): string[] {
  const files = ['readme.txt', 'docs/guide one.md', 'docs/img/logo.bin', 'src/main.ts', 'src/lib/ünïcode.ts'];
  for (const [index, path] of files.entries()) {
    mkdirSync(join(root, posix.dirname(path)), { recursive: true });
    writeFileSync(join(root, path), `file ${index}: ${path}\n`.repeat(100 * (index + 1)));
  }
  mkdirSync(join(root, 'empty'));
  return files;
}

function showProgress(p: TreeProgress): void {
  console.log(`  ${p.filesDone}/${p.filesTotal} files, ${p.bytes} of ${p.total ?? '?'} bytes${p.current ? `, now ${p.current}` : ''}`);
}

async function main(): Promise<void> {
  const target = await openTarget();
  console.log(`trees example against ${target.name}`);
  const local = mkdtempSync(join(tmpdir(), 'ftp-trees-'));
  const ftp = await FtpSession.connect(target.options);
  try {
    const remote = posix.join(target.dir || '.', `trees-example-${process.pid}`);
    const files = makeTree(join(local, 'up'));

    const up = await ftp.uploadDir(join(local, 'up'), remote, { onProgress: showProgress, progressInterval: 200 });
    console.log(`uploadDir: ${up.done} done, ${up.skipped} skipped, ${up.failed} failed, ${up.bytes} bytes`);

    for (const entry of await ftp.listEntries(remote)) {
      console.log(`  ${entry.type.padEnd(9)} ${String(entry.size ?? '').padStart(6)}  ${entry.modifiedAt?.toISOString() ?? '?'}  ${entry.name}  (${entry.format})`);
    }
    const info = await ftp.stat(posix.join(remote, 'docs/guide one.md'));
    console.log(`stat: ${info?.name} is a ${info?.type} of ${info?.size} bytes`);
    let count = 0;
    for await (const entry of ftp.iterateEntries(posix.join(remote, 'src'))) {
      count += 1;
      console.log(`  iterated: ${entry.name}`);
    }
    console.log(`iterateEntries: ${count} entries`);

    const down = await ftp.downloadDir(remote, join(local, 'down'), { filter: (entry) => entry.name !== 'empty' || entry.type !== 'directory' });
    console.log(`downloadDir: ${down.done} done, ${down.skipped} skipped, ${down.failed} failed`);
    for (const path of files) assert.deepEqual(readFileSync(join(local, 'down', path)), readFileSync(join(local, 'up', path)), path);
    console.log('every downloaded file equals its original');

    await ftp.removeDir(remote, { recursive: true });
    console.log(`removed ${remote}: ${(await ftp.stat(remote)) === null ? 'gone' : 'still there?'}`);
  } finally {
    rmSync(local, { recursive: true, force: true });
    await ftp.close();
    await target.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
