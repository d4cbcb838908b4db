/**
 * Local-file transfers (Nim's `retrFile`/`store`, done right): what to do with an existing
 * target, resume, a temporary name until the file is complete, progress, verification, and
 * going on by itself after a failure in the middle (see `docs/files.md`).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { fileSource } from './file-source.js';
import { rename, rm, stat, utimes } from 'node:fs/promises';
import { posix, dirname, basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  AbortError, ConnectionClosedError, DataConnectionError, describe, ExistsError, FtpError, IntegrityError, LocalIoError,
  OutcomeUnknownError, PartialTransferError, ProtocolError, ReplyError, TimeoutError,
} from '../errors.js';
import type { TransferMode } from '../options.js';
import type { FtpSession } from '../session.js';
import { verifyCopy, type VerifyMode } from './integrity.js';
import { ProgressMeter, type ProgressListener } from './progress.js';
import { jobOptions, type TransferCallOptions } from './request.js';

/** What {@link retrFile} and {@link store} do when the target exists. */
export type IfExists = 'overwrite' | 'resume' | 'skip' | 'fail';
/** What happens when verification finds the copies differ: transfer again from byte 0, delete the copy, or keep it under its final name; the last two throw. */
export type MismatchPolicy = 'retry' | 'delete' | 'throw';

/** Options of {@link retrFile} and {@link store}. */
export interface FileTransferOptions extends TransferCallOptions {
  /** Default `'overwrite'`. `'resume'` continues a partial target (downloads: only when the remote file is unchanged). */
  ifExists?: IfExists | undefined;
  /** Called every `progressInterval` ms and once at the end. */
  onProgress?: ProgressListener | undefined;
  /** Default 1000. */
  progressInterval?: number | undefined;
  /** Default `'size'` for binary transfers, `false` for ASCII (sizes differ by line endings). */
  verify?: VerifyMode | undefined;
  /** Default `'delete'` (nothing unverified is left; the IntegrityError is thrown). */
  onMismatch?: MismatchPolicy | undefined;
  /** Transfer attempts in all (failures in the middle resume; a `retry` mismatch starts over). Default 3. */
  attempts?: number | undefined;
  /** Write under a temporary name and rename when complete. Default true (resuming writes in place). */
  atomic?: boolean | undefined;
}

/** How a file transfer ended. */
export interface FileTransferResult {
  /** `done`; `skipped` (target existed, `ifExists: 'skip'`); `complete` (resume found nothing left to do). */
  status: 'done' | 'skipped' | 'complete';
  /** Bytes moved over the network by this call. */
  transferred: number;
  /** The byte the first attempt started at (0 unless resumed). */
  resumedFrom: number;
  /** How the copy was checked (`size`, `HASH SHA-256`, `XSHA256`, ...), or null. */
  verified: string | null;
  /** Transfer attempts made. */
  attempts: number;
}

/** One side of a file transfer: where bytes go and how a partial target is measured. */
export interface Direction {
  /** How many bytes of the file the target holds now (where an attempt resumes). */
  targetSize(): Promise<number>;
  /** Moves bytes from `offset` to the end, counting them with `count`. */
  transfer(offset: number, count: (bytes: number) => void, onTotal: (total: number) => void): Promise<void>;
  /** Whether the target is a temporary name (removed after any failure). */
  readonly temporary: boolean;
  /** Removes the target (a temporary one, or after a `delete` mismatch). */
  discard(): Promise<void>;
  /** Leaves a partial target for a later resume. */
  keep(): Promise<void>;
  /** Gives the finished target its final name (nothing to do when it was written in place). */
  commit(): Promise<void>;
}

/** Downloads `remote` to `localPath`. */
export async function retrFile(ftp: FtpSession, remote: string, localPath: string, options: FileTransferOptions = {}): Promise<FileTransferResult> {
  const call = callOptions(ftp, options);
  const binary = call.transferMode === 'binary';
  const local = await localStat(localPath);
  if (local && options.ifExists === 'skip') return skipped();
  if (local && options.ifExists === 'fail') throw new ExistsError(localPath, `${localPath} exists`);
  const remoteSize = binary ? await optional(ftp.size(remote, call)) : undefined;
  const remoteTime = await optional(ftp.mdtm(remote, call));
  let start = 0;
  if (local && options.ifExists === 'resume' && binary) {
    // Unchanged: the remote file was not modified after the local copy was last written (RFC 3659: else REST is inadvisable).
    const unchanged = remoteTime === undefined || remoteTime.getTime() <= local.mtimeMs + 1000;
    if (unchanged && remoteSize === local.size) return finishComplete(ftp, remote, localPath, options, call, remoteTime);
    if (unchanged && (remoteSize === undefined || local.size < remoteSize)) start = local.size;
  }
  const inPlace = options.ifExists === 'resume' || options.atomic === false;
  const target = inPlace ? localPath : temporaryName(localPath);
  const direction: Direction = {
    temporary: target !== localPath,
    targetSize: async () => (await localStat(target))?.size ?? 0,
    async transfer(offset, count, onTotal) {
      const file = createWriteStream(target, { flags: offset > 0 ? 'r+' : 'w', start: offset });
      const source = ftp.download(remote, {
        ...call, offset,
        onData: (chunk) => count(chunk.length),
        onStart: (_code, text) => { const size = announcedSize(text); if (size !== undefined) onTotal(offset + size); },
      });
      await pipeline(source, file).catch((error: unknown) => { throw asFtpError(error, `writing ${target}`); });
    },
    discard: () => rm(target, { force: true }),
    // The remote time is the next resume's reference: the remote file has not changed while its MDTM is not newer.
    keep: async () => { if (remoteTime) await utimes(target, remoteTime, remoteTime); },
    async commit() {
      await this.keep().catch(() => {});
      if (target === localPath) return;
      await rename(target, localPath).catch((error: unknown) => {
        throw new LocalIoError(`cannot rename ${target} to ${localPath}: ${describe(error)}`, { cause: error });
      });
    },
  };
  return run(direction, start, remoteSize, binary, options, () => verifyCopy(ftp, remote, target, verifyMode(options, binary), call));
}

