/**
 * FTPS against real servers with the test PKI (spec/support/certs.ts), TLS required for the
 * login and for every data connection, and data connections required to resume the control
 * connection's TLS session: vsftpd (`require_ssl_reuse=YES`) on TLS 1.2 and on TLS 1.3, vsftpd
 * in implicit mode, ProFTPD with mod_tls (explicit and implicit), Pure-FTPd with `-Y 3` (TLS
 * 1.2 and 1.3). Each runs login, LIST, MLSD, get and put of a small and a 64 MiB file
 * (byte-exact), in passive and active mode. Then the
 * failures real servers produce: a wrong CA, a wrong host name, a clear-text server on an
 * implicit port, AUTH TLS refused, a required client certificate, CCC accepted (ProFTPD) and
 * refused (vsftpd), and a reconnect in the middle of an FTPS download. Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FtpSession, SecurityError, type ConnectionMode, type FtpSessionOptions } from '../../lib/index.js';
import { testCertificates } from '../support/certs.js';
import { nextEvent, recordEvents, runCommand, uploadPaced } from '../support/events.js';
import { sha256 } from '../support/hash.js';
import { startServer, writeFixture, type RunningServer, type ServerKind, type TlsServerOptions } from '../support/servers.js';

const BIG = randomBytes(64 * 1024 * 1024);
const BIG_HASH = sha256(BIG);
const SMALL = Buffer.from('small file\r\nover TLS\n');
const certs = await testCertificates();

/** A session on `server` with the FTPS options its `tls` field says; `trace` collects the debug lines. */
function ftpsSession(server: RunningServer, trace: string[], extra: Partial<FtpSessionOptions> = {}): FtpSession {
  return FtpSession.spawn({
    host: server.host, port: server.port, user: server.user, password: server.password,
    transferMode: 'binary', timeout: 15_000, tls: server.tls!.mode, tlsOptions: { ca: server.tls!.ca },
    debug: (line) => trace.push(line), ...extra,
  });
}

/** The data-connection lines of the trace: each says the TLS version and whether the session was resumed. */
const dataTls = (trace: readonly string[]) => trace.filter((line) => line.includes('data connection: TLS'));

/**
 * `resumes: false`: Pure-FTPd 1.0.50 sends no TLS 1.3 session ticket, so nothing can be resumed
 * on TLS 1.3 (it does not require it either); on TLS 1.2 it resumes by session id.
 */
interface Setup { name: string; kind: ServerKind; tls: TlsServerOptions; version?: string; resumes?: false }
const SETUPS: readonly Setup[] = [
  { name: 'vsftpd explicit TLS 1.2', kind: 'vsftpd', tls: { mode: 'explicit', version: 'TLSv1.2' }, version: 'TLSv1.2' },
  { name: 'vsftpd explicit TLS 1.3', kind: 'vsftpd', tls: { mode: 'explicit', version: 'TLSv1.3' }, version: 'TLSv1.3' },
  { name: 'vsftpd implicit', kind: 'vsftpd', tls: { mode: 'implicit' } },
  { name: 'ProFTPD explicit', kind: 'proftpd', tls: { mode: 'explicit' } },
  { name: 'ProFTPD implicit', kind: 'proftpd', tls: { mode: 'implicit' } },
  { name: 'Pure-FTPd explicit TLS 1.2', kind: 'pureftpd', tls: { mode: 'explicit', version: 'TLSv1.2' }, version: 'TLSv1.2' },
  { name: 'Pure-FTPd explicit TLS 1.3', kind: 'pureftpd', tls: { mode: 'explicit', version: 'TLSv1.3' }, version: 'TLSv1.3', resumes: false },
];

