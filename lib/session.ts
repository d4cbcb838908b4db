/**
 * FtpSession: the event-driven core (`lib/core.ts`) plus the promise API. Every method here
 * queues on the same session as `post`, so promise calls and posted commands keep their order;
 * the work is done in `lib/api/`.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { CommandArgs } from './commands.js';
import { SessionCore } from './core.js';
import { ReplyError } from './errors.js';
import type { FtpSessionOptions } from './options.js';
import { chmod, createDir, existsFile, listDirs, removeDir, type Permissions } from './api/directories.js';
import { iterateEntries, listEntries, stat, type ListOptions } from './api/listing.js';
import type { FileInfo } from './protocol/listing/entry.js';
import { downloadDir, transferDir, uploadDir, type FxpTreeOptions, type TreeOptions, type TreeResult } from './api/trees.js';
import { transferFile, type FxpEnd, type FxpOptions, type FxpResult } from './api/fxp.js';
import { retrFile, store, type FileTransferOptions, type FileTransferResult } from './api/files.js';
import { request, type CallOptions, type CommandReply, type ListingCallOptions, type RequestName, type RequestResult, type Submit, type TransferCallOptions } from './api/request.js';
import { downloadTo, READ_SIZE, type ChunkSink, type DownloadToOptions } from './api/sink.js';
import { ReadBuffers } from './transport/read-buffers.js';
import { downloadStream, uploadFrom, type DownloadOptions, type UploadOptions, type UploadSource } from './api/streams.js';

/**
 * An FTP client session in the style of POE::Component::Client::FTP, with promises.
 *
 * ```ts
 * // Events (POE):
 * const ftp = FtpSession.spawn({ host: '127.0.0.1', user: 'u', password: 'p' });
 * ftp.on('authenticated', () => ftp.post('cd', '/pub'));
 * // Promises, on the same session and queue:
 * const size = await ftp.size('file.bin');
 * await ftp.retrFile('file.bin', './file.bin', { onProgress: (p) => console.log(p.percent) });
 * ```
 */
export class FtpSession extends SessionCore {
  /** Queues a command for the promise API. */
  private readonly queueCommand: Submit = (name, args, job) => this.submit(name, args, job);
  private featureCache: Promise<Map<string, string>> | null = null;
  /** The read buffers `downloadTo` lends (made on first use, kept for the session's life). */
  private readonly readBuffers = new ReadBuffers(READ_SIZE);

  /** Creates a session and starts connecting at once. Throws InvalidArgumentError for bad options. */
  static spawn(options: FtpSessionOptions): FtpSession {
    return new FtpSession(options);
  }

