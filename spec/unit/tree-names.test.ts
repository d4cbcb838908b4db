import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { globMatcher } from '../../lib/api/glob.js';
import { pathInside, unsafeReason } from '../../lib/api/local-names.js';
import { InvalidArgumentError, UnsafeNameError } from '../../lib/errors.js';

describe('unsafeReason: remote names that must not become local paths', () => {
  it('refuses ., .., empty, separators, absolute paths, backslashes, drive letters and NUL', () => {
    for (const name of ['', '.', '..', '../evil', '/etc/x', 'a/b', '..\\x', 'a\\b', 'C:', 'c:evil', 'x\0y']) {
      assert.notEqual(unsafeReason(name), null, JSON.stringify(name));
    }
  });

  it('accepts ordinary names, dots inside, spaces, unicode, leading dashes', () => {
    for (const name of ['a.txt', '...', '..a', 'a..', ' lead', '-dash', 'ünï 日本', 'x;y=z', '.hidden']) {
      assert.equal(unsafeReason(name), null, JSON.stringify(name));
    }
  });
});

describe('pathInside: local symlinks cannot lead a download out of its folder', () => {
  let base: string;
  let root: string;
  before(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'inside-')));
    root = join(base, 'root');
    await mkdir(join(root, 'real'), { recursive: true });
    await mkdir(join(base, 'outside'));
    await symlink(join(base, 'outside'), join(root, 'out'));
    await symlink(join(root, 'real'), join(root, 'in'));
    await writeFile(join(root, 'real', 'file'), 'x');
    await symlink(join(root, 'real', 'file'), join(root, 'file-link'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('a path through no symlink, or through one that stays inside, is given', async () => {
    assert.equal(await pathInside(root, ['real', 'new', 'deeper.txt']), join(root, 'real', 'new', 'deeper.txt'));
    assert.equal(await pathInside(root, ['in', 'x.txt']), join(root, 'in', 'x.txt'));
  });

  it('a path through a symlink leading outside is refused', async () => {
    await assert.rejects(pathInside(root, ['out', 'x.txt']), (error) => error instanceof UnsafeNameError && /outside/.test(error.message));
  });

  it('a path that is itself a symlink is refused (writing would follow it)', async () => {
    await assert.rejects(pathInside(root, ['file-link']), UnsafeNameError);
    await assert.rejects(pathInside(root, ['out']), UnsafeNameError);
  });
});

describe('globMatcher', () => {
  const cases: Array<[string | string[], string, boolean]> = [
    ['*.txt', 'a.txt', true],
    ['*.txt', 'sub/dir/a.txt', true], // no slash: the name decides
    ['*.txt', 'a.txt.bak', false],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['src/*.ts', 'src/x.ts', true],
    ['src/*.ts', 'src/deep/x.ts', false],
    ['src/**/*.ts', 'src/x.ts', true],
    ['src/**/*.ts', 'src/a/b/x.ts', true],
    ['**/keep/*', 'a/keep/x', true],
    ['*.{jpg,png}', 'p.png', true],
    ['*.{jpg,png}', 'p.gif', false],
    ['[ab]*', 'beta', true],
    ['[!ab]*', 'beta', false],
    ['a.b', 'axb', false], // the dot is literal
    ['(x)+', '(x)+', true],
    [['*.md', '*.txt'], 'r.md', true],
  ];
  for (const [pattern, path, expected] of cases) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(globMatcher(pattern)(path), expected);
    });
  }

  it('unclosed [ or { is a clear error', () => {
    assert.throws(() => globMatcher('[abc'), InvalidArgumentError);
    assert.throws(() => globMatcher('{a,b'), InvalidArgumentError);
  });
});
