/**
 * Listings as entries and whole folders on real servers (vsftpd: LIST only; ProFTPD and
 * Pure-FTPd: MLSD): listEntries of awkward names (spaces, unicode, a leading dash, `;` and `=`,
 * hidden, symlinks), empty and missing folders, stat, iterateEntries over 2,000 files (and
 * leaving it early), the listing cap, downloadDir/uploadDir of a 300-file tree byte-exact with
 * progress, filters and maxDepth, ensureDir, and removeDir next to a symlink leading out of the
 * tree. Fixtures are made on the server's disk, in fresh folders of its writable area.
 * Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lchown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ListingTooLargeError, ReplyError, type FileInfo, type FileType, type ListingFormat, type ListOptions, type TreeOptions,
  type TreeProgress, type TreeResult,
} from '../../lib/index.js';
import { sha256 } from '../support/hash.js';
import { openTraced as open, rejectsWith, sent, tail, within, type Traced } from '../support/traced.js';
import { SERVER_KINDS, startServer, writeFixture, type RunningServer, type ServerKind } from '../support/servers.js';

/** What each server does, as measured here. */
interface ServerFacts {
  /** The format listEntries reads by default: MLSD where FEAT lists MLST, else LIST (Unix `ls -l` lines). */
  format: ListingFormat;
  /** Whether its default listing names a symlink's target (`a -> b`); MLSD says only that it is a link. */
  linkTargets: boolean;
  /** The reply to a listing of a missing folder; null when it answers 150/226 with nothing (vsftpd's LIST). */
  missingFolderCode: number | null;
  /** What `stat` of a symlink to a file says: ProFTPD's MLST follows the link, the others show it. */
  statOfLink: FileType;
}
const FACTS: Record<ServerKind, ServerFacts> = {
  vsftpd: { format: 'unix', linkTargets: true, missingFolderCode: null, statOfLink: 'symlink' },
  proftpd: { format: 'mlsd', linkTargets: false, missingFolderCode: 550, statOfLink: 'file' },
  pureftpd: { format: 'mlsd', linkTargets: false, missingFolderCode: 550, statOfLink: 'symlink' },
};

const DAY_MS = 86_400_000;
const BIG_FOLDER_FILES = 2_000;

/** The awkward names of the listing fixture, with their contents (so their sizes differ). */
const ODD_FILES: ReadonlyMap<string, Buffer> = new Map([
  ['a  b.txt', Buffer.from('two spaces')],
  ['ünïcødé-日本.txt', Buffer.from('unicode ✓')],
  ['-dash', Buffer.from('a leading dash')],
  ['x;y=z.txt', Buffer.from('fact separators')],
  ['.hidden', Buffer.from('h')],
]);
/** The rest of the listing fixture: an empty folder and two symlinks (to a file, to `/`). */
const ODD_OTHERS: ReadonlyMap<string, FileType> = new Map([['empty', 'directory'], ['link-to-file', 'symlink'], ['link-to-root', 'symlink']]);
const LINK_TARGETS: ReadonlyMap<string, string> = new Map([['link-to-file', 'a  b.txt'], ['link-to-root', '/']]);

// ---- the tree of the downloadDir/uploadDir tests ----------------------------------------------

/** A tree to write on the server: files by relative path, every folder (parents first), symlinks (path → target). */
interface Tree {
  files: Map<string, Buffer>;
  folders: string[];
  links: Map<string, string>;
}

const TOP_FOLDERS = ['alpha', 'beta gamma', 'ünï-dir'];
const TREE_FILES = 300;
const NAME_WORDS = ['plain', 'two  spaces', 'ünïcødé', '日本 語'];

