import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readsNoCommandDuringUpload } from '../../lib/protocol/servers.js';

describe('readsNoCommandDuringUpload', () => {
  it('is true for the greeting vsftpd sends by itself (the text after "220 ")', () => {
    assert.equal(readsNoCommandDuringUpload('(vsFTPd 3.0.3)'), true);
    assert.equal(readsNoCommandDuringUpload('(vsFTPd 2.3.5)'), true);
  });

  it('is false for the other servers tested here, a changed banner, or vsftpd merely named', () => {
    for (const text of [
      'ProFTPD Server (Debian) [::ffff:127.0.0.1]',
      '---------- Welcome to Pure-FTPd [privsep] [TLS] ----------',
      'Welcome to our FTP service.',
      'proxy in front of (vsFTPd 3.0.3)',
      '(vsFTPd)',
      '',
    ]) assert.equal(readsNoCommandDuringUpload(text), false, text);
  });
});
