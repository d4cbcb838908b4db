/**
 * Soak run (issue #3): many operations (cd, size, list, get of files of varied sizes) through the
 * fault-injecting proxy (spec/support/fault-proxy.ts) in front of a real vsftpd, with random
 * faults on the control and data connections. Every result is checked against the fixtures:
 * sizes, listing names and sizes, and every byte of every download (sha256 and byte by byte).
 *
 * Not part of the default tests. Run: `npm run soak -- --ops 1000 --seed 7` (needs root and
 * `npm run test:setup` for vsftpd). Options:
 *   --seed N         PRNG seed (default 20261121); the same seed replays the same plan
 *   --ops N          operations to run (default 1000)
 *   --fault-rate P   probability that a batch of operations gets a fault (default 0.3)
 *   --timeout MS     the session's `timeout` option (default 1500: stall faults cost one each)
 *   --op-limit MS    longest time one operation may take before it counts as a hang (default 30000)
 *   --inflight N     most operations posted at once (default 3)
 *   --no-stall       never inject 'stall' faults
 *   --list-data-faults  also cut LIST data connections. Off by default: vsftpd answers 226 to a
 *                    listing whose data connection was cut (it fits in the socket buffers), and a
 *                    listing announces no size, so no client can tell a cut listing from a short
 *                    one. With this flag a listing cut that way counts as `truncated`, not wrong.
 *   --verbose        print every fault and every non-ok outcome as it happens
 *   --trace FILE     write the whole session trace, every event and every batch to FILE
 *   --keepalive MS   the session's `keepalive` option (default 0: off)
 *   --exclude REGEX  never arm a fault whose description matches (e.g. 'ctl-421-.*:PWD'), to look
 *                    past a known bug; descriptions are those of the report's faultsByKindAndVerb
 *
 * Exit code 0 only when every operation ended with its correct result (or with a correct
 * refusal to replay a listing that had already delivered lines), no byte was corrupted, missing
 * or extra, nothing hung, and no event came out of order.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { FtpSession, type FtpError } from '../lib/index.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../spec/support/fault-proxy.js';
import { sha256 } from '../spec/support/hash.js';
import { startServer, writeFixture, type RunningServer } from '../spec/support/servers.js';

// ---- options --------------------------------------------------------------------------------

interface Options {
  seed: number;
  ops: number;
  faultRate: number;
  timeout: number;
  opLimit: number;
  inflight: number;
  stall: boolean;
  listDataFaults: boolean;
  verbose: boolean;
  traceFile: string | undefined;
  exclude: RegExp | undefined;
  keepalive: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    seed: 20261121, ops: 1000, faultRate: 0.3, timeout: 1500, opLimit: 30_000, inflight: 3, stall: true, listDataFaults: false, verbose: false, traceFile: undefined, exclude: undefined, keepalive: 0,
  };
  const number = (name: string, raw: string | undefined, min: number, integer = true): number => {
    const value = Number(raw);
    if (raw === undefined || !Number.isFinite(value) || value < min || (integer && !Number.isSafeInteger(value))) {
      throw new Error(`${name} needs a ${integer ? 'whole ' : ''}number >= ${min}, got ${String(raw)}`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--seed': options.seed = number(flag, value(), 0); break;
      case '--ops': options.ops = number(flag, value(), 1); break;
      case '--fault-rate': options.faultRate = Math.min(1, number(flag, value(), 0, false)); break;
      case '--timeout': options.timeout = number(flag, value(), 100); break;
      case '--op-limit': options.opLimit = number(flag, value(), 1000); break;
      case '--inflight': options.inflight = number(flag, value(), 1); break;
      case '--no-stall': options.stall = false; break;
      case '--list-data-faults': options.listDataFaults = true; break;
      case '--verbose': options.verbose = true; break;
      case '--trace': options.traceFile = value(); break;
      case '--keepalive': options.keepalive = number(flag, value(), 0); break;
      case '--exclude': options.exclude = new RegExp(value() ?? '(?!)'); break;
      default: throw new Error(`unknown argument ${argv[i]} (see the header of bench/soak.ts)`);
    }
  }
  return options;
}

// ---- seeded PRNG (sfc32 seeded through splitmix32) ------------------------------------------

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t0 = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    const t = (t0 + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      if ((r -= w) < 0) return item;
    }
    return items[items.length - 1]![0];
  }

  bytes(size: number): Buffer {
    const buf = Buffer.allocUnsafe(size);
    let i = 0;
    for (; i + 4 <= size; i += 4) buf.writeUInt32LE(this.u32(), i);
    for (; i < size; i++) buf[i] = this.u32() & 0xff;
    return buf;
  }
}

// ---- fixtures -------------------------------------------------------------------------------

const KiB = 1024;
const MiB = 1024 * KiB;
const DIRS = ['/', '/alpha', '/alpha/beta', '/alpha/beta/gamma'] as const;
/** [directory, name, size]: 0 bytes to 4 MiB, around the 64 KiB block size and around 1 MiB. */
const FIXTURE_PLAN: ReadonlyArray<readonly [string, string, number]> = [
  ['/', 'empty.bin', 0],
  ['/', 'one.bin', 1],
  ['/', 'mid-1m.bin', MiB],
  ['/alpha', 'two.bin', 2],
  ['/alpha', 'block-1.bin', 64 * KiB - 1],
  ['/alpha', 'block.bin', 64 * KiB],
  ['/alpha', 'block+1.bin', 64 * KiB + 1],
  ['/alpha', 'big-4m.bin', 4 * MiB],
  ['/alpha/beta', 'page.bin', 4096],
  ['/alpha/beta', 'odd.bin', 100_003],
  ['/alpha/beta', 'with space.bin', 131_073],
  ['/alpha/beta', 'mib-1.bin', MiB - 1],
  ['/alpha/beta', 'mib+1.bin', MiB + 1],
  ['/alpha/beta', 'big-3m.bin', 3 * MiB - 5],
  ['/alpha/beta/gamma', 'tiny.bin', 511],
  ['/alpha/beta/gamma', 'quarter.bin', 256 * KiB],
  ['/alpha/beta/gamma', 'half.bin', 500_000],
  ['/alpha/beta/gamma', 'big-2m.bin', 2 * MiB + 17],
  ['/alpha/beta/gamma', 'big-4m-1.bin', 4 * MiB - 1],
  ['/alpha/beta/gamma', 'big-1.5m.bin', 1.5 * MiB + 3],
];

