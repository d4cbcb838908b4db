/**
 * Listing parse speed: ftp-session's listing parser (lib/protocol/listing/) against basic-ftp's
 * `parseList`, on a generated Unix `ls -l` listing and a generated MLSD listing, in one run.
 *
 * - Data: deterministic (a seeded PRNG), lines in the shapes vsftpd, ProFTPD and Pure-FTPd
 *   print — files, directories, symlinks (`a -> b`), recent (`Mar 12 10:00`) and year
 *   (`Jan  1  2020`) dates, about 10% of names with spaces or non-ASCII letters; MLSD in
 *   Pure-FTPd's fact order and in ProFTPD's.
 * - Inputs: basic-ftp takes the whole listing text (lines joined with `\r\n`). ftp-session gets
 *   lines one by one from its data connection, so it is timed twice: `parseListing(lines)` on the
 *   pre-split array, and `text.split('\r\n')` + `parseListing` — the fair figure against
 *   basic-ftp's text input.
 * - Method: warm-up rounds, then N rounds; in each round every variant of a dataset runs once,
 *   the order reversed every other round (ftp-session first, then basic-ftp first), a forced GC
 *   (untimed) before each run. Reported: the median ms per 100k lines, lines/s, the ratio
 *   basic-ftp time ÷ ftp-session time (> 1: ftp-session faster), and the heap the parsed entries
 *   keep alive (after a forced GC) per 100k entries.
 * - Correctness (untimed): for every line, name, size, type (and a symlink target the line
 *   carries) are compared between the two parsers, and each parser's reading against what the
 *   generator wrote (modification times too, where the parser gives them). basic-ftp's size 0
 *   for a size the line does not give counts as "no size". Disagreements and misreadings are
 *   reported (count and first few), not failures.
 *
 * Run: `npm run bench:listing` (`tsx bench/listing.ts`). Options:
 *   --smoke        1,000 lines, 2 rounds, 1 warm-up round: a few seconds (CI, spec/unit/bench-smoke.test.ts)
 *   --lines N      lines per dataset (default 100000)
 *   --rounds N     timed rounds (default 15)
 *   --warmup N     warm-up rounds (default 3)
 *   --seed N       PRNG seed (default 20261121)
 *   --dataset D    only `unix` or only `mlsd` (default both; handy when profiling one)
 *   --json FILE    also write the results as JSON to FILE
 * The heap figures need `global.gc`: without `--expose-gc` the script runs itself again with the
 * flag (the same Node flags otherwise). To profile, pass the flag yourself so no second process
 * is started: `node --expose-gc --cpu-prof --import tsx bench/listing.ts`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FileType as BasicType, parseList, type FileInfo as BasicInfo } from 'basic-ftp';
import type { FileInfo, FileType } from '../lib/protocol/listing/entry.js';
import { ListingParser, parseListing } from '../lib/protocol/listing/parser.js';

// ---- options ------------------------------------------------------------------------------

interface Options {
  lines: number;
  rounds: number;
  warmup: number;
  seed: number;
  json: string | undefined;
  smoke: boolean;
  datasets: Dataset['name'][];
}

function positive(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} wants a whole number, not ${text}`);
  return value;
}

function readOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      smoke: { type: 'boolean', default: false },
      lines: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
      dataset: { type: 'string' },
    },
  });
  const dataset = values.dataset;
  if (dataset !== undefined && dataset !== 'unix' && dataset !== 'mlsd') throw new Error(`--dataset wants unix or mlsd, not ${dataset}`);
  const smoke = values.smoke ?? false;
  return {
    smoke,
    lines: Math.max(1, positive('--lines', values.lines, smoke ? 1_000 : 100_000)),
    rounds: Math.max(1, positive('--rounds', values.rounds, smoke ? 2 : 15)),
    warmup: positive('--warmup', values.warmup, smoke ? 1 : 3),
    seed: positive('--seed', values.seed, 20261121),
    json: values.json,
    datasets: dataset === undefined ? ['unix', 'mlsd'] : [dataset],
  };
}

// ---- seeded PRNG (mulberry32) -------------------------------------------------------------

class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

// ---- generated listings -------------------------------------------------------------------

/** What the generator wrote into a line: what a correct parser reads back. */
interface Expected {
  name: string;
  type: FileType;
  /** Undefined when the line gives no size (ProFTPD's MLSD directories). */
  size: number | undefined;
  /** Set when the line itself carries the target (`a -> b`, `OS.unix=slink:b`). */
  target: string | undefined;
  /** Milliseconds since the epoch (UTC fields as printed). */
  modified: number;
}

