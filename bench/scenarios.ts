/**
 * The suite's scenarios as data: which clients run, what each run moves and against which
 * server, what is read from each run, and which columns the report shows.
 *
 * Every number is of one whole client process unless its label says "in-process" (measured by
 * the client around the transfer itself: node clients, curl's `-w` speed, lftp's transfer log).
 */
import type { ClientName, ClientReport, Transfer } from './support/clients.js';
import type { Target, World } from './support/fixtures.js';
import type { ProcessRun } from './support/measure.js';

/** The scenario ids used in the JSON and on the command line. */
export const SCENARIO_IDS = [
  'download', 'upload-memory', 'upload-file', 'small-down', 'small-up', 'small-down-rtt', 'small-up-rtt',
  'loop-delay', 'slow-consumer', 'sessions', 'ftps-down', 'ftps-up', 'ftps-small',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

/** One client's part in a scenario. Its key (`client`, or `client case`) names it in tables and JSON. */
export interface Row {
  client: ClientName;
  /** Sub-case when one client runs twice in a scenario (loop-delay: download, upload). */
  case?: string;
  /** Said in the table next to the client (how it runs differently). */
  note?: string;
  target: Target;
  transfer: Transfer;
  timeoutMs: number;
}

/** A column of a scenario's table. */
export interface Metric {
  key: string;
  label: string;
  digits: number;
  /** Which way is better; ratios are ftp-session ÷ peer either way. */
  better: 'lower' | 'higher';
  /** Show ftp-session ÷ peer for it. */
  ratio?: boolean;
}

/** A scenario: its rows and how its runs are read. */
export interface Scenario {
  id: ScenarioId;
  title: string;
  /** What is moved, and how each peer does it. */
  about: string;
  /** Slow scenarios get 3 rounds by default, the others 5. */
  slow: boolean;
  needs?: 'tls' | 'rtt' | 'sessions';
  rows(w: World): Row[];
  metrics: Metric[];
  /** The numbers of one verified run. */
  values(row: Row, run: ProcessRun, report: ClientReport, w: World): Record<string, number>;
}

/** The key of a row in tables and JSON. */
export const rowKey = (row: Pick<Row, 'client' | 'case'>): string => (row.case ? `${row.client} ${row.case}` : row.client);

const MiB = 1024 * 1024;
const gib = (bytes: number): string => (bytes >= 1024 ** 3 ? `${bytes / 1024 ** 3} GiB` : `${bytes / MiB} MiB`);

const WALL: Metric = { key: 'wallS', label: 'wall (s)', digits: 3, better: 'lower', ratio: true };
const CPU: Metric = { key: 'cpuS', label: 'CPU user+sys (s)', digits: 3, better: 'lower', ratio: true };
const RSS: Metric = { key: 'rssMiB', label: 'peak RSS (MiB)', digits: 1, better: 'lower', ratio: true };
const RATE: Metric = { key: 'rateMBs', label: 'in-process rate (MB/s)', digits: 0, better: 'higher', ratio: true };
const FILES_S: Metric = { key: 'filesPerS', label: 'files/s', digits: 0, better: 'higher', ratio: true };
const CPU_FILE: Metric = { key: 'cpuMsPerFile', label: 'CPU ms/file', digits: 3, better: 'lower', ratio: true };
const RT_PER_FILE: Metric = { key: 'rtPerFile', label: 'round trips/file', digits: 2, better: 'lower', ratio: true };
const IN_CPU_FILE: Metric = { key: 'inCpuMsPerFile', label: 'in-process CPU ms/file', digits: 3, better: 'lower' };
/** upload-memory: the node clients' CPU for building the 1 GiB Buffer (in their CPU column too). */
const SOURCE_CPU: Metric = { key: 'sourceCpuS', label: 'of which building the Buffer (s)', digits: 3, better: 'lower' };
/** The server's CPU during the run (suite.ts adds it to every run's values). */
const SERVER_CPU: Metric = { key: 'serverCpuS', label: 'vsftpd CPU (s)', digits: 2, better: 'lower' };

/** Wall, CPU and RSS of the process. */
function processValues(run: ProcessRun): Record<string, number> {
  return { wallS: run.wallS, cpuS: run.cpuS, rssMiB: run.maxRssKiB / 1024 };
}

function bigValues(_row: Row, run: ProcessRun, report: ClientReport): Record<string, number> {
  return {
    ...processValues(run),
    ...(report.rate !== undefined ? { rateMBs: report.rate / 1e6 } : {}),
    ...(report.transferS !== undefined ? { transferS: report.transferS } : {}),
    ...(report.sourceCpuMs !== undefined ? { sourceCpuS: report.sourceCpuMs / 1000 } : {}),
  };
}

function smallValues(row: Row, run: ProcessRun, report: ClientReport): Record<string, number> {
  const files = fileCount(row.transfer);
  return {
    ...processValues(run), filesPerS: files / run.wallS, cpuMsPerFile: (run.cpuS * 1000) / files,
    ...(report.cpuMs !== undefined ? { inCpuMsPerFile: report.cpuMs / files } : {}),
  };
}

function fileCount(t: Transfer): number {
  switch (t.kind) {
    case 'small-down': case 'small-up': return t.remotes.length;
    case 'sessions': return t.count;
    default: return 1;
  }
}

/** The four usual clients, in the order of the first round. */
const PEERS: ClientName[] = ['ftp-session', 'curl', 'lftp', 'basic-ftp'];

/** Rows of `clients`, each moving `transfer(client)` against `target`. */
function rows(clients: ClientName[], target: Target, timeoutMs: number, transfer: (c: ClientName) => Transfer, note?: (c: ClientName) => string | undefined): Row[] {
  return clients.map((client) => {
    const n = note?.(client);
    return { client, target, timeoutMs, transfer: transfer(client), ...(n ? { note: n } : {}) };
  });
}

const bigTimeout = (w: World): number => 60_000 + (w.sizes.big / 20e6) * 1000;
const smallTimeout = (files: number, rttMs: number): number => 120_000 + files * (20 + 8 * rttMs);
const fromFile = (c: ClientName): string | undefined => (c === 'curl' || c === 'lftp' ? 'reads the file: no memory source' : undefined);
/** The big-file scenarios' clients: the peers and the bare socket (the yardstick: what a Node process pays with no library). */
const WITH_BARE: ClientName[] = [...PEERS, 'bare-socket'];

function download(w: World): Transfer {
  return { kind: 'download', remote: 'big.bin', bytes: w.sizes.big };
}
function upload(w: World, from: 'memory' | 'file', loopDelay = false): Transfer {
  return { kind: 'upload', from, remote: 'upload/big.bin', bytes: w.sizes.big, local: w.srcFile, patternFile: w.patternFile, ...(loopDelay ? { loopDelay } : {}) };
}
function smallDown(w: World, n: number): Transfer {
  return { kind: 'small-down', remotes: w.smallRemote.slice(0, n), size: w.sizes.smallSize };
}
function smallUp(w: World, n: number): Transfer {
  return {
    kind: 'small-up', remotes: w.smallRemote.slice(0, n).map((r) => r.replace(/^small\//, 'upload/')),
    locals: w.smallLocal.slice(0, n), size: w.sizes.smallSize,
  };
}
const tlsOf = (w: World): Target => {
  if (!w.tls) throw new Error('no FTPS server');
  return w.tls;
};
const pacedOf = (w: World): Target => {
  if (!w.paced) throw new Error('no connect pacer');
  return w.paced;
};
const delayedOf = (w: World): Target => {
  if (!w.delayed) throw new Error('no delay proxy');
  return w.delayed;
};

function rttValues(row: Row, run: ProcessRun, report: ClientReport, w: World): Record<string, number> {
  const files = fileCount(row.transfer);
  return { ...smallValues(row, run, report), rtPerFile: run.wallS / (w.sizes.rttMs / 1000) / files };
}

/** The suite's scenarios, in run order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'download', slow: false,
    title: 'Download of the big file to a null sink',
    about: 'RETR of big.bin (TYPE I: vsftpd sends with sendfile). Node clients write into a counting null Writable (basic-ftp: downloadTo(writable); ftp-session: its operation in bench/clients/ftp-session.mjs, today downloadTo(remote, fn) feeding that Writable); curl and lftp write to /dev/null. The bare socket is hand-written FTP reading the data socket with onread into one reused 256 KiB buffer: the yardstick for the in-process rate.',
    rows: (w) => rows(WITH_BARE, w.plain, bigTimeout(w), () => download(w)),
    metrics: [WALL, CPU, RSS, RATE, SERVER_CPU],
    values: bigValues,
  },
  {
    id: 'upload-memory', slow: false,
    title: 'Upload of the big file from memory',
    about: 'STOR from one Buffer built before connecting (ftp-session: the Buffer; basic-ftp: Readable.from(buffer); bare socket: the Buffer in one end(buffer)). curl and lftp have no memory source: they read the same bytes from a file on tmpfs, the closest they have.',
    rows: (w) => rows(WITH_BARE, w.plain, bigTimeout(w), () => upload(w, 'memory'), fromFile),
    metrics: [WALL, CPU, SOURCE_CPU, RSS, RATE, SERVER_CPU],
    values: bigValues,
  },
  {
    id: 'upload-file', slow: false,
    title: 'Upload of the big file from a file on /dev/shm',
    about: 'STOR from src.bin on tmpfs (ftp-session: see bench/clients/ftp-session.mjs, today fileSource; basic-ftp: uploadFrom(path); curl -T; lftp put; bare socket: four reused 1 MiB buffers).',
    rows: (w) => rows(WITH_BARE, w.plain, bigTimeout(w), () => upload(w, 'file')),
    metrics: [WALL, CPU, RSS, RATE, SERVER_CPU],
    values: bigValues,
  },
  {
    id: 'small-down', slow: false,
    title: 'Small files downloaded one after the other on one session',
    about: 'RETR of N files of 4 KiB, one login (ftp-session: downloadTo with four transfers posted at a time, so the session sends each next one ahead of the current 226; curl: one -K config, the connection reused; lftp: a script of get lines; both to /dev/null).',
    rows: (w) => rows(PEERS, w.plain, smallTimeout(w.sizes.smallFiles, 0), () => smallDown(w, w.sizes.smallFiles)),
    metrics: [WALL, FILES_S, CPU_FILE, IN_CPU_FILE, RSS, SERVER_CPU],
    values: smallValues,
  },
  {
    id: 'small-up', slow: false,
    title: 'Small files uploaded one after the other on one session',
    about: 'STOR of N local files of 4 KiB (tmpfs) to upload/, one login (ftp-session: fileSource per file, four uploads posted at a time, as for downloads; basic-ftp: each file read whole, uploaded with Readable.from; curl: one -K config of upload-file/url pairs; lftp: a script of put lines).',
    rows: (w) => rows(PEERS, w.plain, smallTimeout(w.sizes.smallFiles, 0), () => smallUp(w, w.sizes.smallFiles)),
    metrics: [WALL, FILES_S, CPU_FILE, IN_CPU_FILE, RSS, SERVER_CPU],
    values: smallValues,
  },
  {
    id: 'small-down-rtt', slow: true, needs: 'rtt',
    title: 'Small files downloaded through 10 ms of round-trip time',
    about: 'As small-down, through bench/support/delay-proxy.ts (control and passive data connections delayed, 5 ms each way). Round trips per file = wall ÷ RTT ÷ files (login and start-up included).',
    rows: (w) => rows(PEERS, delayedOf(w), smallTimeout(w.sizes.rttFiles, w.sizes.rttMs), () => smallDown(w, w.sizes.rttFiles)),
    metrics: [WALL, RT_PER_FILE, FILES_S, CPU_FILE],
    values: rttValues,
  },
  {
    id: 'small-up-rtt', slow: true, needs: 'rtt',
    title: 'Small files uploaded through 10 ms of round-trip time',
    about: 'As small-up, through the delay proxy.',
    rows: (w) => rows(PEERS, delayedOf(w), smallTimeout(w.sizes.rttFiles, w.sizes.rttMs), () => smallUp(w, w.sizes.rttFiles)),
    metrics: [WALL, RT_PER_FILE, FILES_S, CPU_FILE],
    values: rttValues,
  },
  {
    id: 'loop-delay', slow: false,
    title: 'Event-loop delay during a big download and a big upload',
    about: 'perf_hooks.monitorEventLoopDelay({ resolution: 1 }) enabled from the transfer command to its end, inside the client process; download to a null sink, upload from memory.',
    rows: (w) => (['ftp-session', 'basic-ftp'] as ClientName[]).flatMap((client) => [
      { client, case: 'download', target: w.plain, timeoutMs: bigTimeout(w), transfer: { ...download(w), loopDelay: true } },
      { client, case: 'upload', target: w.plain, timeoutMs: bigTimeout(w), transfer: upload(w, 'memory', true) },
    ]),
    metrics: [
      { key: 'p50', label: 'loop delay p50 (ms)', digits: 2, better: 'lower' },
      { key: 'p99', label: 'loop delay p99 (ms)', digits: 2, better: 'lower', ratio: true },
      { key: 'max', label: 'loop delay max (ms)', digits: 2, better: 'lower', ratio: true },
      WALL,
    ],
    values: (_row, run, report) => ({ ...processValues(run), ...(report.loopDelay ? { p50: report.loopDelay.p50, p99: report.loopDelay.p99, max: report.loopDelay.max } : {}) }),
  },
  {
    id: 'slow-consumer', slow: true,
    title: 'Slow consumer: the big file read at 50 MB/s',
    about: 'The download goes into a Writable whose callbacks are delayed so that it takes 50 MB/s on average. RSS is sampled every 100 ms in the process. "RSS at 10 %": the highest sample until a tenth of the bytes were read; "later peak": the highest sample after that; flat when the later peak is at most 10 MiB above.',
    rows: (w) => rows(['ftp-session', 'basic-ftp'], w.plain, 60_000 + (w.sizes.big / w.sizes.throttle) * 3000,
      () => ({ kind: 'download', remote: 'big.bin', bytes: w.sizes.big, throttle: w.sizes.throttle, sampleRss: true })),
    metrics: [
      WALL, RSS,
      { key: 'rss10MiB', label: 'RSS at 10 % (MiB)', digits: 1, better: 'lower' },
      { key: 'rssLaterMiB', label: 'later peak (MiB)', digits: 1, better: 'lower', ratio: true },
      { key: 'growthMiB', label: 'growth (MiB)', digits: 1, better: 'lower' },
      { key: 'flat', label: 'flat (1 = yes)', digits: 0, better: 'higher' },
    ],
    values: (row, run, report) => ({ ...processValues(run), ...rssShape(report, row.transfer.kind === 'download' ? row.transfer.bytes : 0) }),
  },
  {
    id: 'sessions', slow: false, needs: 'sessions',
    title: 'Concurrent sessions in one process',
    about: 'N sessions at once, each: connect, log in, list sessions/ (10 files), download one 4 KiB file, close. RSS per session = (peak RSS − RSS after import) ÷ N. curl is a rough peer only: --parallel --parallel-max N with N download URLs (one connection each, no listing). The control connections go through bench/support/connect-pacer.ts, which hands them to vsftpd at most 16 connects at a time: vsftpd listens with a backlog of 32 and a burst of 200 connects leaves most clients waiting for a greeting that never comes (SYN cookies).',
    rows: (w) => rows(['ftp-session', 'basic-ftp', 'curl'], pacedOf(w), 300_000,
      () => ({ kind: 'sessions', count: w.sizes.sessions, listDir: w.sessionsDir, file: w.sessionsFile, size: w.sizes.smallSize }),
      (c) => (c === 'curl' ? 'rough peer: parallel downloads, no listing' : undefined)),
    metrics: [WALL, CPU, RSS, { key: 'perSessionKiB', label: 'RSS per session (KiB)', digits: 0, better: 'lower', ratio: true }],
    values: (row, run, report) => ({
      ...processValues(run),
      ...(report.rssAfterImport !== undefined && row.transfer.kind === 'sessions'
        ? { perSessionKiB: (run.maxRssKiB * 1024 - report.rssAfterImport) / 1024 / row.transfer.count } : {}),
    }),
  },
  {
    id: 'ftps-down', slow: false, needs: 'tls',
    title: 'FTPS download of the big file (explicit AUTH TLS, TLS 1.3, PROT P)',
    about: 'As download, on vsftpd with TLS required on control and data, data sessions resumed (require_ssl_reuse). ftp-session: tls: explicit, tlsOptions.ca; curl: --ssl-reqd --cacert; basic-ftp: secure: true, secureOptions.ca; lftp: ssl:ca-file, ftp:ssl-force.',
    rows: (w) => rows(PEERS, tlsOf(w), bigTimeout(w) * 2, () => download(w)),
    metrics: [WALL, CPU, RSS, RATE, SERVER_CPU],
    values: bigValues,
  },
  {
    id: 'ftps-up', slow: false, needs: 'tls',
    title: 'FTPS upload of the big file from memory',
    about: 'As upload-memory, over FTPS (curl and lftp from the file on tmpfs).',
    rows: (w) => rows(PEERS, tlsOf(w), bigTimeout(w) * 2, () => upload(w, 'memory'), fromFile),
    metrics: [WALL, CPU, RSS, RATE, SERVER_CPU],
    values: bigValues,
  },
  {
    id: 'ftps-small', slow: false, needs: 'tls',
    title: 'FTPS: small files downloaded on one session',
    about: 'As small-down over FTPS: every data connection does a TLS handshake resuming the control session.',
    rows: (w) => rows(PEERS, tlsOf(w), smallTimeout(w.sizes.ftpsSmall, 0), () => smallDown(w, w.sizes.ftpsSmall)),
    metrics: [WALL, FILES_S, CPU_FILE, IN_CPU_FILE, RSS],
    values: smallValues,
  },
];

/** Growth of RSS after the first tenth of the bytes (slow consumer). */
function rssShape(report: ClientReport, bytes: number): Record<string, number> {
  const samples = report.rss ?? [];
  if (samples.length === 0 || bytes === 0) return {};
  let early = 0;
  let later = 0;
  for (const [, rss, moved] of samples) {
    if (moved <= bytes / 10) early = Math.max(early, rss);
    else later = Math.max(later, rss);
  }
  const growth = Math.max(0, later - early) / MiB;
  return { rss10MiB: early / MiB, rssLaterMiB: later / MiB, growthMiB: growth, flat: growth <= 10 ? 1 : 0 };
}

/** Describes the sizes of a run for the report. */
export function describeSizes(w: World): string {
  const s = w.sizes;
  return `big file ${gib(s.big)}; ${s.smallFiles} small files of ${s.smallSize / 1024} KiB; ${s.rttFiles} files at ${s.rttMs} ms RTT; ${s.sessions} sessions; ${s.ftpsSmall} small files over FTPS; slow consumer at ${s.throttle / 1e6} MB/s`;
}
