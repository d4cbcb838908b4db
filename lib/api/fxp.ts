/**
 * Server-to-server copies (FXP): `source.transferFile(sourcePath, target, targetPath, options)`
 * tells the source server to send a file straight to the target server; the bytes never pass
 * through this process. Around each attempt (`lib/run/fxp-exchange.ts`) this adds what
 * `retrFile` and `store` have: what to do with an existing target, a temporary name until the
 * copy is complete, resume after a failure in the middle (the sessions reconnect by themselves;
 * the target's SIZE is the REST offset), progress, and verification. See `docs/fxp.md`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ExistsError, FxpError, InvalidArgumentError, ReplyError, type FtpError } from '../errors.js';
import type { FtpEvents } from '../events.js';
import type { FtpSession } from '../session.js';
import { exchange, type ExchangePlan } from '../run/fxp-exchange.js';
import type { FxpRole, Lease } from '../run/hold.js';
import { optional, renameRemote, run, skipped, temporaryName, type Direction, type FileTransferOptions, type FileTransferResult, type IfExists } from './files.js';
import { verifyRemoteCopy } from './integrity.js';
import type { TransferProgress } from './progress.js';
import { jobOptions, type TransferCallOptions } from './request.js';

/** Options of `transferFile`. */
export interface FxpOptions extends Omit<FileTransferOptions, 'ifExists'> {
  /**
   * When the target exists: `'overwrite'` (default), `'resume'` (the target's SIZE becomes REST
   * on the source, APPE on the target), `'skip'`, `'fail'`, or `'noCheck'` (STOR without looking).
   */
  ifExists?: IfExists | 'noCheck' | undefined;
  /**
   * When the servers will not copy to each other in either orientation: `'error'` (default:
   * an {@link FxpError} naming the side that refused) or `'client'` (stream the file through this
   * process: download from the source, upload to the target).
   */
  fallback?: 'error' | 'client' | undefined;
  /**
   * Sessions that protect data (PROT P) copy over TLS, which needs SSCN or CPSV on one server.
   * `true` copies in clear instead (PROT C for this copy, PROT P again after). Default false:
   * never a silent downgrade.
   */
  clearData?: boolean | undefined;
}

/** How `transferFile` ended. */
export interface FxpResult extends FileTransferResult {
  /** `fxp`: server to server; `client`: streamed through this process (`fallback: 'client'`). */
  via: 'fxp' | 'client';
}

/** What a copy needs of each session (`FtpSession` gives it; see `lib/run/hold.ts`). */
export interface FxpEnd {
  readonly session: FtpSession;
  /** Whether the session protects its data connections (PROT P). */
  readonly protectsData: boolean;
  /** Queues an `fxp` command; resolves with the lease of the control connection once it runs. */
  hold(role: FxpRole, signal?: AbortSignal): Promise<Lease>;
  /** Emits one of the copy's events on the session. */
  notify<E extends 'fxp_progress' | 'fxp_done' | 'fxp_error'>(event: E, ...args: Parameters<FtpEvents[E]>): void;
  /** A second session with this one's options, logged in (the progress probe). */
  openSibling(): Promise<FtpSession>;
}

