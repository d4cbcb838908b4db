/**
 * FTPS against the scripted server: what real servers will not do on demand (refuse AUTH TLS
 * or PROT P, pipeline bytes after 234, speak clear text on an implicit port) and certificate
 * checks with the test PKI. The positive paths run against vsftpd, ProFTPD and Pure-FTPd in
 * spec/integration/ftps.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket, TlsOptions } from 'node:tls';
import { FtpSession, InvalidArgumentError, SecurityError, type FtpSessionOptions } from '../../lib/index.js';
import { testCertificates, type CertAndKey } from '../support/certs.js';
import type { Handler, ScriptedConnection } from '../support/scripted-server.js';
import { BOUND, errorOf, names, start, until, waitFor } from './harness.js';

const certs = await testCertificates();

/** AUTH TLS answered 234, then the server side of the handshake with `cert` (and `tls`); PBSZ and PROT accepted. */
function ftpsHandlers(cert: CertAndKey = certs.server, extra: Record<string, Handler> = {}, tls: TlsOptions = {}): Record<string, Handler> {
  return {
    AUTH: async (conn) => {
      await conn.send('234 AUTH TLS successful');
      await conn.startTls({ key: cert.key, cert: cert.cert, ...tls }).catch(() => {}); // a client that refuses the cert hangs up
    },
    PBSZ: (conn) => conn.send('200 PBSZ=0'),
    PROT: (conn) => conn.send('200 Protection set to Private'),
    ...extra,
  };
}

/** Server-side TLS options that require a client certificate from the test CA. */
const REQUIRE_CLIENT_CERT: TlsOptions = { requestCert: true, rejectUnauthorized: true, ca: certs.ca.cert };

/** Session options for explicit FTPS trusting the test CA. */
const explicit: Partial<FtpSessionOptions> = { tls: 'explicit', tlsOptions: { ca: certs.ca.cert } };