interface Fixture {
  path: string;
  dir: string;
  name: string;
  size: number;
  data: Buffer;
  sha256: string;
}

interface DirEntry {
  dir: boolean;
  size: number;
}


async function createFixtures(server: RunningServer, rng: Rng): Promise<Map<string, Fixture>> {
  const fixtures = new Map<string, Fixture>();
  for (const [dir, name, size] of FIXTURE_PLAN) {
    const path = posix.join(dir, name);
    const data = rng.bytes(size);
    await writeFixture(server, path, data);
    fixtures.set(path, { path, dir, name, size, data, sha256: sha256(data) });
  }
  return fixtures;
}

/** What LIST of each directory must show, read from the server's disk (the `upload` folder included). */
function expectedListings(server: RunningServer): Map<string, Map<string, DirEntry>> {
  const listings = new Map<string, Map<string, DirEntry>>();
  for (const dir of DIRS) {
    const entries = new Map<string, DirEntry>();
    for (const name of readdirSync(join(server.root, dir))) {
      if (name.startsWith('.')) continue;
      const st = statSync(join(server.root, dir, name));
      entries.set(name, { dir: st.isDirectory(), size: st.size });
    }
    listings.set(dir, entries);
  }
  return listings;
}

// ---- operations -----------------------------------------------------------------------------

type OpKind = 'cd' | 'size' | 'list' | 'get';
type Status = 'ok' | 'wrong' | 'refused' | 'truncated' | 'failed' | 'hang' | 'abandoned';

interface TimedEvent {
  t: number;
  name: string;
  detail: string;
}

interface Op {
  seq: number;
  batch: number;
  kind: OpKind;
  /** The argument posted (undefined: `list` of the working directory). */
  arg: string | undefined;
  /** Absolute path of the file or directory it is about. */
  target: string;
  cwdAtPost: string | null;
  fault: string | undefined;
  started: number;
  timer: NodeJS.Timeout | undefined;
  /** Download progress. */
  lines: string[];
  received: number;
  corrupted: number;
  extra: number;
  hash: Hash | undefined;
  announced: Map<string, number>;
  status: Status | undefined;
  why: string;
  finished: Promise<void>;
  resolve: () => void;
}

const OP_EVENTS: Record<OpKind, readonly string[]> = {
  cd: ['cd', 'cd_error'],
  size: ['size', 'size_error'],
  list: ['list_connected', 'list_server', 'list_data', 'list_done', 'list_error'],
  get: ['get_connected', 'get_server', 'get_data', 'get_done', 'get_error'],
};
const LIFECYCLE_EVENTS = [
  'connected', 'connect_error', 'authenticated', 'login_error', 'server_message', 'disconnected',
  'reconnecting', 'reconnected', 'reconnect_error', 'error', 'closed',
] as const;

/** The `param` argument of an op event. */
function paramOf(name: string, args: readonly unknown[]): unknown {
  if (name.endsWith('_data')) return args[1];
  if (name.endsWith('_done') || name.endsWith('_connected')) return args[0];
  return args[2]; // cd, size, *_error, *_server
}

/** A vsftpd LIST line: type, size, name. */
const LIST_LINE = /^([-dl])[-rwxsStT]{9}\s+\d+\s+\S+\s+\S+\s+(\d+)\s+[A-Z][a-z]{2}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4}) (.+)$/;

// ---- faults ---------------------------------------------------------------------------------

interface ArmedRule {
  /** `VERB` for command rules, `DATA` for the next data connection, `IDLE` for an idle 421. */
  verb: string;
  kind: string;
  description: string;
  armedAt: number;
  batch: number;
  fired: boolean;
}

const VERBS: Record<OpKind, readonly string[]> = {
  cd: ['CWD', 'PWD'],
  size: ['SIZE'],
  list: ['EPSV', 'LIST'],
  get: ['EPSV', 'RETR'],
};

const verbOf = (line: string) => line.split(' ', 1)[0]!.toUpperCase();

// ---- the run --------------------------------------------------------------------------------

