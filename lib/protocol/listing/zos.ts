/**
 * z/OS (MVS) LIST lines for data sets and members (z/OS UNIX directories list the Unix way and
 * are not this parser's). Three listings:
 *
 * ```text
 * Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname
 * WRK001 3390   2021/06/08  1   15  FB      80 27920  PO  SOURCE.COBOL
 * WRK002 3390   2021/06/07  2  120  VB     255 27998  PS  DATA.EXTRACT
 * Migrated                                                OLD.REPORTS
 * Pseudo Directory                                        BACKUP
 *
 *  Name     VV.MM   Created       Changed      Size  Init   Mod   Id
 * PAYROLL   01.04 2019/11/02 2021/06/08 14:30    52    40     6 JONES
 * README
 *
 *  Name      Size     TTR   Alias-of AC --------- Attributes --------- Amode Rmode
 * IEFBR14   000010   00000F          00  FO             RN RU    31    ANY
 * ```
 *
 * - Data sets: Dsorg `PO` or `PO-E` (a partitioned data set, whose members list like files) is a
 *   directory, any other a file; `Migrated` and tape (`Not Direct Access Device`) data sets are
 *   files, `Pseudo Directory` lines (a qualifier level) directories. The columns go into `facts`
 *   under their lower-cased headings (`volume`, `unit`, `referred`, `ext`, `used`, `recfm`,
 *   `lrecl`, `blksz`, `dsorg`), as printed.
 * - Members: files, owner the `Id`, `modifiedAt` the `Changed` time (wall clock as UTC); `Size`,
 *   `Init` and `Mod` count lines, not bytes, so `size` stays undefined and they go into `facts`
 *   (`size`, `init`, `mod`, with `vv.mm` and `created`). A bare name (a listing without
 *   statistics) is a member with nothing else known. Load-module members keep their hexadecimal
 *   `size` and `ttr` in `facts`.
 * - Headers are 'skip'.
 *
 * Choices: a data set's `Referred` date (`**NONE**` if never) is when it was last opened, for
 * reading too, not when it was modified: it stays in `facts` and `modifiedAt` is undefined. An
 * impossible `Changed` date leaves `modifiedAt` undefined; the line is still an entry.
 */
import { calendarDate } from './dates.js';
import { newEntry, type FileInfo, type FileType, type LineParser } from './entry.js';

const MEMBER_NAME = '[A-Z#$@][A-Z0-9#$@]{0,7}';
const HEADER = /^(?:Volume(?: +Unit)? +(?:Referred|Date) +Ext +Used +Recfm +Lrecl +BlkSz +Dsorg +Dsname *$| *Name +(?:VV\.MM +Created +Changed|Size +TTR +Alias-of) )/;
const DATA_SET = /^(\S+) +(?:(\S+) +)?(\d{2,4}\/\d{2}\/\d{2}|\*\*NONE\*\*) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+) *$/;
const MEMBER = new RegExp(String.raw`^(${MEMBER_NAME}) +(\d{2}\.\d{2}) +(\d{4}/\d{2}/\d{2}) +(\d{4})/(\d{2})/(\d{2}) +(\d{2}):(\d{2})(?::(\d{2}))? +(\d+) +(\d+) +(\d+)(?: +(\S+))? *$`);
const LOAD_MODULE = new RegExp(String.raw`^(${MEMBER_NAME}) +([0-9A-F]{6}) +([0-9A-F]{6})(?: |$)`);
const BARE_MEMBER = new RegExp(String.raw`^(${MEMBER_NAME}) *$`);
const NO_ATTRIBUTES = /^(?:Migrated|\S+ +Not Direct Access Device| *(Pseudo Directory)) +(\S+) *$/;
const DATA_SET_FACTS = ['volume', 'unit', 'referred', 'ext', 'used', 'recfm', 'lrecl', 'blksz', 'dsorg'];
const LOAD_MODULE_FACTS = ['size', 'ttr'];

/** The facts of `match` named by `keys`, one per group from `from`; groups that did not take part are left out. */
function factsOf(match: RegExpExecArray, keys: readonly string[], from: number): Map<string, string> {
  const facts = new Map<string, string>();
  for (let index = 0; index < keys.length; index += 1) {
    const value = match[from + index];
    if (value !== undefined) facts.set(keys[index]!, value);
  }
  return facts;
}

function dataSet(line: string): FileInfo | null {
  const match = DATA_SET.exec(line);
  if (match === null) return null;
  const dsorg = match[9]!;
  const entry = newEntry('zos', line, match[10]!, dsorg === 'PO' || dsorg === 'PO-E' ? 'directory' : 'file');
  entry.facts = factsOf(match, DATA_SET_FACTS, 1);
  return entry;
}

function member(line: string): FileInfo | null {
  const match = MEMBER.exec(line);
  if (match === null) return null;
  const entry = newEntry('zos', line, match[1]!, 'file');
  const changed = calendarDate(Number(match[4]), Number(match[5]) - 1, Number(match[6]), Number(match[7]), Number(match[8]), Number(match[9] ?? 0));
  entry.modifiedAt = changed ?? undefined;
  entry.owner = match[13];
  entry.facts = new Map([['vv.mm', match[2]!], ['created', match[3]!], ['size', match[10]!], ['init', match[11]!], ['mod', match[12]!]]);
  return entry;
}

function loadModule(line: string): FileInfo | null {
  const match = LOAD_MODULE.exec(line);
  if (match === null) return null;
  const entry = newEntry('zos', line, match[1]!, 'file');
  entry.facts = factsOf(match, LOAD_MODULE_FACTS, 2);
  return entry;
}

/** Lines with a name and no attributes: migrated, tape and pseudo-directory data sets, bare members. */
function nameOnly(line: string): FileInfo | null {
  const special = NO_ATTRIBUTES.exec(line);
  if (special !== null) {
    const type: FileType = special[1] === undefined ? 'file' : 'directory';
    return newEntry('zos', line, special[2]!, type);
  }
  const bare = BARE_MEMBER.exec(line);
  return bare === null ? null : newEntry('zos', line, bare[1]!, 'file');
}

export const zosParser: LineParser = {
  format: 'zos',
  parse(line) {
    if (HEADER.test(line)) return 'skip';
    return dataSet(line) ?? member(line) ?? loadModule(line) ?? nameOnly(line);
  },
};
