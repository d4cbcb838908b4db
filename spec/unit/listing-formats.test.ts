import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FileInfo, LineParser, LineVerdict } from '../../lib/protocol/listing/entry.js';
import { dosParser } from '../../lib/protocol/listing/dos.js';
import { eplfParser } from '../../lib/protocol/listing/eplf.js';
import { vmsParser } from '../../lib/protocol/listing/vms.js';
import { zosParser } from '../../lib/protocol/listing/zos.js';
import { os400Parser } from '../../lib/protocol/listing/os400.js';
import { netwareParser } from '../../lib/protocol/listing/netware.js';

const context = { now: new Date('2021-06-10T12:00:00Z') };
const parsers: readonly LineParser[] = [dosParser, eplfParser, vmsParser, zosParser, os400Parser, netwareParser];

/** Every field of an entry but `raw` and `format` (checked apart), dates as ISO strings and facts as an object. */
function fields(entry: FileInfo) {
  return {
    name: entry.name,
    type: entry.type,
    size: entry.size,
    modifiedAt: entry.modifiedAt?.toISOString(),
    permissions: entry.permissions,
    target: entry.target,
    owner: entry.owner,
    group: entry.group,
    facts: entry.facts && Object.fromEntries(entry.facts),
  };
}

type Expected = Partial<ReturnType<typeof fields>>;

/** Parses `line` and checks the whole entry: fields not in `expected` must be undefined. */
function check(parser: LineParser, line: string, expected: Expected): void {
  const verdict = parser.parse(line, context);
  assert.ok(verdict !== null && verdict !== 'skip', `${parser.format} should read ${JSON.stringify(line)}`);
  assert.equal(verdict.raw, line);
  assert.equal(verdict.format, parser.format);
  const blank = { size: undefined, modifiedAt: undefined, permissions: undefined, target: undefined, owner: undefined, group: undefined, facts: undefined };
  assert.deepEqual(fields(verdict), { ...blank, ...expected });
}

function verdicts(parser: LineParser, lines: readonly string[]): LineVerdict[] {
  return lines.map((line) => parser.parse(line, context));
}

const samples = {
  dos: [
    '01-31-20  12:00PM       <DIR>          reports',
    '01-31-2020  02:05AM              1234 name with  spaces.txt',
    '2020-01-31  14:05           1,234,567 archive.zip',
    '06/08/21  09:15AM    <JUNCTION>     Shared Docs [C:\\Users\\Public\\Documents]',
    '31.01.2020  23:59:30           0 trailing  ',
  ],
  eplf: [
    '+i8388621.29609,m824255902,/,\tdev',
    '+i8388621.44468,m839956783,r,s10376,up644,\tRFCEPLF',
    '+r,s0,\t my  file\t.txt',
  ],
  vms: [
    'README.TXT;3            2/4       8-JUN-2021 11:14:05  [STAFF,JONES]    (RWED,RWED,RE,)',
    'SRC.DIR;1               1/3       8-JUN-2021 11:14     [JONES]          (RWE,RWE,RE,E)',
    'LOGIN.COM;12  5  18-DEC-2020 09:01:02.45',
    'SECRET.DAT;1       %RMS-E-PRV, insufficient privilege or file protection violation',
    'Directory DISK$USER:[PROJECT.DOCS]',
    'Total of 3 files, 3/7 blocks.',
  ],
  zos: [
    'Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname',
    'WYOSPT 3420   2003/03/25  1   15  FB      80  3120  PO  MY.PDS',
    'Migrated                                                HLQ.MIG.DS',
    'Pseudo Directory                                        BACKUP',
    ' Name     VV.MM   Created       Changed      Size  Init   Mod   Id',
    'MEMBER1  01.01 2003/03/25 2003/03/25 12:00    10    10     0 USER',
    'README',
    'IEFBR14   000010   00000F          00  FO             RN RU    31    ANY',
  ],
  os400: [
    'QSYS           77824 02/23/00 15:09:55 *DIR       QOpenSys/',
    'QPGMR              0 01/01/70 00:00:00 *STMF      file.txt',
    'QSYS  *MEM  MYLIB.FILE/MEMBER.MBR',
    'JONES         524288 23.02.21 09.30.00 *FILE      BACKUP.SAVF',
  ],
  netware: [
    'd [R----F--] supervisor            512       Jan 16 18:53    login',
    '- [RWCEAFMS] rhesus             214059       Oct 20  1998    cx.exe',
  ],
};
const unix = ['-rw-r--r-- 1 ftp ftp 12 Mar 12 10:00 a.txt', 'drwxr-xr-x 2 0 0 4096 Jan 1 2020 dir', 'total 12'];
const mlsd = ['type=file;size=12; a.txt', 'type=dir;modify=20200131140500; pub', 'type=cdir; .'];

