// The published package: `npm test` builds dist/ first; both module formats must load and
// expose the same API, with type declarations beside each.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { it } from 'node:test';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: { '.': { import: { types: string; default: string }; require: { types: string; default: string } } };
};
const entry = pkg.exports['.'];

it('loads as CommonJS and as an ES module, with the same exports', async () => {
  const cjs = createRequire(import.meta.url)(`../../${entry.require.default}`) as Record<string, unknown>;
  const esm = (await import(`../../${entry.import.default}`)) as Record<string, unknown>;
  assert.equal(typeof (cjs.FtpSession as { spawn?: unknown }).spawn, 'function');
  assert.equal(typeof (esm.FtpSession as { spawn?: unknown }).spawn, 'function');
  assert.deepEqual(Object.keys(cjs).filter((k) => k !== 'default' && k !== '__esModule').sort(), Object.keys(esm).filter((k) => k !== 'default').sort());
  const { ReplyError } = cjs as { ReplyError: new (m: string, c: number) => { code: string; replyCode: number } };
  const error = new ReplyError('No such file', 550);
  assert.deepEqual([error.code, error.replyCode], ['ERR_FTP_REPLY', 550]);
  // Bundling keeps class names: errors take their `name` from their class.
  for (const api of [cjs, esm]) {
    const { TimeoutError } = api as { TimeoutError: new (m: string) => Error };
    assert.equal(new TimeoutError('late').name, 'TimeoutError');
  }
});

it('each format is one file: nothing of its own to load at start-up but its dependencies', () => {
  const dependencies = Object.keys((JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const file of [entry.import.default, entry.require.default]) {
    const code = readFileSync(file, 'utf8');
    const loaded = [...code.matchAll(/(?:\bfrom\s*|\brequire\(|\bimport\()\s*["']([^"']+)["']/g)].map((match) => match[1]!);
    assert.ok(loaded.length > 0, `${file}: no imports found at all (the check itself is broken)`);
    for (const name of loaded) assert.ok(name.startsWith('node:') || dependencies.includes(name), `${file} loads ${name}`);
  }
});

it('ships type declarations for both formats', () => {
  for (const file of [entry.import.types, entry.require.types]) {
    assert.ok(existsSync(file), file);
    assert.match(readFileSync(file, 'utf8'), /FtpSession/);
  }
});
