/**
 * Checks that a run moved the right bytes, from three sides: what the client says (its JSON
 * line, curl's `-w`, lftp's transfer log), what vsftpd logged during the run (one `OK DOWNLOAD`
 * or `OK UPLOAD` line per file, with its byte count; written before the 226 reply), and for
 * uploads what is on the server's disk (size, and SHA-256 for the big file, content for small ones).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunningServer } from '../../spec/support/servers.js';
import type { ClientReport, Transfer } from './clients.js';

/** The outcome of the checks: `ok` only when every check passed; `problems` says which did not. */
export interface Verdict {
  ok: boolean;
  problems: string[];
}

/** vsftpd's protocol and transfer log of `server`. */
export const vsftpdLog = (server: RunningServer): string => join(dirname(server.logFile), 'vsftpd.log');

/** The current length of the server's log: the run's lines start there. */
export async function logOffset(server: RunningServer): Promise<number> {
  return (await stat(vsftpdLog(server)).catch(() => ({ size: 0 }))).size;
}

/** Transfers vsftpd logged from `offset` on. */
export async function loggedTransfers(server: RunningServer, offset: number): Promise<{ ok: Map<'DOWNLOAD' | 'UPLOAD', number[]>; failed: number; logins: number }> {
  const fh = await open(vsftpdLog(server), 'r');
  let text: string;
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.max(0, size - offset));
    await fh.read(buf, 0, buf.length, offset);
    text = buf.toString('latin1');
  } finally {
    await fh.close();
  }
  const ok = new Map<'DOWNLOAD' | 'UPLOAD', number[]>([['DOWNLOAD', []], ['UPLOAD', []]]);
  let failed = 0;
  let logins = 0;
  for (const m of text.matchAll(/\] (OK|FAIL) (DOWNLOAD|UPLOAD|LOGIN): ([^\n]*)/g)) {
    if (m[1] === 'FAIL') failed++;
    else if (m[2] === 'LOGIN') logins++;
    else ok.get(m[2] as 'DOWNLOAD' | 'UPLOAD')!.push(Number(/, (\d+) bytes,/.exec(m[3]!)?.[1] ?? NaN));
  }
  return { ok, failed, logins };
}

/** SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Removes every file in the server's upload folder (before each upload run, so no earlier file counts). */
export async function clearUploads(server: RunningServer): Promise<void> {
  const dir = join(server.root, server.uploadDir);
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

/**
 * Checks one run of transfer `t` against `server` (log lines from `offset`), given the client's
 * report. `bigSha` is the SHA-256 the big upload must have on disk.
 */
export async function verifyRun(t: Transfer, report: ClientReport, server: RunningServer, offset: number, bigSha: string): Promise<Verdict> {
  const problems: string[] = [];
  const expect = (what: string, got: number | undefined, want: number): void => {
    if (got !== want) problems.push(`${what}: ${String(got)}, expected ${want}`);
  };
  if (!report.ok) problems.push(`client: ${report.error ?? 'not ok'}`);
  const log = await loggedTransfers(server, offset);
  if (log.failed > 0) problems.push(`server log: ${log.failed} FAIL lines`);
  const files = (kind: 'DOWNLOAD' | 'UPLOAD', count: number, size: number): void => {
    const sizes = log.ok.get(kind)!;
    expect(`server log: OK ${kind} lines`, sizes.length, count);
    const wrong = sizes.filter((s) => s !== size).length;
    if (wrong > 0) problems.push(`server log: ${wrong} ${kind}s of the wrong size`);
  };
  switch (t.kind) {
    case 'download':
      expect('client bytes', report.bytes, t.bytes);
      files('DOWNLOAD', 1, t.bytes);
      break;
    case 'upload': {
      expect('client bytes', report.bytes, t.bytes);
      files('UPLOAD', 1, t.bytes);
      const path = join(server.root, t.remote);
      const size = (await stat(path).catch(() => undefined))?.size;
      expect('uploaded file size', size, t.bytes);
      if (size === t.bytes && (await sha256File(path)) !== bigSha) problems.push('uploaded file: wrong SHA-256');
      break;
    }
    case 'small-down':
      expect('client bytes', report.bytes, t.remotes.length * t.size);
      files('DOWNLOAD', t.remotes.length, t.size);
      break;
    case 'small-up': {
      expect('client bytes', report.bytes, t.remotes.length * t.size);
      files('UPLOAD', t.remotes.length, t.size);
      let bad = 0;
      for (let i = 0; i < t.remotes.length; i++) {
        const [got, want] = await Promise.all([readFile(join(server.root, t.remotes[i]!)).catch(() => undefined), readFile(t.locals[i]!)]);
        if (!got || !got.equals(want)) bad++;
      }
      if (bad > 0) problems.push(`${bad} of ${t.remotes.length} uploaded files missing or different`);
      break;
    }
    case 'sessions':
      expect('client bytes', report.bytes, t.count * t.size);
      files('DOWNLOAD', t.count, t.size);
      expect('server log: logins', log.logins, t.count);
      break;
  }
  return { ok: problems.length === 0, problems };
}