interface Dataset {
  name: 'unix' | 'mlsd';
  lines: string[];
  /** The lines joined with CRLF, as they come off the data connection. */
  text: string;
  expected: Expected[];
}

/** "Now" for the year-less Unix dates, fixed so that runs agree. */
const NOW = new Date(Date.UTC(2026, 10, 21, 12, 0, 0));
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const WORDS = ['report', 'backup', 'invoice', 'photo', 'notes', 'data', 'release', 'build', 'draft', 'config', 'index', 'archive', 'readme', 'export', 'summary', 'budget', 'slides', 'scan', 'site', 'logs'];
const EXTENSIONS = ['.txt', '.pdf', '.jpg', '.tar.gz', '.zip', '.csv', '.log', '.html', '.json', '.png', '.mp4', '.iso', '.bak', ''];
/** Names with spaces or outside ASCII: about 10% of all names. */
const SPECIAL = ['Quarterly Report Q3', 'My Documents', 'two  spaces', 'Résumé', 'naïve café', 'данные отчёт', '日本語のファイル', 'Ölförbrukning', 'façade – final', '📷 Holiday 2024', 'Straße', 'χαρτί', 'Copy of budget (2)'];
const OWNERS = [['ftp', 'ftp'], ['tester', 'users'], ['www-data', 'www-data'], ['jane', 'staff'], ['root', 'root']] as const;

type Kind = 'file' | 'directory' | 'symlink';

function kindOf(random: Random): Kind {
  const roll = random.next();
  return roll < 0.7 ? 'file' : roll < 0.9 ? 'directory' : 'symlink';
}

function nameOf(random: Random, index: number, kind: Kind): string {
  const extension = kind === 'directory' ? '' : random.pick(EXTENSIONS);
  if (random.chance(0.1)) return `${random.pick(SPECIAL)} ${index}${extension}`;
  const word = random.pick(WORDS);
  if (random.chance(0.02)) return `.${word}rc`;
  return `${word}${random.pick(['-', '_', ''])}${index}${extension}`;
}

/** A symlink target; `spaced` allows targets with spaces or non-ASCII letters. */
function targetOf(random: Random, index: number, spaced: boolean): string {
  const word = random.pick(WORDS);
  switch (random.int(0, spaced ? 2 : 1)) {
    case 0: return `../${word}/${word}-${index}`;
    case 1: return `/usr/lib/lib${word}.so.${random.int(0, 9)}`;
    default: return `${random.pick(SPECIAL)} ${index}`;
  }
}

/** Sizes spread over orders of magnitude, 0 B to about 50 GB. */
function fileSize(random: Random): number {
  return Math.floor(10 ** (random.next() * 10.7));
}

interface Common {
  kind: Kind;
  name: string;
  target: string | undefined;
  size: number;
}

function common(random: Random, index: number, spacedTargets: boolean): Common {
  const kind = kindOf(random);
  const name = nameOf(random, index, kind);
  const target = kind === 'symlink' ? targetOf(random, index, spacedTargets) : undefined;
  const size = kind === 'file' ? fileSize(random) : kind === 'directory' ? 4096 : Buffer.byteLength(target!);
  return { kind, name, target, size };
}

const two = (n: number) => String(n).padStart(2, '0');

// -- Unix

type UnixServer = 'vsftpd' | 'proftpd' | 'pure-ftpd';

const MODES: Readonly<Record<Kind, readonly string[]>> = {
  file: ['-rw-r--r--', '-rwxr-xr-x', '-rw-rw-r--', '-rw-------'],
  directory: ['drwxr-xr-x', 'drwxrwxr-x', 'drwx------', 'drwxrwsr-x'],
  symlink: ['lrwxrwxrwx'],
};

interface UnixDate {
  text: string;
  time: number;
}

