/**
 * Unix permissions as listings print them: `rwxr-xr-x` (with `s`, `S`, `t`, `T` for setuid,
 * setgid and sticky) or a numeric mode (`755`, MLSD's `unix.mode=0755`).
 */
import type { EntryPermissions } from './entry.js';

/** Permissions from the nine letters after the type letter of `ls -l`; null when they are not permission letters. */
export function permissionsFromText(text: string): EntryPermissions | null {
  if (!/^[r-][w-][xsS-][r-][w-][xsS-][r-][w-][xtT-]$/.test(text)) return null;
  let mode = 0;
  const sets = [0, 3, 6].map((at, index) => {
    const [r, w, x] = [text[at]!, text[at + 1]!, text[at + 2]!];
    const shift = 6 - index * 3;
    if (r === 'r') mode |= 4 << shift;
    if (w === 'w') mode |= 2 << shift;
    if (x === 'x' || x === 's' || x === 't') mode |= 1 << shift;
    if (x === 's' || x === 'S') mode |= index === 0 ? 0o4000 : 0o2000;
    if (x === 't' || x === 'T') mode |= 0o1000;
    return (r === 'r' ? 'r' : '') + (w === 'w' ? 'w' : '') + (x === 'x' || x === 's' || x === 't' ? 'x' : '');
  });
  return { user: sets[0]!, group: sets[1]!, other: sets[2]!, mode };
}

/** Permissions from octal digits (`644`, `0755`, `4755`); null when they are not a mode. */
export function permissionsFromMode(octal: string): EntryPermissions | null {
  if (!/^[0-7]{1,5}$/.test(octal)) return null;
  const mode = Number.parseInt(octal, 8);
  if (mode > 0o7777) return null;
  const set = (bits: number) => (bits & 4 ? 'r' : '') + (bits & 2 ? 'w' : '') + (bits & 1 ? 'x' : '');
  return { user: set(mode >> 6), group: set(mode >> 3), other: set(mode), mode };
}
