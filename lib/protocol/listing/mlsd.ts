/**
 * MLSD lines and MLST entries (RFC 3659 §7) as {@link FileInfo}: `type` (`cdir` and `pdir` are
 * skipped; `OS.unix=slink:/target` and `OS.unix=symlink` are symlinks), `size` or `sizd`,
 * `modify` (UTC, `YYYYMMDDHHMMSS[.sss]`), `unix.mode`, and the owner and group facts that
 * ProFTPD, Pure-FTPd and others send. Every fact, known or not, is kept in `facts`.
 */
import { parseFactLine } from '../facts.js';
import { parseTimeVal } from '../values.js';
import { newEntry, type FileInfo, type FileType, type LineParser, type LineVerdict } from './entry.js';
import { permissionsFromMode } from './permissions.js';

/** The MLSD parser: a line with at least one fact. */
export const mlsdParser: LineParser = {
  format: 'mlsd',
  parse(line: string): LineVerdict {
    const parsed = parseFactLine(line);
    if (parsed === null || parsed.facts.size === 0) return null;
    const { facts, name } = parsed;
    const kind = facts.get('type') ?? '';
    const [type, target] = typeOf(kind);
    if (type === null) return 'skip';
    const info = newEntry('mlsd', line, name, type);
    info.target = target;
    info.facts = facts;
    info.size = count(facts.get('size') ?? facts.get('sizd'));
    info.modifiedAt = parseTimeVal(facts.get('modify') ?? '') ?? undefined;
    info.permissions = permissionsFromMode(facts.get('unix.mode') ?? '') ?? undefined;
    info.owner = facts.get('unix.ownername') ?? facts.get('unix.owner') ?? facts.get('unix.uid');
    info.group = facts.get('unix.groupname') ?? facts.get('unix.group') ?? facts.get('unix.gid');
    return info;
  },
};

/** The entry type and link target of a `type` fact (any case); type null for `cdir` and `pdir`. */
function typeOf(kind: string): [FileType | null, string | undefined] {
  const lower = kind.toLowerCase();
  if (lower === 'file') return ['file', undefined];
  if (lower === 'dir') return ['directory', undefined];
  if (lower === 'cdir' || lower === 'pdir') return [null, undefined];
  if (lower.startsWith('os.unix=slink')) {
    const colon = kind.indexOf(':');
    return ['symlink', colon === -1 || colon === kind.length - 1 ? undefined : kind.slice(colon + 1)];
  }
  if (lower === 'os.unix=symlink') return ['symlink', undefined];
  return ['other', undefined];
}

/** A fact value as a byte count; undefined when it is not one. */
function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