/** A date `ls` prints: within the last six months with a time, older ones with a year. */
function unixDate(random: Random, server: UnixServer): UnixDate {
  // vsftpd zero-pads the day (`Jan 01`); ProFTPD and Pure-FTPd pad with a space (`Jan  1`).
  const day = (d: number) => (server === 'vsftpd' ? two(d) : String(d).padStart(2, ' '));
  if (random.chance(0.6)) {
    const time = NOW.getTime() - random.int(0, 180 * 24 * 60) * 60_000;
    const at = new Date(time);
    return { text: `${MONTHS[at.getUTCMonth()]} ${day(at.getUTCDate())} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}`, time };
  }
  const [year, month, date] = [random.int(2012, 2025), random.int(0, 11), random.int(1, 28)];
  return { text: `${MONTHS[month]} ${day(date)}  ${year}`, time: Date.UTC(year, month, date) };
}

/** The columns as each server's `ls` lays them out (link count, owner, group and size widths). */
function unixColumns(server: UnixServer, links: number, owner: string, group: string, size: number): string {
  switch (server) {
    case 'vsftpd': return `${String(links).padStart(4)} ${owner.padEnd(8)} ${group.padEnd(8)} ${String(size).padStart(8)}`;
    case 'proftpd': return `${String(links).padStart(3)} ${owner.padEnd(8)} ${group.padEnd(8)} ${String(size).padStart(8)}`;
    case 'pure-ftpd': return `${String(links).padStart(4)} ${owner.padEnd(10)} ${group.padEnd(10)} ${String(size).padStart(10)}`;
  }
}

function unixLine(random: Random, index: number): [string, Expected] {
  const { kind, name, target, size } = common(random, index, true);
  const server = random.pick<UnixServer>(['vsftpd', 'proftpd', 'pure-ftpd']);
  // vsftpd shows ftp/ftp or numeric ids when hiding them; Pure-FTPd numeric ids.
  const [owner, group] = server === 'pure-ftpd' ? ['1000', '1000'] : server === 'vsftpd' && random.chance(0.5) ? ['ftp', 'ftp'] : random.pick(OWNERS);
  const links = kind === 'directory' ? random.int(2, 12) : 1;
  const date = unixDate(random, server);
  const shown = target === undefined ? name : `${name} -> ${target}`;
  const line = `${random.pick(MODES[kind])} ${unixColumns(server, links, owner, group, size)} ${date.text} ${shown}`;
  return [line, { name, type: kind, size, target, modified: date.time }];
}

// -- MLSD

interface MlsdFacts {
  modify: string;
  time: number;
  uid: number;
  gid: number;
  mode: string;
  device: number;
  inode: number;
}

function mlsdFacts(random: Random, kind: Kind): MlsdFacts {
  const time = Date.UTC(2010, 0, 1) + random.int(0, 16 * 365 * 24 * 3600) * 1000;
  const at = new Date(time);
  const modify = `${at.getUTCFullYear()}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}${two(at.getUTCSeconds())}`;
  const mode = kind === 'directory' ? random.pick(['0755', '0775', '0700']) : kind === 'symlink' ? '0777' : random.pick(['0644', '0755', '0664', '0600']);
  return { modify, time, uid: random.pick([0, 33, 1000, 1001]), gid: random.pick([0, 33, 100, 1000]), mode, device: random.pick([0xfe00, 0x803, 0xfd01]), inode: random.int(0x1000, 0xfffffff) };
}

/** Pure-FTPd: `type=…;size|sizd=…;modify=…;UNIX.mode=…;UNIX.uid=…;UNIX.gid=…;unique=…; name`. */
function pureFtpdLine(common: Common, facts: MlsdFacts): string {
  const type = common.kind === 'directory' ? 'dir' : common.kind === 'symlink' ? `OS.unix=slink:${common.target!}` : 'file';
  const sizeFact = common.kind === 'directory' ? 'sizd' : 'size';
  const unique = `${facts.device.toString(16)}g${facts.inode.toString(16)}`;
  return `type=${type};${sizeFact}=${common.size};modify=${facts.modify};UNIX.mode=${facts.mode};UNIX.uid=${facts.uid};UNIX.gid=${facts.gid};unique=${unique}; ${common.name}`;
}

