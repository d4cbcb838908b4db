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
});

it('ships type declarations for both formats', () => {
  for (const file of [entry.import.types, entry.require.types]) {
    assert.ok(existsSync(file), file);
    assert.match(readFileSync(file, 'utf8'), /FtpSession/);
  }
});