describe('listing parsers: foreign lines', () => {
  for (const parser of parsers) {
    it(`${parser.format} gives null for Unix, MLSD and the other formats' lines`, () => {
      const foreign = Object.entries(samples).filter(([format]) => format !== parser.format).flatMap(([, lines]) => lines);
      for (const line of [...unix, ...mlsd, ...foreign]) assert.equal(parser.parse(line, context), null, `${parser.format}: ${line}`);
    });
  }

  it('each parser reads its own samples (entries or skip)', () => {
    for (const parser of parsers) {
      for (const verdict of verdicts(parser, samples[parser.format as keyof typeof samples])) assert.notEqual(verdict, null);
    }
  });
});

describe('dosParser', () => {
  it('reads directories and files with 12-hour, 24-hour and ISO dates', () => {
    check(dosParser, '01-31-20  12:00PM       <DIR>          reports', { name: 'reports', type: 'directory', modifiedAt: '2020-01-31T12:00:00.000Z' });
    check(dosParser, '01-31-2020  02:05AM              1234 name with  spaces.txt', {
      name: 'name with  spaces.txt', type: 'file', size: 1234, modifiedAt: '2020-01-31T02:05:00.000Z',
    });
    check(dosParser, '2020-01-31  14:05           1,234,567 archive.zip', { name: 'archive.zip', type: 'file', size: 1234567, modifiedAt: '2020-01-31T14:05:00.000Z' });
    check(dosParser, '06-08-21  12:00AM    <DIR>          midnight', { name: 'midnight', type: 'directory', modifiedAt: '2021-06-08T00:00:00.000Z' });
    check(dosParser, '06/08/21  12:30 pm             7 lower.txt', { name: 'lower.txt', type: 'file', size: 7, modifiedAt: '2021-06-08T12:30:00.000Z' });
  });

  it('reads day-first dates (a `.` separator or a first number over 12) and seconds', () => {
    check(dosParser, '31.01.2020  23:59:30           0 trailing  ', { name: 'trailing  ', type: 'file', size: 0, modifiedAt: '2020-01-31T23:59:30.000Z' });
    check(dosParser, '13-05-21  07:00PM            12 x', { name: 'x', type: 'file', size: 12, modifiedAt: '2021-05-13T19:00:00.000Z' });
  });

  it('reads junctions and symbolic links, with their target when printed', () => {
    check(dosParser, '06/08/21  09:15AM    <JUNCTION>     Shared Docs [C:\\Users\\Public\\Documents]', {
      name: 'Shared Docs', type: 'symlink', target: 'C:\\Users\\Public\\Documents', modifiedAt: '2021-06-08T09:15:00.000Z',
    });
    check(dosParser, '06-08-21  10:00AM    <SYMLINKD>     a [1] b [D:\\data]', {
      name: 'a [1] b', type: 'symlink', target: 'D:\\data', modifiedAt: '2021-06-08T10:00:00.000Z',
    });
    check(dosParser, '06-08-21  10:00AM    <SYMLINK>      plain', { name: 'plain', type: 'symlink', modifiedAt: '2021-06-08T10:00:00.000Z' });
    check(dosParser, '06-08-21  10:00AM    <DIR>          not [a link]', { name: 'not [a link]', type: 'directory', modifiedAt: '2021-06-08T10:00:00.000Z' });
  });

  it('keeps an entry with an impossible date or time, without modifiedAt', () => {
    check(dosParser, '02-31-20  10:00AM             5 bad date.txt', { name: 'bad date.txt', type: 'file', size: 5 });
    check(dosParser, '01-01-20  13:00PM             5 bad time.txt', { name: 'bad time.txt', type: 'file', size: 5 });
  });

  it('gives null for lines that are not DOS entries', () => {
    for (const line of ['01-31-20  12:00PM       <DIR>          ', '01-31-20  12:00PM       <FOO>          x', '01-31-20 12:00PM', '1-2-3 x']) {
      assert.equal(dosParser.parse(line, context), null, line);
    }
  });
});

