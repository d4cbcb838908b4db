/**
 * Nim's directory helpers, with its defects fixed (`docs/promises.md`): `existsFile` asks about
 * the path itself, `createDir` keeps a leading `/` and accepts an existing directory,
 * `removeDir` can empty a tree first, `chmod` takes a mode or a permission set.
 */
import { posix } from 'node:path';
import { InvalidArgumentError, isNotImplemented, ProtocolError, ReplyError } from '../errors.js';
import type { Permissions } from '../protocol/listing/entry.js';
import type { FtpSession } from '../session.js';
import type { CallOptions, CommandReply } from './request.js';

export type { Access, Permissions } from '../protocol/listing/entry.js';

/** How deep `removeDir` goes before it stops (a server that lists a directory inside itself). */
const MAX_DEPTH = 64;

/** Whether `path` is an existing file: MLST when offered, else SIZE, else an NLST of its own directory. */
export async function existsFile(ftp: FtpSession, path: string, options: CallOptions = {}): Promise<boolean> {
  if ((await ftp.features()).has('MLST')) return (await ftp.stat(path, options))?.type === 'file';
  try {
    await ftp.size(path, options);
    return true;
  } catch (error) {
    if (error instanceof ReplyError && error.replyCode === 550) return false;
    if (!isNotImplemented(error)) throw error; // no SIZE here: the listing of its directory decides
  }
  const names = await listDirs(ftp, posix.dirname(path), options);
  const base = posix.basename(path);
  return names.some((name) => name === base || posix.basename(name) === base);
}

/** MKD `dir`; with `recursive`, each missing parent first (a leading `/` is kept). An existing directory is success. */
export async function createDir(ftp: FtpSession, dir: string, options: CallOptions & { recursive?: boolean } = {}): Promise<void> {
  const steps = options.recursive ? prefixes(dir) : [dir];
  let last: unknown = null;
  for (const step of steps) {
    try {
      await ftp.request('mkdir', [step], options);
      last = null;
    } catch (error) {
      last = error; // a parent that exists already fails MKD: only the last step decides
    }
  }
  if (last !== null && !(await isDirectory(ftp, dir, options))) throw last;
}

/** RMD `dir`; with `recursive`, its files and subdirectories are removed first. */
export async function removeDir(ftp: FtpSession, dir: string, options: CallOptions & { recursive?: boolean } = {}): Promise<void> {
  if (options.recursive) await empty(ftp, dir, options, 0);
  await ftp.request('rmdir', [dir], options);
}

/** SITE CHMOD `mode` `path`. */
export async function chmod(ftp: FtpSession, path: string, mode: number | Permissions, options: CallOptions = {}): Promise<CommandReply> {
  return ftp.request('site', ['CHMOD', octalMode(mode), path], options);
}

/** NLST `dir`: the names as the server gives them, without empty entries, `.` and `..`. */
export async function listDirs(ftp: FtpSession, dir?: string, options: CallOptions = {}): Promise<string[]> {
  const lines = await ftp.request('nlst', dir === undefined || dir === '' ? [] : [dir], options);
  return lines.filter((line) => line.trim() !== '' && !['.', '..'].includes(posix.basename(line)));
}

/** The octal digits of a numeric mode or a permission set. */
export function octalMode(mode: number | Permissions): string {
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new InvalidArgumentError(`chmod: mode must be an integer from 0 to 0o7777, got ${mode}`);
    return mode.toString(8).padStart(3, '0');
  }
  return [mode.user, mode.group, mode.other].map((access = '') => {
    if (!/^[rwx]*$/.test(access)) throw new InvalidArgumentError(`chmod: access must be made of r, w and x, got '${access}'`);
    return (access.includes('r') ? 4 : 0) + (access.includes('w') ? 2 : 0) + (access.includes('x') ? 1 : 0);
  }).join('');
}

/** `a/b/c` → `a`, `a/b`, `a/b/c`; `/a/b` → `/a`, `/a/b`. */
function prefixes(dir: string): string[] {
  const parts = dir.split('/').filter((part) => part !== '');
  const root = dir.startsWith('/') ? '/' : '';
  return parts.map((_, index) => root + parts.slice(0, index + 1).join('/'));
}

/** Whether `path` is a directory: MLST's type fact, else CWD into it and back (Net::FTP's way). */
async function isDirectory(ftp: FtpSession, path: string, options: CallOptions): Promise<boolean> {
  if ((await ftp.features()).has('MLST')) return (await ftp.stat(path, options))?.type === 'directory';
  const back = await ftp.pwd(options);
  try {
    await ftp.cd(path, options);
  } catch (error) {
    if (error instanceof ReplyError) return false;
    throw error;
  }
  await ftp.cd(back, options);
  return true;
}

/** Removes everything inside `dir`: subdirectories (not symlinks to them) emptied and removed, everything else deleted. */
async function empty(ftp: FtpSession, dir: string, options: CallOptions, depth: number): Promise<void> {
  if (depth >= MAX_DEPTH) throw new ProtocolError(`removeDir: more than ${MAX_DEPTH} levels below ${dir}; stopped (a directory listed inside itself?)`);
  const unread: string[] = [];
  const entries = await ftp.listEntries(dir, { ...options, onUnparsed: (line) => unread.push(line) });
  // Every line is understood and every name checked before anything is removed.
  if (unread.length > 0) throw new ProtocolError(`removeDir: cannot read the listing of ${dir} (${JSON.stringify(unread[0])}), so nothing is removed`);
  for (const entry of entries) plainName(entry.name, dir);
  for (const entry of entries) {
    const path = posix.join(dir, entry.name);
    if (entry.type !== 'directory') {
      await ftp.removeFile(path, options);
      continue;
    }
    await empty(ftp, path, options, depth + 1);
    await ftp.request('rmdir', [path], options);
  }
}

/**
 * Refuses a listed name that is not one plain path segment (`..`, `.`, `a/b`, an absolute path):
 * a recursive removal must not reach outside `dir`.
 */
function plainName(name: string, dir: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new ProtocolError(`removeDir: the server listed '${name}' inside ${dir}: not a plain name, so nothing more is removed`);
  }
}
