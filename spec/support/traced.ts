/**
 * Real-server tests of the promise layer: a logged-in session whose `debug` trace is kept, and
 * assertions whose failure messages end with that trace.
 */
import assert from 'node:assert/strict';
import { FtpSession, type FtpSessionOptions } from '../../lib/index.js';
import type { RunningServer } from './servers.js';

/** A logged-in session whose trace lines (`>>> ` sent, `<<< ` received, `--- ` notes) go to `trace`. */
export interface Traced { ftp: FtpSession; trace: string[] }

/** Connects to `server` (passive, binary, 10 s timeout unless `extra` says otherwise); FTP_DEBUG=1 also prints the trace. */
export async function openTraced(server: RunningServer, extra: Partial<FtpSessionOptions> = {}): Promise<Traced> {
  const trace: string[] = [];
  const ftp = await FtpSession.connect({
    host: server.host, port: server.port, user: server.user, password: server.password,
    connectionMode: 'passive', transferMode: 'binary', timeout: 10_000,
    debug: (line) => { trace.push(line); if (process.env.FTP_DEBUG) process.stderr.write(`${line}\n`); },
    ...extra,
  });
  return { ftp, trace };
}

/** The commands sent since trace line `from`. */
export function sent(trace: readonly string[], from = 0): string[] {
  return trace.slice(from).flatMap((line) => {
    const at = line.indexOf('>>> ');
    return at >= 0 ? [line.slice(at + 4)] : [];
  });
}

/** The end of a trace, for assertion messages. */
export const tail = (trace: readonly string[], lines = 40): string => `\n${trace.slice(-lines).join('\n')}`;

/** Rejects when `promise` takes longer than `ms` (with the end of `trace` in the message). */
export async function within<T>(promise: Promise<T>, ms: number, what: string, trace: readonly string[] = []): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms${tail(trace, 15)}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `promise` rejects with an error `check` accepts; else fails with the error and the end of the trace. */
export async function rejectsWith(promise: Promise<unknown>, check: (error: unknown) => boolean, what: string, trace: readonly string[]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (check(error)) return;
    assert.fail(`expected ${what}, got ${String(error)}${tail(trace)}`);
  }
  assert.fail(`expected ${what}, but it resolved${tail(trace)}`);
}
