/**
 * The `encoding` option on a real server (vsftpd): a file whose name is not valid UTF-8 (Latin-1
 * bytes on disk) is listed and downloaded byte-exact with `encoding: 'latin1'`; with the default
 * UTF-8 its name cannot be carried (the bytes decode to U+FFFD) and downloading it fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FtpSession, InvalidArgumentError } from '../../lib/index.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { openTraced } from '../support/traced.js';

describe('encoding: latin1 names survive the round trip (vsftpd)', () => {
  let server: RunningServer;
  const onDisk = Buffer.from('caf\xe9 \xff.txt', 'latin1'); // not valid UTF-8
  before(async () => {
    server = await startServer('vsftpd');
    await mkdir(join(server.root, 'enc'));
    await writeFile(Buffer.concat([Buffer.from(`${join(server.root, 'enc')}/`), onDisk]), 'latin1 name');
  });
  after(() => server?.stop());

  it("with encoding 'latin1': listed as café ÿ.txt, downloaded by that name", { timeout: 20_000 }, async () => {
    const { ftp } = await openTraced(server, { encoding: 'latin1' });
    try {
      const entries = await ftp.listEntries('/enc');
      assert.deepEqual(entries.map((entry) => entry.name), ['café ÿ.txt']);
      assert.ok(Buffer.from(entries[0]!.name, 'latin1').equals(onDisk), 'the name maps back to the bytes on disk');
      assert.equal(await ftp.retrText(`/enc/${entries[0]!.name}`), 'latin1 name');
      await assert.rejects(ftp.size('/enc/日本'), InvalidArgumentError, 'a character Latin-1 cannot carry is refused, not mangled');
      assert.equal(await ftp.pwd(), '/', 'the session goes on');
    } finally {
      await ftp.close();
    }
  });

  it('with the default UTF-8: the name arrives with U+FFFD and cannot be downloaded', { timeout: 20_000 }, async () => {
    const { ftp } = await openTraced(server);
    try {
      const [entry] = await ftp.listEntries('/enc');
      assert.ok(entry!.name.includes('\ufffd'), entry!.name);
      await assert.rejects(ftp.retrText(`/enc/${entry!.name}`), (error: { replyCode?: number }) => error.replyCode === 550);
    } finally {
      await ftp.close();
    }
  });
});

describe('encoding option', () => {
  it('only utf8 and latin1; latin1 credentials must fit Latin-1', () => {
    assert.throws(() => FtpSession.spawn({ host: '127.0.0.1', encoding: 'ebcdic' as 'utf8' }), InvalidArgumentError);
    assert.throws(() => FtpSession.spawn({ host: '127.0.0.1', user: 'u', password: 'пароль', encoding: 'latin1' }), InvalidArgumentError);
  });
});
