/**
 * The suite's results: every run (raw), and per scenario the medians of each row and the
 * ratios of ftp-session to each peer. This is what bench/results.json holds.
 */
import type { ClientName, ClientReport } from './clients.js';
import { median, type ProcessRun } from './measure.js';
import type { Metric, ScenarioId } from '../scenarios.js';

/** One client run. */
export interface RunRecord extends Omit<ProcessRun, 'stdout' | 'stderr'> {
  round: number;
  /** The row key (`client` or `client case`). */
  row: string;
  /** Verified: the process exited 0 and every byte check passed. Only these count in the medians. */
  ok: boolean;
  problems: string[];
  /** The scenario's numbers for this run (see its metrics). */
  values: Record<string, number>;
  report: ClientReport;
  /** The end of the client's stderr, for failed runs. */
  stderr?: string;
}

/** One row of a scenario. */
export interface RowInfo {
  key: string;
  client: ClientName;
  case?: string;
  note?: string;
}

/** A scenario's runs and what they add up to. */
export interface ScenarioResult {
  id: ScenarioId;
  title: string;
  about: string;
  metrics: Metric[];
  rows: RowInfo[];
  runs: RunRecord[];
  /** Per row key: the median of each metric over the verified runs. */
  medians: Record<string, Record<string, number>>;
  /** Per peer row key, per ratio metric: ftp-session's median ÷ the peer's (same case). */
  ratios: Record<string, Record<string, number>>;
}

/** Medians and ratios from the runs (called after each scenario). */
export function summarize(result: ScenarioResult): void {
  result.medians = {};
  result.ratios = {};
  for (const row of result.rows) {
    const ok = result.runs.filter((r) => r.row === row.key && r.ok);
    const m: Record<string, number> = {};
    for (const metric of result.metrics) {
      const v = median(ok.map((r) => r.values[metric.key] ?? NaN));
      if (v !== undefined) m[metric.key] = v;
    }
    result.medians[row.key] = m;
  }
  for (const row of result.rows) {
    if (row.client === 'ftp-session') continue;
    const own = result.rows.find((r) => r.client === 'ftp-session' && r.case === row.case);
    if (!own) continue;
    const ratios: Record<string, number> = {};
    for (const metric of result.metrics.filter((x) => x.ratio)) {
      const a = result.medians[own.key]?.[metric.key];
      const b = result.medians[row.key]?.[metric.key];
      if (a !== undefined && b !== undefined && b !== 0) ratios[metric.key] = a / b;
    }
    result.ratios[row.key] = ratios;
  }
}

/** Verified runs of a row, and all its runs. */
export function runCounts(result: ScenarioResult, key: string): { ok: number; all: number } {
  const runs = result.runs.filter((r) => r.row === key);
  return { ok: runs.filter((r) => r.ok).length, all: runs.length };
}
