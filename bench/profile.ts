/**
 * Where one scenario's time goes, for one client: the suite's own world and job (same server,
 * data and command line as `npm run bench`), run a few times under GNU time (wall, user/sys
 * split, vsftpd's CPU), then once under `node --cpu-prof` (node clients: the top functions by
 * self time) and, with --perf, once more under `perf record` (the client's process, and vsftpd's
 * with its sessions: CPU by thread, top symbols, kernel included). See docs/performance.md, "Where the
 * time goes (profiles)".
 *
 *   npx tsx bench/profile.ts download                        # ftp-session, 3 timed runs + one profiled
 *   npx tsx bench/profile.ts small-down --files 3000 --top 30
 *   npx tsx bench/profile.ts upload-memory --client bare-socket --perf
 *
 *   npx tsx bench/profile.ts small-down --probe warm          # one of bench/clients/probe.mjs instead
 *
 * Options: --client <name> (default ftp-session), --runs N (timed runs, default 3), --files N (small
 * files per run), --top N (functions and symbols shown, default 25), --perf, --dir <folder for the
 * .cpuprofile and perf.data; default .tmp/bench-profile>, --probe warm|file-source|block-size|linger
 * (runs that probe against the scenario's server and files, nothing else). Uses dist/ as it is.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rowKey, SCENARIOS, type Row } from './scenarios.js';
import { commandFor, readReport, type Command } from './support/clients.js';
import { FULL, makeWorld, type World } from './support/fixtures.js';
import { runMeasured, sessionsEnded, watchServerCpu } from './support/measure.js';
import { clearUploads, logOffset, verifyRun } from './support/verify.js';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    client: { type: 'string', default: 'ftp-session' }, runs: { type: 'string', default: '3' }, files: { type: 'string' },
    top: { type: 'string', default: '25' }, perf: { type: 'boolean' }, dir: { type: 'string', default: '.tmp/bench-profile' },
    probe: { type: 'string' },
  },
});
const scenario = SCENARIOS.find((s) => s.id === positionals[0]);
if (!scenario) throw new Error(`name a scenario: ${SCENARIOS.map((s) => s.id).join(', ')}`);
const scenarioId = scenario.id;
const top = Number(values.top);
const dir = resolve(REPO, values.dir);
const files = values.files === undefined ? undefined : Number(values.files);
const sizes = { ...FULL, ...(files ? { smallFiles: files, rttFiles: files, ftpsSmall: files } : {}) };
const log = (line: string): void => { process.stderr.write(`[profile] ${line}\n`); };

/** One run of `row` (its command changed by `wrap`), measured and verified; prints one line. */
async function runOnce(row: Row, world: World, label: string, wrap: (c: Command) => Command = (c) => c): Promise<void> {
  const server = row.target.server;
  await clearUploads(server);
  const offset = await logOffset(server);
  const command = wrap(await commandFor(row.client, row.transfer, row.target.endpoint, world.work));
  await sessionsEnded(server.pid);
  const watch = watchServerCpu(server.pid);
  const run = await runMeasured(command.cmd, command.args, { timeoutMs: row.timeoutMs, scratch: world.work });
  const serverCpu = await watch.stop();
  const report = await readReport(row.client, run.stdout, command);
  const verdict = await verifyRun(row.transfer, report, server, offset, world.bigSha);
  await clearUploads(server);
  const perFile = report.files !== undefined && report.files > 1 ? `, ${((run.cpuS * 1000) / report.files).toFixed(3)} ms CPU/file (in-process ${((report.cpuMs ?? NaN) / report.files).toFixed(3)})` : '';
  const inProcess = report.transferS !== undefined ? `; in-process: transfer ${report.transferS.toFixed(3)} s, CPU ${((report.cpuMs ?? NaN) / 1000).toFixed(3)} s` : '';
  const source = report.sourceCpuMs !== undefined ? `, building the Buffer ${report.sourceS?.toFixed(3)} s wall / ${(report.sourceCpuMs / 1000).toFixed(3)} s CPU` : '';
  process.stdout.write(`${label}: ${verdict.ok && run.exitCode === 0 ? 'verified' : `NOT VERIFIED (${verdict.problems.join('; ')}) ${run.stderr.slice(-300)}`}; wall ${run.wallS.toFixed(3)} s, user ${run.userS.toFixed(2)} s, sys ${run.sysS.toFixed(2)} s, RSS ${(run.maxRssKiB / 1024).toFixed(1)} MiB${perFile}; vsftpd CPU ${serverCpu?.toFixed(2) ?? '?'} s${inProcess}${source}\n`);
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

/** Top self-time functions of a .cpuprofile, as a share of the busy (non-idle) samples, then by area. */
function summarizeProfile(p: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const dt = p.timeDeltas[i] ?? 0;
    if (f.functionName === '(idle)') { idle += dt; return; }
    busy += dt;
    const where = f.url.replace(/^file:\/\/.*?\/(dist\/esm|bench\/clients|node_modules)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} ${where ? `${where}:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const kind = f.url === '' ? (f.functionName.startsWith('(') ? f.functionName : 'native (syscalls, V8 builtins)')
      : where.startsWith('dist/esm') ? 'ftp-session (dist/esm)' : where.startsWith('node:') ? 'node: internals (net, streams, events)'
        : where.startsWith('bench/clients') ? 'bench client' : where.startsWith('node_modules') ? 'node_modules' : 'other';
    area.set(kind, (area.get(kind) ?? 0) + dt);
  });
  const pct = (t: number): string => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
  const lines = [`busy ${(busy / 1e6).toFixed(3)} s of ${((busy + idle) / 1e6).toFixed(3)} s profiled (idle: waiting in the event loop)`, 'by area (self time):'];
  for (const [k, t] of [...area].sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(t)}  ${k}`);
  lines.push(`top ${top} functions (self time):`);
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${k}`);
  return lines.join('\n');
}

/** `perf report` of `file`, header and blank lines left out, at most `top` lines. */
function perfReport(file: string, args: string[]): Promise<string> {
  return new Promise((res) => {
    const p = spawn('perf', ['report', '-i', file, '--no-children', '--stdio', '-g', 'none', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    p.once('close', () => res(out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).slice(0, top).join('\n')));
  });
}

/**
 * One run with the client under `perf record` (its process only) and vsftpd under another
 * (`-p`, its sessions included): CPU by thread and the top symbols, kernel included, of each.
 */
async function underPerf(r: Row, world: World): Promise<string> {
  const client = join(dir, `${scenarioId}-${r.client}.perf.data`);
  const server = join(dir, `${scenarioId}-${r.client}.vsftpd.perf.data`);
  await rm(client, { force: true });
  await rm(server, { force: true });
  const perf = spawn('perf', ['record', '-g', '-F', '2000', '-o', server, '-p', String(r.target.server.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((res) => perf.once('exit', res));
  await new Promise((res) => setTimeout(res, 500)); // recording by then
  await runOnce(r, world, 'under perf record', (c) => ({ ...c, cmd: 'perf', args: ['record', '-g', '-F', '2000', '-o', client, '--', c.cmd, ...c.args] }));
  perf.kill('SIGINT');
  await exited;
  return [
    `perf record of the client (${client}; 2,000 samples/s per busy thread): share by thread`, await perfReport(client, ['--sort', 'comm']),
    'top symbols of the client (all threads):', await perfReport(client, ['--sort', 'dso,sym']),
    `perf record -p of vsftpd (${server}): top symbols`, await perfReport(server, ['--sort', 'dso,sym']),
  ].join('\n');
}

const world = await makeWorld(sizes, {
  tls: scenario.needs === 'tls', rtt: scenario.needs === 'rtt', sessions: scenario.needs === 'sessions',
}, log);
try {
  const r = scenario.rows(world).find((x) => rowKey(x) === values.client);
  if (!r) throw new Error(`${scenario.id} has no row ${values.client}: ${scenario.rows(world).map(rowKey).join(', ')}`);
  if (values.probe) {
    const t = r.transfer;
    const job = {
      probe: values.probe, server: r.target.endpoint, up: t.kind === 'small-up',
      remotes: t.kind === 'small-down' || t.kind === 'small-up' ? t.remotes : world.smallRemote.slice(0, sizes.smallFiles),
      locals: t.kind === 'small-up' ? t.locals : world.smallLocal.slice(0, sizes.smallFiles),
      remote: 'upload/probe.bin', local: world.srcFile,
    };
    const probe = spawn(process.execPath, [join(REPO, 'bench/clients/probe.mjs'), JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit'] });
    await new Promise((res) => probe.once('close', res));
    await clearUploads(r.target.server);
    process.exitCode = probe.exitCode ?? 1;
  } else await profile(r, world);
} finally {
  await world.close();
}

/** The timed runs, the --cpu-prof run and (--perf) the perf run of `r`. */
async function profile(r: Row, world: World): Promise<void> {
  for (let i = 1; i <= Number(values.runs); i++) await runOnce(r, world, `run ${i}`);
  await mkdir(dir, { recursive: true });
  if (r.client === 'ftp-session' || r.client === 'basic-ftp' || r.client === 'bare-socket') {
    const profDir = join(dir, `${scenarioId}-${r.client}-${Date.now()}`);
    await runOnce(r, world, 'under --cpu-prof', (c) => ({ ...c, args: ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', profDir, ...c.args] }));
    const [name] = await readdir(profDir);
    process.stdout.write(`${summarizeProfile(JSON.parse(await readFile(join(profDir, name!), 'utf8')))}\n(profile: ${join(profDir, name!)}; open it in Chrome DevTools)\n`);
  }
  if (values.perf) process.stdout.write(`${await underPerf(r, world)}\n`);
}