describe('eplfParser', () => {
  it('reads directories and files with their facts', () => {
    check(eplfParser, '+i8388621.29609,m824255902,/,\tdev', {
      name: 'dev', type: 'directory', modifiedAt: '1996-02-13T23:58:22.000Z', facts: { i: '8388621.29609', m: '824255902', '/': '' },
    });
    check(eplfParser, '+i8388621.44468,m839956783,r,s10376,up644,\tRFCEPLF', {
      name: 'RFCEPLF', type: 'file', size: 10376, modifiedAt: '1996-08-13T17:19:43.000Z',
      permissions: { user: 'rw', group: 'r', other: 'r', mode: 0o644 },
      facts: { i: '8388621.44468', m: '839956783', r: '', s: '10376', up: '644' },
    });
  });

  it('keeps the name after the TAB exactly', () => {
    check(eplfParser, '+r,s0,\t my  file\t.txt', { name: ' my  file\t.txt', type: 'file', size: 0, facts: { r: '', s: '0' } });
  });

  it('calls an entry with neither `/` nor `r` other, and leaves unreadable facts out of the fields', () => {
    check(eplfParser, '+i1,x9,\tthing', { name: 'thing', type: 'other', facts: { i: '1', x: '9' } });
    check(eplfParser, '+r,sxyz,mabc,up999,\tx', { name: 'x', type: 'file', facts: { r: '', s: 'xyz', m: 'abc', up: '999' } });
  });

  it('gives null without `+`, TAB, closing comma, facts or name', () => {
    for (const line of ['+r\tname', '+r,', '+r,\t', 'i1,r,\tx', '+,\tx', '+\tx', '']) assert.equal(eplfParser.parse(line, context), null, line);
  });
});

describe('vmsParser', () => {
  it('reads files and directories: size in blocks × 512, owner and group, version and protection in facts', () => {
    check(vmsParser, 'README.TXT;3            2/4       8-JUN-2021 11:14:05  [STAFF,JONES]    (RWED,RWED,RE,)', {
      name: 'README.TXT', type: 'file', size: 1024, modifiedAt: '2021-06-08T11:14:05.000Z', group: 'STAFF', owner: 'JONES',
      facts: { version: '3', protection: 'RWED,RWED,RE,' },
    });
    check(vmsParser, 'SRC.DIR;1               1/3       8-JUN-2021 11:14     [JONES]          (RWE,RWE,RE,E)', {
      name: 'SRC', type: 'directory', size: 512, modifiedAt: '2021-06-08T11:14:00.000Z', owner: 'JONES',
      facts: { version: '1', protection: 'RWE,RWE,RE,E' },
    });
    check(vmsParser, 'LOGIN.COM;12  5  18-DEC-2020 09:01:02.45', {
      name: 'LOGIN.COM', type: 'file', size: 2560, modifiedAt: '2020-12-18T09:01:02.450Z', facts: { version: '12' },
    });
    check(vmsParser, 'my^.notes.txt;2  0/0  1-Jan-99 00:00  [1,4]', {
      name: 'my^.notes.txt', type: 'file', size: 0, modifiedAt: '1999-01-01T00:00:00.000Z', group: '1', owner: '4', facts: { version: '2' },
    });
  });

  it('reads an RMS error line as an entry with only its name', () => {
    check(vmsParser, 'SECRET.DAT;1       %RMS-E-PRV, insufficient privilege or file protection violation', {
      name: 'SECRET.DAT', type: 'file', facts: { version: '1' },
    });
    check(vmsParser, 'HIDDEN.DIR;1  %RMS-E-PRV, insufficient privilege', { name: 'HIDDEN', type: 'directory', facts: { version: '1' } });
  });

  it('keeps an entry with an impossible date, without modifiedAt', () => {
    check(vmsParser, 'BAD.TXT;1  1/1  31-FEB-2021 10:00  [X]', { name: 'BAD.TXT', type: 'file', size: 512, owner: 'X', facts: { version: '1' } });
  });

  it('skips headers, totals and blank lines', () => {
    const lines = ['Directory DISK$USER:[PROJECT.DOCS]', 'Directory [000000]', 'Total of 3 files, 3/7 blocks.', 'Grand total of 2 directories, 5 files, 10/20 blocks.', '', '   '];
    assert.deepEqual(verdicts(vmsParser, lines), lines.map(() => 'skip'));
  });

  it('says a line holding only a name continues on the next, and reads the joined line', () => {
    const first = 'A_VERY_LONG_FILE_NAME_INDEED.TEXT;1';
    const second = '                        3/6       8-JUN-2021 11:14:05  [STAFF,JONES]    (RWED,RWED,RE,)';
    assert.equal(vmsParser.continues!(first), true);
    assert.equal(vmsParser.continues!('README.TXT;3            2/4       8-JUN-2021 11:14:05'), false);
    assert.equal(vmsParser.continues!('README'), false);
    assert.equal(vmsParser.continues!(''), false);
    check(vmsParser, `${first} ${second}`, {
      name: 'A_VERY_LONG_FILE_NAME_INDEED.TEXT', type: 'file', size: 1536, modifiedAt: '2021-06-08T11:14:05.000Z',
      group: 'STAFF', owner: 'JONES', facts: { version: '1', protection: 'RWED,RWED,RE,' },
    });
  });

  it('gives null for lines that are not VMS entries', () => {
    for (const line of ['README.TXT;3', 'README.TXT 2/4 8-JUN-2021 11:14', 'README.TXT;x 2/4 8-JUN-2021 11:14', 'Directory listing of /pub']) {
      assert.equal(vmsParser.parse(line, context), null, line);
    }
  });
});

