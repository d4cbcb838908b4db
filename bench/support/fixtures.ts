/**
 * The bench's world: the data, the servers and the delay proxy, made once per suite run.
 *
 * Everything lives on tmpfs (/dev/shm, unless it has too little room): the servers' roots
 * (TMPDIR is set before they start: spec/support/servers.ts takes os.tmpdir() then) and the
 * local files clients upload from.
 * Server side: `big.bin` (the pattern block repeated), `small/f0000.bin`… (random, 4 KiB),
 * `sessions/` (10 small files to list, `f00.bin` downloaded). Local side: `pattern.bin`
 * (1 MiB random block), `src.bin` (the same bytes as `big.bin`), `up/f0000.bin`… (random, 4 KiB).
 */
import { createHash, randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, writeFixture, type RunningServer } from '../../spec/support/servers.js';
import { startConnectPacer } from './connect-pacer.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import type { Endpoint } from './clients.js';

/** How much each scenario moves. */
export interface Sizes {
  /** The big file (download, uploads, loop delay, slow consumer, FTPS), bytes. */
  big: number;
  /** Small files per small-file run (and the size of each). */
  smallFiles: number;
  smallSize: number;
  /** Small files per run through the delay proxy, and its round-trip time. */
  rttFiles: number;
  rttMs: number;
  /** Concurrent sessions. */
  sessions: number;
  /** Small files per FTPS run. */
  ftpsSmall: number;
  /** The slow consumer's rate, bytes/s. */
  throttle: number;
}

/** Full-run sizes. */
export const FULL: Sizes = {
  big: 1024 ** 3, smallFiles: 1000, smallSize: 4096, rttFiles: 1000, rttMs: 10, sessions: 200, ftpsSmall: 200, throttle: 50e6,
};
/** `--smoke` sizes: every scenario and client, in seconds. */
export const SMOKE: Sizes = {
  big: 8 * 1024 ** 2, smallFiles: 20, smallSize: 4096, rttFiles: 5, rttMs: 10, sessions: 10, ftpsSmall: 5, throttle: 50e6,
};

/** A server and how clients reach it. */
export interface Target {
  server: RunningServer;
  endpoint: Endpoint;
}

/** What the scenarios run against. */
export interface World {
  sizes: Sizes;
  /** Made for a --smoke run. */
  smoke: boolean;
  /** The folder the servers' roots and `work` are in: /dev/shm, unless it has too little room. */
  base: string;
  /** Scratch folder on /dev/shm: local files, client configs, GNU time's output. */
  work: string;
  plain: Target;
  /** FTPS (explicit, TLS 1.3), when a scenario needs it. */
  tls?: Target;
  /** The plain server behind the delay proxy, when a scenario needs it. */
  delayed?: Target;
  /** The plain server behind the connect pacer (connect-pacer.ts), for the concurrent sessions. */
  paced?: Target;
  bigSha: string;
  patternFile: string;
  srcFile: string;
  /** Remote and local names of the small files (as many as the largest small-file run needs). */
  smallRemote: string[];
  smallLocal: string[];
  sessionsDir: string;
  sessionsFile: string;
  close(): Promise<void>;
}

/** /dev/shm when it has `needed` bytes free (containers often give it 64 MiB), else the usual temp folder. */
function scratchBase(needed: number, log: (line: string) => void): string {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= needed) return '/dev/shm';
    log(`/dev/shm has less than ${Math.ceil(needed / 1024 ** 2)} MiB free: using ${tmpdir()} instead`);
  } catch {
    log(`no /dev/shm: using ${tmpdir()}`);
  }
  return tmpdir();
}

const name = (i: number): string => `f${String(i).padStart(4, '0')}.bin`;

