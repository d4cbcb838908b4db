/**
 * The benchmark suite (bench/suite.ts) in its --smoke mode: every scenario and every client,
 * tiny sizes, one round, against the real vsftpd (plain and FTPS), through the delay proxy and
 * the connect pacer. Checks that each run was verified (the right bytes moved) and that the
 * report has its tables; no timing is asserted. Runs on the built library (`npm test` builds
 * dist/ first; the suite is told not to rebuild it while other tests may load it).
 * Needs `npm run test:setup` (root: vsftpd, curl, lftp, GNU time) first.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

/** The clients each scenario must have run (row keys). */
const EXPECTED: Record<string, string[]> = {
  download: ['ftp-session', 'curl', 'lftp', 'basic-ftp', 'bare-socket'],
  'upload-memory': ['ftp-session', 'curl', 'lftp', 'basic-ftp', 'bare-socket'],
  'upload-file': ['ftp-session', 'curl', 'lftp', 'basic-ftp', 'bare-socket'],
  'small-down': ['ftp-session', 'curl', 'lftp', 'basic-ftp'],
  'small-up': ['ftp-session', 'curl', 'lftp', 'basic-ftp'],
  'small-down-rtt': ['ftp-session', 'curl', 'lftp', 'basic-ftp'],
  'small-up-rtt': ['ftp-session', 'curl', 'lftp', 'basic-ftp'],
  'loop-delay': ['ftp-session download', 'ftp-session upload', 'basic-ftp download', 'basic-ftp upload'],
  'slow-consumer': ['ftp-session', 'basic-ftp'],
  sessions: ['ftp-session', 'basic-ftp', 'curl'],
  'ftps-down': ['ftp-session', 'curl', 'lftp', 'basic-ftp'],
  'ftps-up': ['ftp-session', 'curl', 'lftp', 'basic-ftp'],
  'ftps-small': ['ftp-session', 'curl', 'lftp', 'basic-ftp'],
};

interface Run { row: string; ok: boolean; problems: string[]; wallS: number; values: Record<string, number> }
interface Results {
  smoke: boolean;
  scenarios: Array<{ id: string; rows: Array<{ key: string }>; runs: Run[]; medians: Record<string, Record<string, number>> }>;
  targets: Array<{ text: string; status: string }>;
}

describe('bench/suite.ts --smoke', { timeout: 240_000 }, () => {
  let out: string;
  let exit: { code: number | null; stderr: string };
  let results: Results;
  let markdown: string;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    exit = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/suite.ts', '--smoke', '--no-build', '--out', out], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
      const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
      child.once('error', reject);
      child.once('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
    });
    results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Results;
    markdown = await readFile(join(out, 'RESULTS.md'), 'utf8');
  });
  after(() => rm(out, { recursive: true, force: true }));

  it('exits 0 (every run verified)', () => {
    assert.equal(exit.code, 0, exit.stderr.split('\n').filter((l) => /FAILED|Error|error/.test(l)).join('\n') || exit.stderr.slice(-3000));
  });

  it('has every scenario, each with every client, each run verified and measured', () => {
    assert.equal(results.smoke, true);
    assert.deepEqual(results.scenarios.map((s) => s.id).sort(), Object.keys(EXPECTED).sort());
    for (const s of results.scenarios) {
      assert.deepEqual(s.rows.map((r) => r.key).sort(), [...EXPECTED[s.id]!].sort(), s.id);
      for (const key of EXPECTED[s.id]!) {
        const runs = s.runs.filter((r) => r.row === key);
        assert.ok(runs.length >= 1, `${s.id} ${key}: no run`);
        for (const run of runs) {
          assert.ok(run.ok, `${s.id} ${key}: ${run.problems.join('; ')}`);
          assert.ok(Number.isFinite(run.wallS) && run.wallS > 0, `${s.id} ${key}: wall`);
        }
        assert.ok(Number.isFinite(s.medians[key]?.wallS), `${s.id} ${key}: no median wall time`);
      }
    }
  });

  it('measures what each scenario is about', () => {
    const median = (id: string, key: string, metric: string): number | undefined =>
      results.scenarios.find((s) => s.id === id)?.medians[key]?.[metric];
    for (const key of ['ftp-session', 'basic-ftp', 'bare-socket', 'curl']) assert.ok(median('download', key, 'rateMBs')! > 0, `download rate of ${key}`);
    assert.ok(median('loop-delay', 'ftp-session download', 'p99')! >= 0);
    assert.ok(median('slow-consumer', 'ftp-session', 'rssLaterMiB')! > 0);
    assert.ok(median('sessions', 'ftp-session', 'perSessionKiB') !== undefined);
    assert.ok(median('small-down-rtt', 'ftp-session', 'rtPerFile')! > 0);
  });

  it('writes RESULTS.md with the targets and a table per scenario', () => {
    assert.match(markdown, /^## Targets$/m);
    assert.match(markdown, /^\| Target \| Status \| Measured \|$/m);
    for (const id of Object.keys(EXPECTED)) {
      assert.match(markdown, new RegExp(`^## ${id}: `, 'm'), id);
    }
    assert.match(markdown, /^\| Client \| verified runs \| wall \(s\) \|/m);
    assert.match(markdown, /^\| Peer \| wall \|/m);
    assert.match(markdown, /^\| ftp-session \| 1\/1 \| \d/m);
    assert.equal(results.targets.length, 20);
  });
});