for (const setup of SETUPS) {
  describe(setup.name, { timeout: 240_000 }, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer(setup.kind, { tls: setup.tls });
      await writeFixture(server, 'small.txt', SMALL);
      await writeFixture(server, 'big.bin', BIG);
    });
    after(() => server.stop());

    for (const mode of ['passive', 'active'] as ConnectionMode[]) {
      describe(mode, () => {
        const trace: string[] = [];
        let ftp: FtpSession;
        before(async () => {
          ftp = ftpsSession(server, trace, { connectionMode: mode });
          await nextEvent(ftp, 'authenticated', 15_000);
        });
        after(() => ftp.close());

        it('logs in over TLS: AUTH TLS (explicit) before USER, PBSZ 0 and PROT P after', () => {
          const sent = trace.filter((line) => line.includes('>>> ')).map((line) => line.split('>>> ')[1]!.split(' ')[0]);
          const expected = setup.tls.mode === 'explicit' ? ['AUTH', 'USER'] : ['USER'];
          assert.deepEqual(sent.slice(0, expected.length), expected);
          assert.ok(sent.indexOf('PBSZ') > sent.indexOf('USER') && sent.indexOf('PROT') > sent.indexOf('PBSZ'), sent.join(' '));
          if (setup.version) assert.ok(trace.some((line) => line.includes(`TLS ${setup.version}`)), 'the pinned TLS version was negotiated');
        });

        it('lists with LIST and MLSD over protected data connections', async () => {
          const ls = await runCommand(ftp, 'ls', []);
          assert.equal(ls.event, 'ls_done');
          assert.ok(ls.data.some((line) => / small\.txt$/.test(String(line))), `LIST: ${ls.data.join(' | ')}`);
          const mlsd = await runCommand(ftp, 'mlsd', []);
          if (server.features.mlsd) {
            assert.equal(mlsd.event, 'mlsd_done');
            assert.ok(mlsd.data.some((line) => /type=file;.* small\.txt$/i.test(String(line))), `MLSD: ${mlsd.data.join(' | ')}`);
          } else {
            assert.deepEqual([mlsd.event, mlsd.args[0]], ['mlsd_error', 500]);
          }
        });

        it('downloads a small and a 64 MiB file byte-exact', async () => {
          const small = await runCommand(ftp, 'get', ['small.txt']);
          assert.equal(small.event, 'get_done');
          assert.deepEqual(Buffer.concat(small.data as Buffer[]), SMALL);
          const big = await runCommand(ftp, 'get', ['big.bin'], 120_000);
          assert.equal(big.event, 'get_done');
          assert.equal(sha256(big.data as Buffer[]), BIG_HASH);
        });

        it('uploads a small and a 64 MiB file byte-exact', async () => {
          for (const [label, data] of [['small', SMALL], ['big', BIG]] as const) {
            const name = `${server.uploadDir}/${mode}-${label}.bin`;
            assert.equal((await uploadPaced(ftp, name, data)).outcome.event, 'put_closed');
            assert.equal(sha256(await readFile(join(server.root, name))), sha256(data), `${label} upload on disk`);
          }
        });

        it('every data connection was TLS, resuming the control connection\'s session when the server offers one', () => {
          const lines = dataTls(trace);
          assert.ok(lines.length >= (server.features.mlsd ? 6 : 5), `data connections seen: ${lines.length}`);
          const resumed = setup.resumes === false ? 'session NOT resumed' : 'session resumed';
          assert.deepEqual(lines.filter((line) => !line.endsWith(resumed)), []);
          if (setup.version) assert.deepEqual(lines.filter((line) => !line.includes(setup.version!)), []);
        });
      });
    }
  });
}

