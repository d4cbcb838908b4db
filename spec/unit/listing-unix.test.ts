import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unixParser } from '../../lib/protocol/listing/unix.js';
import { mlsdParser } from '../../lib/protocol/listing/mlsd.js';
import type { FileInfo, LineVerdict } from '../../lib/protocol/listing/entry.js';
import { recentDate } from '../../lib/protocol/listing/dates.js';

const now = new Date('2026-11-21T12:00:00Z');
const context = { now };

function entry(verdict: LineVerdict): FileInfo {
  assert.ok(verdict !== null && verdict !== 'skip', `expected an entry, got ${String(verdict)}`);
  return verdict;
}

/** The fields a test looks at (raw, facts and format are checked apart). */
function fields(info: FileInfo) {
  const { name, type, size, target, owner, group } = info;
  return { name, type, size, target, owner, group, modifiedAt: info.modifiedAt?.toISOString(), mode: info.permissions?.mode };
}

describe('Unix ls -l lines (as vsftpd, ProFTPD and Pure-FTPd print them)', () => {
  const cases: Array<[string, ReturnType<typeof fields>]> = [
    ['-rw-r--r--    1 ftp      ftp          1234 Mar 12 10:00 notes.txt',
      { name: 'notes.txt', type: 'file', size: 1234, target: undefined, owner: 'ftp', group: 'ftp', modifiedAt: '2026-03-12T10:00:00.000Z', mode: 0o644 }],
    ['drwxr-xr-x+   2 0        0            4096 Jan  1  2020 dir with  spaces ',
      { name: 'dir with  spaces ', type: 'directory', size: 4096, target: undefined, owner: '0', group: '0', modifiedAt: '2020-01-01T00:00:00.000Z', mode: 0o755 }],
    ['lrwxrwxrwx    1 user     staff          11 Mär 12  2023 link -> ../target dir',
      { name: 'link', type: 'symlink', size: 11, target: '../target dir', owner: 'user', group: 'staff', modifiedAt: '2023-03-12T00:00:00.000Z', mode: 0o777 }],
    ['crw-rw-rw-    1 root     root       1,   3 Jan  1 10:00 null',
      { name: 'null', type: 'other', size: undefined, target: undefined, owner: 'root', group: 'root', modifiedAt: '2026-01-01T10:00:00.000Z', mode: 0o666 }],
    ['brw-rw----    1 root     disk       8,0 Feb  2  2021 sda',
      { name: 'sda', type: 'other', size: undefined, target: undefined, owner: 'root', group: 'disk', modifiedAt: '2021-02-02T00:00:00.000Z', mode: 0o660 }],
    ['-rwsr-xr-t@   1 501      20             5 2024-03-12 10:00 iso;x=1',
      { name: 'iso;x=1', type: 'file', size: 5, target: undefined, owner: '501', group: '20', modifiedAt: '2024-03-12T10:00:00.000Z', mode: 0o5755 }],
    ['-rw-r--r--    1 user     user           5 2024-03-12 10:00:07.123456789 +0100 full-iso',
      { name: 'full-iso', type: 'file', size: 5, target: undefined, owner: 'user', group: 'user', modifiedAt: '2024-03-12T10:00:07.000Z', mode: 0o644 }],
    ['-rw-r--r--    1 user            5 12 mars 10:00 -dash (no group, day first)',
      { name: '-dash (no group, day first)', type: 'file', size: 5, target: undefined, owner: 'user', group: undefined, modifiedAt: '2026-03-12T10:00:00.000Z', mode: 0o644 }],
    ['-rw-r--r--  user  group  77 3月 9日 23:59 日本語.txt',
      { name: '日本語.txt', type: 'file', size: 77, target: undefined, owner: 'user', group: 'group', modifiedAt: '2026-03-09T23:59:00.000Z', mode: 0o644 }],
    ['prw-------    1 0        0               0 Dec 24 18:00  leading space',
      { name: ' leading space', type: 'other', size: 0, target: undefined, owner: '0', group: '0', modifiedAt: '2025-12-24T18:00:00.000Z', mode: 0o600 }],
  ];
  for (const [line, expected] of cases) {
    it(JSON.stringify(line), () => {
      const info = entry(unixParser.parse(line, context));
      assert.deepEqual(fields(info), expected);
      assert.equal(info.raw, line);
      assert.equal(info.format, 'unix');
      assert.equal(info.facts, undefined);
    });
  }

  it('permissions give the three access sets', () => {
    const info = entry(unixParser.parse('-rwxr-x--x 1 a b 1 Jan 1 2020 f', context));
    assert.deepEqual(info.permissions, { user: 'rwx', group: 'rx', other: 'x', mode: 0o751 });
  });

  it('owner or group named like a month does not move the date', () => {
    const info = entry(unixParser.parse('-rw-r--r-- 1 may jun 42 Jul  4  2021 file', context));
    assert.deepEqual([info.owner, info.group, info.size, info.modifiedAt?.toISOString()], ['may', 'jun', 42, '2021-07-04T00:00:00.000Z']);
  });

  it('total lines are skipped; other lines are not Unix entries', () => {
    assert.equal(unixParser.parse('total 1234', context), 'skip');
    for (const line of ['', 'hello', 'type=file;size=1; x', '01-31-20  12:00PM  <DIR>  dir', '-rw-r--r-- 1 a b x Jan 1 2020 f', 'drwxr-xr-x 2 a b 4096 Foo 1 2020 d']) {
      assert.equal(unixParser.parse(line, context), null, line);
    }
  });

  it('an impossible date keeps the entry without a time', () => {
    const info = entry(unixParser.parse('-rw-r--r-- 1 a b 1 Feb 31  2021 f', context));
    assert.equal(info.modifiedAt, undefined);
    assert.equal(info.name, 'f');
  });
});

