/**
 * Unix permissions as listings print them: `rwxr-xr-x` (with `s`, `S`, `t`, `T` for setuid,
 * setgid and sticky) or a numeric mode (`755`, MLSD's `unix.mode=0755`).
 */
import type { EntryPermissions } from './entry.js';

/** Permissions from the nine letters after the type letter of `ls -l`; null when they are not permission letters. */
export function permissionsFromText(text: string): EntryPermissions | null {
  if (text.length !== 9) return null;
  let mode = 0;
  const sets: string[] = [];
  for (let index = 0; index < 3; index += 1) {
    const [r, w, x] = [text[index * 3]!, text[index * 3 + 1]!, text[index * 3 + 2]!];
    if ((r !== 'r' && r !== '-') || (w !== 'w' && w !== '-') || !EXECUTE[index]!.includes(x)) return null;
    const shift = 6 - index * 3;
    const runs = x === 'x' || x === 's' || x === 't';
    mode |= (r === 'r' ? 4 << shift : 0) | (w === 'w' ? 2 << shift : 0) | (runs ? 1 << shift : 0);
    if (x === 's' || x === 'S') mode |= index === 0 ? 0o4000 : 0o2000;
    if (x === 't' || x === 'T') mode |= 0o1000;
    sets.push((r === 'r' ? 'r' : '') + (w === 'w' ? 'w' : '') + (runs ? 'x' : ''));
  }
  return { user: sets[0]!, group: sets[1]!, other: sets[2]!, mode };
}

/** The execute letters each class may show: setuid and setgid for owner and group, sticky for others. */
const EXECUTE = ['xsS-', 'xsS-', 'xtT-'];

/** Permissions from octal digits (`644`, `0755`, `4755`); null when they are not a mode. */
export function permissionsFromMode(octal: string): EntryPermissions | null {
  if (!/^[0-7]{1,5}$/.test(octal)) return null;
  const mode = Number.parseInt(octal, 8);
  if (mode > 0o7777) return null;
  const set = (bits: number) => (bits & 4 ? 'r' : '') + (bits & 2 ? 'w' : '') + (bits & 1 ? 'x' : '');
  return { user: set(mode >> 6), group: set(mode >> 3), other: set(mode), mode };
}
