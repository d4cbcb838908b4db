/**
 * A tiny in-memory file tree for the memory FTP server (examples/support/memory-server.ts).
 *
 * Paths are Unix-style and absolute ('/pub/readme.txt'); {@link resolvePath} turns what a client
 * typed (relative to its working directory, with '.' and '..') into one, and never climbs above '/'.
 * Operations throw {@link FsError} with an errno-like code that the server maps to a reply.
 */

export interface FileNode {
  kind: 'file';
  data: Buffer;
  mtime: Date;
  /** Permission bits set by SITE CHMOD (default: 0o644 shown). */
  mode?: number;
}

export interface DirNode {
  kind: 'dir';
  children: Map<string, FsNode>;
  mtime: Date;
  /** Permission bits set by SITE CHMOD (default: 0o755 shown). */
  mode?: number;
}

export type FsNode = FileNode | DirNode;

export type FsErrorCode = 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'EINVAL' | 'EBUSY';

export class FsError extends Error {
  constructor(
    readonly code: FsErrorCode,
    readonly path: string,
  ) {
    super(`${path}: ${FS_ERROR_TEXT[code]}`);
  }
}

const FS_ERROR_TEXT: Record<FsErrorCode, string> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOTEMPTY: 'Directory not empty',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
};

/** Absolute, normalised form of `input` seen from directory `cwd` ('..' at the root stays at the root). */
export function resolvePath(cwd: string, input: string): string {
  const parts: string[] = [];
  const full = input.startsWith('/') ? input : `${cwd}/${input}`;
  for (const part of full.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** Parent directory and last component of an absolute normalised path ('/' has no name). */
export function splitPath(path: string): { parent: string; name: string } {
  const cut = path.lastIndexOf('/');
  return { parent: cut <= 0 ? '/' : path.slice(0, cut), name: path.slice(cut + 1) };
}

function components(path: string): string[] {
  return resolvePath('/', path).split('/').filter((part) => part !== '');
}

export class MemoryFs {
  readonly root: DirNode = { kind: 'dir', children: new Map(), mtime: new Date() };

  /** The node at `path`, or undefined. */
  stat(path: string): FsNode | undefined {
    let node: FsNode = this.root;
    for (const part of components(path)) {
      if (node.kind !== 'dir') return undefined;
      const child = node.children.get(part);
      if (!child) return undefined;
      node = child;
    }
    return node;
  }

  /** The directory at `path`; throws ENOENT / ENOTDIR. */
  dir(path: string): DirNode {
    const node = this.stat(path);
    if (!node) throw new FsError('ENOENT', path);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    return node;
  }

  /** The file at `path`; throws ENOENT / EISDIR. */
  file(path: string): FileNode {
    const node = this.stat(path);
    if (!node) throw new FsError('ENOENT', path);
    if (node.kind !== 'file') throw new FsError('EISDIR', path);
    return node;
  }

  /** Entries of a directory, sorted by name. */
  list(path: string): Array<[name: string, node: FsNode]> {
    return [...this.dir(path).children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  mkdir(path: string, options: { parents?: boolean } = {}): DirNode {
    const { parent, name } = splitPath(resolvePath('/', path));
    if (name === '') {
      if (options.parents) return this.root;
      throw new FsError('EEXIST', '/');
    }
    const dir = options.parents ? this.mkdir(parent, options) : this.dir(parent);
    const existing = dir.children.get(name);
    if (existing) {
      if (options.parents && existing.kind === 'dir') return existing;
      throw new FsError('EEXIST', path);
    }
    checkName(name, path);
    const created: DirNode = { kind: 'dir', children: new Map(), mtime: new Date() };
    dir.children.set(name, created);
    dir.mtime = new Date();
    return created;
  }

  rmdir(path: string): void {
    const { parent, name } = splitPath(resolvePath('/', path));
    if (name === '') throw new FsError('EBUSY', '/');
    const node = this.dir(path);
    if (node.children.size > 0) throw new FsError('ENOTEMPTY', path);
    this.remove(parent, name);
  }

  unlink(path: string): void {
    const { parent, name } = splitPath(resolvePath('/', path));
    this.file(path);
    this.remove(parent, name);
  }

  /**
   * Writes (creates or truncates) a file. `offset` keeps the first `offset` bytes of an existing file
   * (REST + STOR), `append` adds to its end (APPE). The parent directory must exist unless `parents`.
   */
  writeFile(path: string, data: Buffer, options: { parents?: boolean; append?: boolean; offset?: number } = {}): FileNode {
    const { parent, name } = splitPath(resolvePath('/', path));
    if (name === '') throw new FsError('EISDIR', '/');
    const dir = options.parents ? this.mkdir(parent, { parents: true }) : this.dir(parent);
    const existing = dir.children.get(name);
    if (existing?.kind === 'dir') throw new FsError('EISDIR', path);
    checkName(name, path);
    let kept: Buffer = Buffer.alloc(0);
    if (existing && options.append) kept = existing.data;
    else if (existing && options.offset) kept = existing.data.subarray(0, options.offset);
    if (!options.append && options.offset && kept.length < options.offset) throw new FsError('EINVAL', path);
    const file: FileNode = { kind: 'file', data: Buffer.concat([kept, data]), mtime: new Date() };
    if (existing?.mode !== undefined) file.mode = existing.mode; // rewriting a file keeps its permissions
    dir.children.set(name, file);
    if (!existing) dir.mtime = new Date();
    return file;
  }

  /** Unix rename(2) semantics: a file may replace a file; a directory never moves into itself. */
  rename(from: string, to: string): void {
    const src = splitPath(resolvePath('/', from));
    const dst = splitPath(resolvePath('/', to));
    const node = this.stat(from);
    if (!node) throw new FsError('ENOENT', from);
    if (src.name === '' || dst.name === '') throw new FsError('EBUSY', '/');
    const fromAbs = resolvePath('/', from);
    const toAbs = resolvePath('/', to);
    if (fromAbs === toAbs) return;
    if (node.kind === 'dir' && toAbs.startsWith(`${fromAbs}/`)) throw new FsError('EINVAL', to);
    const target = this.dir(dst.parent);
    const existing = target.children.get(dst.name);
    if (existing && (existing.kind === 'dir' || node.kind === 'dir')) {
      throw new FsError(existing.kind === 'dir' ? 'EISDIR' : 'ENOTDIR', to);
    }
    checkName(dst.name, to);
    this.remove(src.parent, src.name);
    target.children.set(dst.name, node);
    target.mtime = new Date();
  }

  private remove(parent: string, name: string): void {
    const dir = this.dir(parent);
    dir.children.delete(name);
    dir.mtime = new Date();
  }
}

/** FTP is line based: a name holding CR, LF or NUL could never be named in a command or a listing. */
function checkName(name: string, path: string): void {
  if (/[\r\n\0]/.test(name)) throw new FsError('EINVAL', path);
}
