/**
 * File-hash commands on the real servers, over a raw control connection: ProFTPD with
 * mod_digest (`startServer('proftpd', { hash: true })`, plain and explicit FTPS) answers HASH,
 * XSHA256, XSHA1, XSHA512, XMD5 and XCRC with the right digests; vsftpd and Pure-FTPd offer
 * none of them (and `hash: true` is refused for them). Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startServer, writeFixture, type RunningServer } from '../support/servers.js';

/** Text with CRLF, then every byte value: a file whose digest depends on binary-safe reading. */
const CONTENT = Buffer.concat([Buffer.from('hash me\r\nplease\n'), Buffer.from(Array.from({ length: 1024 }, (_, i) => i & 0xff))]);
const UPLOADED = Buffer.from('a different file, in the upload folder\n');
const HASH_COMMANDS = /^ (HASH|XCRC|MD5|XMD5|XSHA|XSHA1|XSHA256|XSHA512)\b/;

const digest = (algo: string, data: Buffer): string => createHash(algo).update(data).digest('hex');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
/** CRC-32 (the zip/IEEE polynomial) as 8 lower-case hex digits. */
function crc32(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

/** A raw control connection: `send` writes one line and resolves with every line of the reply. */
class Control {
  private buf = '';
  private closed = false;
  private wake: () => void = () => {};
  private sock: Socket;
  constructor(sock: Socket) {
    this.sock = sock;
    this.listen(sock);
  }

  private listen(sock: Socket): void {
    sock.on('data', (d: Buffer) => { this.buf += d.toString('latin1'); this.wake(); });
    sock.on('close', () => { this.closed = true; this.wake(); });
    sock.on('error', () => {}); // seen as 'close'
  }

  /** The next complete reply (multi-line aware); rejects after `timeoutMs` or when the connection closes. */
  async reply(timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.buf.split('\r\n');
      const code = lines[0]!.slice(0, 3);
      const end = lines.findIndex((l, i) => i < lines.length - 1 && l.startsWith(`${code} `));
      if (end >= 0) {
        this.buf = lines.slice(end + 1).join('\r\n');
        return lines.slice(0, end + 1);
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) throw new Error(`no complete reply (${this.closed ? 'closed' : 'timeout'}): ${JSON.stringify(this.buf)}`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, left);
        this.wake = () => { clearTimeout(timer); res(); };
      });
    }
  }

  send(line: string): Promise<string[]> {
    this.sock.write(`${line}\r\n`);
    return this.reply();
  }

  /** AUTH TLS, then PBSZ 0 and PROT P over the protected connection. */
  async startTls(ca: string): Promise<void> {
    assert.match((await this.send('AUTH TLS'))[0]!, /^234 /);
    this.sock.removeAllListeners('data');
    const secure = tlsConnect({ socket: this.sock, ca, servername: 'localhost' });
    await once(secure, 'secureConnect', { signal: AbortSignal.timeout(5_000) });
    this.sock = secure;
    this.listen(secure);
    assert.match((await this.send('PBSZ 0'))[0]!, /^200 /);
    assert.match((await this.send('PROT P'))[0]!, /^200 /);
  }

  close(): void {
    this.sock.destroy();
  }
}

async function login(server: RunningServer): Promise<Control> {
  const sock = connect(server.port, server.host);
  const control = new Control(sock);
  try {
    assert.match((await control.reply()).at(-1)!, /^220 /);
    if (server.tls) await control.startTls(server.tls.ca);
    const user = await control.send(`USER ${server.user}`);
    const last = user[0]!.startsWith('331') ? await control.send(`PASS ${server.password}`) : user;
    assert.match(last.at(-1)!, /^230 /);
    return control;
  } catch (err) {
    control.close();
    throw err;
  }
}

/** The reply of ProFTPD's X commands: the algorithm named without a dash, then the digest in upper case. */
const xReply = (name: string, hex: string): string[] => [`250-Computing ${name} digest`, `250 ${hex.toUpperCase()}`];

