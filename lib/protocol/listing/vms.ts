/**
 * OpenVMS LIST lines (`DIRECTORY/SIZE/DATE/OWNER/PROTECTION`, as MultiNet, TCPware and TCP/IP
 * Services print them):
 *
 * ```text
 * Directory DISK$USER:[PROJECT.DOCS]
 *
 * README.TXT;3            2/4       8-JUN-2021 11:14:05  [STAFF,JONES]    (RWED,RWED,RE,)
 * SRC.DIR;1               1/3       8-JUN-2021 11:14     [JONES]          (RWE,RWE,RE,E)
 * SECRET.DAT;1       %RMS-E-PRV, insufficient privilege or file protection violation
 *
 * Total of 3 files, 3/7 blocks.
 * ```
 *
 * - Size: the used blocks (`used/allocated` or `used`) × 512.
 * - Owner: `[GROUP,OWNER]` gives group and owner, `[OWNER]` (or a rights identifier) the owner.
 * - The protection `(System,Owner,Group,World)` is not Unix permissions: it is kept as printed in
 *   `facts` as `protection` (`RWED,RWED,RE,`).
 * - A name too long for its column is printed alone on its line and the entry goes on on the next:
 *   {@link vmsParser.continues} says so of such a line, and the dispatcher joins the two with a space.
 *
 * Choices:
 * - The name drops the `;version` suffix (a name without one opens the newest version); the
 *   version goes into `facts` as `version` (`'3'`). A `.DIR` file is a directory named without
 *   `.DIR;n` (`SRC`).
 * - A line with an RMS error where the sizes should be (the server could not read the file) is
 *   still an entry: name, version and type as its name says, nothing else.
 * - The `Directory …` header, the `Total of …` and `Grand total of …` lines and blank lines are 'skip'.
 * - An impossible date (`31-FEB-2021`) leaves `modifiedAt` undefined; the line is still an entry.
 */
import { calendarDate, monthIndex } from './dates.js';
import { newEntry, type FileInfo, type LineParser } from './entry.js';

// NAME.TYPE;VERSION — only the dot of the type is bare (ODS-5 escapes other dots as `^.`).
const NAME = String.raw`([^\s;.]*\.[^\s;]*);(\d{1,5})`;
const ENTRY = new RegExp(String.raw`^${NAME} +(\d{1,12})(?:/\d{1,12})? +(\d{1,2})-([A-Za-z]{3})-(\d{4}|\d{2}) +(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{2}))?)?(?: +\[([^\]\s]+)\])?(?: +\(([^)\s]*)\))? *$`);
const FAILED = new RegExp(String.raw`^${NAME} +%[A-Z\d$_]+-[A-Z]-[A-Z\d$_]+,`);
const NAME_ONLY = new RegExp(String.raw`^${NAME} *$`);
const SKIP = /^(?:\s*$|Directory [^\s[<]*[[<][^\s\]>]*[\]>] *$|(?:Grand t|T)otal of \d)/;
const DIRECTORY = /\.DIR$/i;
const BLOCK = 512;

/** An entry for `name` (without its version): a directory when it is a `.DIR` file. */
function named(line: string, name: string, version: string, protection: string | undefined): FileInfo {
  const directory = DIRECTORY.test(name);
  const entry = newEntry('vms', line, directory ? name.slice(0, -4) : name, directory ? 'directory' : 'file');
  const facts = new Map([['version', version]]);
  if (protection !== undefined) facts.set('protection', protection);
  entry.facts = facts;
  return entry;
}

function timestamp(match: RegExpExecArray): Date | undefined {
  const month = monthIndex(match[5]!);
  if (month === null) return undefined;
  const hundredths = Number(match[10] ?? 0);
  return calendarDate(Number(match[6]), month, Number(match[4]), Number(match[7]), Number(match[8]), Number(match[9] ?? 0), hundredths * 10) ?? undefined;
}

/** Owner and group from a UIC: `GROUP,OWNER` or `OWNER`. */
function readOwner(entry: FileInfo, uic: string): void {
  const comma = uic.indexOf(',');
  if (comma === -1) {
    entry.owner = uic;
    return;
  }
  entry.group = uic.slice(0, comma);
  entry.owner = uic.slice(comma + 1);
}

function fromStats(line: string, match: RegExpExecArray): FileInfo {
  const entry = named(line, match[1]!, match[2]!, match[12]);
  entry.size = Number(match[3]) * BLOCK;
  entry.modifiedAt = timestamp(match);
  if (match[11] !== undefined) readOwner(entry, match[11]);
  return entry;
}

export const vmsParser: LineParser = {
  format: 'vms',
  parse(line) {
    const match = ENTRY.exec(line);
    if (match !== null) return fromStats(line, match);
    const failed = FAILED.exec(line);
    if (failed !== null) return named(line, failed[1]!, failed[2]!, undefined);
    return SKIP.test(line) ? 'skip' : null;
  },
  continues(line) {
    return NAME_ONLY.test(line);
  },
};