/** ProFTPD (mod_facts): `modify;perm;size (not for directories);type;unique;UNIX.group…; name`; symlinks as `OS.unix=symlink`. */
function proftpdLine(random: Random, common: Common, facts: MlsdFacts): string {
  const [owner, group] = random.pick(OWNERS);
  const isDirectory = common.kind === 'directory';
  const perm = isDirectory ? random.pick(['flcdmpe', 'fle']) : random.pick(['adfr', 'adfrw']);
  const size = isDirectory ? '' : `size=${common.size};`;
  const type = isDirectory ? 'dir' : common.kind === 'symlink' ? 'OS.unix=symlink' : 'file';
  const unique = `${facts.device.toString(16).toUpperCase()}U${facts.inode.toString(16).toUpperCase()}`;
  return `modify=${facts.modify};perm=${perm};${size}type=${type};unique=${unique};UNIX.group=${facts.gid};UNIX.groupname=${group};UNIX.mode=${facts.mode};UNIX.owner=${facts.uid};UNIX.ownername=${owner}; ${common.name}`;
}

function mlsdLine(random: Random, index: number): [string, Expected] {
  // Pure-FTPd writes a symlink's target into the type fact refusing only CR, LF and `;`: a
  // target with a space breaks the fact list (RFC 3659 facts hold no spaces). Rare, but real:
  // such targets are allowed for 1% of the lines, about 1 line in 6,000 gets one.
  const entry = common(random, index, random.chance(0.01));
  const facts = mlsdFacts(random, entry.kind);
  const proftpd = random.chance(0.5);
  const line = proftpd ? proftpdLine(random, entry, facts) : pureFtpdLine(entry, facts);
  const size = proftpd && entry.kind === 'directory' ? undefined : entry.size;
  const target = proftpd ? undefined : entry.target;
  return [line, { name: entry.name, type: entry.kind, size, target, modified: facts.time }];
}

function generate(name: Dataset['name'], count: number, seed: number): Dataset {
  const random = new Random(seed ^ (name === 'unix' ? 0x1157 : 0x3151d));
  const make = name === 'unix' ? unixLine : mlsdLine;
  const lines: string[] = [];
  const expected: Expected[] = [];
  for (let index = 0; index < count; index += 1) {
    const [line, truth] = make(random, index);
    lines.push(line);
    expected.push(truth);
  }
  return { name, lines, text: lines.join('\r\n'), expected };
}

// ---- the parsers under test ---------------------------------------------------------------

type ParserName = 'ftp-session' | 'basic-ftp';

interface Variant {
  parser: ParserName;
  input: 'lines (pre-split)' | 'text (split + parse)' | 'text';
  /** Parses the dataset; returns the entries (kept alive by the heap measurement). */
  run(dataset: Dataset): readonly unknown[];
}

const VARIANTS: readonly Variant[] = [
  { parser: 'ftp-session', input: 'lines (pre-split)', run: (dataset) => parseListing(dataset.lines, { now: NOW }).entries },
  { parser: 'ftp-session', input: 'text (split + parse)', run: (dataset) => parseListing(dataset.text.split('\r\n'), { now: NOW }).entries },
  // basic-ftp's public `parseList` picks Unix, DOS or MLSD itself (from the listing's last line): no deep import needed.
  { parser: 'basic-ftp', input: 'text', run: (dataset) => parseList(dataset.text) },
];

// ---- correctness (untimed) ----------------------------------------------------------------

/** The fields both parsers give, in one shape. */
interface Seen {
  name: string;
  type: FileType;
  /** basic-ftp's `0` for "no size" stays 0; ftp-session's undefined stays undefined. */
  size: number | undefined;
  target: string | undefined;
  /** Undefined where the parser gives no date (basic-ftp for Unix listings). */
  modified: number | undefined;
}

const BASIC_TYPES: Readonly<Record<number, FileType>> = {
  [BasicType.File]: 'file', [BasicType.Directory]: 'directory', [BasicType.SymbolicLink]: 'symlink', [BasicType.Unknown]: 'other',
};

function fromFtpSession(entry: FileInfo | null): Seen | null {
  if (entry === null) return null;
  return { name: entry.name, type: entry.type, size: entry.size, target: entry.target, modified: entry.modifiedAt?.getTime() };
}

function fromBasicFtp(entry: BasicInfo | undefined): Seen | null {
  if (entry === undefined) return null;
  return { name: entry.name, type: BASIC_TYPES[entry.type] ?? 'other', size: entry.size, target: entry.link, modified: entry.modifiedAt?.getTime() };
}