describe('year-less dates, as ls means them', () => {
  it('a date up to a day ahead of now is this year; later ones are last year', () => {
    assert.equal(recentDate(10, 22, 6, 0, now)?.toISOString(), '2026-11-22T06:00:00.000Z');
    assert.equal(recentDate(10, 23, 6, 0, now)?.toISOString(), '2025-11-23T06:00:00.000Z');
    assert.equal(recentDate(0, 5, 0, 0, new Date('2027-01-02T00:00:00Z'))?.toISOString(), '2026-01-05T00:00:00.000Z');
  });

  it('29 February lands in the last leap year not ahead of now', () => {
    assert.equal(recentDate(1, 29, 12, 0, now)?.toISOString(), '2024-02-29T12:00:00.000Z');
  });
});

describe('MLSD lines', () => {
  it('ProFTPD: names and groups, unix.mode, unknown facts kept, the name with ; = and spaces', () => {
    const line = 'modify=20261122000513;perm=adfr;size=5;type=file;unique=FE00U20C3E8;UNIX.group=0;UNIX.groupname=ftp;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=tester; a file;x=1.txt';
    const info = entry(mlsdParser.parse(line, context));
    assert.deepEqual(fields(info), { name: 'a file;x=1.txt', type: 'file', size: 5, target: undefined, owner: 'tester', group: 'ftp', modifiedAt: '2026-11-22T00:05:13.000Z', mode: 0o644 });
    assert.equal(info.facts?.get('unique'), 'FE00U20C3E8');
    assert.equal(info.facts?.get('perm'), 'adfr');
  });

  it('Pure-FTPd: uid/gid, sizd for folders, an empty slink target', () => {
    const dir = entry(mlsdParser.parse('type=dir;sizd=4096;modify=20261122000514;UNIX.mode=0755;UNIX.uid=0;UNIX.gid=0;unique=fe00g20c3df; sub dir', context));
    assert.deepEqual([dir.type, dir.size, dir.owner, dir.group], ['directory', 4096, '0', '0']);
    const link = entry(mlsdParser.parse('type=OS.unix=slink:;size=1;modify=20261122000514; root-link', context));
    assert.deepEqual([link.type, link.target], ['symlink', undefined]);
  });

  it('symlink types keep the target as sent (case and all)', () => {
    assert.equal(entry(mlsdParser.parse('type=OS.unix=slink:/Some/Target; l', context)).target, '/Some/Target');
    assert.equal(entry(mlsdParser.parse('Type=OS.UNIX=symlink; l', context)).type, 'symlink');
    assert.equal(entry(mlsdParser.parse('type=OS.unix=chr-1/3; null', context)).type, 'other');
  });

  it('cdir and pdir are skipped; fractional times; junk sizes and times left out', () => {
    assert.equal(mlsdParser.parse('type=cdir; /pub', context), 'skip');
    assert.equal(mlsdParser.parse('type=PDIR; ..', context), 'skip');
    assert.equal(entry(mlsdParser.parse('type=file;modify=20240101120000.25; f', context)).modifiedAt?.toISOString(), '2024-01-01T12:00:00.250Z');
    const junk = entry(mlsdParser.parse('type=file;size=12a;modify=20241301000000; f', context));
    assert.deepEqual([junk.size, junk.modifiedAt], [undefined, undefined]);
  });

  it('lines without facts are not MLSD', () => {
    for (const line of ['name only', ' leading', '-rw-r--r-- 1 a b 1 Jan 1 2020 f', '=x; y']) assert.equal(mlsdParser.parse(line, context), null, line);
  });
});

describe('MLSD: a symlink target with spaces (Pure-FTPd)', () => {
  it('the facts end at the first "; ", so the target keeps its spaces and the name is right', () => {
    const info = entry(mlsdParser.parse('type=OS.unix=slink:Copy of budget (2) 9700;size=23;modify=20240101000000;unique=fe00g1; backup 9700.jpg', context));
    assert.deepEqual([info.name, info.type, info.target, info.size, info.modifiedAt?.toISOString()],
      ['backup 9700.jpg', 'symlink', 'Copy of budget (2) 9700', 23, '2024-01-01T00:00:00.000Z']);
  });

  it('a name holding "; " is kept whole', () => {
    assert.equal(entry(mlsdParser.parse('type=file;size=1; a; b=c; d', context)).name, 'a; b=c; d');
  });
});