/** Uploads `localPath` to `remote`. */
export async function store(ftp: FtpSession, localPath: string, remote: string, options: FileTransferOptions = {}): Promise<FileTransferResult> {
  const call = callOptions(ftp, options);
  const binary = call.transferMode === 'binary';
  const local = await localStat(localPath);
  if (!local) throw new LocalIoError(`cannot read ${localPath}: no such file`);
  if ((options.ifExists === 'skip' || options.ifExists === 'fail') && (await ftp.existsFile(remote, call))) {
    if (options.ifExists === 'skip') return skipped();
    throw new ExistsError(remote, `${remote} exists on the server`);
  }
  const inPlace = options.ifExists === 'resume' || options.atomic === false;
  const target = inPlace ? remote : temporaryName(remote);
  const remoteSize = () => optional(ftp.size(target, call)).then((size) => size ?? 0);
  let start = 0;
  if (options.ifExists === 'resume' && binary) {
    const size = await remoteSize();
    if (size === local.size) return finishComplete(ftp, remote, localPath, options, call, undefined);
    if (size < local.size) start = size;
  }
  let useAppend = false;
  let touched = false; // a STOR/APPE was accepted: the target may exist
  const direction: Direction = {
    temporary: target !== remote,
    targetSize: remoteSize,
    async transfer(offset, count) {
      let sent = 0;
      const send = (append: boolean) => ftp.upload(target, fileSource(localPath, { start: offset }), {
        ...call, onFlushed: (bytes) => { sent += bytes; count(bytes); }, onStart: () => { touched = true; },
        ...(append ? { command: 'appe' as const } : { offset }),
      });
      if (offset === 0 || useAppend) return send(offset > 0);
      try {
        await send(false); // REST + STOR: writes at the offset, whatever the server still flushes from before
      } catch (error) {
        // Only a refusal before any byte went out: after that the server holds more than `offset`.
        const refused = error instanceof ReplyError || (error instanceof FtpError && isRestartRefused(error));
        if (!refused || sent > 0) throw error;
        useAppend = true; // no restarted STOR here: APPE
        await send(true);
      }
    },
    // Not stopped by the caller's (aborted) signal; nothing to remove when no STOR was accepted.
    discard: () => (touched ? ftp.removeFile(target).then(() => {}) : Promise.resolve()),
    keep: () => Promise.resolve(),
    commit: () => (target === remote ? Promise.resolve() : renameRemote(ftp, target, remote, call)),
  };
  return run(direction, start, local.size, binary, options, () => verifyCopy(ftp, target, localPath, verifyMode(options, binary), call));
}

/**
 * The attempt loop both directions share: transfer from `start`; after a failure that may pass
 * (lost connection, data connection, timeout, 4xx) resume from what the target holds; after a
 * refused REST start over at 0; then verify, with the mismatch policy (`throw` keeps the copy
 * under its final name, `delete` removes it, `retry` starts over). A failed transfer leaves no
 * target behind unless resuming was asked for (then the partial file is what a resume continues).
 */