/** basic-ftp parses one line as a listing of its own (it throws on a line of no format it knows). */
function basicFtpLine(line: string): Seen | null {
  try {
    return fromBasicFtp(parseList(line)[0]);
  } catch {
    return null;
  }
}

/** basic-ftp reports a size the line does not give as 0. */
function sameSize(a: number | undefined, b: number | undefined): boolean {
  return a === b || (a === undefined && b === 0) || (a === 0 && b === undefined);
}

/** The fields (name, type, size, and a target the line carries) on which two readings differ. */
function differences(a: Seen, b: Seen, lineHasTarget: boolean): string[] {
  const fields: string[] = [];
  if (a.name !== b.name) fields.push('name');
  if (a.type !== b.type) fields.push('type');
  if (!sameSize(a.size, b.size)) fields.push('size');
  if (lineHasTarget && a.target !== b.target) fields.push('target');
  return fields;
}

/**
 * What is wrong in a parser's reading against what the generator wrote ('unparsed' for no
 * entry). The time is checked where the parser gives one, and must be there when `dated`.
 */
function errorsAgainst(seen: Seen | null, truth: Expected, dated: boolean): string[] {
  if (seen === null) return ['unparsed'];
  const wrong = differences(seen, truth, truth.target !== undefined);
  if ((dated || seen.modified !== undefined) && seen.modified !== truth.modified) wrong.push('modified');
  return wrong;
}

interface Disagreement {
  line: string;
  fields: string[];
  ftpSession: Seen | null;
  basicFtp: Seen | null;
  expected: Expected;
}

/** A line a parser read otherwise than the generator wrote it. */
interface Misread {
  line: string;
  fields: string[];
  seen: Seen | null;
  expected: Expected;
}

interface Correctness {
  lines: number;
  /** How basic-ftp's readings were taken: from the whole-listing parse when it gave one entry per line, else line by line. */
  basicFtpReadings: 'whole listing' | 'line by line';
  disagreements: number;
  first: Disagreement[];
  /** Lines each parser read wrongly against the generator's truth, by field. */
  wrong: Record<ParserName, Record<string, number>>;
  /** The first few such lines of each parser. */
  firstWrong: Record<ParserName, Misread[]>;
  /** Entries from a whole-listing parse (the timed call): should equal `lines`. */
  wholeListingEntries: Record<ParserName, number>;
}

function tally(counts: Record<string, number>, fields: readonly string[]): void {
  for (const field of fields) counts[field] = (counts[field] ?? 0) + 1;
}

/**
 * basic-ftp's reading of every line: its whole-listing parse (the timed call: one format for
 * all lines, chosen from the last) when that gave one entry per line, else each line alone.
 */
function basicFtpReadings(dataset: Dataset): { readings: (Seen | null)[]; mode: Correctness['basicFtpReadings']; whole: number } {
  const whole = parseList(dataset.text);
  if (whole.length === dataset.lines.length) return { readings: whole.map(fromBasicFtp), mode: 'whole listing', whole: whole.length };
  return { readings: dataset.lines.map(basicFtpLine), mode: 'line by line', whole: whole.length };
}

function noteMisread(result: Correctness, parser: ParserName, line: string, seen: Seen | null, expected: Expected, dated: boolean, keep: number): void {
  const fields = errorsAgainst(seen, expected, dated);
  if (fields.length === 0) return;
  tally(result.wrong[parser], fields);
  if (result.firstWrong[parser].length < keep) result.firstWrong[parser].push({ line, fields, seen, expected });
}

