/**
 * Nim's directory helpers, with its defects fixed (`docs/promises.md`): `existsFile` asks about
 * the path itself, `createDir` keeps a leading `/` and accepts an existing directory,
 * `removeDir` can empty a tree first, `chmod` takes a mode or a permission set.
 */
import { posix } from 'node:path';
import { InvalidArgumentError, isNotImplemented, ProtocolError, ReplyError } from '../errors.js';
import { parseFactLine, parseMlstReply } from '../protocol/facts.js';
import type { FtpSession } from '../session.js';
import type { CallOptions, CommandReply } from './request.js';

/** Access of one class of users: any of `r`, `w`, `x` (`''` for none). */
export type Access = string;
/** A permission set for {@link chmod}: owner (`user`), `group` and `other`, each missing one meaning none. */
export interface Permissions {
  user?: Access;
  group?: Access;
  other?: Access;
}

/** How deep `removeDir` goes before it stops (a server that lists a directory inside itself). */
const MAX_DEPTH = 64;

/** Whether `path` is an existing file: MLST when offered, else SIZE, else an NLST of its own directory. */
export async function existsFile(ftp: FtpSession, path: string, options: CallOptions = {}): Promise<boolean> {
  if ((await ftp.features()).has('MLST')) {
    const entry = await mlst(ftp, path, options);
    return entry !== null && entry.facts.get('type')?.toLowerCase() === 'file';
  }
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

/** The MLST entry of `path`, or null when the server says it does not exist (550). */
async function mlst(ftp: FtpSession, path: string, options: CallOptions) {
  try {
    const reply = await ftp.request('quot', ['MLST', path], options);
    return parseMlstReply(reply.text.split('\n'));
  } catch (error) {
    if (error instanceof ReplyError && error.replyCode === 550) return null;
    throw error;
  }
}

/** Whether `path` is a directory: MLST's type fact, else CWD into it and back (Net::FTP's way). */
async function isDirectory(ftp: FtpSession, path: string, options: CallOptions): Promise<boolean> {
  if ((await ftp.features()).has('MLST')) {
    const type = (await mlst(ftp, path, options))?.facts.get('type')?.toLowerCase();
    return type === 'dir' || type === 'cdir';
  }
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

/** Removes everything inside `dir`: MLSD's types when offered, else NLST and DELE (a refused DELE means a directory). */
async function empty(ftp: FtpSession, dir: string, options: CallOptions, depth: number): Promise<void> {
  if (depth >= MAX_DEPTH) throw new ProtocolError(`removeDir: more than ${MAX_DEPTH} levels below ${dir}; stopped (a directory listed inside itself?)`);
  for (const entry of await entries(ftp, dir, options)) {
    const path = posix.join(dir, entry.name);
    if (entry.type === 'dir') {
      await empty(ftp, path, options, depth + 1);
      await ftp.request('rmdir', [path], options);
      continue;
    }
    try {
      await ftp.removeFile(path, options);
    } catch (error) {
      if (entry.type !== 'unknown' || !(error instanceof ReplyError)) throw error;
      await empty(ftp, path, options, depth + 1); // NLST cannot tell: DELE refused, so try it as a directory
      await ftp.request('rmdir', [path], options);
    }
  }
}

/** The entries of `dir` with their type when the server says it; names that are not plain names are refused. */
async function entries(ftp: FtpSession, dir: string, options: CallOptions): Promise<Array<{ name: string; type: 'dir' | 'other' | 'unknown' }>> {
  if ((await ftp.features()).has('MLST')) {
    const lines = await ftp.request('mlsd', [dir], options);
    return lines.flatMap((line) => {
      const entry = parseFactLine(line);
      const type = entry?.facts.get('type')?.toLowerCase();
      if (!entry || type === 'cdir' || type === 'pdir') return [];
      return [{ name: plainName(entry.name, dir), type: type === 'dir' ? ('dir' as const) : ('other' as const) }];
    });
  }
  const names = await listDirs(ftp, dir, options);
  return names.map((name) => ({ name: plainName(name, dir), type: 'unknown' as const }));
}

/**
 * The name of an entry of `dir` as a single path segment (some servers answer NLST with
 * `dir/name`). Anything else (`..`, `a/b`, an absolute path) would make a recursive removal
 * reach outside `dir`, so it is refused.
 */
function plainName(name: string, dir: string): string {
  const prefix = `${dir.replace(/\/+$/, '')}/`;
  const bare = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  if (bare === '' || bare === '..' || bare.includes('/') || bare.includes('\0')) {
    throw new ProtocolError(`removeDir: the server listed '${name}' inside ${dir}: not a plain name, so nothing more is removed`);
  }
  return bare;
}
