import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ListingParser, parseListing, PARSERS } from '../../lib/protocol/listing/parser.js';

const now = new Date('2026-11-21T12:00:00Z');

describe('ListingParser: per-line format detection', () => {
  it('reads a listing of any known format without being told which', () => {
    const samples = {
      unix: '-rw-r--r--    1 ftp      ftp          1234 Mar 12 10:00 notes.txt',
      mlsd: 'type=file;size=3;modify=20240101120000; a b.txt',
      dos: '01-31-20  02:05PM                 1234 report 2020.xlsx',
      eplf: '+i8388621.44468,m839956783,r,s10376,\tRFCEPLF',
      netware: '- [RWCEAFMS] rhesus             214059       Oct 20  1998    cx.exe',
      vms: 'FILE.TXT;1              2/4       8-JUN-2021 11:14:05  [GROUP,OWNER]    (RWED,RWED,RE,)',
      os400: 'QPGMR            1024 01/01/20 00:00:00 *STMF      file.txt',
    };
    for (const [format, line] of Object.entries(samples)) {
      const { entries, unparsed } = parseListing([line], { now });
      assert.deepEqual(unparsed, [], format);
      assert.equal(entries[0]?.format, format, `${format}: ${line}`);
    }
  });

  it('`.`, `..`, total lines and blank lines give no entry and are not reported', () => {
    const { entries, unparsed } = parseListing([
      'total 8', '', '   ', 'drwxr-xr-x 2 a b 4096 Jan 1 2020 .', 'drwxr-xr-x 2 a b 4096 Jan 1 2020 ..',
      'type=cdir; /x', 'type=pdir; /', '-rw-r--r-- 1 a b 1 Jan 1 2020 kept',
    ], { now });
    assert.deepEqual(entries.map((entry) => entry.name), ['kept']);
    assert.deepEqual(unparsed, []);
  });

  it('every line no format reads is reported, in order; the others still come through', () => {
    const { entries, unparsed } = parseListing(['what is this', '-rw-r--r-- 1 a b 1 Jan 1 2020 f', 'and this?'], { now });
    assert.deepEqual(entries.map((entry) => entry.name), ['f']);
    assert.deepEqual(unparsed, ['what is this', 'and this?']);
  });

  it('`format` reads only that format: other lines are reported', () => {
    const { entries, unparsed } = parseListing(['type=file; a', '-rw-r--r-- 1 a b 1 Jan 1 2020 f'], { now, format: 'mlsd' });
    assert.deepEqual(entries.map((entry) => entry.name), ['a']);
    assert.deepEqual(unparsed, ['-rw-r--r-- 1 a b 1 Jan 1 2020 f']);
  });

  it('a VMS entry wrapped over two lines is joined; a first half left alone at the end is reported', () => {
    const { entries, unparsed } = parseListing([
      'A_VERY_LONG_FILE_NAME_INDEED.TXT;12',
      '        4/6      8-JUN-2021 11:14:05  [GROUP,OWNER]    (RWED,RWED,RE,)',
      'LAST.TXT;1',
    ], { now });
    assert.deepEqual(entries.map((entry) => [entry.name, entry.size]), [['A_VERY_LONG_FILE_NAME_INDEED.TXT', 2048]]);
    assert.deepEqual(unparsed, ['LAST.TXT;1']);
  });

  it('a year-less date is resolved against the `now` given', () => {
    const parser = new ListingParser({ now: new Date('2030-02-01T00:00:00Z') });
    assert.equal(parser.push('-rw-r--r-- 1 a b 1 Mar 12 10:00 f')?.modifiedAt?.toISOString(), '2029-03-12T10:00:00.000Z');
  });
});

describe('every parser, for any input line (property)', () => {
  const anyLine = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    // Near-misses: real line shapes with parts replaced by arbitrary text.
    fc.tuple(fc.constantFrom('-rw-r--r-- 1 a b ', 'type=file;size=', '01-31-20  12:00PM ', '+i1,m', 'd [R----F--] x ', 'X.DIR;1 ', 'QSYS 1 '), fc.string({ maxLength: 80 }))
      .map(([head, rest]) => head + rest),
  );

  it('returns an entry, skip or null and never throws; an entry has a name, a known type and its raw line', () => {
    fc.assert(fc.property(anyLine, (line) => {
      for (const parser of PARSERS) {
        const verdict = parser.parse(line, { now });
        if (verdict === null || verdict === 'skip') continue;
        assert.equal(typeof verdict.name, 'string');
        assert.ok(['file', 'directory', 'symlink', 'other'].includes(verdict.type));
        assert.equal(verdict.raw, line);
        assert.equal(verdict.format, parser.format);
        assert.ok(verdict.size === undefined || (Number.isSafeInteger(verdict.size) && verdict.size >= 0), `size ${verdict.size}`);
        assert.ok(verdict.modifiedAt === undefined || !Number.isNaN(verdict.modifiedAt.getTime()));
      }
    }), { numRuns: 3000 });
  });

  it('ListingParser accounts for every non-blank line: an entry, a known non-entry, or a report', () => {
    fc.assert(fc.property(fc.array(anyLine, { maxLength: 30 }), (lines) => {
      const reported: string[] = [];
      const parser = new ListingParser({ now, onUnparsed: (line) => reported.push(line) });
      let entries = 0;
      for (const line of lines) if (parser.push(line) !== null) entries += 1;
      parser.end();
      const nonBlank = lines.filter((line) => line.trim() !== '').length;
      // A wrapped VMS name joins the next line: two lines, one entry.
      assert.ok(entries + reported.length <= nonBlank, `${entries} entries + ${reported.length} reported > ${nonBlank} lines`);
      for (const line of reported) assert.ok(lines.includes(line), `reported a line that was not given: ${JSON.stringify(line)}`);
    }), { numRuns: 500 });
  });

  it('a line of arbitrary text after a valid Unix head is the name, exactly', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 60 }).filter((name) => name.trim() !== '' && name !== '.' && name !== '..' && !name.includes(' -> ')), (name) => {
      const { entries } = parseListing([`-rw-r--r--    1 ftp      ftp            10 Jan  1  2020 ${name}`], { now });
      assert.equal(entries[0]?.name, name);
    }), { numRuns: 1000 });
  });

  // A guard against catastrophic backtracking (seconds to hours), not a speed test.
  it('a 64 KiB line is decided quickly by every parser (no backtracking blow-up)', () => {
    for (const unit of [' ', '1 ', 'a;', '-rw-r--r-- ', 'Jan 1 ', '=', '\t']) {
      const line = unit.repeat(Math.ceil(65536 / unit.length));
      const started = performance.now();
      for (const parser of PARSERS) parser.parse(line, { now });
      assert.ok(performance.now() - started < 1000, `${JSON.stringify(unit)}: ${performance.now() - started} ms`);
    }
  });
});
