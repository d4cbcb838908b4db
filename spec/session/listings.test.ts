/**
 * Listings and tree downloads against a scripted server, for what real servers will not do on
 * demand: hostile names (`../evil`, `/etc/x`, `a/b`, `..\x`, a symlink to `/`, a folder that
 * lists itself), unreadable lines, a listing past its cap, and a slow consumer of a big listing.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ListingTooLargeError, UnsafeNameError } from '../../lib/index.js';
import { serveDownload, type Handler } from '../support/scripted-server.js';
import { BOUND, start, until } from './harness.js';

const file = (name: string, size = 5) => `-rw-r--r--    1 ftp      ftp      ${String(size).padStart(8)} Jan  1  2024 ${name}`;
const folder = (name: string) => `drwxr-xr-x    2 ftp      ftp          4096 Jan  1  2024 ${name}`;

/** LIST and MLSD answered per folder (the argument after `-a`); RETR, SIZE and MDTM serve any path with its own path as content. */
function treeHandlers(listings: (dir: string) => readonly string[]): Record<string, Handler> {
  const dirOf = (arg: string) => arg.replace(/^-a( |$)/, '');
  return {
    LIST: (conn, cmd) => serveDownload(conn, listings(dirOf(cmd.arg)).map((line) => `${line}\r\n`).join('')),
    RETR: (conn, cmd) => serveDownload(conn, `content of ${cmd.arg}`),
    SIZE: (conn, cmd) => conn.send(`213 ${`content of ${cmd.arg}`.length}`),
    MDTM: (conn) => conn.send('213 20240101000000'),
  };
}

/** Every path under `dir`, relative, sorted (symlinks not followed). */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((entry) => entry.split('\\').join('/')).sort();
}

async function tempBase(t: TestContext): Promise<string> {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'listings-')));
  t.after(() => rm(base, { recursive: true, force: true }));
  return base;
}

describe('downloadDir from a hostile server: nothing lands outside the target', () => {
  it('../evil, /etc/x, a/b, ..\\x, C:x, a symlink to /, a folder listing itself, a local symlink leading out', BOUND, async (t) => {
    const base = await tempBase(t);
    const target = join(base, 'target');
    await mkdir(join(base, 'outside'));
    await writeFile(join(base, 'canary'), 'canary');
    await mkdir(target);
    await symlink(join(base, 'outside'), join(target, 'escape')); // a local symlink the server's `escape` folder would write through
    const hostile = [
      file('../evil'), file('/etc/x'), file('a/b'), file('..\\x'), file('C:x'),
      'lrwxrwxrwx    1 ftp      ftp             1 Jan  1  2024 root -> /',
      folder('loop'), file('ok.txt'), folder('..'), folder('.'),
    ];
    const listings = (dir: string) => (dir === '/srv' ? [...hostile, folder('escape')] : dir.endsWith('escape') ? [file('owned.txt')] : hostile);
    const { server, ftp } = await start(t, { handlers: treeHandlers(listings) });
    const result = await ftp.downloadDir('/srv', target, { maxDepth: 3 });

    const before = ['canary', 'outside', 'target'];
    assert.deepEqual((await readdir(base)).sort(), before, 'nothing new beside the target');
    assert.equal(await readFile(join(base, 'canary'), 'utf8'), 'canary');
    assert.deepEqual(await readdir(join(base, 'outside')), [], 'nothing written through the local symlink');
    const written = await tree(target);
    // ok.txt at each level of the self-listing folder down to maxDepth, nothing else but the folders.
    assert.deepEqual(written, ['escape', 'loop', 'loop/loop', 'loop/loop/loop', 'loop/loop/loop/ok.txt', 'loop/loop/ok.txt', 'loop/ok.txt', 'ok.txt']);
    assert.equal(await readFile(join(target, 'loop/ok.txt'), 'utf8'), 'content of /srv/loop/ok.txt');

    const unsafe = result.files.filter((entry) => entry.error instanceof UnsafeNameError).map((entry) => (entry.error as UnsafeNameError).remoteName);
    for (const name of ['../evil', '/etc/x', 'a/b', '..\\x', 'C:x']) assert.ok(unsafe.includes(name), `${name} reported unsafe: ${JSON.stringify(unsafe)}`);
    assert.ok(result.files.some((entry) => entry.path === 'root' && entry.status === 'skipped' && /symlink/.test(entry.reason!)));
    assert.ok(result.files.some((entry) => entry.path === 'loop/loop/loop/loop' && /maxDepth/.test(entry.reason!)), 'the self-listing folder ends at maxDepth');
    assert.ok(result.files.some((entry) => entry.path === 'escape' && entry.status === 'failed' && entry.error instanceof UnsafeNameError), 'the folder behind the local symlink is refused');
    assert.ok(result.files.some((entry) => entry.path === 'escape/owned.txt' && entry.status === 'skipped'));
    assert.ok(!server.commands.some((line) => /^RETR .*(evil|etc|owned)/.test(line)), 'unsafe names are not even downloaded');
    assert.deepEqual([result.done, result.failed], [4, 1]);
  });

  it('MLSD with the same names: same refusals; cdir/pdir are not entries; a repeated unique fact is a cycle', BOUND, async (t) => {
    const base = await tempBase(t);
    const target = join(base, 'target');
    const lines = [
      'type=cdir;unique=1; /srv', 'type=pdir;unique=0; /', 'type=file;size=5; ../evil', 'type=file;size=5; /etc/x',
      'type=file;size=5; a/b', 'type=dir;unique=1; again', 'type=OS.unix=slink:/; root', 'type=file;size=5; ok.txt',
    ];
    const { ftp } = await start(t, {
      handlers: {
        ...treeHandlers(() => []),
        FEAT: (conn) => conn.send('211-Features:', ' EPSV', ' MLST type*;size*;', ' SIZE', '211 End'),
        MLSD: (conn) => serveDownload(conn, lines.map((line) => `${line}\r\n`).join('')),
      },
    });
    await ftp.features();
    const result = await ftp.downloadDir('/srv', target);
    assert.deepEqual(await tree(target), ['again', 'again/ok.txt', 'ok.txt'], 'the folder whose unique fact was seen before is entered once');
    assert.ok(result.files.some((entry) => entry.path === 'again/again' && /cycle/.test(entry.reason!)));
    assert.equal(result.files.filter((entry) => entry.error instanceof UnsafeNameError).length, 6, '3 names at each of the two levels');
  });
});