function check(dataset: Dataset, keep: number): Correctness {
  const parser = new ListingParser({ now: NOW }); // line by line: the same readings as parseListing's
  const basic = basicFtpReadings(dataset);
  const result: Correctness = {
    lines: dataset.lines.length, basicFtpReadings: basic.mode, disagreements: 0, first: [],
    wrong: { 'ftp-session': {}, 'basic-ftp': {} }, firstWrong: { 'ftp-session': [], 'basic-ftp': [] },
    wholeListingEntries: { 'ftp-session': parseListing(dataset.lines, { now: NOW }).entries.length, 'basic-ftp': basic.whole },
  };
  dataset.lines.forEach((line, index) => {
    const truth = dataset.expected[index]!;
    const ours = fromFtpSession(parser.push(line));
    const theirs = basic.readings[index]!;
    // ftp-session dates Unix and MLSD entries; basic-ftp only MLSD ones (Unix: `rawModifiedAt` only).
    noteMisread(result, 'ftp-session', line, ours, truth, true, keep);
    noteMisread(result, 'basic-ftp', line, theirs, truth, dataset.name === 'mlsd', keep);
    const fields = ours === null || theirs === null ? (ours === theirs ? [] : ['unparsed']) : differences(ours, theirs, truth.target !== undefined);
    if (fields.length === 0) return;
    result.disagreements += 1;
    if (result.first.length < keep) result.first.push({ line, fields, ftpSession: ours, basicFtp: theirs, expected: truth });
  });
  parser.end();
  return result;
}

// ---- timing and heap ----------------------------------------------------------------------

const collect = (): void => {
  globalThis.gc?.();
};

interface Timing {
  dataset: Dataset['name'];
  parser: ParserName;
  input: Variant['input'];
  samplesMs: number[];
  medianMs: number;
  minMs: number;
  msPer100k: number;
  minMsPer100k: number;
  linesPerSecond: number;
  /** basic-ftp's median ÷ this one (ftp-session rows only; > 1: ftp-session faster). */
  ratio: number | undefined;
  retainedBytes: number | undefined;
  retainedBytesPer100k: number | undefined;
}

/** Keeps results observable so that no run can be optimised away. */
let sink = 0;

function timeOnce(variant: Variant, dataset: Dataset): number {
  collect();
  const start = performance.now();
  const entries = variant.run(dataset);
  const elapsed = performance.now() - start;
  sink += entries.length;
  return elapsed;
}

/** Runs every variant once per round, ftp-session first in even rounds, basic-ftp first in odd ones. */
function timeRounds(dataset: Dataset, rounds: number, samples: Map<Variant, number[]> | undefined): void {
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      const elapsed = timeOnce(variant, dataset);
      samples?.get(variant)?.push(elapsed);
    }
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Heap kept alive by the entries of one parse, after a forced GC; undefined without `global.gc`. */
function retainedBytes(variant: Variant, dataset: Dataset): { bytes: number; entries: number } | undefined {
  if (globalThis.gc === undefined) return undefined;
  collect();
  collect();
  const before = process.memoryUsage().heapUsed;
  const entries = variant.run(dataset);
  collect();
  collect();
  const after = process.memoryUsage().heapUsed;
  sink += entries.length; // `entries` is alive until here
  return { bytes: after - before, entries: entries.length };
}

function measure(dataset: Dataset, options: Options): Timing[] {
  timeRounds(dataset, options.warmup, undefined);
  const samples = new Map(VARIANTS.map((variant) => [variant, [] as number[]]));
  timeRounds(dataset, options.rounds, samples);
  const timings = VARIANTS.map((variant): Timing => {
    const samplesMs = samples.get(variant)!;
    const medianMs = median(samplesMs);
    const minMs = Math.min(...samplesMs);
    const heap = retainedBytes(variant, dataset);
    return {
      dataset: dataset.name, parser: variant.parser, input: variant.input, samplesMs, medianMs, minMs,
      msPer100k: (medianMs * 100_000) / dataset.lines.length,
      minMsPer100k: (minMs * 100_000) / dataset.lines.length,
      linesPerSecond: dataset.lines.length / (medianMs / 1000),
      ratio: undefined,
      retainedBytes: heap?.bytes,
      retainedBytesPer100k: heap === undefined || heap.entries === 0 ? undefined : (heap.bytes * 100_000) / heap.entries,
    };
  });
  const basic = timings.find((timing) => timing.parser === 'basic-ftp')!;
  for (const timing of timings) if (timing.parser === 'ftp-session') timing.ratio = basic.medianMs / timing.medianMs;
  return timings;
}

// ---- report -------------------------------------------------------------------------------

const TABLE_HEADER = '| Dataset | Parser | Input | Median ms / 100k lines | Min ms / 100k lines | Lines/s (median) | basic-ftp ÷ ftp-session (median) | Retained heap / 100k entries |';

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a (needs --expose-gc)' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