describe('FTPS failures against real servers', { timeout: 120_000 }, () => {
  const servers: RunningServer[] = [];
  const started = async (kind: ServerKind, tls?: TlsServerOptions) => {
    const server = await startServer(kind, tls ? { tls } : {});
    servers.push(server);
    return server;
  };
  after(() => Promise.all(servers.map((server) => server.stop())));

  /** Spawns, waits for `event`, closes; returns the error the event carried. */
  async function failure(options: FtpSessionOptions, event: 'connect_error' | 'login_error'): Promise<SecurityError> {
    const ftp = FtpSession.spawn({ timeout: 15_000, ...options });
    const events = recordEvents(ftp);
    const args = await nextEvent(ftp, event, 15_000);
    await ftp.close();
    assert.ok(!events.some((e) => e.name === 'authenticated'));
    const error = args.at(-1);
    assert.ok(error instanceof SecurityError, `${event}: ${String(error)}`);
    return error;
  }

  it('a CA that did not sign the server certificate: SecurityError, no login', async () => {
    const server = await started('vsftpd', { mode: 'explicit' });
    const error = await failure({ host: server.host, port: server.port, user: server.user, password: server.password, tls: 'explicit', tlsOptions: { ca: certs.wrongCa.cert } }, 'connect_error');
    assert.match(error.reason, /^(UNABLE_TO_|SELF_SIGNED)/);
  });

  it('a certificate for another host name: SecurityError ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const server = await started('proftpd', { mode: 'explicit', cert: 'wrongName' });
    const error = await failure({ host: server.host, port: server.port, user: server.user, password: server.password, tls: 'explicit', tlsOptions: { ca: server.tls!.ca } }, 'connect_error');
    assert.equal(error.reason, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('implicit TLS to a clear-text FTP port: SecurityError saying the server does not speak TLS', async () => {
    const server = await started('vsftpd');
    const error = await failure({ host: server.host, port: server.port, user: server.user, password: server.password, tls: 'implicit', tlsOptions: { ca: certs.ca.cert } }, 'connect_error');
    assert.match(error.message, /does not speak TLS/);
  });

  it('AUTH TLS refused by a server without TLS: SecurityError AUTH_REFUSED, USER never sent', async () => {
    const server = await started('pureftpd');
    const trace: string[] = [];
    const error = await failure({ host: server.host, port: server.port, user: server.user, password: server.password, tls: 'explicit', debug: (line) => trace.push(line) }, 'connect_error');
    assert.equal(error.reason, 'AUTH_REFUSED');
    assert.ok(error.replyCode !== null && error.replyCode >= 400);
    assert.deepEqual(trace.filter((line) => line.includes('>>> ')).map((line) => line.split('>>> ')[1]), ['AUTH TLS']);
  });

  it('a server that requires a client certificate: refused without one (SecurityError), logged in with one', async () => {
    const server = await started('vsftpd', { mode: 'explicit', requireClientCert: true });
    const base = { host: server.host, port: server.port, user: server.user, password: server.password, tls: 'explicit' as const };
    // TLS 1.3: the server's alert comes after the client's handshake, so the first command (USER) fails.
    const error = await failure({ ...base, tlsOptions: { ca: server.tls!.ca } }, 'login_error');
    assert.equal(error.reason, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.match(error.message, /certificate required/);
    const withCert = FtpSession.spawn({ ...base, timeout: 15_000, tlsOptions: { ca: server.tls!.ca, cert: certs.client.cert, key: certs.client.key } });
    await nextEvent(withCert, 'authenticated', 15_000);
    const ls = await runCommand(withCert, 'ls', []);
    await withCert.close();
    assert.equal(ls.event, 'ls_done');
  });

  it('CCC (clearControl) on ProFTPD: the login is protected, then commands go in clear and data stays TLS, also after a reconnect', async () => {
    const server = await started('proftpd', { mode: 'explicit', allowCcc: true });
    await writeFixture(server, 'small.txt', SMALL);
    const trace: string[] = [];
    const ftp = ftpsSession(server, trace, { clearControl: true });
    const events = recordEvents(ftp);
    await nextEvent(ftp, 'authenticated', 15_000);
    // ProFTPD reads the commands after CCC in clear: it answering them proves the switch.
    assert.equal((await runCommand(ftp, 'pwd', [])).args[3], '/');
    const small = await runCommand(ftp, 'get', ['small.txt']);
    assert.deepEqual(Buffer.concat(small.data as Buffer[]), SMALL);
    assert.equal((await uploadPaced(ftp, `${server.uploadDir}/ccc.txt`, SMALL)).outcome.event, 'put_closed');
    ftp.reconnect();
    await nextEvent(ftp, 'reconnected', 15_000);
    const ls = await runCommand(ftp, 'ls', []);
    await ftp.close();
    assert.equal(ls.event, 'ls_done');
    const sent = trace.filter((line) => line.includes('>>> ')).map((line) => line.split('>>> ')[1]!.split(' ')[0]);
    assert.deepEqual(sent.filter((verb) => ['AUTH', 'USER', 'PROT', 'CCC'].includes(verb!)), ['AUTH', 'USER', 'PROT', 'CCC', 'AUTH', 'USER', 'PROT', 'CCC']);
    assert.equal(trace.filter((line) => line.includes('TLS ended on the control connection (CCC)')).length, 2);
    assert.deepEqual(dataTls(trace).filter((line) => !line.endsWith('session resumed')), []);
    assert.equal(dataTls(trace).length, 3);
    assert.ok(!events.some((e) => e.name.endsWith('_error')), events.map((e) => e.name).join(', '));
  });

  it('CCC refused (vsftpd has none): login_error with SecurityError CCC_REFUSED, the session stops', async () => {
    const server = await started('vsftpd', { mode: 'explicit' });
    const error = await failure({ host: server.host, port: server.port, user: server.user, password: server.password, tls: 'explicit', tlsOptions: { ca: server.tls!.ca }, clearControl: true }, 'login_error');
    assert.equal(error.reason, 'CCC_REFUSED');
    assert.equal(error.replyCode, 500);
  });

  it('a reconnect in the middle of a 64 MiB FTPS download: TLS, PROT P and the directory restored, REST resumes, byte-exact', async () => {
    const server = await started('proftpd', { mode: 'explicit' });
    await writeFixture(server, 'sub/big.bin', BIG);
    const trace: string[] = [];
    const ftp = ftpsSession(server, trace);
    const events = recordEvents(ftp);
    ftp.post('cd', 'sub');
    ftp.post('get', 'big.bin');
    let received = 0;
    let dropped = false;
    ftp.on('get_data', (chunk) => {
      received += chunk.length;
      if (!dropped && received >= 20 * 1024 * 1024) {
        dropped = true;
        ftp.disconnect();
      }
    });
    await nextEvent(ftp, 'get_done', 120_000);
    await ftp.close();
    assert.ok(dropped);
    assert.equal(sha256(events.filter((e) => e.name === 'get_data').map((e) => e.args[0] as Buffer)), BIG_HASH);
    assert.deepEqual(events.filter((e) => e.name === 'reconnected').map((e) => e.args[0]), [2]);
    const sent = trace.filter((line) => line.includes('>>> ')).map((line) => line.split('>>> ')[1]!);
    const second = sent.slice(sent.lastIndexOf('AUTH TLS'));
    assert.deepEqual(second.slice(0, 7).map((line) => line.split(' ')[0]), ['AUTH', 'USER', 'PASS', 'PBSZ', 'PROT', 'TYPE', 'CWD']);
    assert.ok(second.some((line) => /^REST [1-9]\d*$/.test(line)), second.join(' | '));
    assert.deepEqual(dataTls(trace).filter((line) => !line.endsWith('session resumed')), []);
  });
});