/** Copies `sourcePath` on `source`'s server to `targetPath` on `target`'s server. */
export async function transferFile(source: FxpEnd, sourcePath: string, target: FxpEnd, targetPath: string, options: FxpOptions = {}): Promise<FxpResult> {
  if (source.session === target.session) throw new InvalidArgumentError('transferFile needs two sessions (one per server, or two to the same server)');
  const src = source.session;
  const dst = target.session;
  const binary = options.transferMode !== 'ascii';
  const call: TransferCallOptions = { ...jobOptions({ signal: options.signal }), transferMode: binary ? 'binary' : 'ascii' };
  const both = <E extends 'fxp_progress' | 'fxp_done' | 'fxp_error'>(event: E, args: (role: FxpRole) => Parameters<FtpEvents[E]>) => {
    source.notify(event, ...args('source'));
    target.notify(event, ...args('target'));
  };
  const copy = new Copy(source, sourcePath, target, options, call);
  try {
    const total = binary ? await optional(src.size(sourcePath, call)) : undefined;
    if (total === undefined && !(await src.existsFile(sourcePath, call))) {
      throw new ReplyError(`FXP: ${sourcePath} does not exist on the source`, 550);
    }
    const ifExists = options.ifExists ?? 'overwrite';
    if ((ifExists === 'skip' || ifExists === 'fail') && (await dst.existsFile(targetPath, call))) {
      if (ifExists === 'fail') throw new ExistsError(targetPath, `${targetPath} exists on the target`);
      both('fxp_done', (role) => [role, role === 'source' ? sourcePath : targetPath]);
      return { ...skipped(), via: 'fxp' };
    }
    const inPlace = ifExists === 'resume' || options.atomic === false;
    copy.written = inPlace ? targetPath : temporaryName(targetPath);
    let start = 0;
    if (ifExists === 'resume' && binary) start = (await optional(dst.size(targetPath, call))) ?? 0;
    if (total !== undefined && start > total) start = 0;
    const verify = () => verifyRemoteCopy(src, sourcePath, dst, copy.written, options.verify ?? (binary ? 'size' : false), call);
    const direction: Direction = {
      temporary: !inPlace,
      targetSize: () => settledSize(dst, copy.written, call),
      transfer: (offset, count) => copy.attempt(offset, count, total),
      discard: () => (copy.touched ? dst.removeFile(copy.written).then(() => {}) : Promise.resolve()),
      keep: () => Promise.resolve(),
      commit: () => (inPlace ? Promise.resolve() : renameRemote(dst, copy.written, targetPath, call)),
    };
    const onProgress = (progress: TransferProgress) => {
      options.onProgress?.(progress);
      both('fxp_progress', () => [progress]);
    };
    const result = await run(direction, start, total, binary, { ...options, ifExists: ifExists === 'noCheck' ? 'overwrite' : ifExists, onProgress }, verify);
    both('fxp_done', (role) => [role, role === 'source' ? sourcePath : targetPath]);
    return { ...result, via: copy.via };
  } catch (error) {
    const failure = error as FtpError;
    both('fxp_error', (role) => [failure.replyCode ?? null, failure.message, role === 'source' ? sourcePath : targetPath, failure]);
    throw error;
  } finally {
    await copy.close();
  }
}

/** One `transferFile` call's state across its attempts. */
class Copy {
  /** The target's name while copying (a temporary name unless resuming or `atomic: false`). */
  written = '';
  /** A STOR or APPE may have been accepted: the target may exist. */
  touched = false;
  via: 'fxp' | 'client' = 'fxp';
  /** The side that listens (PASV): the target first; the other one once the target's way was refused. */
  private listener: FxpRole = 'target';
  private probe: Promise<{ session: FtpSession; path: string } | null> | null = null;

  constructor(
    private readonly source: FxpEnd, private readonly sourcePath: string, private readonly target: FxpEnd, private readonly options: FxpOptions,
    /** The call's signal and transfer type, as every command of the copy gets them. */
    private readonly call: TransferCallOptions,
  ) {}

  /** Copies from `offset` to the end, counting bytes as the target's SIZE grows. */
  async attempt(offset: number, count: (bytes: number) => void, total: number | undefined): Promise<void> {
    if (this.via === 'fxp') {
      try {
        await this.bothWays(offset, count, total);
        return;
      } catch (error) {
        if (!(error instanceof FxpError) || this.options.fallback !== 'client') throw error;
        this.via = 'client';
      }
    }
    await this.throughClient(offset, count);
  }

  /** One FXP attempt in the orientation that worked last; after an {@link FxpError}, once in the other. */
  private async bothWays(offset: number, count: (bytes: number) => void, total: number | undefined): Promise<void> {
    let refused: FxpError | null = null;
    for (const listener of [this.listener, other(this.listener)]) {
      try {
        await this.once({ ...this.plan(offset), listener }, count, total);
        this.listener = listener;
        return;
      } catch (error) {
        if (!(error instanceof FxpError) || error.stage === 'transfer') this.touched = true;
        if (!(error instanceof FxpError)) throw error;
        if (refused) throw new FxpError(error.side, error.stage, `${refused.message}; the other way round: ${error.message}`, error.replyCode, { cause: refused });
        refused = error;
      }
    }
  }

  private plan(offset: number): Omit<ExchangePlan, 'listener' | 'sscn' | 'cpsv'> {
    return {
      sourcePath: this.sourcePath, targetPath: this.written, offset, type: this.call.transferMode === 'ascii' ? 'A' : 'I',
      clearData: this.options.clearData ?? false,
    };
  }

