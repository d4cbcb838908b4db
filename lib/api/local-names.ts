/**
 * Remote names on the local disk: a name a server lists becomes one path segment under the
 * target folder, or nothing. This is where recursive downloads go wrong in other clients
 * (`../x`, `/etc/x`, `..\x`, a symlink in the target folder pointing elsewhere), so every rule is here.
 */
import { lstat, realpath } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { UnsafeNameError } from '../errors.js';

const WINDOWS = process.platform === 'win32';
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/**
 * Why `name` cannot be one path segment (a file or folder name) on this machine, or null when it
 * can. Refused everywhere: empty, `.`, `..`, `/`, `\`, NUL, a drive letter (`C:`); on Windows also
 * `<>:"|?*`, control characters, a trailing dot or space, and device names (`CON`, `NUL.txt`).
 */
export function unsafeReason(name: string): string | null {
  if (name === '') return 'empty name';
  if (name === '.' || name === '..') return `'${name}' is not a name`;
  if (name.includes('\0')) return 'NUL in name';
  if (name.startsWith('/')) return 'absolute path';
  if (name.includes('/')) return 'path separator in name';
  if (name.includes('\\')) return 'backslash in name';
  if (/^[A-Za-z]:/.test(name)) return 'drive letter';
  if (WINDOWS && (/[<>:"|?*\x00-\x1f]/.test(name) || /[. ]$/.test(name) || WINDOWS_DEVICE.test(name))) return 'not a valid Windows name';
  return null;
}

/**
 * The local path of `segments` (each already checked) under `root` (a real path). Refused when
 * an existing part of it is a symlink that leads outside `root`, or when the path itself is a
 * symlink (writing would follow it).
 */
export async function pathInside(root: string, segments: readonly string[]): Promise<string> {
  let path = root;
  for (const [index, segment] of segments.entries()) {
    path = join(path, segment);
    const info = await lstat(path).catch(() => null);
    if (info === null) return join(path, ...segments.slice(index + 1)); // nothing further exists yet
    if (!info.isSymbolicLink()) continue;
    const shown = segments.slice(0, index + 1).join('/');
    if (index === segments.length - 1) throw new UnsafeNameError(shown, 'the local path is a symlink; it is not written through');
    const real = await realpath(path).catch(() => null);
    if (real === null || !isInside(root, real)) throw new UnsafeNameError(shown, 'a local symlink leads outside the target folder');
  }
  return path;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
