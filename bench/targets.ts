/**
 * The targets of issue #7 for ftp-session, checked against a suite run's medians.
 * A target whose scenario did not run (or whose runs all failed) is "not measured".
 */
import type { ScenarioId } from './scenarios.js';
import { runCounts, type ScenarioResult } from './support/results.js';

/** One target's verdict. */
export interface TargetResult {
  text: string;
  status: 'met' | 'missed' | 'not measured';
  /** The measured value (a ratio or an absolute figure), as shown in the report. */
  measured: string;
}

type Lookup = (id: ScenarioId) => ScenarioResult | undefined;

interface Target {
  text: string;
  scenario: ScenarioId;
  /** The measured number, or undefined when it is missing. */
  measure(s: ScenarioResult): number | undefined;
  /** How it is shown. */
  show(v: number): string;
  met(v: number): boolean;
}

const ratio = (peer: string, metric: string) => (s: ScenarioResult): number | undefined => s.ratios[peer]?.[metric];
const own = (key: string, metric: string) => (s: ScenarioResult): number | undefined => s.medians[key]?.[metric];
const times = (v: number): string => `${v.toFixed(2)}×`;

const TARGETS: Target[] = [
  { text: 'download: wall ≤ 1.3× curl', scenario: 'download', measure: ratio('curl', 'wallS'), show: times, met: (v) => v <= 1.3 },
  { text: 'download: peak RSS ≤ 60 MiB', scenario: 'download', measure: own('ftp-session', 'rssMiB'), show: (v) => `${v.toFixed(1)} MiB`, met: (v) => v <= 60 },
  { text: 'download: in-process rate ≥ 0.95× bare Node socket', scenario: 'download', measure: ratio('bare-socket', 'rateMBs'), show: times, met: (v) => v >= 0.95 },
  { text: 'upload from memory: wall ≤ 1.1× curl', scenario: 'upload-memory', measure: ratio('curl', 'wallS'), show: times, met: (v) => v <= 1.1 },
  { text: 'upload from memory: CPU ≤ 1.5× curl', scenario: 'upload-memory', measure: ratio('curl', 'cpuS'), show: times, met: (v) => v <= 1.5 },
  { text: 'upload from file: wall ≤ 1.1× curl', scenario: 'upload-file', measure: ratio('curl', 'wallS'), show: times, met: (v) => v <= 1.1 },
  { text: 'upload from file: CPU ≤ 1.5× curl', scenario: 'upload-file', measure: ratio('curl', 'cpuS'), show: times, met: (v) => v <= 1.5 },
  { text: 'small files down: wall ≤ 1.0× lftp', scenario: 'small-down', measure: ratio('lftp', 'wallS'), show: times, met: (v) => v <= 1 },
  { text: 'small files down: CPU ≤ 0.3 ms/file (whole process)', scenario: 'small-down', measure: own('ftp-session', 'cpuMsPerFile'), show: (v) => `${v.toFixed(3)} ms`, met: (v) => v <= 0.3 },
  { text: 'small files up: wall ≤ 1.0× lftp', scenario: 'small-up', measure: ratio('lftp', 'wallS'), show: times, met: (v) => v <= 1 },
  { text: 'small files up: CPU ≤ 0.3 ms/file (whole process)', scenario: 'small-up', measure: own('ftp-session', 'cpuMsPerFile'), show: (v) => `${v.toFixed(3)} ms`, met: (v) => v <= 0.3 },
  { text: '10 ms RTT down: ≤ 2.5 round trips/file', scenario: 'small-down-rtt', measure: own('ftp-session', 'rtPerFile'), show: (v) => v.toFixed(2), met: (v) => v <= 2.5 },
  { text: '10 ms RTT down: wall ≤ 0.6× basic-ftp', scenario: 'small-down-rtt', measure: ratio('basic-ftp', 'wallS'), show: times, met: (v) => v <= 0.6 },
  { text: '10 ms RTT up: ≤ 2.5 round trips/file', scenario: 'small-up-rtt', measure: own('ftp-session', 'rtPerFile'), show: (v) => v.toFixed(2), met: (v) => v <= 2.5 },
  { text: '10 ms RTT up: wall ≤ 0.6× basic-ftp', scenario: 'small-up-rtt', measure: ratio('basic-ftp', 'wallS'), show: times, met: (v) => v <= 0.6 },
  { text: 'event loop during a download: p99 ≤ 10 ms', scenario: 'loop-delay', measure: own('ftp-session download', 'p99'), show: (v) => `${v.toFixed(2)} ms`, met: (v) => v <= 10 },
  { text: 'event loop during an upload: p99 ≤ 10 ms', scenario: 'loop-delay', measure: own('ftp-session upload', 'p99'), show: (v) => `${v.toFixed(2)} ms`, met: (v) => v <= 10 },
  {
    text: 'slow consumer: RSS flat (growth after the first 10 % ≤ 10 MiB, every run)', scenario: 'slow-consumer',
    measure: (s) => {
      const runs = s.runs.filter((r) => r.row === 'ftp-session' && r.ok);
      return runs.length === 0 ? undefined : Math.max(...runs.map((r) => r.values.growthMiB ?? Infinity));
    },
    show: (v) => `largest growth ${v.toFixed(1)} MiB`, met: (v) => v <= 10,
  },
  { text: 'FTPS download: in-process rate ≥ basic-ftp\'s', scenario: 'ftps-down', measure: ratio('basic-ftp', 'rateMBs'), show: times, met: (v) => v >= 1 },
  { text: 'FTPS small files: files/s ≥ basic-ftp\'s', scenario: 'ftps-small', measure: ratio('basic-ftp', 'filesPerS'), show: times, met: (v) => v >= 1 },
];

/** Every target's verdict; failed ftp-session runs are said next to the measured value. */
export function evaluateTargets(lookup: Lookup): TargetResult[] {
  return TARGETS.map((t) => {
    const s = lookup(t.scenario);
    const v = s ? t.measure(s) : undefined;
    if (!s || v === undefined || !Number.isFinite(v)) return { text: t.text, status: 'not measured', measured: '—' };
    const ftp = s.rows.filter((r) => r.client === 'ftp-session').map((r) => runCounts(s, r.key));
    const failed = ftp.reduce((n, c) => n + c.all - c.ok, 0);
    const note = failed > 0 ? ` (${failed} ftp-session run${failed > 1 ? 's' : ''} failed)` : '';
    return { text: t.text, status: t.met(v) ? 'met' : 'missed', measured: t.show(v) + note };
  });
}
