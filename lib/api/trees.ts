/**
 * Whole folders: `downloadDir` and `uploadDir`. Each first walks its source (remote listings or
 * the local disk) into a plan, checking every name (`local-names.ts`), then makes the folders
 * and moves the files one by one with `retrFile`/`store` (resume, temporary names,
 * verification), reporting progress for the whole batch and a result for every file. One
 * failed file does not stop the others unless `stopOnError` says so.
 */
import { mkdir, readdir, realpath, stat as localStat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { AbortError, FtpError, LocalIoError, SessionClosedError, UnsafeNameError, describe } from '../errors.js';
import type { FileInfo } from '../protocol/listing/entry.js';
import type { FtpSession } from '../session.js';
import type { FileTransferOptions } from './files.js';
import type { FxpOptions } from './fxp.js';
import { globMatcher } from './glob.js';
import { pathInside, unsafeReason } from './local-names.js';
import { ProgressMeter, type TransferProgress } from './progress.js';
import type { CallOptions } from './request.js';

/** What a tree filter sees of an entry. */
export type TreeEntry = Pick<FileInfo, 'name' | 'type' | 'size' | 'modifiedAt'>;

/** Options of {@link downloadDir} and {@link uploadDir}. */
export interface TreeOptions extends CallOptions {
  /**
   * Which entries to take: glob patterns (`'*.txt'`, `'src/**\/*.ts'`) tested on files, or a
   * function tested on files and folders (a folder it refuses is not entered). `path` is the
   * entry's place in the tree, `/`-separated. Default: everything.
   */
  filter?: string | readonly string[] | ((entry: TreeEntry, path: string) => boolean) | undefined;
  /** Folder levels below the top one that are entered; deeper folders are skipped (with a result). Default 32. */
  maxDepth?: number | undefined;
  /** `'skip'` (default: reported as skipped) or `'follow'` (symlinks are taken for what they point to; cycles end at `maxDepth`). */
  symlinks?: 'skip' | 'follow' | undefined;
  /** Progress of the whole batch, every `progressInterval` ms and once at the end. */
  onProgress?: ((progress: TreeProgress) => void) | undefined;
  progressInterval?: number | undefined;
  /** Sees each file's result as it is known. */
  onFile?: ((result: TreeFileResult) => void) | undefined;
  /** Stop at the first failed file and reject with its error. Default false (go on, report). */
  stopOnError?: boolean | undefined;
  /** Options of each file's transfer (`ifExists`, `verify`, `transferMode`, ...). */
  transfer?: Omit<FileTransferOptions, 'onProgress' | 'progressInterval' | 'signal'> | undefined;
}

/** Progress of a tree transfer: the bytes of all files, and the count of files finished. */
export interface TreeProgress extends TransferProgress {
  filesDone: number;
  filesTotal: number;
  /** The file moving now (its path in the tree). */
  current: string | undefined;
}

/** The outcome of one file (or of an entry that was not taken, with the reason). */
export interface TreeFileResult {
  /** Its path in the tree, `/`-separated (for an unreadable listing line: the line). */
  path: string;
  status: 'done' | 'skipped' | 'failed';
  /** Bytes moved for it. */
  bytes: number;
  /** Why it was skipped (unsafe name, symlink, too deep, exists) or failed. */
  reason: string | undefined;
  error: FtpError | undefined;
}

/** What a tree transfer did. */
export interface TreeResult {
  files: TreeFileResult[];
  done: number;
  skipped: number;
  failed: number;
  /** Bytes moved in all. */
  bytes: number;
}

const DEFAULT_MAX_DEPTH = 32;

/** One file to move: where from and to, by its path in the tree. */
interface PlannedFile {
  path: string;
  segments: string[];
  size: number | undefined;
}

/** The walk's findings: folders to make (parents first), files to move, entries not taken. */
interface Plan {
  rules: Rules;
  folders: string[][];
  files: PlannedFile[];
  results: TreeFileResult[];
}

/** Downloads the tree under `remoteDir` into `localDir` (made when missing). */
export async function downloadDir(ftp: FtpSession, remoteDir: string, localDir: string, options: TreeOptions = {}): Promise<TreeResult> {
  const plan = newPlan(options);
  await walkRemote(ftp, remoteDir, [], 0, plan, options, new Set());
  await mkdir(localDir, { recursive: true }).catch((error: unknown) => { throw localError(error, `creating ${localDir}`); });
  const root = await realpath(localDir);
  return runPlan(plan, options, {
    makeFolder: async (segments) => {
      await mkdir(await pathInside(root, segments), { recursive: true });
    },
    moveFile: async (file, call) => ftp.retrFile(posix.join(remoteDir, ...file.segments), await pathInside(root, file.segments), call),
  });
}

/** Uploads the tree under `localDir` into `remoteDir` (made when missing). */
export async function uploadDir(ftp: FtpSession, localDir: string, remoteDir: string, options: TreeOptions = {}): Promise<TreeResult> {
  const plan = newPlan(options);
  const root = await realpath(localDir).catch((error: unknown) => { throw localError(error, `reading ${localDir}`); });
  await walkLocal(root, [], 0, plan, options, new Set([root]));
  await ftp.createDir(remoteDir, { ...callOptions(options), recursive: true });
  return runPlan(plan, options, {
    makeFolder: (segments) => ftp.createDir(posix.join(remoteDir, ...segments), callOptions(options)),
    moveFile: (file, call) => ftp.store(join(root, ...file.segments), posix.join(remoteDir, ...file.segments), call),
  });
}

/** Options of {@link transferDir}: a tree's, with each file's copy options. */
export interface FxpTreeOptions extends Omit<TreeOptions, 'transfer'> {
  /** Options of each file's copy (`ifExists`, `verify`, `fallback`, ...). */
  transfer?: Omit<FxpOptions, 'onProgress' | 'progressInterval' | 'signal'> | undefined;
}

/** Copies the tree under `sourceDir` on `source`'s server to `targetDir` on `target`'s server, server to server. */
export async function transferDir(source: FtpSession, sourceDir: string, target: FtpSession, targetDir: string, options: FxpTreeOptions = {}): Promise<TreeResult> {
  const { transfer, ...tree } = options;
  const plan = newPlan(tree);
  await walkRemote(source, sourceDir, [], 0, plan, tree, new Set());
  await target.createDir(targetDir, { ...callOptions(tree), recursive: true });
  return runPlan(plan, tree, {
    makeFolder: (segments) => target.createDir(posix.join(targetDir, ...segments), callOptions(tree)),
    moveFile: (file, call) => source.transferFile(posix.join(sourceDir, ...file.segments), target, posix.join(targetDir, ...file.segments), { ...transfer, ...call }),
  });
}

// ---- walking ---------------------------------------------------------------------------------

function newPlan(options: TreeOptions): Plan {
  return { rules: rulesOf(options), folders: [], files: [], results: [] };
}

/** The walk's rules, made once per call from the options. */
interface Rules {
  maxDepth: number;
  /** Whether the filter lets `entry` in (folders: only a filter function can keep them out). */
  accepts(entry: TreeEntry, path: string): boolean;
}

function rulesOf(options: TreeOptions): Rules {
  const { filter, maxDepth = DEFAULT_MAX_DEPTH } = options;
  if (filter === undefined) return { maxDepth, accepts: () => true };
  if (typeof filter === 'function') return { maxDepth, accepts: filter };
  const matches = globMatcher(filter);
  return { maxDepth, accepts: (entry, path) => entry.type === 'directory' || matches(path) };
}

/** Whether the walk takes `entry`: a safe name, let in by the filter, not too deep (what is refused for a reason gets a result). */
function takes(entry: TreeEntry, segments: string[], depth: number, plan: Plan): boolean {
  const { rules } = plan;
  const path = segments.join('/');
  const reason = unsafeReason(entry.name);
  if (reason !== null) {
    plan.results.push(result(path, 'skipped', reason, new UnsafeNameError(entry.name, reason)));
    return false;
  }
  if (!rules.accepts(entry, path)) return false;
  if (entry.type === 'directory' && depth + 1 > rules.maxDepth) {
    plan.results.push(result(path, 'skipped', `deeper than maxDepth (${rules.maxDepth})`));
    return false;
  }
  return true;
}

/** Lists `dir` and, below it, every folder the options let in. `seen` holds MLSD `unique` facts (cycles through symlinks). */
async function walkRemote(ftp: FtpSession, dir: string, at: string[], depth: number, plan: Plan, options: TreeOptions, seen: Set<string>): Promise<void> {
  const entries = await ftp.listEntries(dir, {
    ...callOptions(options),
    onUnparsed: (line) => plan.results.push(result(line, 'skipped', `listing line of ${dir} not understood`)),
  });
  for (const listed of entries) {
    let entry: FileInfo | null = listed;
    const segments = [...at, listed.name];
    if (listed.type === 'symlink') {
      if (options.symlinks !== 'follow') {
        plan.results.push(result(segments.join('/'), 'skipped', 'symlink (not followed)'));
        continue;
      }
      entry = await ftp.stat(posix.join(dir, listed.name), callOptions(options));
      if (entry === null) continue; // dangling
      entry = { ...entry, name: listed.name, type: entry.type === 'directory' ? 'directory' : 'file' };
    }
    if (!takes(entry, segments, depth, plan)) continue;
    if (entry.type !== 'directory') {
      plan.files.push({ path: segments.join('/'), segments, size: entry.size });
      continue;
    }
    const unique = entry.facts?.get('unique');
    if (unique !== undefined && seen.has(unique)) {
      plan.results.push(result(segments.join('/'), 'skipped', 'folder seen before (a cycle)'));
      continue;
    }
    if (unique !== undefined) seen.add(unique);
    plan.folders.push(segments);
    await walkRemote(ftp, posix.join(dir, listed.name), segments, depth + 1, plan, options, seen);
  }
}

/** Reads `root/at` and, below it, every folder the options let in. `seen` holds real paths (cycles through symlinks). */
async function walkLocal(root: string, at: string[], depth: number, plan: Plan, options: TreeOptions, seen: Set<string>): Promise<void> {
  const dir = join(root, ...at);
  const names = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => { throw localError(error, `reading ${dir}`); });
  for (const dirent of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const segments = [...at, dirent.name];
    const full = join(dir, dirent.name);
    if (dirent.isSymbolicLink() && options.symlinks !== 'follow') {
      plan.results.push(result(segments.join('/'), 'skipped', 'symlink (not followed)'));
      continue;
    }
    const info = await localStat(full).catch(() => null);
    if (info === null || !(info.isFile() || info.isDirectory())) {
      plan.results.push(result(segments.join('/'), 'skipped', info === null ? 'dangling symlink' : 'not a file or folder'));
      continue;
    }
    const entry: TreeEntry = { name: dirent.name, type: info.isDirectory() ? 'directory' : 'file', size: info.isFile() ? info.size : undefined, modifiedAt: info.mtime };
    if (!takes(entry, segments, depth, plan)) continue;
    if (entry.type === 'file') {
      plan.files.push({ path: segments.join('/'), segments, size: info.size });
      continue;
    }
    const real = await realpath(full);
    if (seen.has(real)) {
      plan.results.push(result(segments.join('/'), 'skipped', 'folder seen before (a cycle)'));
      continue;
    }
    seen.add(real);
    plan.folders.push(segments);
    await walkLocal(root, segments, depth + 1, plan, options, seen);
  }
}