describe('listEntries and iterateEntries against a scripted server', () => {
  it('lines no format reads reach the listing_unparsed event (or onUnparsed), the rest are entries', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { listing: [file('a.txt'), 'gibberish here', folder('d')] });
    const entries = await ftp.listEntries('/x');
    assert.deepEqual(entries.map((entry) => [entry.name, entry.type]), [['a.txt', 'file'], ['d', 'directory']]);
    await until(() => seen.some((event) => event.name === 'listing_unparsed'), 'listing_unparsed event');
    assert.deepEqual(seen.find((event) => event.name === 'listing_unparsed')!.args, ['gibberish here', '/x']);
    const taken: string[] = [];
    await ftp.listEntries('/x', { onUnparsed: (line) => taken.push(line) });
    assert.deepEqual(taken, ['gibberish here']);
  });

  it('past maxListingBytes: ListingTooLargeError, the transfer is stopped, the session goes on', BOUND, async (t) => {
    const listing = Array.from({ length: 5000 }, (_, index) => file(`file-${index}.bin`));
    const { ftp } = await start(t, { listing });
    await assert.rejects(ftp.listEntries('/big', { maxListingBytes: 10_000 }), (error) => error instanceof ListingTooLargeError && error.limit === 10_000);
    await assert.rejects(ftp.request('list', ['/big'], { maxListingBytes: 10_000 }), ListingTooLargeError);
    assert.equal(await ftp.pwd(), '/');
    assert.equal((await ftp.listEntries('/big')).length, 5000, 'the default cap holds a listing of this size');
  });

  it('iterateEntries: breaking out early stops the listing; the session stays usable', BOUND, async (t) => {
    const listing = Array.from({ length: 20_000 }, (_, index) => file(`f${index}`));
    const { ftp } = await start(t, { listing });
    const names: string[] = [];
    for await (const entry of ftp.iterateEntries('/big')) {
      names.push(entry.name);
      if (names.length === 3) break;
    }
    assert.deepEqual(names, ['f0', 'f1', 'f2']);
    assert.equal(await ftp.pwd(), '/');
    let count = 0;
    for await (const entry of ftp.iterateEntries('/big')) if (entry.type === 'file') count += 1;
    assert.equal(count, 20_000);
  });

  it('stat without MLST: the entry from the listing of its folder; null when missing; the root is a folder', BOUND, async (t) => {
    const { server, ftp } = await start(t, { listing: [file('a b.txt', 42), folder('sub')] });
    const entry = await ftp.stat('/dir/a b.txt');
    assert.deepEqual([entry?.name, entry?.type, entry?.size], ['a b.txt', 'file', 42]);
    assert.equal(await ftp.stat('/dir/missing'), null);
    assert.equal((await ftp.stat('/'))?.type, 'directory');
    assert.ok(server.commands.includes('LIST -a /dir'));
  });

  it('LIST -a refused: asked again plainly; a leading dash is sent as ./-name', BOUND, async (t) => {
    const { server, ftp } = await start(t, {
      handlers: {
        LIST: (conn, cmd) => (cmd.arg.startsWith('-a') ? conn.send('501 Unknown option') : serveDownload(conn, `${file('x')}\r\n`)),
      },
    });
    const entries = await ftp.listEntries('-dir');
    assert.deepEqual(entries.map((entry) => entry.name), ['x']);
    assert.deepEqual(server.commands.filter((line) => line.startsWith('LIST')), ['LIST -a ./-dir', 'LIST ./-dir']);
  });
});

describe('uploadDir: local names', () => {
  it('a local symlink is not followed by default; a name with a backslash is not sent; the rest arrives', BOUND, async (t) => {
    const base = await tempBase(t);
    await mkdir(join(base, 'src', 'sub'), { recursive: true });
    await writeFile(join(base, 'src', 'a.txt'), 'a');
    await writeFile(join(base, 'src', 'sub', 'b.txt'), 'bb');
    await writeFile(join(base, 'src', 'back\\slash'), 'x');
    await writeFile(join(base, 'private'), 'private');
    await symlink(join(base, 'private'), join(base, 'src', 'link'));
    const { server, ftp } = await start(t, { handlers: { MKD: (conn, cmd) => conn.send(`257 "${cmd.arg}" created`) } });
    const result = await ftp.uploadDir(join(base, 'src'), '/up', { transfer: { verify: false } });
    const stored = [...server.uploads.entries()].map(([name, bytes]) => [relative('/up', name).replace(/\.([^/]*)\.[0-9a-f]+\.part$/, '$1'), bytes.toString()]);
    assert.deepEqual(stored.sort(), [['a.txt', 'a'], ['sub/b.txt', 'bb']]);
    assert.ok(result.files.some((entry) => entry.path === 'link' && /symlink/.test(entry.reason!)));
    assert.ok(result.files.some((entry) => entry.path === 'back\\slash' && entry.error instanceof UnsafeNameError));
    assert.ok(!server.commands.some((line) => /private|slash/.test(line)), JSON.stringify(server.commands));
  });
});