/** 300 files (random sizes, 0 to 64 KiB, some empty) over the root and 3 levels of folders, an empty folder, two symlinks. */
function makeTree(): Tree {
  const withFiles = [''];
  for (const top of TOP_FOLDERS) {
    for (const middle of ['one', 'two words']) withFiles.push(top, `${top}/${middle}`, `${top}/${middle}/deep`);
  }
  const holders = [...new Set(withFiles)];
  const files = new Map<string, Buffer>();
  for (let i = 0; i < TREE_FILES; i++) {
    const folder = holders[i % holders.length]!;
    // Each folder gets .txt and .bin files in turn (for the glob filter).
    const ext = Math.floor(i / holders.length) % 2 === 0 ? 'txt' : 'bin';
    const name = `f${i} ${NAME_WORDS[i % NAME_WORDS.length]}.${ext}`;
    files.set(folder === '' ? name : `${folder}/${name}`, i % 50 === 0 ? Buffer.alloc(0) : randomBytes(randomInt(0, 64 * 1024 + 1)));
  }
  const folders = [...holders.filter((f) => f !== ''), 'alpha/empty folder'];
  const links = new Map([['link to file', [...files.keys()][0]!], ['alpha/link up', '../beta gamma']]);
  return { files, folders, links };
}

/** What a copy of `tree` must hold (see {@link snapshot}): its folders and files, no symlinks; files kept by `keep` only. */
function expected(tree: Tree, keep: (path: string) => boolean = () => true): Map<string, string> {
  const want = new Map<string, string>(tree.folders.map((f) => [f, 'folder']));
  for (const [path, data] of tree.files) if (keep(path)) want.set(path, sha256(data));
  return want;
}

const parentOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf('/')));
/** Only the files of a snapshot. */
const filesOf = (shot: Map<string, string>): Map<string, string> => new Map([...shot].filter(([, what]) => what !== 'folder'));

// ---- the local disk ------------------------------------------------------------------------

/** Every path under `dir`, relative and `/`-separated: files → sha256, folders → 'folder', symlinks → 'symlink'. Sorted. */
async function snapshot(dir: string, at = ''): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const name of (await readdir(join(dir, at))).sort()) {
    const path = at === '' ? name : `${at}/${name}`;
    const info = await lstat(join(dir, path));
    if (info.isSymbolicLink()) found.set(path, 'symlink');
    else if (info.isDirectory()) {
      found.set(path, 'folder');
      for (const [inner, what] of await snapshot(dir, path)) found.set(inner, what);
    } else found.set(path, sha256(await readFile(join(dir, path))));
  }
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : 1)));
}

const sorted = (map: Map<string, string>): Array<[string, string]> => [...map].sort(([a], [b]) => (a < b ? -1 : 1));

/** Progress of a tree transfer: files and bytes never going down, the last report 100 % of `bytes` with every file done. */
function checkTreeProgress(reports: readonly TreeProgress[], bytes: number, files: number): void {
  const summary = reports.map((r) => `${r.filesDone}:${r.bytes}`).join(' ');
  assert.ok(reports.length >= 1, 'at least the final report');
  for (let i = 1; i < reports.length; i++) {
    assert.ok(reports[i]!.filesDone >= reports[i - 1]!.filesDone, `filesDone went down: ${summary}`);
    assert.ok(reports[i]!.bytes >= reports[i - 1]!.bytes, `bytes went down: ${summary}`);
  }
  const last = reports.at(-1)!;
  assert.deepEqual([last.bytes, last.total, last.percent, last.filesDone, last.filesTotal], [bytes, bytes, 100, files, files], summary);
}

/** The paths of a tree result's entries with `status`, sorted. */
const pathsWith = (result: TreeResult, status: 'done' | 'skipped' | 'failed'): string[] =>
  result.files.filter((f) => f.status === status).map((f) => f.path).sort();

const isTooLarge = (error: unknown): boolean => error instanceof ListingTooLargeError && error.code === 'ERR_FTP_LISTING_TOO_LARGE';
const names = (entries: readonly FileInfo[]): string[] => entries.map((e) => e.name).sort();
/** After the `setImmediate` the session delivers its events on. */
const eventsDelivered = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