export async function run(
  direction: Direction, start: number, total: number | undefined, binary: boolean, options: FileTransferOptions,
  verify: () => Promise<string | null>,
): Promise<FileTransferResult> {
  const attempts = options.attempts ?? 3;
  const meter = new ProgressMeter(options.onProgress ?? (() => {}), { interval: options.progressInterval ?? 1000, offset: start, total });
  let transferred = 0;
  let offset = start;
  let made = 0;
  meter.start();
  try {
    for (;;) {
      made++;
      try {
        await direction.transfer(offset, (bytes) => { transferred += bytes; meter.add(bytes); }, (size) => { if (total === undefined) meter.setTotal(size); });
        const verified = await verify();
        await direction.commit();
        meter.finish();
        return { status: 'done', transferred, resumedFrom: start, verified, attempts: made };
      } catch (error) {
        if (!(error instanceof FtpError)) throw error;
        const mismatch = error instanceof IntegrityError;
        const policy = options.onMismatch ?? 'delete';
        if (mismatch && policy === 'throw') {
          await direction.commit();
          meter.stop();
          throw error;
        }
        const again = mismatch ? policy === 'retry' : mayResume(error);
        if (!again || made >= attempts) throw error;
        offset = mismatch || !binary || isRestartRefused(error) ? 0 : await direction.targetSize();
        meter.reset(offset);
      }
    }
  } catch (error) {
    if (error instanceof IntegrityError && options.onMismatch === 'throw') throw error; // kept, under its final name
    meter.stop();
    if (options.ifExists === 'resume' && !(error instanceof IntegrityError)) await direction.keep().catch(() => {});
    // A target written in place that got no byte is left alone (a refused STOR must not delete the old file).
    else if (direction.temporary || transferred > 0) await direction.discard().catch(() => {});
    throw error;
  }
}

/** Failures after which the transfer can go on (the session has reconnected, or will, by itself). */
function mayResume(error: FtpError): boolean {
  if (error instanceof AbortError) return false;
  if (error instanceof ReplyError) return error.replyCode !== null && error.replyCode >= 400 && error.replyCode < 500;
  return error instanceof ConnectionClosedError || error instanceof DataConnectionError || error instanceof TimeoutError
    || error instanceof PartialTransferError || error instanceof OutcomeUnknownError;
}

function isRestartRefused(error: FtpError): boolean {
  return error instanceof PartialTransferError && error.reason === 'restart-refused';
}

/** The target was already complete: verify it (and stamp a download's time) without transferring. */
async function finishComplete(
  ftp: FtpSession, remote: string, localPath: string, options: FileTransferOptions, call: TransferCallOptions & { transferMode: TransferMode }, time: Date | undefined,
): Promise<FileTransferResult> {
  const verified = await verifyCopy(ftp, remote, localPath, verifyMode(options, true), call);
  if (time) await utimes(localPath, time, time).catch(() => {});
  options.onProgress?.({ bytes: 0, total: 0, percent: 100, bytesPerSecond: 0, etaSeconds: 0 });
  return { status: 'complete', transferred: 0, resumedFrom: 0, verified, attempts: 0 };
}

export function skipped(): FileTransferResult {
  return { status: 'skipped', transferred: 0, resumedFrom: 0, verified: null, attempts: 0 };
}

/** RNFR/RNTO the finished temporary file onto its name; a server that will not replace a file gets a DELE first. */
export async function renameRemote(ftp: FtpSession, from: string, to: string, call: TransferCallOptions): Promise<void> {
  try {
    await ftp.rename(from, to, call);
  } catch (error) {
    if (!(error instanceof ReplyError) || !(await ftp.existsFile(to, call))) throw error;
    await ftp.removeFile(to, call);
    await ftp.rename(from, to, call);
  }
}

/** The call's own options plus its transfer type: the call's, else the session's unless `manual`, else binary. */
function callOptions(ftp: FtpSession, options: FileTransferOptions): TransferCallOptions & { transferMode: TransferMode } {
  const mode = options.transferMode ?? (ftp.transferMode === 'manual' ? 'binary' : ftp.transferMode);
  return { ...jobOptions({ signal: options.signal }), transferMode: mode };
}

function verifyMode(options: FileTransferOptions, binary: boolean): VerifyMode {
  return options.verify ?? (binary ? 'size' : false);
}

/** `.<name>.<8 hex>.part` beside `path` (local or remote), so the final rename stays in one directory. */
export function temporaryName(path: string): string {
  const unique = randomBytes(4).toString('hex');
  const name = `.${basename(path)}.${unique}.part`;
  return path.includes('/') && !path.includes('\\') ? posix.join(posix.dirname(path), name) : join(dirname(path), name);
}

/** The "(N bytes)" a 150 reply may announce (the bytes this RETR sends). */
function announcedSize(text: string): number | undefined {
  const match = /\((\d+) bytes\)/i.exec(text);
  const size = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(size) ? size : undefined;
}

/** A value the server may not give (SIZE or MDTM refused, unreadable): undefined then. */
export async function optional<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof ReplyError || error instanceof PartialTransferError || error instanceof ProtocolError) return undefined;
    throw error;
  }
}

async function localStat(path: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    const found = await stat(path);
    return { size: found.size, mtimeMs: found.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LocalIoError(`cannot read ${path}: ${describe(error)}`, { cause: error });
  }
}

function asFtpError(error: unknown, doing: string): FtpError {
  return error instanceof FtpError ? error : new LocalIoError(`${doing}: ${describe(error)}`, { cause: error });
}