describe('zosParser', () => {
  it('skips the three headers', () => {
    const headers = [
      'Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname',
      ' Name     VV.MM   Created       Changed      Size  Init   Mod   Id',
      ' Name      Size     TTR   Alias-of AC --------- Attributes --------- Amode Rmode',
    ];
    assert.deepEqual(verdicts(zosParser, headers), ['skip', 'skip', 'skip']);
  });

  it('reads data sets: PO and PO-E are directories, the columns go into facts', () => {
    check(zosParser, 'WYOSPT 3420   2003/03/25  1   15  FB      80  3120  PO  MY.PDS', {
      name: 'MY.PDS', type: 'directory',
      facts: { volume: 'WYOSPT', unit: '3420', referred: '2003/03/25', ext: '1', used: '15', recfm: 'FB', lrecl: '80', blksz: '3120', dsorg: 'PO' },
    });
    check(zosParser, 'WRK003 3390   2021/06/07  1    3  U        0 27998  PO-E LOAD.LIB', {
      name: 'LOAD.LIB', type: 'directory',
      facts: { volume: 'WRK003', unit: '3390', referred: '2021/06/07', ext: '1', used: '3', recfm: 'U', lrecl: '0', blksz: '27998', dsorg: 'PO-E' },
    });
    check(zosParser, 'WRK002 3390   **NONE**    2  120  VB     255 27998  PS  DATA.EXTRACT', {
      name: 'DATA.EXTRACT', type: 'file',
      facts: { volume: 'WRK002', unit: '3390', referred: '**NONE**', ext: '2', used: '120', recfm: 'VB', lrecl: '255', blksz: '27998', dsorg: 'PS' },
    });
    check(zosParser, 'CPDLB4 2008/10/31 1 1 VB 256 6233 PS FIFO.DEMO', {
      name: 'FIFO.DEMO', type: 'file',
      facts: { volume: 'CPDLB4', referred: '2008/10/31', ext: '1', used: '1', recfm: 'VB', lrecl: '256', blksz: '6233', dsorg: 'PS' },
    });
  });

  it('reads migrated, tape and pseudo-directory lines', () => {
    check(zosParser, 'Migrated                                                HLQ.MIG.DS', { name: 'HLQ.MIG.DS', type: 'file' });
    check(zosParser, 'ARCIVE Not Direct Access Device                       HLQ.TAPE.DS', { name: 'HLQ.TAPE.DS', type: 'file' });
    check(zosParser, 'Pseudo Directory                                        BACKUP', { name: 'BACKUP', type: 'directory' });
    check(zosParser, '                          Pseudo Directory              TCPIP', { name: 'TCPIP', type: 'directory' });
  });

  it('reads members: modifiedAt from Changed, owner from Id, line counts in facts', () => {
    check(zosParser, 'MEMBER1  01.01 2003/03/25 2003/03/25 12:00    10    10     0 USER', {
      name: 'MEMBER1', type: 'file', modifiedAt: '2003-03-25T12:00:00.000Z', owner: 'USER',
      facts: { 'vv.mm': '01.01', created: '2003/03/25', size: '10', init: '10', mod: '0' },
    });
    check(zosParser, '$PAY#01   01.04 2019/11/02 2021/06/08 14:30:15    52    40     6', {
      name: '$PAY#01', type: 'file', modifiedAt: '2021-06-08T14:30:15.000Z',
      facts: { 'vv.mm': '01.04', created: '2019/11/02', size: '52', init: '40', mod: '6' },
    });
    check(zosParser, 'BADDATE  01.00 2021/02/01 2021/02/30 10:00     1     1     0 JONES', {
      name: 'BADDATE', type: 'file', owner: 'JONES', facts: { 'vv.mm': '01.00', created: '2021/02/01', size: '1', init: '1', mod: '0' },
    });
  });

  it('reads bare member names and load-module members', () => {
    check(zosParser, 'README', { name: 'README', type: 'file' });
    check(zosParser, '@ABC#$12  ', { name: '@ABC#$12', type: 'file' });
    check(zosParser, 'IEFBR14   000010   00000F          00  FO             RN RU    31    ANY', {
      name: 'IEFBR14', type: 'file', facts: { size: '000010', ttr: '00000F' },
    });
  });

  it('gives null for lines that are not z/OS entries', () => {
    for (const line of ['readme', 'TOOLONGNAME', '1MEMBER', 'Migrated', 'VOL 3390 2003-03-25 1 15 FB 80 3120 PO MY.PDS', '']) {
      assert.equal(zosParser.parse(line, context), null, line);
    }
  });
});

