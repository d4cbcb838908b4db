/**
 * The benchmark suite: ftp-session against curl, lftp and basic-ftp (and a bare Node socket),
 * every client a separate process timed whole, in alternating rounds, on the project's vsftpd.
 * Writes RESULTS.md and a JSON file with every run. See bench/README.md.
 *
 *   npm run bench                                   # everything (30–60 minutes)
 *   npm run bench -- --only download,small-down --rounds 3
 *   npm run bench -- --smoke                        # every scenario and client, tiny sizes, < 1 minute
 *   npm run bench -- --report bench/results.json    # only re-render RESULTS.md from a run's JSON
 *
 * Options: --only <id,...>, --rounds N, --rtt-files N, --smoke, --out <dir> (RESULTS.md and
 * results.json; default bench/, with --smoke a temporary folder), --json <path>, --no-build.
 * --report <results.json> runs nothing: it evaluates the targets of bench/targets.ts (verdicts
 * and their `why` texts) again on the stored medians, takes the notes on the peers below as they
 * are now, and writes RESULTS.md (next to the JSON, or in --out) and the JSON (in place, or --json).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeSizes, rowKey, SCENARIO_IDS, SCENARIOS, type Row, type Scenario, type ScenarioId } from './scenarios.js';
import { evaluateTargets } from './targets.js';
import { commandFor, readReport } from './support/clients.js';
import { FULL, makeWorld, SMOKE, type World } from './support/fixtures.js';
import { machineInfo } from './support/machine.js';
import { checkTimeTool, runMeasured, sessionsEnded, watchServerCpu } from './support/measure.js';
import { resultsMarkdown, scenarioMarkdown, writeResults, type SuiteResults } from './support/report.js';
import { summarize, type RunRecord, type ScenarioResult } from './support/results.js';
import { clearUploads, logOffset, verifyRun } from './support/verify.js';

const REPO = resolve(new URL('..', import.meta.url).pathname);

/** What the report says about how the peers run (observed in vsftpd's protocol log). */
const PEER_NOTES = [
  'curl: its defaults (EPSV, TYPE I, `--ftp-method multicwd`: a CWD per path part); several files in one process through one `-K` config reuse one connection; `-w` gives its byte counts and its rate; FTPS with `--ssl-reqd --cacert`.',
  'curl 7.88 now and then spends almost exactly 1 s on one 4 KiB file (its per-transfer `time_total`, kept in the JSON as `slowestS`; no TCP retransmission on the host when it happens): its small-file wall times range from 0.7 s to 50 s per 1,000 files, so its small-file medians say little. Over FTPS it spends about 200 ms before each file\'s transfer starts (`time_pretransfer`).',
  'lftp: its defaults (`ftp:sync-mode on`, `net:connection-limit 0`, PASV rather than EPSV, SIZE and MDTM before each RETR, and AUTH TLS tried first even on a plain server, `ftp:ssl-allow yes`), plus only what it needs to run here: `xfer:clobber on` (it writes to /dev/null), `cmd:fail-exit true`, `xfer:log-file` (its transfer log is where its byte counts are read); FTPS: `ssl:ca-file` and `ftp:ssl-force true`. It sets the mtime of /dev/null to the file\'s (MDTM), harmlessly.',
  'basic-ftp: its defaults (TYPE I at login, EPSV); FTPS with `secure: true, secureOptions: { ca }`.',
  'bare socket: bench/clients/bare-socket.mjs, USER/PASS/TYPE I/EPSV and RETR or STOR by hand. Downloads: onread into one reused 256 KiB buffer, the fastest a Node process reads a socket, the yardstick for the in-process rate. Uploads: the memory Buffer (built as the library clients build it) in one `end(buffer)`, a file through four reused 1 MiB buffers: what a Node process pays without any library.',
  'vsftpd CPU: user+sys of the server\'s listener and session processes during the run, sampled from /proc every 20 ms (10 ms resolution; a process loses at most its last 20 ms): how much of a run is the server\'s work.',
  'ftp-session: bench/clients/ftp-session.mjs on dist/esm, `transferMode: \'binary\'` (the default \'manual\' leaves vsftpd in ASCII, without sendfile), other options default; one function per scenario operation.',
];

interface Options {
  only: ScenarioId[];
  rounds: number | undefined;
  smoke: boolean;
  out: string | undefined;
  json: string | undefined;
  rttFiles: number | undefined;
  build: boolean;
  /** Re-render the report of this results.json; run nothing. */
  report: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' }, rounds: { type: 'string' }, smoke: { type: 'boolean' }, out: { type: 'string' },
      json: { type: 'string' }, 'rtt-files': { type: 'string' }, 'no-build': { type: 'boolean' }, report: { type: 'string' },
    },
  });
  const only = (values.only ?? SCENARIO_IDS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only.filter((id) => !(SCENARIO_IDS as readonly string[]).includes(id));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIO_IDS.join(', ')}`);
  const count = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive integer, got ${v}`);
    return n;
  };
  return {
    only: only as ScenarioId[], rounds: count(values.rounds, 'rounds'), smoke: values.smoke === true, out: values.out,
    json: values.json, rttFiles: count(values['rtt-files'], 'rtt-files'), build: values['no-build'] !== true, report: values.report,
  };
}

const log = (line: string): void => { process.stderr.write(`[bench] ${line}\n`); };

/** Round `r` runs the rows starting at `r mod n` (A B C D, then B C D A, ...). */
const rotate = <T>(items: readonly T[], r: number): T[] => [...items.slice(r % items.length), ...items.slice(0, r % items.length)];