// ---- moving ----------------------------------------------------------------------------------

interface Mover {
  makeFolder(segments: string[]): Promise<unknown>;
  moveFile(file: PlannedFile, options: FileTransferOptions): Promise<{ status: string; transferred: number }>;
}

/** Makes the plan's folders, then moves its files one by one; results in walk order. */
async function runPlan(plan: Plan, options: TreeOptions, mover: Mover): Promise<TreeResult> {
  const results = [...plan.results];
  for (const entry of plan.results) options.onFile?.(entry);
  const failedFolders = new Set<string>();
  for (const segments of plan.folders) {
    const path = segments.join('/');
    if (failedFolders.has(segments.slice(0, -1).join('/'))) {
      failedFolders.add(path);
      continue;
    }
    try {
      await mover.makeFolder(segments);
    } catch (error) {
      failedFolders.add(path);
      record(results, result(path, 'failed', `cannot make the folder: ${describe(error)}`, asFtpError(error)), options);
    }
  }
  const batch = new BatchProgress(plan.files, options);
  try {
    for (const file of plan.files) {
      batch.begin(file);
      if (failedFolders.has(file.segments.slice(0, -1).join('/'))) {
        batch.end(file);
        record(results, result(file.path, 'skipped', 'its folder could not be made'), options);
        continue;
      }
      try {
        const outcome = await mover.moveFile(file, { ...options.transfer, ...callOptions(options), onProgress: (p) => batch.fileAt(p.bytes), progressInterval: batch.interval });
        batch.end(file);
        const status = outcome.status === 'skipped' ? 'skipped' : 'done';
        const reason = outcome.status === 'skipped' ? 'exists (ifExists: skip)' : outcome.status === 'complete' ? 'already complete' : undefined;
        record(results, { ...result(file.path, status, reason), bytes: outcome.transferred }, options);
      } catch (error) {
        batch.end(file);
        const failure = asFtpError(error);
        if (failure instanceof AbortError || failure instanceof SessionClosedError || options.stopOnError) throw failure;
        record(results, result(file.path, 'failed', failure.message, failure), options);
      }
    }
  } finally {
    batch.finish();
  }
  return summary(results);
}