  /** Spawns a session and resolves once it is logged in; rejects (and closes it) when the first connect or login fails. */
  static async connect(options: FtpSessionOptions): Promise<FtpSession> {
    const session = new FtpSession(options);
    try {
      await session.ready();
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  /** Resolves once the session has logged in; rejects when the first connect or login fails, or the session closes first. */
  ready(): Promise<void> {
    return this.whenReady();
  }

  /**
   * The promise form of a posted command: resolves with its reply (and the value parsed from
   * it), the bytes of a `get`, or the lines of a listing; rejects with the typed `FtpError` its
   * error event would carry. Its own events are not emitted (state and connection events are).
   */
  request<N extends RequestName>(name: N, args: CommandArgs[N], options?: TransferCallOptions & ListingCallOptions): Promise<RequestResult<N>> {
    return request(this.queueCommand, name, args, options);
  }

  // ---- Nim's asyncftpclient API and the other simple commands --------------------------------

  /** PWD: the working directory. */
  async pwd(options?: CallOptions): Promise<string> {
    return (await this.request('pwd', [], options)).value;
  }

  /** CWD. The session remembers the directory and restores it after a reconnect. */
  cd(path: string, options?: CallOptions): Promise<CommandReply> {
    return this.request('cd', [path], options);
  }

  /** CDUP (200 and 250 are both success). */
  cdup(options?: CallOptions): Promise<CommandReply> {
    return this.request('cdup', [], options);
  }

  /** SIZE, in binary (TYPE I is made sure of first, RFC 3659: a size in ASCII is not the file's). */
  async size(path: string, options?: TransferCallOptions): Promise<number> {
    return (await this.request('size', [path], { transferMode: 'binary', ...options })).value;
  }

  /** MDTM: the file's modification time (UTC). */
  async mdtm(path: string, options?: CallOptions): Promise<Date> {
    return (await this.request('mdtm', [path], options)).value;
  }

  /** FEAT, asked once per session (a server that refuses FEAT offers nothing: an empty map). */
  features(): Promise<Map<string, string>> {
    this.featureCache ??= this.request('feat', []).then((reply) => reply.value, (error: unknown) => {
      if (error instanceof ReplyError) return new Map<string, string>();
      this.featureCache = null; // not the server's answer (connection lost, session closed): ask again next time
      throw error;
    });
    return this.featureCache;
  }

  /** RNFR + RNTO. */
  rename(from: string, to: string, options?: CallOptions): Promise<CommandReply> {
    return this.request('rename', [from, to], options);
  }

  /** DELE. */
  removeFile(path: string, options?: CallOptions): Promise<CommandReply> {
    return this.request('delete', [path], options);
  }

  /** RMD; with `recursive`, everything inside first (remote names are checked: see `docs/promises.md`). */
  removeDir(path: string, options?: CallOptions & { recursive?: boolean }): Promise<void> {
    return removeDir(this, path, options);
  }

  /** MKD; with `recursive`, each missing parent too. Succeeds when the directory already exists. */
  createDir(path: string, options?: CallOptions & { recursive?: boolean }): Promise<void> {
    return createDir(this, path, options);
  }

  /** Makes sure `dir` exists: MKD for it and each missing parent (an existing one is success). */
  ensureDir(dir: string, options?: CallOptions): Promise<void> {
    return createDir(this, dir, { ...options, recursive: true });
  }

  /**
   * Downloads the tree under `remoteDir` into `localDir`. Every remote name is checked before it
   * touches the disk (`..`, absolute paths, separators, local symlinks leading out are refused
   * and reported); remote symlinks are not followed unless asked. Resolves with a result per file.
   */
  downloadDir(remoteDir: string, localDir: string, options?: TreeOptions): Promise<TreeResult> {
    return downloadDir(this, remoteDir, localDir, options);
  }

  /** Uploads the tree under `localDir` into `remoteDir` (made when missing); local symlinks are not followed unless asked. */
  uploadDir(localDir: string, remoteDir: string, options?: TreeOptions): Promise<TreeResult> {
    return uploadDir(this, localDir, remoteDir, options);
  }

  /** SITE CHMOD with an octal mode (`0o644`) or a permission set. */
  chmod(path: string, mode: number | Permissions, options?: CallOptions): Promise<CommandReply> {
    return chmod(this, path, mode, options);
  }

  /** Whether `path` is an existing file (MLST, else SIZE, else a listing of its own directory). */
  existsFile(path: string, options?: CallOptions): Promise<boolean> {
    return existsFile(this, path, options);
  }

  /** NLST: the names in `dir` (default: the working directory). */
  listDirs(dir?: string, options?: ListingCallOptions): Promise<string[]> {
    return listDirs(this, dir, options);
  }

  /** LIST: the listing text, one line per entry, each ending in `\n`. */
  async list(dir?: string, options?: ListingCallOptions): Promise<string> {
    const lines = await this.request('list', dir === undefined ? [] : [dir], options);
    return lines.map((line) => `${line}\n`).join('');
  }

  // ---- listings as entries ------------------------------------------------------------------

  /**
   * The entries of `dir` (default: the working directory) as {@link FileInfo}: MLSD when the
   * server offers it, else LIST read by the format parsers. Lines no format reads go to
   * `onUnparsed`, else to the `listing_unparsed` event.
   */
  listEntries(dir?: string, options?: ListOptions): Promise<FileInfo[]> {
    return listEntries(this, this.queueCommand, dir, this.reportUnparsed(dir, options));
  }

  /**
   * The entries of `dir` one at a time, as they arrive (`for await`), for listings too large
   * to hold: the data connection pauses while the loop body runs; leaving the loop aborts it.
   */
  iterateEntries(dir?: string, options?: ListOptions): AsyncGenerator<FileInfo, void, undefined> {
    return iterateEntries(this, this.queueCommand, dir, this.reportUnparsed(dir, options));
  }

  /** The entry of `path` (MLST, else its directory's LIST), or null when it does not exist. */
  stat(path: string, options?: ListOptions): Promise<FileInfo | null> {
    return stat(this, this.queueCommand, path, this.reportUnparsed(posix.dirname(path), options));
  }

  /** RETR into a string (UTF-8). */
  async retrText(path: string, options?: TransferCallOptions): Promise<string> {
    return (await this.request('get', [path], options)).toString('utf8');
  }

  /** Downloads `remote` to `localPath`: resume, temporary name, progress, verification (see {@link FileTransferOptions}). */
  retrFile(remote: string, localPath: string, options?: FileTransferOptions): Promise<FileTransferResult> {
    return retrFile(this, remote, localPath, options);
  }

  /** Uploads `localPath` to `remote`: resume, temporary name, progress, verification (see {@link FileTransferOptions}). */
  store(localPath: string, remote: string, options?: FileTransferOptions): Promise<FileTransferResult> {
    return store(this, localPath, remote, options);
  }

  /**
   * Copies `sourcePath` from this session's server straight to `targetPath` on `target`'s server
   * (FXP: the bytes never pass through this process), with what `store` offers: `ifExists`,
   * a temporary name, resume after a failure in the middle, progress (SIZE of the target, asked
   * on a second connection), verification, and `fallback: 'client'` when the servers will not
   * copy to each other. Both sessions emit `fxp_step`, `fxp_progress`, `fxp_done`/`fxp_error`.
   * See `docs/fxp.md`.
   */
  transferFile(sourcePath: string, target: FtpSession, targetPath: string, options?: FxpOptions): Promise<FxpResult> {
    return transferFile(this.fxpEnd(), sourcePath, target.fxpEnd(), targetPath, options);
  }

  /** Copies the tree under `sourceDir` to `targetDir` on `target`'s server, file by file with {@link transferFile}. */
  transferDir(sourceDir: string, target: FtpSession, targetDir: string, options?: FxpTreeOptions): Promise<TreeResult> {
    return transferDir(this, sourceDir, target, targetDir, options);
  }

  /** What a server-to-server copy needs of this session. */
  private fxpEnd(): FxpEnd {
    return {
      session: this,
      protectsData: this.protectsData,
      hold: (role, signal) => this.hold(role, signal),
      notify: (event, ...args) => this.notify(event, ...args),
      openSibling: () => FtpSession.connect({ ...this.spawnedWith, reconnect: false, keepalive: 0 }),
    };
  }

  /** Listing options whose unparsed lines go to the `listing_unparsed` event unless the caller takes them. */
  private reportUnparsed(dir: string | undefined, options: ListOptions = {}): ListOptions {
    return { ...options, onUnparsed: options.onUnparsed ?? ((line) => this.notify('listing_unparsed', line, dir)) };
  }

  // ---- streams -------------------------------------------------------------------------------

  /** RETR as a Readable with backpressure to the data socket. Destroying it aborts the transfer. */
  download(remote: string, options?: DownloadOptions): Readable {
    return downloadStream(this.queueCommand, remote, options);
  }

  /**
   * RETR into `sink`, the fastest way to read a file: a function borrows each chunk from reused
   * buffers (valid until it returns or its promise settles), a Writable gets chunks to keep.
   * Resolves with the byte count once the server confirmed the transfer and the sink took it all.
   */
  downloadTo(remote: string, sink: ChunkSink, options?: DownloadToOptions): Promise<number> {
    return downloadTo(this.queueCommand, this.readBuffers, remote, sink, options);
  }

  /** STOR (or APPE) from a Readable, an async iterable, a Buffer or a string. */
  upload(remote: string, source: UploadSource, options?: UploadOptions): Promise<void> {
    return uploadFrom(this.queueCommand, remote, source, options);
  }
}