  /** Leases both control connections, runs the exchange, and polls the target's SIZE for progress meanwhile. */
  private async once(plan: Omit<ExchangePlan, 'sscn' | 'cpsv'>, count: (bytes: number) => void, total: number | undefined): Promise<void> {
    const features = await this.tlsFeatures();
    const { signal } = this.options;
    const holds = await Promise.allSettled([this.source.hold('source', signal), this.target.hold('target', signal)]);
    const leases = holds.flatMap((held) => (held.status === 'fulfilled' ? [held.value] : []));
    let seen = plan.offset;
    const grew = (size: number) => {
      if (size > seen) count(size - seen);
      seen = Math.max(seen, size);
    };
    const poller = this.options.onProgress ? this.poll(grew) : null;
    try {
      const refused = holds.find((held): held is PromiseRejectedResult => held.status === 'rejected');
      if (refused) throw refused.reason;
      await exchange(leases[0]!, leases[1]!, { ...plan, ...features }, signal);
      this.touched = true;
      if (total !== undefined) grew(total);
    } finally {
      poller?.stop();
      for (const lease of leases) lease.release();
    }
  }

  /** Which sides offer SSCN and CPSV (asked only when both sessions protect data). */
  private async tlsFeatures(): Promise<Pick<ExchangePlan, 'sscn' | 'cpsv'>> {
    const sscn = new Set<FxpRole>();
    const cpsv = new Set<FxpRole>();
    for (const [role, end] of [['source', this.source], ['target', this.target]] as const) {
      if (!end.protectsData) continue;
      const features = await end.session.features();
      if (features.has('SSCN')) sscn.add(role);
      if (features.has('CPSV')) cpsv.add(role);
    }
    return { sscn, cpsv };
  }

  /** Polls SIZE of the target on a second connection to the target server, every `progressInterval`. */
  private poll(grew: (size: number) => void): { stop(): void } {
    let stopped = false;
    let busy = false;
    const timer = setInterval(() => {
      if (busy || stopped) return;
      busy = true;
      void this.sizeOnProbe().then((size) => { if (!stopped && size !== null) grew(size); }).finally(() => { busy = false; });
    }, this.options.progressInterval ?? 1000);
    timer.unref();
    return { stop: () => { stopped = true; clearInterval(timer); } };
  }

  private async sizeOnProbe(): Promise<number | null> {
    this.probe ??= this.openProbe();
    const probe = await this.probe;
    if (!probe) return null;
    return probe.session.size(probe.path).catch(() => null);
  }

  /** The probe: a sibling of the target session, and the target path it asks (absolute, as the target's cwd may differ). */
  private async openProbe(): Promise<{ session: FtpSession; path: string } | null> {
    try {
      const path = this.written.startsWith('/') ? this.written : `${(await this.target.session.pwd()).replace(/\/$/, '')}/${this.written}`;
      return { session: await this.target.openSibling(), path };
    } catch {
      return null; // no progress during the copy; the copy itself goes on
    }
  }

  /** The fallback: the source's RETR read by this process and written to the target's STOR (or APPE). */
  private async throughClient(offset: number, count: (bytes: number) => void): Promise<void> {
    const { call } = this;
    const bytes = this.source.session.download(this.sourcePath, { ...call, offset, onData: (chunk) => count(chunk.length) });
    this.touched = true;
    await this.target.session.upload(this.written, bytes, { ...call, ...(offset > 0 ? { command: 'appe' as const } : {}) });
  }

  async close(): Promise<void> {
    const probe = await this.probe?.catch(() => null);
    await probe?.session.close();
  }
}

function other(role: FxpRole): FxpRole {
  return role === 'target' ? 'source' : 'target';
}

/**
 * The target's size once it stops changing (after a failure the target server may still be
 * writing what it received): SIZE until two answers 250 ms apart agree, at most 5 s.
 */
async function settledSize(ftp: FtpSession, path: string, call: TransferCallOptions): Promise<number> {
  let last = (await optional(ftp.size(path, call))) ?? 0;
  for (let tries = 0; tries < 20; tries++) {
    await delay(250);
    const now = (await optional(ftp.size(path, call))) ?? 0;
    if (now === last) return now;
    last = now;
  }
  return last;
}