interface Failure {
  seq: number;
  batch: number;
  op: string;
  cwdAtPost: string | null;
  fault: string | undefined;
  status: Status;
  why: string;
  events: TimedEvent[];
  proxyLog: string[];
  trace: string[];
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function increment(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  console.log(`soak: seed=${options.seed} ops=${options.ops} fault-rate=${options.faultRate} timeout=${options.timeout}ms stall=${options.stall} inflight<=${options.inflight}`);
  const argv = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--trace') && !all[i - 1]?.startsWith('--trace'));
  const replay = argv.some((a) => a.startsWith('--seed')) ? argv : [`--seed ${options.seed}`, ...argv];
  console.log(`soak: replay with: npx tsx bench/soak.ts ${replay.join(' ')}`);

  const traceOut = options.traceFile ? createWriteStream(options.traceFile) : undefined;
  const planRng = new Rng(options.seed);
  const dataRng = new Rng(options.seed ^ 0x5eed_da7a);

  // Results.
  const opsByKind: Record<OpKind, Record<Status | 'total', number>> = {
    cd: { total: 0, ok: 0, wrong: 0, refused: 0, truncated: 0, failed: 0, hang: 0, abandoned: 0 },
    size: { total: 0, ok: 0, wrong: 0, refused: 0, truncated: 0, failed: 0, hang: 0, abandoned: 0 },
    list: { total: 0, ok: 0, wrong: 0, refused: 0, truncated: 0, failed: 0, hang: 0, abandoned: 0 },
    get: { total: 0, ok: 0, wrong: 0, refused: 0, truncated: 0, failed: 0, hang: 0, abandoned: 0 },
  };
  const faultsByKind: Record<string, number> = {};
  const faultsByKindVerb: Record<string, number> = {};
  const failureReasons: Record<string, number> = {};
  const refusalReasons: Record<string, number> = {};
  const anomalies: string[] = [];
  const failures: Failure[] = [];
  const lifecycle = { disconnected: 0, reconnecting: 0, reconnected: 0, reconnect_error: 0, server_message: 0, error: 0, sessions: 0, connectCount: 0 };
  const bytes = { verified: 0, corrupted: 0, missing: 0, extra: 0, corruptedInFailedGets: 0, undeliveredInFailedGets: 0 };

  let server: RunningServer | undefined;
  let proxy: FaultProxy | undefined;
  let ftp: FtpSession | undefined;
  const closeSession = async (session: FtpSession) => {
    lifecycle.connectCount += session.connectCount;
    session.removeAllListeners();
    session.on('error', () => {});
    await withTimeout(session.close(), 10_000, 'session close').catch((e: unknown) => anomalies.push(`closing the session: ${String(e)}`));
  };

  try {
    server = await startServer('vsftpd');
    const fixtures = await createFixtures(server, dataRng);
    const listings = expectedListings(server);
    const totalFixtureBytes = [...fixtures.values()].reduce((s, f) => s + f.size, 0);
    console.log(`soak: vsftpd on ${server.port}, ${fixtures.size} fixtures (${(totalFixtureBytes / MiB).toFixed(1)} MiB) in ${DIRS.length - 1} nested directories`);
    const fixtureList = [...fixtures.values()];
    const p = await startFaultProxy({ target: server });
    proxy = p;
    const listingBytes = new Map<string, number>();

    // ---- event routing ----
    const pending: Op[] = [];
    /** Operations that ended lately, to name the owner of a second outcome. */
    const recent: Op[] = [];
    /** The session gave up reconnecting during this batch (it is replaced after the batch). */
    let gaveUp = false;
    let batchEvents: TimedEvent[] = [];
    let batchTrace: string[] = [];
    let episode = 0; // reconnect attempt number of the running reconnect episode, 0 when none
    let lastReconnected = 0;
    let hung = false;

    const note = (name: string, detail: string) => {
      traceOut?.write(`${elapsed()} event ${name} ${detail}\n`);
      if (batchEvents.length < 2000) batchEvents.push({ t: elapsed(), name, detail });
    };

    const startHead = () => {
      const head = pending[0];
      if (!head || head.timer) return;
      head.started = performance.now();
      head.timer = setTimeout(() => onHang(head), options.opLimit);
    };

    const finish = (op: Op, status: Status, why = '') => {
      if (op.status !== undefined) return;
      op.status = status;
      op.why = why;
      clearTimeout(op.timer);
      const index = pending.indexOf(op);
      if (index >= 0) pending.splice(index, 1);
      recent.push(op);
      if (recent.length > 20) recent.shift();
      op.resolve();
      startHead();
    };

    const onHang = (op: Op) => {
      hung = true;
      finish(op, 'hang', `no outcome within ${options.opLimit} ms (state ${ftp?.state ?? '?'})`);
      for (const rest of [...pending]) finish(rest, 'abandoned', 'the session was replaced after a hang');
    };

    const verifyListing = (op: Op, complete: boolean): string[] => {
      const expected = listings.get(op.target)!;
      const problems: string[] = [];
      const seen = new Set<string>();
      for (const line of op.lines) {
        const m = LIST_LINE.exec(line);
        if (!m) {
          problems.push(`unparsable line ${JSON.stringify(line)}`);
          continue;
        }
        const [, type, size, name] = m as unknown as [string, string, string, string];
        const entry = expected.get(name);
        if (seen.has(name)) problems.push(`duplicate ${name}`);
        seen.add(name);
        if (!entry) problems.push(`unexpected ${JSON.stringify(name)}`);
        else if (entry.dir !== (type === 'd')) problems.push(`${name}: type ${type}`);
        else if (!entry.dir && Number(size) !== entry.size) problems.push(`${name}: size ${size}, expected ${entry.size}`);
      }
      if (complete) {
        const missing = [...expected.keys()].filter((n) => !seen.has(n));
        if (missing.length > 0) problems.push(`missing ${missing.join(', ')} (${op.lines.length} of ${expected.size} lines)`);
      }
      return problems;
    };

    const onOpEvent = (name: string, args: unknown[]) => {
      const kind = name.split('_', 1)[0] as OpKind;
      const param = paramOf(name, args);
      if (!name.endsWith('_data')) note(name, `${JSON.stringify(param)}${name.endsWith('_error') ? ` ${String(args[0])} ${String(args[1])} [${(args[3] as FtpError | undefined)?.name}]` : name === 'size' ? ` ${String(args[3])}` : ''}`);
      let op = pending[0];
      if (!op || op.kind !== kind || op.arg !== param) {
        const other = pending.find((o) => o.kind === kind && o.arg === param);
        const ended = [...recent].reverse().find((o) => o.kind === kind && o.arg === param);
        const detail = name.endsWith('_error') ? ` ${String(args[0])} ${String(args[1])}` : '';
        if (other) anomalies.push(`event ${name}(${JSON.stringify(param)})${detail} out of order: op #${other.seq} is not the head (#${op?.seq ?? '-'} ${op?.kind ?? ''})`);
        else if (ended) anomalies.push(`event ${name}(${JSON.stringify(param)})${detail} for op #${ended.seq} (batch ${ended.batch}, fault ${ended.fault ?? 'none'}), which already ended (${ended.status}${ended.why ? `: ${ended.why}` : ''}): a second outcome for one post`);
        else anomalies.push(`event ${name}(${JSON.stringify(param)})${detail} for no pending operation`);
        if (!other) return;
        op = other;
      }
      const fixture = fixtures.get(op.target);
      switch (name) {
        case 'cd':
          return finish(op, 'ok');
        case 'size': {
          const size = args[3] as number;
          return size === fixture!.size ? finish(op, 'ok') : finish(op, 'wrong', `size ${size}, expected ${fixture!.size}`);
        }
        case 'list_connected': case 'list_server': case 'get_connected': case 'get_server': {
          const count = (op.announced.get(name) ?? 0) + 1;
          op.announced.set(name, count);
          if (count > 1) anomalies.push(`op #${op.seq}: ${name} emitted ${count} times`);
          return;
        }
        case 'list_data':
          op.lines.push(args[0] as string);
          return;
        case 'list_done': {
          const problems = verifyListing(op, true);
          if (problems.length === 0) {
            listingBytes.set(op.target, op.lines.reduce((s, l) => s + Buffer.byteLength(l) + 2, 0));
            return finish(op, 'ok');
          }
          const why = `listing of ${op.target}: ${problems.slice(0, 6).join('; ')}`;
          if (op.fault?.startsWith('data-') && options.listDataFaults) {
            // A cut listing: every line but the last whole and right, the last one whole or cut short.
            const whole = op.lines.slice(0, -1);
            const lastLine = op.lines.at(-1) ?? '';
            const parsed = LIST_LINE.exec(lastLine);
            const cutShort = !parsed || [...listings.get(op.target)!.keys()].some((n) => n.startsWith(parsed[3]!) && n !== parsed[3]);
            if (verifyListing({ ...op, lines: whole }, false).length === 0 && (cutShort || verifyListing({ ...op, lines: [lastLine] }, false).length === 0)) {
              return finish(op, 'truncated', why);
            }
          }
          return finish(op, 'wrong', why);
        }
        case 'get_data': {
          const chunk = args[0] as Buffer;
          const expected = fixture!.data;
          const at = op.received;
          const end = Math.min(at + chunk.length, expected.length);
          if (end > at) {
            const got = chunk.subarray(0, end - at);
            const want = expected.subarray(at, end);
            if (!got.equals(want)) for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) op.corrupted++;
          }
          if (at + chunk.length > expected.length) op.extra += at + chunk.length - Math.max(at, expected.length);
          op.received += chunk.length;
          op.hash!.update(chunk);
          return;
        }
        case 'get_done': {
          const missing = Math.max(0, fixture!.size - op.received);
          const digest = op.hash!.digest('hex');
          bytes.corrupted += op.corrupted;
          bytes.extra += op.extra;
          bytes.missing += missing;
          if (op.corrupted === 0 && op.extra === 0 && missing === 0 && digest === fixture!.sha256) {
            bytes.verified += op.received;
            return finish(op, 'ok');
          }
          return finish(op, 'wrong', `get_done after ${op.received} of ${fixture!.size} bytes: ${op.corrupted} corrupted, ${missing} missing, ${op.extra} extra, sha256 ${digest === fixture!.sha256 ? 'equal' : 'differs'}`);
        }
        default: {
          // *_error
          const error = args[3] as FtpError | undefined;
          const label = `${kind}: ${error?.name ?? 'Error'} ${error?.code ?? ''}${args[0] === null ? '' : ` ${String(args[0])}`}`;
          const text = `${label}: ${String(args[1])}`;
          if (kind === 'get') {
            bytes.corruptedInFailedGets += op.corrupted + op.extra;
            bytes.undeliveredInFailedGets += Math.max(0, fixture!.size - op.received);
            if (op.corrupted + op.extra > 0) return finish(op, 'wrong', `${text}; and the ${op.received} bytes delivered before it hold ${op.corrupted} corrupted and ${op.extra} extra bytes`);
          }
          if (error?.code === 'ERR_FTP_OUTCOME_UNKNOWN' || (kind === 'list' && op.lines.length > 0)) {
            const problems = verifyListing(op, false);
            if (problems.length > 0) return finish(op, 'wrong', `${text}; the ${op.lines.length} lines delivered before it are wrong: ${problems.slice(0, 4).join('; ')}`);
            increment(refusalReasons, kind === 'list' ? `${label} after ${op.lines.length > 0 ? 'lines were delivered' : 'no line'}` : label);
            return finish(op, 'refused', text);
          }
          increment(failureReasons, label);
          return finish(op, 'failed', `${text}${kind === 'get' ? ` (after ${op.received} of ${fixture!.size} bytes)` : ''}`);
        }
      }
    };

    const onLifecycle = (name: string, args: unknown[]) => {
      note(name, args.map((a) => (a instanceof Error ? `[${a.name}]` : JSON.stringify(a))).join(' '));
      switch (name) {
        case 'disconnected': lifecycle.disconnected++; break;
        case 'server_message': lifecycle.server_message++; break;
        case 'reconnecting': {
          lifecycle.reconnecting++;
          const attempt = args[0] as number;
          if (attempt !== episode + 1) anomalies.push(`reconnecting(${attempt}) after attempt ${episode} of this episode`);
          episode = attempt;
          break;
        }
        case 'reconnected': {
          lifecycle.reconnected++;
          const count = args[0] as number;
          if (episode === 0) anomalies.push(`reconnected(${count}) without a reconnecting event before it`);
          if (count <= lastReconnected) anomalies.push(`reconnected(${count}) after reconnected(${lastReconnected})`);
          if (ftp && count > ftp.connectCount) anomalies.push(`reconnected(${count}) but connectCount is ${ftp.connectCount}`);
          lastReconnected = count;
          episode = 0;
          break;
        }
        case 'reconnect_error':
          lifecycle.reconnect_error++;
          episode = 0;
          gaveUp = true;
          anomalies.push(`reconnect_error ${String(args[0])} ${String(args[1])}`);
          break;
        case 'error':
          lifecycle.error++;
          anomalies.push(`error event: ${String((args[0] as Error | undefined)?.message)} (${String(args[1])})`);
          break;
        case 'connect_error': case 'login_error':
          anomalies.push(`${name}: ${String(args[1])}`);
          break;
        default:
      }
    };

    const spawnSession = async (): Promise<FtpSession> => {
      lifecycle.sessions++;
      episode = 0;
      lastReconnected = 0;
      const session = FtpSession.spawn({
        host: p.host, port: p.port, user: server!.user, password: server!.password,
        timeout: options.timeout, transferMode: 'binary', maxCommandRetries: 5, keepalive: options.keepalive,
        debug: (line) => {
          traceOut?.write(`${elapsed()} ${line}\n`);
          if (batchTrace.length < 5000) batchTrace.push(`${elapsed()} ${line}`);
        },
      });
      const on = session.on.bind(session) as (n: string, l: (...a: unknown[]) => void) => void;
      for (const kind of Object.keys(OP_EVENTS) as OpKind[]) {
        for (const name of OP_EVENTS[kind]) on(name, (...args) => onOpEvent(name, args));
      }
      for (const name of LIFECYCLE_EVENTS) on(name, (...args) => onLifecycle(name, args));
      await withTimeout(new Promise<void>((resolve, reject) => {
        session.once('authenticated', () => resolve());
        session.once('login_error', (_c, text) => reject(new Error(`login failed: ${text}`)));
        session.once('connect_error', (_c, text) => reject(new Error(`connect failed: ${text}`)));
      }), 15_000, 'login');
      return session;
    };

    let sessionLogStart = p.log.length;
    ftp = await spawnSession();

    // ---- the loop ----
    /** The session's working directory as far as the soak knows it (null: unknown). */
    let cwd: string | null = '/';
    /** A cd succeeded on this session (so the restore plan sends CWD and PWD). */
    let cdDone = false;
    const armed: ArmedRule[] = [];
    let seq = 0;
    let batch = 0;
    let nextProgress = 100;

    const pathFor = (target: string, draw: number): string => {
      if (cwd === null || draw < 0.5) return target;
      const rel = posix.relative(cwd, target);
      return rel === '' ? '.' : rel;
    };

    const planOp = (): Op => {
      const kind = planRng.weighted<OpKind>([['cd', 15], ['size', 25], ['list', 20], ['get', 40]]);
      const draw = planRng.next();
      const fixture = planRng.pick(fixtureList);
      const dir = planRng.pick(DIRS);
      let target: string;
      let arg: string | undefined;
      if (kind === 'size' || kind === 'get') {
        target = fixture.path;
        arg = pathFor(target, draw);
      } else {
        target = dir;
        arg = kind === 'list' && cwd !== null && draw > 0.8 ? undefined : pathFor(target, draw);
        if (arg === undefined) target = cwd!;
      }
      let resolve!: () => void;
      const finished = new Promise<void>((r) => (resolve = r));
      return {
        seq: ++seq, batch, kind, arg, target, cwdAtPost: cwd, fault: undefined, started: 0, timer: undefined,
        lines: [], received: 0, corrupted: 0, extra: 0, hash: kind === 'get' ? createHash('sha256') : undefined,
        announced: new Map(), status: undefined, why: '', finished, resolve,
      };
    };

    /** The passive-mode verb the session sent last on this session (EPSV until it gave EPSV up). */
    const passiveVerb = (): string => {
      for (let i = p.log.length - 1; i >= sessionLogStart; i--) {
        const verb = verbOf(p.log[i]!.line);
        if (verb === 'EPSV' || verb === 'PASV') return verb;
      }
      return 'EPSV';
    };

    const outstanding = (verb: string) => armed.some((r) => !r.fired && r.verb === verb);

    const arm = (rule: Omit<ArmedRule, 'armedAt' | 'batch' | 'fired'>, apply: () => void): void => {
      armed.push({ ...rule, armedAt: p.log.length, batch, fired: false });
      apply();
    };

    /** Picks and arms a fault aimed at `op` (the first of its batch); returns its description, if any. */
    const armFault = async (op: Op): Promise<string | undefined> => {
      const fixture = fixtures.get(op.target);
      const ctlFaults: Array<readonly [string, number]> = [
        ['ctl-before', 20], ['ctl-421-before', 12], ['ctl-after-reply', 18], ['idle-421', 7], ['double', 6],
        ['ctl-stall-before', options.stall ? 1.5 : 0],
      ];
      const dataFaults: Array<readonly [string, number]> = op.kind === 'get'
        ? [['data-reset', 14], ['data-close', 14], ['data-stall', options.stall ? 1.5 : 0]]
        : op.kind === 'list' && options.listDataFaults ? [['data-reset', 10], ['data-close', 4], ['data-stall', options.stall ? 1.5 : 0]] : [];
      const choice = planRng.weighted([...ctlFaults, ...dataFaults]);
      let verb = planRng.pick(VERBS[op.kind]);
      // The session sends PASV instead of EPSV once EPSV failed on it: aim at what it sends now.
      if (verb === 'EPSV' && passiveVerb() === 'PASV') verb = 'PASV';
      const how = planRng.pick<'close' | 'reset'>(['close', 'reset']);
      const draws = [planRng.next(), planRng.next(), planRng.next()] as const;

      const commandFault = (kindName: string, fault: Fault, when: 'before' | 'after-reply', onVerb: string): string | undefined => {
        const description = `${kindName}:${onVerb}`;
        if (outstanding(onVerb) || options.exclude?.test(description)) return undefined;
        arm({ verb: onVerb, kind: kindName, description }, () => p.onCommand(onVerb, fault, when));
        return description;
      };
      const ctlFault = (name: string): string | undefined => {
        switch (name) {
          case 'ctl-before': return commandFault(`ctl-${how}-before`, how, 'before', verb);
          case 'ctl-421-before': return commandFault('ctl-421-before', { reply: '421 Service not available, closing control connection.' }, 'before', verb);
          case 'ctl-stall-before': return commandFault('ctl-stall-before', 'stall', 'before', verb);
          case 'ctl-after-reply': {
            const which = draws[2] < 0.2 ? '421' : how;
            const fault: Fault = which === '421' ? { reply: '421 Timeout.' } : which;
            return commandFault(`ctl-${which}-after-reply`, fault, 'after-reply', verb);
          }
          default: return undefined;
        }
      };

      switch (choice) {
        case 'ctl-before': case 'ctl-421-before': case 'ctl-after-reply': case 'ctl-stall-before':
          return ctlFault(choice);
        case 'idle-421': {
          if (ftp!.state !== 'ready' || options.exclude?.test('idle-421')) return undefined;
          const gone = new Promise<void>((resolve) => ftp!.once('disconnected', () => resolve()));
          try {
            p.faultControl({ reply: '421 Timeout.' });
          } catch {
            return undefined;
          }
          armed.push({ verb: 'IDLE', kind: 'idle-421', description: 'idle-421', armedAt: p.log.length, batch, fired: true });
          increment(faultsByKind, 'idle-421');
          increment(faultsByKindVerb, 'idle-421');
          await withTimeout(gone, 5000, 'disconnected after an idle 421').catch((e: unknown) => anomalies.push(String(e)));
          return 'idle-421';
        }
        case 'double': {
          const first = ctlFault(draws[0] < 0.5 ? 'ctl-before' : 'ctl-after-reply');
          if (first === undefined) return undefined;
          const restoreVerbs = ['USER'];
          if (p.commands.some((c) => verbOf(c) === 'PASS')) restoreVerbs.push('PASS'); // vsftpd's anonymous login needs no PASS
          if (p.commands.some((c) => c === 'TYPE I')) restoreVerbs.push('TYPE');
          if (cdDone && op.kind !== 'cd') restoreVerbs.push('CWD', 'PWD');
          const restoreVerb = restoreVerbs[Math.floor(draws[1] * restoreVerbs.length)]!;
          const second = commandFault(`restore-${how}`, how, 'before', restoreVerb);
          return second ? `${first} + ${second}` : first;
        }
        default: {
          // data faults, on the next data connection
          if (outstanding('DATA')) return undefined;
          const fault = choice.slice('data-'.length) as 'reset' | 'close' | 'stall';
          const size = op.kind === 'get' ? fixture!.size : listingBytes.get(op.target) ?? 300;
          let after: number;
          if (size === 0) after = 0;
          else if (fault === 'stall') after = Math.floor(draws[0] * size);
          else {
            const boundaries = [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, size - 1, size].filter((n) => n <= size);
            after = draws[0] < 0.5 ? Math.floor(draws[1] * size)
              : draws[0] < 0.75 ? Math.floor(draws[1] * Math.min(size, 70_000))
                : boundaries[Math.floor(draws[1] * boundaries.length)]!;
          }
          const description = `data-${fault}@${after}/${size}`;
          if (options.exclude?.test(description)) return undefined;
          arm({ verb: 'DATA', kind: `data-${fault}`, description }, () => p.onData(fault, after));
          return description;
        }
      }
    };

    /** Marks rules that fired since they were armed; counts them once. */
    const checkFired = () => {
      for (const rule of armed) {
        if (rule.fired) continue;
        const after = p.log.slice(rule.armedAt);
        const hit = rule.verb === 'DATA'
          ? after.some(({ line }) => verbOf(line) === 'RETR' || verbOf(line) === 'LIST')
          : after.some(({ line }) => verbOf(line) === rule.verb);
        if (!hit) continue;
        rule.fired = true;
        increment(faultsByKind, rule.kind);
        increment(faultsByKindVerb, rule.verb === 'DATA' ? rule.kind : `${rule.kind}:${rule.verb}`);
      }
    };

    while (seq < options.ops) {
      batch++;
      batchEvents = [];
      batchTrace = [];
      const logStart = p.log.length;
      // Plan the batch: 1..inflight operations; a cd ends a batch (later relative paths depend on it).
      const want = Math.min(options.ops - seq, planRng.weighted([[1, 60], [2, 25], [3, 15]]), options.inflight);
      const ops: Op[] = [];
      while (ops.length < want) {
        const op = planOp();
        ops.push(op);
        if (op.kind === 'cd') break;
      }
      const first = ops[0]!;
      traceOut?.write(`${elapsed()} === batch ${batch}: ${ops.map((op) => `#${op.seq} ${op.kind} ${JSON.stringify(op.arg)}`).join(', ')} (cwd ${cwd})\n`);
      if (planRng.chance(options.faultRate)) {
        first.fault = await armFault(first);
        traceOut?.write(`${elapsed()} === fault: ${first.fault ?? 'none armed'}\n`);
        if (options.verbose && first.fault) console.log(`  batch ${batch} op #${first.seq} ${first.kind} ${JSON.stringify(first.arg)}: fault ${first.fault}`);
      }
      for (const op of ops) {
        opsByKind[op.kind].total++;
        pending.push(op);
        const session = ftp;
        switch (op.kind) {
          case 'cd': session.post('cd', op.arg!); break;
          case 'size': session.post('size', op.arg!); break;
          case 'list': if (op.arg === undefined) session.post('list'); else session.post('list', op.arg); break;
          case 'get': session.post('get', op.arg!); break;
        }
      }
      startHead();
      await Promise.all(ops.map((op) => op.finished));
      // Let late events (a duplicate outcome, a lifecycle event) arrive before the batch is judged.
      await new Promise((resolve) => setImmediate(resolve));
      checkFired();

      const last = ops[ops.length - 1]!;
      if (last.kind === 'cd') {
        if (last.status === 'ok') {
          cwd = last.target;
          cdDone = true;
        } else {
          cwd = null;
        }
      }
      for (const op of ops) {
        const status = op.status!;
        traceOut?.write(`${elapsed()} === #${op.seq} ${op.kind} ${JSON.stringify(op.arg)}: ${status} ${op.why}\n`);
        opsByKind[op.kind][status]++;
        if (status !== 'ok' && options.verbose) console.log(`  op #${op.seq} ${op.kind} ${JSON.stringify(op.arg)} [${op.fault ?? 'no fault'}]: ${status} ${op.why}`);
        if (status === 'ok' || status === 'refused' || status === 'truncated') continue;
        failures.push({
          seq: op.seq, batch: op.batch, op: `${op.kind} ${JSON.stringify(op.arg)} (${op.target})`, cwdAtPost: op.cwdAtPost,
          fault: ops[0]!.fault, status, why: op.why, events: batchEvents.slice(0, 200),
          proxyLog: p.log.slice(Math.max(0, logStart - 3)).slice(0, 120).map(({ connection, line }) => `#${connection} ${line}`),
          trace: batchTrace.slice(-300),
        });
      }
      if (hung || gaveUp) {
        console.log(`soak: ${hung ? 'an operation hung' : 'the session gave up reconnecting (reconnect_error)'} in batch ${batch}; replacing the session`);
        hung = false;
        gaveUp = false;
        const old = ftp;
        await closeSession(old);
        sessionLogStart = p.log.length;
        ftp = await spawnSession();
        cwd = '/';
        cdDone = false;
      }
      if (seq >= nextProgress) {
        nextProgress += 100;
        const bad = failures.length;
        console.log(`  [${seq}/${options.ops}] ${(elapsed() / 1000).toFixed(1)}s faults=${Object.values(faultsByKind).reduce((a, b) => a + b, 0)} reconnected=${lifecycle.reconnected} bad=${bad} anomalies=${anomalies.length}`);
      }
    }
    // Rules still armed: they never fired (reported, not counted as injected).
    await new Promise((resolve) => setTimeout(resolve, 50));
    checkFired();
    const unfired = armed.filter((r) => !r.fired);

    // ---- report ----
    const session = ftp;
    ftp = undefined;
    const finalConnectCount = session.connectCount;
    await closeSession(session); // adds its connectCount to lifecycle.connectCount
    const commands = p.commands;
    const count = (verb: string) => commands.filter((c) => verbOf(c) === verb).length;
    const firstPasv = commands.findIndex((c) => verbOf(c) === 'PASV');
    const totalOps = Object.values(opsByKind).reduce((s, k) => s + k.total, 0);
    const totalFaults = Object.values(faultsByKind).reduce((s, n) => s + n, 0);
    const failedOps = Object.values(opsByKind).reduce((s, k) => s + k.failed + k.hang + k.abandoned + k.wrong, 0);
    const report = {
      seed: options.seed,
      wallSeconds: Number((elapsed() / 1000).toFixed(1)),
      operations: totalOps,
      opsByKind,
      faultsInjected: totalFaults,
      faultsByKind,
      faultsByKindAndVerb: faultsByKindVerb,
      faultsArmedButNeverFired: unfired.map((r) => `${r.description} (batch ${r.batch})`),
      reconnects: {
        reconnectedEvents: lifecycle.reconnected,
        reconnectingEvents: lifecycle.reconnecting,
        disconnectedEvents: lifecycle.disconnected,
        reconnectErrors: lifecycle.reconnect_error,
        finalConnectCount,
        connectCountAllSessions: lifecycle.connectCount,
        sessions: lifecycle.sessions,
        proxyControlConnections: p.connections,
      },
      commandsSeen: { total: commands.length, RETR: count('RETR'), REST: count('REST'), LIST: count('LIST'), EPSV: count('EPSV'), PASV: count('PASV'), ABOR: count('ABOR') },
      bytes: { ...bytes, proxiedToClient: p.dataBytes.toClient },
      failedOps,
      failureReasons,
      refusedToReplay: refusalReasons,
      anomalies,
    };

    console.log('\n=== soak report ===');
    console.log(`seed ${report.seed}, ${totalOps} operations in ${report.wallSeconds} s`);
    const columns = ['total', 'ok', 'refused', 'truncated', 'failed', 'wrong', 'hang', 'abandoned'] as const;
    console.log(['kind ', ...columns.map((c) => c.padStart(9))].join(' '));
    for (const [kind, k] of Object.entries(opsByKind)) console.log([kind.padEnd(5), ...columns.map((c) => String(k[c]).padStart(9))].join(' '));
    console.log(`faults injected: ${totalFaults} ${JSON.stringify(faultsByKind)}`);
    console.log(`reconnects: ${lifecycle.reconnected} reconnected events; connectCount ${finalConnectCount} on the last session, ${lifecycle.connectCount} over ${lifecycle.sessions} session(s); ${lifecycle.reconnect_error} reconnect_error; proxy saw ${p.connections} control connections`);
    console.log(`bytes verified: ${bytes.verified}; corrupted ${bytes.corrupted}, missing ${bytes.missing}, extra ${bytes.extra} (in get_done results); corrupted in failed gets ${bytes.corruptedInFailedGets}`);
    if (firstPasv >= 0) console.log(`note: PASV used ${count('PASV')} times, first after: ${commands.slice(Math.max(0, firstPasv - 4), firstPasv + 1).join(' | ')}`);
    console.log(JSON.stringify(report, null, 2));
    if (failures.length > 0 || anomalies.length > 0) {
      const file = join(tmpdir(), `ftp-soak-${options.seed}-${process.pid}.json`);
      writeFileSync(file, JSON.stringify({ report, failures }, null, 2));
      console.log(`\n${failures.length} failed operation(s); details (events, proxy log, trace) in ${file}`);
      for (const f of failures.slice(0, 10)) {
        console.log(`--- op #${f.seq} (batch ${f.batch}) ${f.op} cwd=${f.cwdAtPost} fault=${f.fault ?? 'none'}: ${f.status}: ${f.why}`);
        console.log(`    proxy log: ${f.proxyLog.slice(0, 40).join(' | ')}`);
        console.log(`    events: ${f.events.slice(0, 40).map((e) => `${e.name} ${e.detail}`).join(' | ')}`);
      }
    }
    const pass = failedOps === 0 && anomalies.length === 0 && bytes.corrupted === 0 && bytes.missing === 0 && bytes.extra === 0 && bytes.corruptedInFailedGets === 0;
    console.log(`\nsoak: ${pass ? 'PASS' : 'FAIL'}`);
    return pass ? 0 : 1;
  } catch (error) {
    console.error('soak: aborted:', error);
    return 1;
  } finally {
    if (ftp) await closeSession(ftp);
    if (proxy) await withTimeout(proxy.close(), 10_000, 'proxy close').catch((e: unknown) => console.error(String(e)));
    if (server) await withTimeout(server.stop(), 15_000, 'vsftpd stop').catch((e: unknown) => console.error(String(e)));
    if (traceOut) await new Promise((resolve) => traceOut.end(resolve));
  }
}

process.on('unhandledRejection', (reason) => {
  console.error('soak: unhandled rejection:', reason);
  process.exitCode = 1;
});

main().then((code) => process.exit(process.exitCode === 1 ? 1 : code), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