/** Batch progress: the finished files' bytes plus the current file's. */
class BatchProgress {
  readonly interval: number;
  private readonly meter: ProgressMeter | null;
  private filesDone = 0;
  private current: PlannedFile | undefined;
  private counted = 0;

  constructor(private readonly files: readonly PlannedFile[], options: TreeOptions) {
    this.interval = options.progressInterval ?? 1000;
    const { onProgress } = options;
    const sizes = files.map((file) => file.size);
    const total = sizes.every((size) => size !== undefined) ? sizes.reduce<number>((sum, size) => sum + size!, 0) : undefined;
    this.meter = onProgress
      ? new ProgressMeter((p) => onProgress({ ...p, filesDone: this.filesDone, filesTotal: this.files.length, current: this.current?.path }), { interval: this.interval, total })
      : null;
    this.meter?.start();
  }

  begin(file: PlannedFile): void {
    this.current = file;
    this.counted = 0;
  }

  /** The current file's bytes so far (from its start). */
  fileAt(bytes: number): void {
    if (bytes > this.counted) this.meter?.add(bytes - this.counted);
    this.counted = Math.max(this.counted, bytes);
  }

  /** The file is over (moved, skipped or failed): all of its size counts as gone through. */
  end(file: PlannedFile): void {
    this.fileAt(file.size ?? this.counted);
    this.filesDone += 1;
    this.current = undefined;
  }

  finish(): void {
    this.meter?.finish();
  }
}

function callOptions(options: TreeOptions): CallOptions {
  return options.signal ? { signal: options.signal } : {};
}

function result(path: string, status: TreeFileResult['status'], reason?: string, error?: FtpError): TreeFileResult {
  return { path, status, bytes: 0, reason, error };
}

function record(results: TreeFileResult[], entry: TreeFileResult, options: TreeOptions): void {
  results.push(entry);
  options.onFile?.(entry);
}

function summary(files: TreeFileResult[]): TreeResult {
  const count = (status: TreeFileResult['status']) => files.filter((file) => file.status === status).length;
  return { files, done: count('done'), skipped: count('skipped'), failed: count('failed'), bytes: files.reduce((sum, file) => sum + file.bytes, 0) };
}

function asFtpError(error: unknown): FtpError {
  return error instanceof FtpError ? error : localError(error, 'tree transfer');
}

function localError(error: unknown, doing: string): LocalIoError {
  return new LocalIoError(`${doing}: ${describe(error)}`, { cause: error });
}