/** Makes the data, starts vsftpd (and the FTPS vsftpd, the delay proxy when asked for). */
export async function makeWorld(sizes: Sizes, needs: { smoke?: boolean; tls: boolean; rtt: boolean; sessions: boolean }, log: (line: string) => void): Promise<World> {
  const base = scratchBase(sizes.big * 6 + 256 * 1024 * 1024, log);
  process.env.TMPDIR = base;
  const work = await mkdtemp(join(base, 'ftp-session-bench-'));
  const stops: Array<() => Promise<void>> = [() => rm(work, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const pattern = randomBytes(1024 * 1024);
    const patternFile = join(work, 'pattern.bin');
    await writeFile(patternFile, pattern);
    log(`data: ${sizes.big} bytes big file, ${sizes.smallFiles} small files in ${work}`);
    let big: Buffer | undefined = Buffer.allocUnsafe(sizes.big).fill(pattern);
    const bigSha = createHash('sha256').update(big).digest('hex');
    const srcFile = join(work, 'src.bin');
    await writeFile(srcFile, big);

    const count = Math.max(sizes.smallFiles, sizes.rttFiles, sizes.ftpsSmall);
    const smallRemote = Array.from({ length: count }, (_, i) => `small/${name(i)}`);
    const smallLocal = smallRemote.map((_, i) => join(work, 'up', name(i)));
    const smallData = smallRemote.map(() => randomBytes(sizes.smallSize));
    await mkdir(join(work, 'up'));
    await Promise.all(smallLocal.map((p) => writeFile(p, randomBytes(sizes.smallSize))));

    const fill = async (server: RunningServer, small: number): Promise<void> => {
      await writeFixture(server, 'big.bin', big!);
      for (let i = 0; i < small; i++) await writeFixture(server, smallRemote[i]!, smallData[i]!);
      for (let i = 0; i < 10; i++) await writeFixture(server, `sessions/f${String(i).padStart(2, '0')}.bin`, smallData[i % smallData.length]!);
    };
    const target = (server: RunningServer, caFile?: string): Target => ({
      server, endpoint: { host: server.host, port: server.port, user: server.user, password: server.password, ...(caFile ? { caFile } : {}) },
    });

    const plainServer = await startServer('vsftpd');
    stops.push(() => plainServer.stop());
    await fill(plainServer, count);
    const plain = target(plainServer);
    log(`vsftpd on port ${plainServer.port}, root ${plainServer.root}`);

    let tls: Target | undefined;
    if (needs.tls) {
      const server = await startServer('vsftpd', { tls: { mode: 'explicit', version: 'TLSv1.3' } });
      stops.push(() => server.stop());
      await fill(server, sizes.ftpsSmall);
      const caFile = join(work, 'ca.pem');
      await writeFile(caFile, server.tls!.ca);
      tls = target(server, caFile);
      log(`vsftpd FTPS (explicit, TLS 1.3) on port ${server.port}`);
    }
    big = undefined;

    let delayed: Target | undefined;
    if (needs.rtt) {
      const proxy: DelayProxy = await startDelayProxy({ target: { host: plainServer.host, port: plainServer.port }, rttMs: sizes.rttMs });
      stops.push(() => proxy.close());
      delayed = { server: plainServer, endpoint: { ...plain.endpoint, host: proxy.host, port: proxy.port } };
      log(`delay proxy (${sizes.rttMs} ms RTT) on port ${proxy.port}`);
    }

    let paced: Target | undefined;
    if (needs.sessions) {
      const pacer = await startConnectPacer({ host: plainServer.host, port: plainServer.port });
      stops.push(() => pacer.close());
      paced = { server: plainServer, endpoint: { ...plain.endpoint, host: pacer.host, port: pacer.port } };
      log(`connect pacer on port ${pacer.port}`);
    }

    return {
      sizes, smoke: needs.smoke === true, base, work, plain, ...(tls ? { tls } : {}), ...(delayed ? { delayed } : {}), ...(paced ? { paced } : {}), bigSha, patternFile, srcFile,
      smallRemote, smallLocal, sessionsDir: 'sessions', sessionsFile: 'sessions/f00.bin', close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