for (const kind of SERVER_KINDS) {
  const facts = FACTS[kind];

  describe(kind, { timeout: 300_000 }, () => {
    let server: RunningServer;
    let session: Traced;
    let local: string;
    const tree = makeTree();
    /** A path (relative to the FTP root) inside the writable area: each test's fixtures get a fresh folder there. */
    const area = (name: string): string => `${server.uploadDir}/${name}`;
    const onDisk = (path: string): string => join(server.root, path.replace(/^\/+/, ''));

    /** Makes folder `path` (relative to the FTP root) and its missing parents. */
    /** The owner of what tests make on the disk: the upload folder's (the login may then change it). */
    const owner = async (): Promise<[number, number]> => {
      const { uid, gid } = await stat(onDisk(server.uploadDir));
      return [uid, gid];
    };
    async function makeFolder(path: string): Promise<void> {
      let at = '';
      for (const part of path.split('/')) {
        at = at === '' ? part : `${at}/${part}`;
        if (existsSync(onDisk(at))) continue;
        await mkdir(onDisk(at), { mode: 0o755 });
        await lchown(onDisk(at), ...(await owner()));
      }
    }
    async function makeLink(path: string, target: string): Promise<void> {
      await symlink(target, onDisk(path));
      await lchown(onDisk(path), ...(await owner()));
    }
    async function writeTree(base: string, t: Tree): Promise<void> {
      await makeFolder(base);
      for (const folder of t.folders) await makeFolder(`${base}/${folder}`);
      for (const [path, data] of t.files) await writeFixture(server, `${base}/${path}`, data);
      for (const [path, target] of t.links) await makeLink(`${base}/${path}`, target);
    }

    before(async () => {
      server = await startServer(kind);
      for (const [name, data] of ODD_FILES) await writeFixture(server, area(`odd/${name}`), data);
      await makeFolder(area('odd/empty'));
      for (const [name, target] of LINK_TARGETS) await makeLink(area(`odd/${name}`), target);
      await makeFolder(area('nothing'));
      for (let i = 0; i < BIG_FOLDER_FILES; i++) await writeFixture(server, area(`many/file-${String(i).padStart(4, '0')}.dat`), Buffer.from(String(i)));
      await writeTree(area('tree'), tree);
      local = await mkdtemp(join(tmpdir(), `ftp-session-listings-${kind}-`));
      session = await open(server);
    });
    after(async () => {
      await session?.ftp.close();
      await server?.stop();
      if (local) await rm(local, { recursive: true, force: true });
    });

    /** Lists `dir` with `options`, failing when a `listing_unparsed` event fires meanwhile. */
    async function listClean(dir: string, options: ListOptions = {}): Promise<FileInfo[]> {
      const { ftp, trace } = session;
      const unparsed: string[] = [];
      const onUnparsed = (line: string): void => { unparsed.push(line); };
      ftp.on('listing_unparsed', onUnparsed);
      try {
        const entries = await within(ftp.listEntries(dir, options), 10_000, `listEntries ${dir}`, trace);
        await eventsDelivered();
        assert.deepEqual(unparsed, [], `listing_unparsed fired${tail(trace)}`);
        return entries;
      } finally {
        ftp.off('listing_unparsed', onUnparsed);
      }
    }

    /** The names, types, sizes and (from `format`) link targets of the `odd` folder's entries. */
    function checkOdd(entries: readonly FileInfo[], format: ListingFormat): void {
      const want = [...ODD_FILES.keys(), ...ODD_OTHERS.keys()].sort();
      assert.deepEqual(names(entries), want, tail(session.trace));
      for (const entry of entries) {
        assert.equal(entry.format, format, entry.raw);
        const data = ODD_FILES.get(entry.name);
        assert.equal(entry.type, data ? 'file' : ODD_OTHERS.get(entry.name), entry.raw);
        if (data) assert.equal(entry.size, data.length, entry.raw);
        if (entry.type === 'symlink') assert.equal(entry.target, format === 'unix' ? LINK_TARGETS.get(entry.name) : undefined, entry.raw);
      }
    }

    /**
     * Lists the `odd` folder again after a listing was left early: it must be exactly itself, with
     * no unparsed line and no entry of the listing left behind (a server may send the unsent rest
     * of an aborted listing on the next data connection).
     */
    async function checkNextListing(what: string): Promise<void> {
      const { ftp, trace } = session;
      const unparsed: string[] = [];
      const entries = await within(ftp.listEntries(area('odd'), { onUnparsed: (line) => unparsed.push(line) }), 10_000, `the listing after ${what}`, trace);
      const want = new Set([...ODD_FILES.keys(), ...ODD_OTHERS.keys()]);
      const foreign = entries.map((e) => e.name).filter((name) => !want.has(name));
      assert.deepEqual(
        { entries: entries.length, unparsed, foreign: foreign.slice(0, 3) }, { entries: want.size, unparsed: [], foreign: [] },
        `the listing of ${area('odd')} after ${what}${tail(trace, 16)}`,
      );
      checkOdd(entries, facts.format);
    }

    it(`listEntries: awkward names, hidden files, symlinks (${facts.format})`, { timeout: 30_000 }, async () => {
      const dir = area('odd');
      const entries = await listClean(dir);
      checkOdd(entries, facts.format);
      assert.equal(facts.linkTargets, entries.some((e) => e.target !== undefined));
      for (const entry of entries.filter((e) => e.type !== 'symlink')) {
        const mtime = (await lstat(onDisk(`${dir}/${entry.name}`))).mtimeMs;
        const got = entry.modifiedAt?.getTime();
        assert.ok(got !== undefined, entry.raw);
        if (facts.format === 'mlsd') assert.equal(got, Math.floor(mtime / 1000) * 1000, `MLSD times are UTC to the second: ${entry.raw}`);
        else assert.ok(Math.abs(got - mtime) <= DAY_MS, `LIST prints local time (this machine: UTC), to the minute: ${entry.raw}`);
      }
    });

    if (facts.format === 'mlsd') {
      // The folder name has no space on purpose: Pure-FTPd splits LIST arguments at spaces, so
      // `LIST -a some folder` would list `some` and `folder`; a LIST of a path with spaces cannot work there.
      it("listEntries with command 'list': LIST -a instead of MLSD, the same names", { timeout: 30_000 }, async () => {
        const { trace } = session;
        const from = trace.length;
        const entries = await listClean(area('odd'), { command: 'list' });
        checkOdd(entries, 'unix');
        const commands = sent(trace, from);
        assert.ok(commands.includes(`LIST -a ${area('odd')}`), commands.join(' | '));
        assert.ok(!commands.some((c) => c.startsWith('MLSD')), commands.join(' | '));
      });
    }

    it(`listEntries: an empty folder is []; a missing one ${facts.missingFolderCode === null ? 'is [] too (LIST answers 226 with nothing)' : `rejects (${facts.missingFolderCode})`}`, { timeout: 30_000 }, async () => {
      const { ftp, trace } = session;
      assert.deepEqual(await listClean(area('nothing')), []);
      const missing = within(ftp.listEntries(area('no-such-folder')), 10_000, 'listEntries of a missing folder', trace);
      if (facts.missingFolderCode === null) {
        // vsftpd runs LIST's argument as a filter: a path that matches nothing is an empty
        // listing (150, 226), indistinguishable from an empty folder. stat still tells (below).
        assert.deepEqual(await missing, []);
        assert.equal(await ftp.stat(area('no-such-folder')), null);
      } else {
        await rejectsWith(missing, (e) => e instanceof ReplyError && e.replyCode === facts.missingFolderCode, `a ReplyError ${facts.missingFolderCode}`, trace);
      }
      assert.deepEqual(await listClean(area('nothing')), [], 'the session goes on');
    });

    it(`stat: a file, a folder, a missing path, / (a symlink: ${facts.statOfLink})`, { timeout: 30_000 }, async () => {
      const { ftp, trace } = session;
      const statOf = (path: string) => within(ftp.stat(path), 10_000, `stat ${path}`, trace);
      const file = await statOf(area('odd/a  b.txt'));
      assert.deepEqual([file?.name, file?.type, file?.size], ['a  b.txt', 'file', ODD_FILES.get('a  b.txt')!.length], tail(trace));
      assert.equal((await statOf(area('odd/empty')))?.type, 'directory');
      assert.equal((await statOf(area('odd')))?.type, 'directory');
      assert.equal(await statOf(area('odd/no-such-file')), null);
      assert.equal(await statOf(area('no-such-folder/file')), null);
      assert.equal((await statOf('/'))?.type, 'directory', tail(trace));
      assert.equal((await statOf(area('odd/link-to-file')))?.type, facts.statOfLink, tail(trace));
    });

    it(`iterateEntries: ${BIG_FOLDER_FILES} files, each once; leaving the loop early keeps the session usable`, { timeout: 60_000 }, async () => {
      const { ftp, trace } = session;
      const seen: string[] = [];
      await within((async () => {
        for await (const entry of ftp.iterateEntries(area('many'))) {
          seen.push(entry.name);
          if (seen.length > BIG_FOLDER_FILES + 10) break; // bounded, whatever the server sends
        }
      })(), 30_000, 'the whole iteration', trace);
      const want = Array.from({ length: BIG_FOLDER_FILES }, (_, i) => `file-${String(i).padStart(4, '0')}.dat`);
      assert.equal(seen.length, BIG_FOLDER_FILES);
      assert.deepEqual([...seen].sort(), want);

      let taken = 0;
      await within((async () => {
        for await (const entry of ftp.iterateEntries(area('many'))) {
          assert.match(entry.name, /^file-\d{4}\.dat$/);
          if (++taken === 10) break;
        }
      })(), 10_000, 'the iteration left after 10 entries', trace);
      assert.equal(taken, 10);
      assert.equal(await within(ftp.pwd(), 5_000, 'PWD after leaving the loop', trace), '/');
      await checkNextListing('leaving an iteration early');
    });

    it('maxListingBytes: 1000 on the 2,000-file folder rejects ListingTooLargeError; the session goes on', { timeout: 30_000 }, async () => {
      const { ftp, trace } = session;
      const capped = within(ftp.listEntries(area('many'), { maxListingBytes: 1000 }), 10_000, 'the capped listing', trace);
      await rejectsWith(capped, isTooLarge, 'a ListingTooLargeError (ERR_FTP_LISTING_TOO_LARGE)', trace);
      assert.equal(await within(ftp.pwd(), 5_000, 'PWD after the capped listing', trace), '/');
      await checkNextListing('the capped listing');
      assert.equal((await listClean(area('many'))).length, BIG_FOLDER_FILES, 'the default cap takes it');
    });

    it(`downloadDir then uploadDir: ${TREE_FILES} files byte-exact, symlinks skipped, progress`, { timeout: 120_000 }, async () => {
      const { ftp, trace } = session;
      const totalBytes = [...tree.files.values()].reduce((sum, data) => sum + data.length, 0);
      const want = sorted(expected(tree));

      const target = join(local, 'download');
      const down: TreeProgress[] = [];
      const got = await within(ftp.downloadDir(area('tree'), target, { onProgress: (p) => down.push(p), progressInterval: 10 }), 90_000, 'downloadDir', trace);
      assert.deepEqual([got.done, got.failed, got.bytes], [TREE_FILES, 0, totalBytes], JSON.stringify(got.files.filter((f) => f.status !== 'done')));
      assert.deepEqual(pathsWith(got, 'skipped'), [...tree.links.keys()].sort());
      for (const skipped of got.files.filter((f) => f.status === 'skipped')) assert.match(skipped.reason ?? '', /symlink/);
      assert.deepEqual(sorted(await snapshot(target)), want);
      checkTreeProgress(down, totalBytes, TREE_FILES);

      const remote = area('uploaded');
      const upward: TreeProgress[] = [];
      const put = await within(ftp.uploadDir(target, remote, { onProgress: (p) => upward.push(p), progressInterval: 10 }), 90_000, 'uploadDir', trace);
      assert.deepEqual([put.done, put.failed, put.skipped, put.bytes], [TREE_FILES, 0, 0, totalBytes], JSON.stringify(put.files.filter((f) => f.status !== 'done')));
      assert.deepEqual(sorted(await snapshot(onDisk(remote))), want);
      checkTreeProgress(upward, totalBytes, TREE_FILES);
    });

    it("downloadDir filters: '*.txt' in every folder; a function refusing a folder; maxDepth 0", { timeout: 120_000 }, async () => {
      const { ftp, trace } = session;
      const download = (name: string, options: TreeOptions) =>
        within(ftp.downloadDir(area('tree'), join(local, name), options), 60_000, `downloadDir (${name})`, trace);

      const txt = await download('txt', { filter: '*.txt' });
      const txtFiles = filesOf(expected(tree, (path) => path.endsWith('.txt')));
      assert.deepEqual(sorted(filesOf(await snapshot(join(local, 'txt')))), sorted(txtFiles));
      assert.deepEqual([txt.done, txt.failed], [txtFiles.size, 0]);
      for (const folder of ['', ...tree.folders.filter((f) => f !== 'alpha/empty folder')]) {
        assert.ok([...txtFiles.keys()].some((path) => parentOf(path) === folder), `a .txt file right in '${folder}'`);
      }

      const asked: string[] = [];
      const refused = 'beta gamma';
      const some = await download('some', {
        filter: (entry, path) => { asked.push(path); return !(entry.type === 'directory' && path === refused); },
      });
      const outside = (path: string): boolean => !path.startsWith(`${refused}/`);
      assert.ok(asked.includes(refused), `the filter saw the folder: ${asked.slice(0, 20).join(' | ')}`);
      assert.ok(!asked.some((path) => path.startsWith(`${refused}/`)), 'nothing below the refused folder was listed');
      assert.equal(existsSync(join(local, 'some', refused)), false);
      assert.deepEqual(sorted(filesOf(await snapshot(join(local, 'some')))), sorted(filesOf(expected(tree, outside))));
      assert.deepEqual([some.done, some.failed], [[...tree.files.keys()].filter(outside).length, 0]);

      const top = await download('top', { maxDepth: 0 });
      const topFiles = filesOf(expected(tree, (path) => !path.includes('/')));
      assert.deepEqual(sorted(await snapshot(join(local, 'top'))), sorted(topFiles));
      assert.deepEqual([top.done, top.failed], [topFiles.size, 0]);
      const tooDeep = top.files.filter((f) => /maxDepth/.test(f.reason ?? ''));
      assert.deepEqual(tooDeep.map((f) => [f.path, f.status]).sort(), TOP_FOLDERS.map((f) => [f, 'skipped']).sort(), JSON.stringify(top.files.filter((f) => f.status !== 'done')));
    });

    it('ensureDir a/b/c (twice), then removeDir recursive deletes a symlink leading out of the tree, not its target', { timeout: 60_000 }, async () => {
      const { ftp, trace } = session;
      await makeFolder(area('ensure'));
      await ftp.cd(`/${area('ensure')}`);
      try {
        await within(ftp.ensureDir('a/b/c'), 10_000, 'ensureDir', trace);
        assert.equal((await ftp.stat('a/b/c'))?.type, 'directory', tail(trace));
        await within(ftp.ensureDir('a/b/c'), 10_000, 'ensureDir again', trace);
        assert.equal((await ftp.stat('a/b/c'))?.type, 'directory', tail(trace));
      } finally {
        await ftp.cd('/');
      }
      assert.ok((await stat(onDisk(area('ensure/a/b/c')))).isDirectory());

      const doomed = area('doomed');
      for (const path of ['top file.txt', 'sub one/a b.txt', 'sub one/deeper two/ünï.txt', 'sub one/deeper two/-dash']) {
        await writeFixture(server, `${doomed}/${path}`, randomBytes(100));
      }
      await makeFolder(`${doomed}/sub one/empty folder`);
      await writeFixture(server, area('outside/canary.txt'), Buffer.from('still here'));
      await makeLink(`${doomed}/sub one/link out`, '../../outside');
      assert.deepEqual(await readdir(onDisk(`${doomed}/sub one/link out`)), ['canary.txt'], 'the link leads to the canary');

      await within(ftp.removeDir(doomed, { recursive: true }), 20_000, 'removeDir recursive', trace);
      assert.equal(existsSync(onDisk(doomed)), false, tail(trace));
      assert.equal(await readFile(onDisk(area('outside/canary.txt')), 'utf8'), 'still here', tail(trace));
    });
  });
}
