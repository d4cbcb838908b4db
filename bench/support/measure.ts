/**
 * Runs one client as its own process and measures it whole, start-up included: wall time (from
 * spawn to exit, measured here), user and system CPU time and peak RSS (from GNU time's
 * rusage of the process: `/usr/bin/time`, Debian package `time`, installed by
 * `npm run test:setup`). Also the medians the report is made of.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** GNU time, whose `-f` format gives the child's rusage. */
export const TIME_BIN = '/usr/bin/time';

/** One process run: what it printed and what it cost. */
export interface ProcessRun {
  /** Spawn to exit, seconds (includes GNU time's own exec, well under a millisecond). */
  wallS: number;
  userS: number;
  sysS: number;
  /** user + sys. */
  cpuS: number;
  /** Peak resident set size of the process, KiB (its ru_maxrss). */
  maxRssKiB: number;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Throws when GNU time is missing (it is installed by `npm run test:setup`). */
export function checkTimeTool(): void {
  if (!existsSync(TIME_BIN)) throw new Error(`${TIME_BIN} is missing: run npm run test:setup (Debian package 'time')`);
}

let runs = 0;

/**
 * Runs `cmd args` under GNU time and resolves when it exits. After `timeoutMs` the process
 * group (GNU time and the client) gets SIGKILL and the run is marked `timedOut`.
 * `scratch` is a folder for GNU time's output file.
 */
export async function runMeasured(
  cmd: string, args: readonly string[], opts: { timeoutMs: number; scratch: string; env?: NodeJS.ProcessEnv },
): Promise<ProcessRun> {
  const usageFile = join(opts.scratch, `rusage-${process.pid}-${++runs}.txt`);
  const start = process.hrtime.bigint();
  const child = spawn(TIME_BIN, ['-f', '%U %S %M', '-o', usageFile, '--', cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: opts.env ?? process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr = (stderr + s).slice(-20_000); });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  }, opts.timeoutMs);
  const [exitCode, signal, end] = await new Promise<[number | null, string | null, bigint]>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code, sig) => res([code, sig, process.hrtime.bigint()]));
  });
  clearTimeout(timer);
  if (child.stdout.readable) await new Promise((res) => child.stdout.once('close', res));
  const usage = (await readFile(usageFile, 'utf8').catch(() => '')).trim().split('\n');
  await rm(usageFile, { force: true });
  // GNU time puts "Command exited with non-zero status N" before the format line when it fails.
  const [user, sys, rss] = (usage[usage.length - 1] ?? '').split(' ').map(Number);
  const userS = Number.isFinite(user) ? user! : NaN;
  const sysS = Number.isFinite(sys) ? sys! : NaN;
  return {
    wallS: Number(end - start) / 1e9, userS, sysS, cpuS: userS + sysS, maxRssKiB: Number.isFinite(rss) ? rss! : NaN,
    exitCode, signal, timedOut, stdout, stderr,
  };
}

/** A process's state letter, start time and own CPU ticks (user+sys), from /proc/<pid>/stat. */
function procStat(pid: number): { state: string; start: string; ticks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    return { state: f[0] ?? '?', start: f[19] ?? '', ticks: Number(f[11]) + Number(f[12]) }; // utime + stime
  } catch {
    return undefined;
  }
}

/** The children of `pid` (zombies included), and theirs. */
function descendants(pid: number): number[] {
  let children: number[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** Resolves once every session process of server `pid` has ended (exited, reaped or not), or after `maxMs`. */
export async function sessionsEnded(pid: number, maxMs = 2000): Promise<void> {
  const until = Date.now() + maxMs;
  while (descendants(pid).some((c) => (procStat(c)?.state ?? 'Z') !== 'Z') && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let clockTicks: number | undefined;

/**
 * Watches the CPU a server spends (user+sys, seconds) from now until `stop()`: its listener and
 * every session process. The sessions' time does not reliably reach the listener's cutime (4
 * uploads costing vsftpd about 1 s of CPU each added 0.01 s to it here), so each process's own
 * time is sampled every 20 ms instead, the last value seen counting (a process loses at most its
 * last 20 ms). `stop()` waits for the sessions to end first (up to 2 s). Resolves to undefined
 * when the server is gone.
 */
export function watchServerCpu(pid: number): { stop(): Promise<number | undefined> } {
  const perSecond = clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  /** Per process (pid@start): its ticks when first seen (0 for one that started after now), and last seen. */
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const sample = (fromNow: boolean): void => {
    for (const p of [pid, ...descendants(pid)]) {
      const st = procStat(p);
      if (!st) continue;
      const key = `${p}@${st.start}`;
      if (!first.has(key)) first.set(key, fromNow ? st.ticks : 0);
      last.set(key, st.ticks);
    }
  };
  sample(true); // processes there before the run count from their current time
  const timer = setInterval(() => sample(false), 20);
  return {
    async stop() {
      await sessionsEnded(pid);
      sample(false);
      clearInterval(timer);
      if (!procStat(pid)) return undefined;
      let sum = 0;
      for (const [key, ticks] of last) sum += ticks - (first.get(key) ?? 0);
      return sum / perSecond;
    },
  };
}

/** The median of the finite values, or undefined when there are none. */
export function median(values: readonly number[]): number | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1]! + v[mid]!) / 2;
}