describe('FTPS: order and fail-closed refusals', () => {
  it('AUTH TLS, handshake, USER/PASS, PBSZ 0, PROT P, in that order; then commands run over TLS', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: ftpsHandlers() }, explicit);
    await waitFor(seen, 'authenticated');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(server.commands, ['AUTH TLS', 'USER user', 'PASS secret', 'PBSZ 0', 'PROT P', 'NOOP']);
    const conn = await server.connection(0);
    assert.equal((conn.socket as { encrypted?: boolean }).encrypted, true, 'the control connection is TLS');
    // Only AUTH TLS travelled in clear: the raw bytes captured before the handshake hold no USER.
    assert.doesNotMatch(server.receivedText.split('AUTH TLS')[0] ?? '', /USER|PASS/);
  });

  it('tlsData false: no PBSZ/PROT (data in clear by the caller\'s choice), control still TLS', BOUND, async (t) => {
    const { server, seen } = await start(t, { handlers: ftpsHandlers() }, { ...explicit, tlsData: false });
    await waitFor(seen, 'authenticated');
    assert.deepEqual(server.commands, ['AUTH TLS', 'USER user', 'PASS secret']);
  });

  it('AUTH TLS refused: connect_error with SecurityError AUTH_REFUSED; USER never sent, session idle', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { AUTH: (conn) => conn.send('534 Policy requires plain text') } }, explicit);
    const failed = await waitFor(seen, 'connect_error');
    const error = errorOf(failed, SecurityError) as SecurityError;
    assert.equal(error.reason, 'AUTH_REFUSED');
    assert.equal(error.replyCode, 534);
    assert.equal(failed.args[0], 534);
    await until(() => ftp.state === 'idle', 'idle');
    assert.deepEqual(server.commands, ['AUTH TLS']);
    assert.deepEqual(names(seen).filter((name) => name === 'authenticated' || name === 'connected'), []);
  });

  it('bytes pipelined after 234 are refused, not read as replies (CVE-2021-22947)', BOUND, async (t) => {
    const handlers = { AUTH: (conn: ScriptedConnection) => conn.sendRaw('234 go ahead\r\n230 injected: logged in\r\n') };
    const { server, seen } = await start(t, { handlers }, explicit);
    const error = errorOf(await waitFor(seen, 'connect_error'), SecurityError) as SecurityError;
    assert.equal(error.reason, 'PIPELINED_AFTER_AUTH');
    assert.deepEqual(server.commands, ['AUTH TLS']);
  });

  it('a partial line pipelined after 234 is refused too', BOUND, async (t) => {
    const handlers = { AUTH: (conn: ScriptedConnection) => conn.sendRaw('234 go ahead\r\n2') };
    const { server, seen } = await start(t, { handlers }, explicit);
    assert.equal((errorOf(await waitFor(seen, 'connect_error'), SecurityError) as SecurityError).reason, 'PIPELINED_AFTER_AUTH');
    assert.deepEqual(server.commands, ['AUTH TLS']);
  });

  for (const [verb, reason] of [['PBSZ', 'PBSZ_REFUSED'], ['PROT', 'PROT_REFUSED']] as const) {
    it(`${verb} refused: login_error with SecurityError ${reason}; the connection is dropped, nothing else is sent`, BOUND, async (t) => {
      const refuse: Handler = (conn) => conn.send(`536 ${verb} not supported`);
      const { server, ftp, seen } = await start(t, { handlers: ftpsHandlers(certs.server, { [verb]: refuse }) }, explicit);
      ftp.post('dir');
      const failed = await waitFor(seen, 'login_error');
      const error = errorOf(failed, SecurityError) as SecurityError;
      assert.equal(error.reason, reason);
      assert.equal(error.replyCode, 536);
      await until(() => ftp.state === 'idle', 'idle');
      await (await server.connection(0)).waitClosed();
      assert.equal(server.commands.at(-1), verb === 'PBSZ' ? 'PBSZ 0' : 'PROT P');
      assert.ok(!server.commands.some((line) => /^(EPSV|PASV|NLST|LIST)/.test(line)), server.commands.join(', '));
    });
  }

  it('implicit TLS to a server that speaks clear text: SecurityError saying so, nothing sent', BOUND, async (t) => {
    const { server, seen } = await start(t, {}, { tls: 'implicit', tlsOptions: { ca: certs.ca.cert } });
    const error = errorOf(await waitFor(seen, 'connect_error'), SecurityError) as SecurityError;
    assert.match(error.message, /does not speak TLS/);
    assert.match(error.reason, /WRONG_VERSION|PACKET_LENGTH|UNKNOWN_PROTOCOL/);
    // What reached the server is the TLS ClientHello (0x16 0x03): no command.
    assert.equal(server.received[0]?.[0], 0x16);
    assert.doesNotMatch(server.receivedText, /USER|PASS/);
  });

  it('implicit TLS: the handshake comes first, then the greeting, login and PBSZ/PROT (no AUTH)', BOUND, async (t) => {
    const { server, seen } = await start(t, {
      greeting: async (conn) => {
        await conn.startTls({ key: certs.server.key, cert: certs.server.cert });
        await conn.send('220 implicit FTPS ready');
      },
      handlers: ftpsHandlers(),
    }, { tls: 'implicit', tlsOptions: { ca: certs.ca.cert } });
    assert.deepEqual((await waitFor(seen, 'connected')).args, [220, 'implicit FTPS ready']);
    await waitFor(seen, 'authenticated');
    assert.deepEqual(server.commands, ['USER user', 'PASS secret', 'PBSZ 0', 'PROT P']);
  });
});