describe('os400Parser', () => {
  it('reads directories, stream files and members', () => {
    check(os400Parser, 'QSYS           77824 02/23/00 15:09:55 *DIR       QOpenSys/', {
      name: 'QOpenSys', type: 'directory', size: 77824, modifiedAt: '2000-02-23T15:09:55.000Z', owner: 'QSYS', facts: { objtype: '*DIR' },
    });
    check(os400Parser, 'QPGMR              0 01/01/70 00:00:00 *STMF      file.txt', {
      name: 'file.txt', type: 'file', size: 0, modifiedAt: '1970-01-01T00:00:00.000Z', owner: 'QPGMR', facts: { objtype: '*STMF' },
    });
    check(os400Parser, 'QSYS  *MEM  MYLIB.FILE/MEMBER.MBR', { name: 'MYLIB.FILE/MEMBER.MBR', type: 'file', owner: 'QSYS', facts: { objtype: '*MEM' } });
    check(os400Parser, 'QSYS                                   *MEM       MYLIB.FILE/MEMBER.MBR', {
      name: 'MYLIB.FILE/MEMBER.MBR', type: 'file', owner: 'QSYS', facts: { objtype: '*MEM' },
    });
    check(os400Parser, 'QSYS           36864 06/08/21 10:00:00 *DIR       /', {
      name: '/', type: 'directory', size: 36864, modifiedAt: '2021-06-08T10:00:00.000Z', owner: 'QSYS', facts: { objtype: '*DIR' },
    });
  });

  it('reads the date formats: MM/DD/YY, DD/MM/YY past 12, YY/MM/DD past 31, DD.MM.YY, YYYY-MM-DD', () => {
    check(os400Parser, 'JONES          8192 23/02/21 09:30:00 *FILE      MYLIB/SOURCE.FILE', {
      name: 'MYLIB/SOURCE.FILE', type: 'directory', size: 8192, modifiedAt: '2021-02-23T09:30:00.000Z', owner: 'JONES', facts: { objtype: '*FILE' },
    });
    check(os400Parser, 'QDOC           4096 98/12/31 23:59:59 *FLR       QDLS/ARCHIVE/', {
      name: 'QDLS/ARCHIVE', type: 'directory', size: 4096, modifiedAt: '1998-12-31T23:59:59.000Z', owner: 'QDOC', facts: { objtype: '*FLR' },
    });
    check(os400Parser, 'JONES         524288 03.02.21 09.30.00 *FILE      BACKUP.SAVF', {
      name: 'BACKUP.SAVF', type: 'file', size: 524288, modifiedAt: '2021-02-03T09:30:00.000Z', owner: 'JONES', facts: { objtype: '*FILE' },
    });
    check(os400Parser, 'QSYS          12288 2021-06-08 10:00:00 *LIB       QGPL.LIB', {
      name: 'QGPL.LIB', type: 'directory', size: 12288, modifiedAt: '2021-06-08T10:00:00.000Z', owner: 'QSYS', facts: { objtype: '*LIB' },
    });
  });

  it('keeps names with spaces, an anonymous (blank) owner, other object types and impossible dates', () => {
    check(os400Parser, 'JONES          1024 06/08/21 10:00:00 *DOC       My  Report .txt ', {
      name: 'My  Report .txt ', type: 'file', size: 1024, modifiedAt: '2021-06-08T10:00:00.000Z', owner: 'JONES', facts: { objtype: '*DOC' },
    });
    check(os400Parser, '              5263360 06/11/97 12:27:39 *STMF      build.log', {
      name: 'build.log', type: 'file', size: 5263360, modifiedAt: '1997-06-11T12:27:39.000Z', facts: { objtype: '*STMF' },
    });
    check(os400Parser, 'QSYS  *PGM  QCMD', { name: 'QCMD', type: 'other', owner: 'QSYS', facts: { objtype: '*PGM' } });
    check(os400Parser, 'JONES     0 06/08/21 10:00:00 *SYMLNK    latest', {
      name: 'latest', type: 'symlink', size: 0, modifiedAt: '2021-06-08T10:00:00.000Z', owner: 'JONES', facts: { objtype: '*SYMLNK' },
    });
    check(os400Parser, 'QSYS      1 02/30/21 10:00:00 *STMF      bad.txt', { name: 'bad.txt', type: 'file', size: 1, owner: 'QSYS', facts: { objtype: '*STMF' } });
  });

  it('gives null for lines that are not OS/400 entries', () => {
    for (const line of ['QSYS           77824 02/23/00 15:09:55 *DIR       ', 'QSYS 77824 02/23/00 15:09 *DIR x', 'QSYS *dir x', '']) {
      assert.equal(os400Parser.parse(line, context), null, line);
    }
  });
});

