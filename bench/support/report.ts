/**
 * The suite's output: RESULTS.md (machine, one table of medians per scenario with the ratios
 * of ftp-session to each peer, the targets) and the JSON with every run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MachineInfo } from './machine.js';
import { runCounts, type ScenarioResult } from './results.js';
import type { TargetResult } from '../targets.js';

/** Everything a suite run produced. */
export interface SuiteResults {
  date: string;
  command: string;
  smoke: boolean;
  sizes: string;
  /** Where the servers' roots and the local files were (/dev/shm unless it was too small). */
  scratch: string;
  rounds: Record<string, number>;
  machine: MachineInfo;
  scenarios: ScenarioResult[];
  targets: TargetResult[];
  /** What the report says about peers and settings. */
  notes: string[];
}

const fmt = (v: number | undefined, digits: number): string =>
  v === undefined || !Number.isFinite(v) ? '—' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** One scenario: the medians table, then the ratios table. */
export function scenarioMarkdown(s: ScenarioResult, rounds: number): string {
  const out: string[] = [`## ${s.id}: ${s.title}`, '', s.about, '', `Medians of the verified runs (${rounds} round${rounds > 1 ? 's' : ''}, clients alternating).`, ''];
  out.push(`| Client | verified runs | ${s.metrics.map((m) => m.label).join(' | ')} |`);
  out.push(`|---|---:|${s.metrics.map(() => '---:').join('|')}|`);
  for (const row of s.rows) {
    const c = runCounts(s, row.key);
    const failed = c.all - c.ok;
    const label = row.note ? `${row.key} (${row.note})` : row.key;
    const counts = failed > 0 ? `${c.ok}/${c.all} (**${failed} FAILED**)` : `${c.ok}/${c.all}`;
    out.push(`| ${label} | ${counts} | ${s.metrics.map((m) => fmt(s.medians[row.key]?.[m.key], m.digits)).join(' | ')} |`);
  }
  const ratioMetrics = s.metrics.filter((m) => m.ratio);
  const peers = Object.keys(s.ratios);
  if (ratioMetrics.length > 0 && peers.length > 0) {
    const dir = ratioMetrics.map((m) => `${m.label.replace(/ \(.*\)$/, '')}: ${m.better === 'lower' ? 'below' : 'above'} 1`).join('; ');
    out.push('', `ftp-session ÷ peer (medians; ftp-session is better when ${dir}):`, '');
    out.push(`| Peer | ${ratioMetrics.map((m) => m.label.replace(/ \(.*\)$/, '')).join(' | ')} |`);
    out.push(`|---|${ratioMetrics.map(() => '---:').join('|')}|`);
    for (const peer of peers) out.push(`| ${peer} | ${ratioMetrics.map((m) => fmt(s.ratios[peer]?.[m.key], 2)).join(' | ')} |`);
  }
  const failures = s.runs.filter((r) => !r.ok);
  if (failures.length > 0) {
    out.push('', 'Failed runs (not in the medians):', '');
    for (const f of failures) out.push(`- round ${f.round}, ${f.row}: ${f.problems.join('; ').replace(/\s+/g, ' ').slice(0, 400)}`);
  }
  return out.join('\n');
}

/** Where the profiles behind the reasons are, from bench/RESULTS.md. */
const PROFILES = '../docs/performance.md#where-the-time-goes-profiles';

/** The reasons (bench/targets.ts) of the missed targets, and the notes of the met ones. */
function reasonsMarkdown(targets: readonly TargetResult[]): string[] {
  const missed = targets.filter((t) => t.status === 'missed' && t.why);
  const met = targets.filter((t) => t.status === 'met' && t.whenMet);
  const out: string[] = [];
  if (missed.length > 0) {
    out.push('### Why the missed targets are missed', '', `Found by profiling the clients and vsftpd; the figures in them come from those profiling runs, not from the tables below (the reasons are kept in bench/targets.ts; commands and numbers in [docs/performance.md, "Where the time goes (profiles)"](${PROFILES})):`, '');
    out.push(...missed.map((t) => `- **${t.text}** (${t.measured}): ${t.why}`), '');
  }
  if (met.length > 0) out.push('### Notes on met targets', '', ...met.map((t) => `- **${t.text}** (${t.measured}): ${t.whenMet}`), '');
  return out;
}

/** The whole RESULTS.md. */
export function resultsMarkdown(r: SuiteResults): string {
  const m = r.machine;
  const out: string[] = [
    '# ftp-session benchmark suite: results', '',
    `Run of ${r.date}${r.smoke ? ' (**smoke mode**: tiny sizes, one round; the numbers mean nothing)' : ''}: \`${r.command}\`.`, '',
    `- Machine: ${m.nproc} CPUs (nproc), ${m.cpu}, ${m.memGiB} GiB RAM, Linux ${m.kernel}`,
    `- Node ${m.node}; ftp-session ${m.ftpSession} (dist/esm); basic-ftp ${m.basicFtp}; ${m.curl}; lftp ${m.lftp}; ${m.vsftpd}`,
    `- Sizes: ${r.sizes}`,
    `- Everything on loopback; server roots and local files in ${r.scratch}. Each client run is its own process, timed whole (start-up included): wall time from spawn to exit, user+sys CPU and peak RSS from GNU time. A run counts only when verified (exit 0, the client\'s byte count, vsftpd\'s log of each transfer, and for uploads the file on disk: size and SHA-256 or content).`,
    '- Ratios are ftp-session ÷ peer, of the medians.',
    '', '## Targets', '',
    '| Target | Status | Measured |', '|---|---|---|',
    ...r.targets.map((t) => `| ${t.text} | ${t.status === 'met' ? 'met' : t.status === 'missed' ? '**missed**' : t.status} | ${t.measured} |`),
    '', ...reasonsMarkdown(r.targets),
  ];
  for (const s of r.scenarios) out.push(scenarioMarkdown(s, r.rounds[s.id] ?? 0), '');
  if (r.notes.length > 0) out.push('## Notes on the peers', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

/** Writes RESULTS.md and the JSON (folders made as needed). */
export async function writeResults(r: SuiteResults, markdownPath: string, jsonPath: string): Promise<void> {
  await mkdir(dirname(markdownPath), { recursive: true });
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(markdownPath, resultsMarkdown(r));
  await writeFile(jsonPath, `${JSON.stringify(r, null, 1)}\n`);
}