describe('FTPS: certificates', () => {
  it('an untrusted certificate (no CA given): SecurityError naming the reason; USER never sent', BOUND, async (t) => {
    const { server, seen } = await start(t, { handlers: ftpsHandlers() }, { tls: 'explicit' });
    const error = errorOf(await waitFor(seen, 'connect_error'), SecurityError) as SecurityError;
    assert.match(error.reason, /^(UNABLE_TO_|SELF_SIGNED)/);
    assert.match(error.message, /tlsOptions\.ca/);
    assert.deepEqual(server.commands, ['AUTH TLS']);
  });

  it('a certificate from another CA: SecurityError', BOUND, async (t) => {
    const { server, seen } = await start(t, { handlers: ftpsHandlers(certs.wrongCaServer) }, explicit);
    assert.match((errorOf(await waitFor(seen, 'connect_error'), SecurityError) as SecurityError).reason, /^(UNABLE_TO_|SELF_SIGNED)/);
    assert.deepEqual(server.commands, ['AUTH TLS']);
  });

  it('a trusted certificate for another host name: SecurityError ERR_TLS_CERT_ALTNAME_INVALID', BOUND, async (t) => {
    const { server, seen } = await start(t, { handlers: ftpsHandlers(certs.wrongName) }, explicit);
    const error = errorOf(await waitFor(seen, 'connect_error'), SecurityError) as SecurityError;
    assert.equal(error.reason, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.deepEqual(server.commands, ['AUTH TLS']);
  });

  it('tlsOptions.servername names the host to check: the wrong-name certificate passes for wrong.example', BOUND, async (t) => {
    const { seen } = await start(t, { handlers: ftpsHandlers(certs.wrongName) }, { tls: 'explicit', tlsOptions: { ca: certs.ca.cert, servername: 'wrong.example' } });
    await waitFor(seen, 'authenticated');
  });

  it('the caller opts out explicitly (rejectUnauthorized: false): an untrusted certificate is accepted', BOUND, async (t) => {
    const { seen } = await start(t, { handlers: ftpsHandlers(certs.wrongCaServer) }, { tls: 'explicit', tlsOptions: { rejectUnauthorized: false } });
    await waitFor(seen, 'authenticated');
  });

  it('client certificates: a server that requires one logs in a session that presents it', BOUND, async (t) => {
    const handlers = ftpsHandlers(certs.server, {}, REQUIRE_CLIENT_CERT);
    const { server, seen } = await start(t, { handlers }, { tls: 'explicit', tlsOptions: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key } });
    await waitFor(seen, 'authenticated');
    const socket = (await server.connection(0)).socket as TLSSocket;
    assert.equal(socket.getPeerCertificate().subject?.CN, 'tester');
  });

  it('client certificates: without one, the server ends the handshake and the session does not log in', BOUND, async (t) => {
    const handlers = ftpsHandlers(certs.server, {}, REQUIRE_CLIENT_CERT);
    const { server, ftp, seen } = await start(t, { handlers }, explicit);
    // TLS 1.3: the client's handshake ends before the server checks it; the server's alert then
    // fails the first command (USER), which never reached the server.
    const error = errorOf(await waitFor(seen, 'login_error'), SecurityError) as SecurityError;
    assert.match(error.reason, /CERTIFICATE_REQUIRED/);
    await until(() => ftp.state === 'idle', 'idle');
    assert.deepEqual(server.commands, ['AUTH TLS']);
  });
});

describe('FTPS: options', () => {
  it('tlsData or clearControl without tls, or an unknown tls mode, is refused at spawn', () => {
    assert.throws(() => FtpSession.spawn({ host: '127.0.0.1', tlsData: true }), InvalidArgumentError);
    assert.throws(() => FtpSession.spawn({ host: '127.0.0.1', clearControl: true }), /needs option 'tls'/);
    assert.throws(() => FtpSession.spawn({ host: '127.0.0.1', tls: 'starttls' as 'explicit' }), InvalidArgumentError);
  });
});

describe('FTPS: reconnect', () => {
  it('a reconnect secures the new connection first and asks for PROT P again, then the command runs', BOUND, async (t) => {
    const handlers = ftpsHandlers(certs.server, {
      NOOP: (conn) => (conn.index === 0 ? conn.end() : conn.send('200 NOOP ok')),
    });
    const { server, ftp, seen } = await start(t, { handlers }, explicit);
    await waitFor(seen, 'authenticated');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.ok(names(seen).includes('reconnected'));
    assert.deepEqual((await server.connection(1)).commands, ['AUTH TLS', 'USER user', 'PASS secret', 'PBSZ 0', 'PROT P', 'NOOP']);
  });

  it('AUTH TLS refused on reconnect: reconnect_error with the SecurityError, never USER in clear, no further attempt', BOUND, async (t) => {
    const handlers = ftpsHandlers(certs.server, {
      AUTH: async (conn) => {
        if (conn.index > 0) return conn.send('534 not today');
        await conn.send('234 AUTH TLS successful');
        await conn.startTls({ key: certs.server.key, cert: certs.server.cert });
      },
      NOOP: (conn) => conn.end(),
    });
    const { server, ftp, seen } = await start(t, { handlers }, explicit);
    await waitFor(seen, 'authenticated');
    ftp.post('noop');
    const gaveUp = await waitFor(seen, 'reconnect_error');
    assert.equal((errorOf(gaveUp, SecurityError) as SecurityError).reason, 'AUTH_REFUSED');
    assert.equal(errorOf(await waitFor(seen, 'noop_error'), SecurityError).replyCode, 534);
    assert.equal(server.connections.length, 2);
    assert.deepEqual((await server.connection(1)).commands, ['AUTH TLS']);
  });
});