function timingTable(timings: readonly Timing[]): string {
  const rows = timings.map((t) => `| ${t.dataset} | ${t.parser} | ${t.input} | ${t.msPer100k.toFixed(1)} | ${t.minMsPer100k.toFixed(1)} | ${grouped(t.linesPerSecond)} | ${t.ratio === undefined ? '—' : t.ratio.toFixed(2)} | ${mib(t.retainedBytesPer100k)} |`);
  return [TABLE_HEADER, '|---|---|---|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

const describeWrong = (counts: Record<string, number>) => Object.entries(counts).map(([field, n]) => `${field} ${n}`).join(', ') || 'none';

function correctnessTable(results: ReadonlyMap<string, Correctness>): string {
  const rows = [...results].map(([name, c]) =>
    `| ${name} | ${grouped(c.lines)} | ${c.disagreements} | ${describeWrong(c.wrong['ftp-session'])} | ${describeWrong(c.wrong['basic-ftp'])} | ${c.wholeListingEntries['ftp-session']} / ${c.wholeListingEntries['basic-ftp']} |`);
  const header = '| Dataset | Lines | Disagreements (name, type, size, target) | ftp-session vs generated | basic-ftp vs generated | Entries, whole listing (ftp-session / basic-ftp) |';
  return [header, '|---|---:|---:|---|---|---|', ...rows].join('\n');
}

/** The first disagreements and misreadings, as Markdown list items. */
function examples(results: ReadonlyMap<string, Correctness>): string[] {
  const out: string[] = [];
  for (const [name, c] of results) {
    for (const d of c.first) {
      out.push(`- ${name}, parsers disagree on ${d.fields.join('+')}: \`${d.line}\``);
      out.push(`  ftp-session ${JSON.stringify(d.ftpSession)}; basic-ftp ${JSON.stringify(d.basicFtp)}; written ${JSON.stringify(d.expected)}`);
    }
    for (const parser of ['ftp-session', 'basic-ftp'] as const) {
      for (const m of c.firstWrong[parser]) {
        out.push(`- ${name}, ${parser} misreads ${m.fields.join('+')}: \`${m.line}\``);
        out.push(`  read ${JSON.stringify(m.seen)}; written ${JSON.stringify(m.expected)}`);
      }
    }
  }
  return out.length === 0 ? [] : ['', ...out];
}

function machine(): { node: string; cpus: number; cpu: string; date: string } {
  return { node: process.version, cpus: availableParallelism(), cpu: cpus()[0]?.model.trim() ?? 'unknown', date: new Date().toISOString() };
}

function report(options: Options, timings: readonly Timing[], correctness: ReadonlyMap<string, Correctness>): void {
  const host = machine();
  const lines = [
    `## Listing parse speed${options.smoke ? ' (smoke)' : ''}`,
    '',
    `${grouped(options.lines)} lines per dataset, median of ${options.rounds} rounds after ${options.warmup} warm-up; seed ${options.seed}; node ${host.node}, ${host.cpus} CPUs (${host.cpu}), ${host.date}.`,
    '',
    timingTable(timings),
    '',
    'Correctness (untimed): name, type, size and a target the line carries, compared between the parsers and against what the generator wrote (modification times too where a parser gives them):',
    '',
    correctnessTable(correctness),
    ...examples(correctness),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  if (options.json === undefined) return;
  const json = { ...host, options, timings, correctness: Object.fromEntries(correctness) };
  writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
}

// ---- main ---------------------------------------------------------------------------------

/** Runs this script again with `--expose-gc` (same Node flags and arguments); returns its exit code. */
function rerunWithGc(): number {
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', process.argv[1]!, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, FTP_SESSION_BENCH_RERUN: '1' },
  });
  return child.status ?? 1;
}

function main(): void {
  if (globalThis.gc === undefined && process.env.FTP_SESSION_BENCH_RERUN !== '1') {
    process.exitCode = rerunWithGc();
    return;
  }
  const options = readOptions(process.argv.slice(2));
  const datasets = options.datasets.map((name) => generate(name, options.lines, options.seed));
  const correctness = new Map(datasets.map((dataset) => [dataset.name, check(dataset, 5)]));
  const timings = datasets.flatMap((dataset) => measure(dataset, options));
  report(options, timings, correctness);
  if (sink < 0) process.stdout.write('unreachable\n');
}

main();