/** One client run: clean, run under GNU time, read its report, verify the bytes. */
async function runOne(scenario: Scenario, row: Row, world: World, round: number): Promise<RunRecord> {
  const server = row.target.server;
  await clearUploads(server);
  const offset = await logOffset(server);
  const command = await commandFor(row.client, row.transfer, row.target.endpoint, world.work);
  await sessionsEnded(server.pid); // the last run's
  const serverWatch = watchServerCpu(server.pid);
  const run = await runMeasured(command.cmd, command.args, { timeoutMs: row.timeoutMs, scratch: world.work });
  const serverCpuS = await serverWatch.stop();
  const serverCpu = serverCpuS !== undefined ? { serverCpuS } : {};
  const report = await readReport(row.client, run.stdout, command);
  const verdict = await verifyRun(row.transfer, report, server, offset, world.bigSha);
  const problems = [
    ...(run.timedOut ? [`timed out after ${row.timeoutMs} ms`] : []),
    ...(run.exitCode !== 0 ? [`exit ${String(run.exitCode)}${run.signal ? ` (${run.signal})` : ''}`] : []),
    ...verdict.problems,
  ];
  await clearUploads(server);
  const ok = problems.length === 0;
  const { stdout, stderr, ...cost } = run;
  return {
    round, row: rowKey(row), ok, problems, ...cost,
    values: { ...scenario.values(row, run, report, world), ...serverCpu }, report, ...(ok ? {} : { stderr: stderr.slice(-2000) }),
  };
}

/** --report: RESULTS.md again from a run's JSON, with the targets (and their reasons) evaluated anew and the current notes. */
async function rerender(report: string, opts: Options): Promise<void> {
  const source = resolve(report);
  const results = JSON.parse(await readFile(source, 'utf8')) as SuiteResults;
  results.targets = evaluateTargets((id) => results.scenarios.find((s) => s.id === id));
  results.notes = PEER_NOTES;
  const markdownPath = resolve(opts.out ?? dirname(source), 'RESULTS.md');
  const jsonPath = resolve(opts.json ?? source);
  await writeResults(results, markdownPath, jsonPath);
  log(`re-rendered ${markdownPath} from ${source} (run of ${results.date}; JSON targets updated in ${jsonPath})`);
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.report !== undefined) {
    await rerender(opts.report, opts);
    return;
  }
  process.chdir(REPO);
  if (opts.build) {
    log('npm run build');
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  checkTimeTool();
  if (!existsSync(join(REPO, 'dist/esm/index.js'))) throw new Error('dist/esm/index.js is missing: npm run build');
  const sizes = { ...(opts.smoke ? SMOKE : FULL) };
  if (opts.rttFiles !== undefined) sizes.rttFiles = opts.rttFiles;
  const scenarios = SCENARIOS.filter((s) => opts.only.includes(s.id));
  const roundsOf = (s: Scenario): number => opts.rounds ?? (opts.smoke ? 1 : s.slow ? 3 : 5);
  const outDir = opts.out ?? (opts.smoke ? await mkdtemp(join(tmpdir(), 'ftp-session-bench-smoke-')) : join(REPO, 'bench'));
  const markdownPath = resolve(outDir, 'RESULTS.md');
  const jsonPath = resolve(opts.json ?? join(outDir, 'results.json'));

  const machine = machineInfo(); // now: it says whether lib/ had uncommitted changes when dist/ was built
  const world = await makeWorld(sizes, {
    smoke: opts.smoke, tls: scenarios.some((s) => s.needs === 'tls'), rtt: scenarios.some((s) => s.needs === 'rtt'), sessions: scenarios.some((s) => s.needs === 'sessions'),
  }, log);
  const results: SuiteResults = {
    date: new Date().toISOString(), command: ['npm run bench --', ...process.argv.slice(2)].join(' '), smoke: opts.smoke,
    sizes: describeSizes(world), scratch: world.base, rounds: Object.fromEntries(scenarios.map((s) => [s.id, roundsOf(s)])),
    machine, scenarios: [], targets: [], notes: PEER_NOTES,
  };
  try {
    for (const scenario of scenarios) {
      const rows = scenario.rows(world);
      const result: ScenarioResult = {
        id: scenario.id, title: scenario.title, about: scenario.about, metrics: scenario.metrics,
        rows: rows.map((r) => ({ key: rowKey(r), client: r.client, ...(r.case ? { case: r.case } : {}), ...(r.note ? { note: r.note } : {}) })),
        runs: [], medians: {}, ratios: {},
      };
      results.scenarios.push(result);
      const n = roundsOf(scenario);
      for (let round = 0; round < n; round++) {
        for (const row of rotate(rows, round)) {
          const rec = await runOne(scenario, row, world, round + 1);
          result.runs.push(rec);
          log(`${scenario.id} round ${round + 1}/${n} ${rec.row}: ${rec.ok ? 'ok' : `FAILED (${rec.problems.join('; ')})`} wall ${rec.wallS.toFixed(3)} s, CPU ${rec.cpuS.toFixed(2)} s, RSS ${(rec.maxRssKiB / 1024).toFixed(1)} MiB`);
        }
      }
      summarize(result);
      results.targets = evaluateTargets((id) => results.scenarios.find((s) => s.id === id));
      await writeResults(results, markdownPath, jsonPath);
      process.stdout.write(`${scenarioMarkdown(result, n)}\n\n`);
    }
  } finally {
    await world.close();
  }
  process.stdout.write(`${resultsMarkdown(results).split('## Targets')[1]?.split('\n## ')[0] ?? ''}\n`);
  log(`wrote ${markdownPath} and ${jsonPath}`);
  const failed = results.scenarios.flatMap((s) => s.runs).filter((r) => !r.ok).length;
  if (failed > 0) {
    log(`${failed} run(s) failed`);
    process.exitCode = 1;
  }
}

await main();