for (const tls of [false, true]) {
  describe(`proftpd with hash: true${tls ? ' and explicit FTPS' : ''}`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    let ftp: Control;
    before(async () => {
      server = await startServer('proftpd', { hash: true, ...(tls ? { tls: { mode: 'explicit' } } : {}) });
      await writeFixture(server, 'file.bin', CONTENT);
      await writeFixture(server, `${server.uploadDir}/up.txt`, UPLOADED);
      ftp = await login(server);
    });
    after(async () => {
      ftp?.close();
      await server?.stop();
    });

    it('lists HASH (SHA-1 the default) and every X command in FEAT', async () => {
      const feat = await ftp.send('FEAT');
      assert.equal(feat[0], '211-Features:');
      assert.equal(feat.at(-1), '211 End');
      assert.deepEqual(feat.filter((l) => HASH_COMMANDS.test(l)), [
        ' HASH CRC32;MD5;SHA-1*;SHA-256;SHA-512;', ' MD5', ' XCRC', ' XMD5', ' XSHA', ' XSHA1', ' XSHA256', ' XSHA512',
      ]);
    });

    it('HASH after OPTS HASH SHA-256: range and path echoed, lower-case hex', async () => {
      assert.deepEqual(await ftp.send('OPTS HASH'), ['200 SHA-1']);
      assert.deepEqual(await ftp.send('OPTS HASH SHA-256'), ['200 SHA-256']);
      assert.deepEqual(await ftp.send('OPTS HASH SHA256'), ['501 SHA256: Unsupported algorithm']);
      assert.deepEqual(await ftp.send('HASH file.bin'), [
        '213-Computing SHA-256 digest', `213 SHA-256 0-${CONTENT.length} ${digest('sha256', CONTENT)} file.bin`,
      ]);
      const up = `/${server.uploadDir}/up.txt`;
      assert.deepEqual(await ftp.send(`HASH ${up}`), [
        '213-Computing SHA-256 digest', `213 SHA-256 0-${UPLOADED.length} ${digest('sha256', UPLOADED)} ${up}`,
      ]);
      assert.deepEqual(await ftp.send('OPTS HASH CRC32'), ['200 CRC32']);
      assert.deepEqual(await ftp.send('HASH file.bin'), [
        '213-Computing CRC32 digest', `213 CRC32 0-${CONTENT.length} ${crc32(CONTENT)} file.bin`,
      ]);
    });

    it('XSHA256, XSHA1, XSHA512, XMD5 and XCRC: the digest alone, upper-case hex', async () => {
      for (const [path, data] of [['file.bin', CONTENT], [`${server.uploadDir}/up.txt`, UPLOADED]] as const) {
        assert.deepEqual(await ftp.send(`XSHA256 ${path}`), xReply('SHA256', digest('sha256', data)));
        assert.deepEqual(await ftp.send(`XSHA1 ${path}`), xReply('SHA1', digest('sha1', data)));
        assert.deepEqual(await ftp.send(`XSHA512 ${path}`), xReply('SHA512', digest('sha512', data)));
        assert.deepEqual(await ftp.send(`XMD5 ${path}`), xReply('MD5', digest('md5', data)));
        assert.deepEqual(await ftp.send(`XCRC ${path}`), xReply('CRC32', crc32(data)));
      }
      // A range is START END, END exclusive.
      assert.deepEqual(await ftp.send('XCRC file.bin 2 9'), xReply('CRC32', crc32(CONTENT.subarray(2, 9))));
    });

    it('a missing file: 550 with the path', async () => {
      assert.deepEqual(await ftp.send('HASH missing.bin'), ['550 missing.bin: No such file or directory']);
      assert.deepEqual(await ftp.send('XSHA256 missing.bin'), ['550 missing.bin: No such file or directory']);
      assert.deepEqual(await ftp.send('XCRC missing.bin'), ['550 missing.bin: No such file or directory']);
    });

    it('a file rewritten within the same second gets its new digest (DigestCache off)', async () => {
      assert.deepEqual(await ftp.send('OPTS HASH SHA-256'), ['200 SHA-256']);
      const path = `${server.uploadDir}/changing.txt`;
      for (const text of ['first version\n', 'other version\n']) {
        const data = Buffer.from(text);
        await writeFixture(server, path, data);
        assert.equal((await ftp.send(`HASH ${path}`)).at(-1), `213 SHA-256 0-${data.length} ${digest('sha256', data)} ${path}`);
        assert.deepEqual(await ftp.send(`XMD5 ${path}`), xReply('MD5', digest('md5', data)));
      }
    });
  });
}

for (const kind of ['vsftpd', 'pureftpd'] as const) {
  describe(`${kind}: no hash commands`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    let ftp: Control;
    before(async () => {
      server = await startServer(kind);
      await writeFixture(server, 'file.bin', CONTENT);
      ftp = await login(server);
    });
    after(async () => {
      ftp?.close();
      await server?.stop();
    });

    it('FEAT offers none, and each command is unknown (500)', async () => {
      const feat = await ftp.send('FEAT');
      assert.match(feat[0]!, /^211-/);
      assert.deepEqual(feat.filter((l) => HASH_COMMANDS.test(l)), []);
      for (const cmd of ['HASH', 'XSHA256', 'XSHA1', 'XSHA512', 'XMD5', 'MD5', 'XCRC']) {
        const reply = await ftp.send(`${cmd} file.bin`);
        assert.equal(reply.length, 1);
        assert.match(reply[0]!, /^500 Unknown command\.?$/, cmd);
      }
    });

    it('refuses hash: true', async () => {
      await assert.rejects(startServer(kind, { hash: true }), /hash is ProFTPD only/);
    });
  });
}