describe('netwareParser', () => {
  it('reads year-less dates within the last year and dated ones at midnight', () => {
    check(netwareParser, 'd [R----F--] supervisor            512       Jan 16 18:53    login', {
      name: 'login', type: 'directory', size: 512, modifiedAt: '2021-01-16T18:53:00.000Z', owner: 'supervisor', facts: { rights: 'R----F--' },
    });
    check(netwareParser, '- [RWCEAFMS] rhesus             214059       Oct 20  1998    cx.exe', {
      name: 'cx.exe', type: 'file', size: 214059, modifiedAt: '1998-10-20T00:00:00.000Z', owner: 'rhesus', facts: { rights: 'RWCEAFMS' },
    });
    check(netwareParser, '- [RWCE-F--] jones                1000       Dec 24 09:00    my  notes .txt', {
      name: 'my  notes .txt', type: 'file', size: 1000, modifiedAt: '2020-12-24T09:00:00.000Z', owner: 'jones', facts: { rights: 'RWCE-F--' },
    });
  });

  it('keeps an entry with an impossible date or an unknown month, without modifiedAt', () => {
    check(netwareParser, '- [R-------] x    1   Feb 30  2020    bad', { name: 'bad', type: 'file', size: 1, owner: 'x', facts: { rights: 'R-------' } });
    check(netwareParser, '- [R-------] x    1   Foo 10  2020    odd', { name: 'odd', type: 'file', size: 1, owner: 'x', facts: { rights: 'R-------' } });
  });

  it('gives null for lines that are not NetWare entries', () => {
    for (const line of ['d [R----F--] supervisor 512 Jan 16 18:53    ', 'x [RWCEAFMS] a 1 Jan 1 1999 b', 'd [RWXR] a 1 Jan 1 1999 b', '']) {
      assert.equal(netwareParser.parse(line, context), null, line);
    }
  });
});

describe('listing parsers: robustness', () => {
  const junk = ['', ' ', '\t', '\u0000\u0001\u00ff', '\uD800', 'a\uDFFFb', '\uDBFF\uDFFF', '+\t', ';', '*', '[', '<DIR>', '%RMS-E-', '\r\n'];
  const tokens = [' ', '  ', '\t', '+', ',', ';', '.', '/', '-', ':', '[', ']', '(', ')', '*', '%', '<DIR>', '<JUNCTION>', 'PM', 'AM', 'd', 'r', 'up',
    '1', '12', '2021', '01-31-20', '2003/03/25', '8-JUN-2021', '11:14:05', 'Jan', 'JUN', '*DIR', '*MEM', '.DIR', ';1', 'PO', 'Migrated', 'Pseudo Directory',
    'Directory', 'Total of', '[RWCEAFMS]', '\uD800', '\u0000', 'é', 'A'];

  it('never throw, and return null, skip or an entry of their format', () => {
    const verdictOk = (parser: LineParser, line: string) => {
      const verdict = parser.parse(line, context);
      assert.ok(verdict === null || verdict === 'skip' || (verdict.format === parser.format && verdict.raw === line));
      parser.continues?.(line);
    };
    for (const parser of parsers) for (const line of junk) verdictOk(parser, line);
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.array(fc.constantFrom(...tokens), { maxLength: 24 }).map((parts) => parts.join(''))), (line) => {
      for (const parser of parsers) verdictOk(parser, line);
    }), { numRuns: 2000 });
  });

  // A guard against catastrophic backtracking (seconds to hours), not a speed test: each line takes about 1 ms here.
  it('finish 64 KiB lines built to make regular expressions backtrack (well under a second each)', () => {
    const size = 64 * 1024;
    const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const lines = [
      fill(' '), fill('1'), fill('1 '), fill('a '), fill('A'), fill('.'), fill('a.'), fill(';'), fill('+'), fill('\t'), fill('*'), fill('/'), fill('1/'), fill('-'), fill('['),
      `01-31-20  12:00PM ${fill(' ')}!`, `01-31-20  12:00PM ${fill('1')}`, `01-31-20  ${fill('1 ')}`, `2020-01-31 ${fill('1,')}`,
      `+${fill('i1,')}`, `+${fill(',')}\tx`, `+${fill('up')}`,
      `A.B;1 ${fill(' ')}x`, `A.B;1 ${fill('1/')}`, `${fill('A.')};1`, `${fill('^.')}`, `A.B;1  1/1  8-JUN-2021 11:14 [${fill('A')}`, `A.B;1  1/1  8-JUN-2021 11:14 (${fill('R')}`,
      `Directory ${fill('[')}`, `Directory [${fill('A')}`,
      `VOL 3390 2020/01/01 ${fill('X ')}`, `${fill('VOL ')}`, `Migrated ${fill(' ')}x y`, ` Pseudo Directory ${fill(' ')}`, `MEMBER1 01.01 2003/03/25 2003/03/25 12:00 ${fill('1 ')}`,
      `QSYS ${fill('1 ')}`, `${fill(' ')}*DIR`, `QSYS 1 01/01/70 00:00:00 *DIR${fill(' ')}`, `QSYS ${fill('*')}`,
      `d [RWCEAFMS] ${fill('a ')}`, `d [RWCEAFMS] a 1 Jan 1 ${fill(' ')}`,
    ];
    for (const parser of parsers) {
      for (const line of lines) {
        const started = performance.now();
        parser.parse(line, context);
        parser.continues?.(line);
        const took = performance.now() - started;
        assert.ok(took < 1000, `${parser.format} took ${took.toFixed(1)} ms on ${JSON.stringify(line.slice(0, 40))}…`);
      }
    }
  });
});
