/**
 * FXP (server-to-server copy) against the real servers, spoken raw (spec/support/raw-ftp.ts, not
 * the library): what works, in which orientation and command order, and how each server refuses.
 * The client's control connections come from 127.0.0.2 while the servers (and so the data
 * connections between them) use 127.0.0.1: on plain loopback the foreign-address checks never fire.
 * Needs `npm run test:setup` (root) first.
 *
 * Facts established here (vsftpd 3.0.3, ProFTPD 1.3.8, Pure-FTPd 1.0.50; "S" source, "T" target):
 *
 * Switches (ServerOptions.fxp): vsftpd `port_promiscuous=YES` + `pasv_promiscuous=YES` (separately
 * settable); ProFTPD `AllowForeignAddress on` (one switch, both checks); Pure-FTPd `-w`
 * (--allowuserfxp: FXP for non-anonymous users; `-W` for everyone). With FXP on, Pure-FTPd's PORT
 * (and EPRT) reply says so: `200-FXP transfer: from 127.0.0.2 to 127.0.0.1` / `200 PORT command successful`.
 *
 * With FXP on at both ends, all 6 ordered pairs of the three servers copy byte-exact (100,001
 * bytes, 0 bytes, 64 MiB) in BOTH orientations: PASV on T + PORT on S (FluentFTP) and PASV on S
 * + PORT on T (Net::FTP); the resume path (REST n + RETR on S, APPE on T) works for every pair
 * (REST answers 350); EPSV on T + EPRT |1|127.0.0.1|port| on S works too (the client puts T's
 * control address in the EPRT).
 * Command order: the PASSIVE side sends no 150 until the data connection has arrived (all three:
 * they accept first, then reply 150). So a client that waits for the first command's 150 before
 * sending the second must send the PORT side's command first (RETR on S for FluentFTP's
 * orientation, STOR on T for Net::FTP's); sent the other way round it waits forever (seen: no
 * reply within 1 s, then 150 + 226 as soon as the PORT side's command goes out). The PORT side
 * replies 150 at once: vsftpd `150 Opening BINARY mode data connection for small.bin (100001
 * bytes).` / `150 Ok to send data.`, ProFTPD `150 Opening BINARY mode data connection for ...`,
 * Pure-FTPd `150-Connecting to port N` + `150 97.7 kbytes to download` / `150 Connecting to port N`.
 *
 * Strict servers (no fxp), client from 127.0.0.2:
 * - PORT/EPRT naming 127.0.0.1 is refused at once: vsftpd `500 Illegal PORT command.` /
 *   `500 Illegal EPRT command.`; ProFTPD `500 Illegal PORT command` / `500 Illegal EPRT command`;
 *   Pure-FTPd `500 I won't open a connection to 127.0.0.1 (only to 127.0.0.2)` (both commands).
 * - As the PASSIVE side (PASV accepted, `227 ...`), the refusal comes on its RETR/STOR once the
 *   foreign data connection arrives: vsftpd `425 Security: Bad IP connecting.`, ProFTPD
 *   `425 Unable to build data connection: Permission denied`. Pure-FTPd says NOTHING: it closes
 *   the foreign connection and keeps waiting for one from the control peer, deaf to ABOR, until
 *   its idle timeout (`-I`, minutes), then `421 Timeout` and the session is closed (seen once
 *   with a 60 s timeout; here only "no reply within 2 s" is asserted).
 * - Meanwhile the PORT side (FXP allowed there) usually reports SUCCESS. As the source, its RETR
 *   (100,001 bytes) ends `226` (the bytes went into a connection the peer closed unread), now and
 *   then `426` by timing (seen: vsftpd `426 Failure writing network stream.`, ProFTPD `426
 *   Transfer aborted. Data connection closed`). As the target, its STOR ends `226` with an EMPTY
 *   file. The target's file exists and is empty in every refused case. So success needs BOTH
 *   final replies 2xx; one side's 226 proves nothing.
 * - The client binding is what matters: the same strict servers copy fine when the client's
 *   control connections come from 127.0.0.1 (every address matches).
 * - vsftpd `fxp: { port: false, pasv: true }`: as S in FluentFTP's orientation PORT is refused
 *   (`500 Illegal PORT command.`), while PASV on vsftpd (Net::FTP's orientation) copies fine;
 *   `{ port: true, pasv: false }`: the reverse (its RETR gets `425 Security: Bad IP connecting.`).
 *
 * Passive commands: all three answer PASV (vsftpd and ProFTPD `227 Entering Passive Mode
 * (127,0,0,1,p1,p2).`, Pure-FTPd the same without the final dot) and EPSV (vsftpd and ProFTPD
 * `229 Entering Extended Passive Mode (|||port|)`, Pure-FTPd `229 Extended Passive mode OK
 * (|||port|)`). CPSV: `500` everywhere (vsftpd `500 Unknown command.`, ProFTPD `500 CPSV not
 * understood`, Pure-FTPd `500 Unknown command`), with or without TLS. SSCN: only ProFTPD's mod_tls,
 * only after AUTH TLS: FEAT lists ` SSCN`, `SSCN` answers `200 SSCN:SERVER METHOD`, `SSCN ON`
 * `200 SSCN:CLIENT METHOD`; without TLS `500 SSCN not understood`; vsftpd and Pure-FTPd: 500.
 * (An actual TLS FXP transfer is not tried here: vsftpd and ProFTPD require the data connection to
 * resume their own control connection's TLS session, which a peer server cannot do.)
 *
 * STAT on S during its RETR (64 MiB, the receiver reading slowly; the source cannot tell it from a
 * target server): NO server reports progress. vsftpd and ProFTPD do not read the control
 * connection during a transfer (nor while it is stalled): the STAT is answered after the `226`,
 * with their ordinary status (vsftpd `211-FTP server status:` ... `211 End of status`, no byte count; ProFTPD `211-Status of
 * 'ftp-session test server'` ... ` Total bytes transferred for session: 67108864` /
 * ` No data connection` / `211 End of status`). Pure-FTPd reads it during the transfer (seen after
 * 1.1 to 2.7 MB of the 64 MiB) and answers `500 Unknown command` before its `226-File
 * successfully transferred` / `226 N seconds (measured here), N Mbytes per second`.
 * So FXP progress must come from elsewhere: SIZE on T from a third connection (FluentFTP's way)
 * works on all three, which write the upload in place: `213 0` right after the 150, then `213
 * 1048576` / `213 4194304` as the bytes arrive (no temporary name).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { sha256 } from '../support/hash.js';
import { RawFtp, parseEpsv, parsePasv, portTuple, replyText, type RawReply } from '../support/raw-ftp.js';
import { SERVER_KINDS, startServer, writeFixture, type RunningServer, type ServerKind, type ServerOptions } from '../support/servers.js';

/** Where the client's control connections come from: not the servers' 127.0.0.1, so the checks fire. */
const CLIENT = '127.0.0.2';
const SMALL = randomBytes(100_001);
const HALF = 50_000;
const BIG = randomBytes(64 * 1024 * 1024);
const BIG_HASH = sha256(BIG);
/** How long "no reply" is waited for before concluding there is none (yet). */
const SILENCE_MS = 1_000;

const PAIRS: readonly (readonly [ServerKind, ServerKind])[] = SERVER_KINDS.flatMap((s) =>
  SERVER_KINDS.filter((t) => t !== s).map((t) => [s, t] as const));

/** The refusal of a PORT naming 127.0.0.1 from a control connection from 127.0.0.2, per strict server. */
const FOREIGN_PORT_REFUSAL: Record<ServerKind, { port: string; eprt: string }> = {
  vsftpd: { port: '500 Illegal PORT command.', eprt: '500 Illegal EPRT command.' },
  proftpd: { port: '500 Illegal PORT command', eprt: '500 Illegal EPRT command' },
  pureftpd: {
    port: "500 I won't open a connection to 127.0.0.1 (only to 127.0.0.2)",
    eprt: "500 I won't open a connection to 127.0.0.1 (only to 127.0.0.2)",
  },
};
/** The reply of a strict passive side's RETR/STOR when the data connection comes from elsewhere (null: none at all). */
const FOREIGN_PASV_REFUSAL: Record<ServerKind, string | null> = {
  vsftpd: '425 Security: Bad IP connecting.',
  proftpd: '425 Unable to build data connection: Permission denied',
  pureftpd: null,
};

const open: RawFtp[] = [];
/** A logged-in control connection (TYPE I) from `localAddress`. */
async function session(server: RunningServer, localAddress = CLIENT): Promise<RawFtp> {
  const ftp = await RawFtp.connect({ host: server.host, port: server.port, localAddress });
  open.push(ftp);
  assert.equal(ftp.greeting.code, 220);
  await ftp.login(server.user, server.password);
  await ftp.expect('TYPE I', 200);
  return ftp;
}

const line = (r: RawReply | null): string => (r ? replyText(r) : '(no reply)');
let serial = 0;
/** A fresh name in the target's upload folder. */
const uploadName = (server: RunningServer): string => `${server.uploadDir}/fxp-${process.pid}-${serial++}.bin`;
/** The bytes of `rel` under the server's root, or null when there is no such file. */
const onDisk = (server: RunningServer, rel: string): Promise<Buffer | null> => readFile(join(server.root, rel)).catch(() => null);

/** One side's transfer command: its preliminary reply (null when there was none) and its final one. */
interface Xfer { prelim: RawReply | null; final: RawReply | null }

/** Reads a transfer command's replies until its final one, within `ms` (whatever came by then). */
async function finish(ftp: RawFtp, x: Xfer = { prelim: null, final: null }, ms = 10_000): Promise<Xfer> {
  const deadline = Date.now() + ms;
  while (!x.final) {
    const r = await ftp.replyWithin(Math.max(0, deadline - Date.now()));
    if (!r) break;
    if (r.code >= 200) x.final = r;
    else x.prelim ??= r;
  }
  return x;
}

/**
 * Sends `first` and waits for its 1xx (or an early final reply), then sends `second`; then reads
 * both final replies (each within `finalMs`; null when silent).
 */
async function transfer(
  first: readonly [RawFtp, string], second: readonly [RawFtp, string], o: { finalMs?: number } = {},
): Promise<[Xfer, Xfer]> {
  const finalMs = o.finalMs ?? 10_000;
  first[0].send(first[1]);
  const early = await first[0].reply();
  const a: Xfer = early.code < 200 ? { prelim: early, final: null } : { prelim: null, final: early };
  second[0].send(second[1]);
  const b = await finish(second[0], undefined, finalMs);
  return [await finish(first[0], a, finalMs), b];
}

/** PASV on `pasvSide`, then PORT with that address on `portSide`. */
async function passiveThenPort(pasvSide: RawFtp, portSide: RawFtp): Promise<{ pasv: RawReply; port: RawReply }> {
  const pasv = await pasvSide.cmd('PASV');
  const port = await portSide.cmd(`PORT ${parsePasv(pasv).tuple}`);
  return { pasv, port };
}

/** Asserts a finished copy: both sides 150 then 226, and the target's file holds `expected`. */
async function assertCopied(retr: Xfer, stor: Xfer, target: RunningServer, rel: string, expected: Buffer): Promise<void> {
  assert.equal(retr.prelim?.code, 150, `RETR: ${line(retr.prelim)}`);
  assert.equal(stor.prelim?.code, 150, `STOR/APPE: ${line(stor.prelim)}`);
  assert.equal(retr.final?.code, 226, `RETR: ${line(retr.final)}`);
  assert.equal(stor.final?.code, 226, `STOR/APPE: ${line(stor.final)}`);
  const got = await onDisk(target, rel);
  assert.ok(got, `${rel} is missing on ${target.kind}`);
  assert.equal(got.length, expected.length);
  assert.equal(sha256(got), sha256(expected));
}

/** Asserts how a strict passive side answered its RETR/STOR when the data connection came from elsewhere. */
function assertPassiveRefused(kind: ServerKind, answered: Xfer): void {
  const refusal = FOREIGN_PASV_REFUSAL[kind];
  if (refusal) {
    assert.equal(answered.prelim, null);
    assert.equal(line(answered.final), refusal);
  } else {
    assert.deepEqual([answered.prelim, answered.final], [null, null], 'Pure-FTPd drops the connection and keeps waiting, silent');
  }
}

/** Asserts the refused case left the target without the source's bytes (an empty file or none). */
async function assertNotCopied(target: RunningServer, rel: string): Promise<void> {
  const got = await onDisk(target, rel);
  assert.ok(got === null || got.length === 0, `${rel} on ${target.kind} holds ${got?.length} bytes`);
}

const fxpServers = {} as Record<ServerKind, RunningServer>;
const strictServers = {} as Record<ServerKind, RunningServer>;
const started: RunningServer[] = [];
async function start(kind: ServerKind, opts: ServerOptions): Promise<RunningServer> {
  const server = await startServer(kind, opts);
  started.push(server);
  await writeFixture(server, 'small.bin', SMALL);
  await writeFixture(server, 'empty.bin', Buffer.alloc(0));
  return server;
}

before(async () => {
  for (const kind of SERVER_KINDS) {
    fxpServers[kind] = await start(kind, { fxp: true });
    await writeFixture(fxpServers[kind], 'big.bin', BIG);
    strictServers[kind] = await start(kind, {});
  }
}, { timeout: 60_000 });
afterEach(async () => {
  await Promise.all(open.splice(0).map((ftp) => ftp.close()));
});
after(async () => {
  await Promise.all(open.splice(0).map((ftp) => ftp.close()));
  await Promise.all(started.map((server) => server.stop()));
});

describe('servers with fxp: true, client from 127.0.0.2', { timeout: 240_000 }, () => {
  for (const [s, t] of PAIRS) {
    describe(`${s} → ${t}`, () => {
      const src = (): RunningServer => fxpServers[s];
      const dst = (): RunningServer => fxpServers[t];

      for (const [file, data] of [['small.bin', SMALL], ['empty.bin', Buffer.alloc(0)]] as const) {
        it(`PASV on the target, PORT to the source, RETR then STOR: ${file} (${data.length} bytes) copied`, { timeout: 20_000 }, async () => {
          const [S, T] = [await session(src()), await session(dst())];
          const { pasv, port } = await passiveThenPort(T, S);
          assert.equal(pasv.code, 227, line(pasv));
          assert.equal(port.code, 200, line(port));
          const rel = uploadName(dst());
          const [retr, stor] = await transfer([S, `RETR ${file}`], [T, `STOR ${rel}`]);
          await assertCopied(retr, stor, dst(), rel, data);
        });
      }

      it('the same with 64 MiB (the source sends before the target has accepted)', { timeout: 20_000 }, async () => {
        const [S, T] = [await session(src()), await session(dst())];
        assert.equal((await passiveThenPort(T, S)).port.code, 200);
        const rel = uploadName(dst());
        try {
          const [retr, stor] = await transfer([S, 'RETR big.bin'], [T, `STOR ${rel}`], { finalMs: 15_000 });
          assert.equal(retr.final?.code, 226, line(retr.final));
          assert.equal(stor.final?.code, 226, line(stor.final));
          const got = await onDisk(dst(), rel);
          assert.equal(got?.length, BIG.length);
          assert.equal(got && sha256(got), BIG_HASH);
        } finally {
          await rm(join(dst().root, rel), { force: true });
        }
      });

      it('resume: the target holds the first half; REST + RETR on the source, APPE on the target', { timeout: 20_000 }, async () => {
        const rel = uploadName(dst());
        await writeFixture(dst(), rel, SMALL.subarray(0, HALF));
        const [S, T] = [await session(src()), await session(dst())];
        assert.equal((await passiveThenPort(T, S)).port.code, 200);
        const rest = await S.cmd(`REST ${HALF}`);
        assert.equal(rest.code, 350, line(rest));
        const [retr, appe] = await transfer([S, 'RETR small.bin'], [T, `APPE ${rel}`]);
        await assertCopied(retr, appe, dst(), rel, SMALL);
      });

      it('reverse orientation (Net::FTP): PASV on the source, PORT to the target, STOR then RETR', { timeout: 20_000 }, async () => {
        const [S, T] = [await session(src()), await session(dst())];
        const { pasv, port } = await passiveThenPort(S, T);
        assert.equal(pasv.code, 227, line(pasv));
        assert.equal(port.code, 200, line(port));
        const rel = uploadName(dst());
        const [stor, retr] = await transfer([T, `STOR ${rel}`], [S, 'RETR small.bin']);
        await assertCopied(retr, stor, dst(), rel, SMALL);
      });

      it('the passive side holds its 150 until the data connection comes (either orientation)', { timeout: 20_000 }, async () => {
        // FluentFTP's orientation (PASV on the target), its STOR first: silent until RETR makes the source connect.
        let [S, T] = [await session(src()), await session(dst())];
        assert.equal((await passiveThenPort(T, S)).port.code, 200);
        let rel = uploadName(dst());
        T.send(`STOR ${rel}`);
        assert.equal(line(await T.replyWithin(SILENCE_MS)), '(no reply)', 'STOR on the passive side: nothing before the source connects');
        S.send('RETR small.bin');
        await assertCopied(await finish(S), await finish(T), dst(), rel, SMALL);
        // Net::FTP's orientation (PASV on the source), its RETR first.
        [S, T] = [await session(src()), await session(dst())];
        assert.equal((await passiveThenPort(S, T)).port.code, 200);
        rel = uploadName(dst());
        S.send('RETR small.bin');
        assert.equal(line(await S.replyWithin(SILENCE_MS)), '(no reply)', 'RETR on the passive side: nothing before the target connects');
        T.send(`STOR ${rel}`);
        await assertCopied(await finish(S), await finish(T), dst(), rel, SMALL);
      });

      it('EPSV on the target + EPRT with its control address on the source also copies', { timeout: 20_000 }, async () => {
        const [S, T] = [await session(src()), await session(dst())];
        const epsv = await T.cmd('EPSV');
        const eprt = await S.cmd(`EPRT |1|${dst().host}|${parseEpsv(epsv)}|`);
        assert.equal(eprt.code, 200, line(eprt));
        const rel = uploadName(dst());
        const [retr, stor] = await transfer([S, 'RETR small.bin'], [T, `STOR ${rel}`]);
        await assertCopied(retr, stor, dst(), rel, SMALL);
      });
    });
  }
});

describe('strict servers (no fxp), client from 127.0.0.2', { timeout: 240_000 }, () => {
  for (const kind of SERVER_KINDS) {
    const peer = SERVER_KINDS[(SERVER_KINDS.indexOf(kind) + 1) % SERVER_KINDS.length] as ServerKind;

    it(`${kind} refuses PORT and EPRT naming 127.0.0.1 at once, and accepts its control peer's address`, { timeout: 20_000 }, async () => {
      const T = await session(fxpServers[peer]);
      const S = await session(strictServers[kind]);
      const { pasv, port } = await passiveThenPort(T, S);
      assert.equal(pasv.code, 227);
      assert.equal(line(port), FOREIGN_PORT_REFUSAL[kind].port);
      assert.equal(line(await S.cmd(`EPRT |1|127.0.0.1|${parsePasv(pasv).port}|`)), FOREIGN_PORT_REFUSAL[kind].eprt);
      // The control peer's own address is fine: it is the foreign address that is refused.
      assert.equal((await S.cmd(`PORT ${portTuple(CLIENT, 40_000)}`)).code, 200);
    });

    it(`${kind} as the passive target: the foreign data connection is refused on its STOR; the source says 226 or 426`, { timeout: 20_000 }, async (t) => {
      const [S, T] = [await session(fxpServers[peer]), await session(strictServers[kind])];
      const { pasv, port } = await passiveThenPort(T, S);
      assert.equal(pasv.code, 227);
      assert.equal(port.code, 200, 'the fxp source accepts the PORT');
      const rel = uploadName(strictServers[kind]);
      const [retr, stor] = await transfer([S, 'RETR small.bin'], [T, `STOR ${rel}`], { finalMs: 2 * SILENCE_MS });
      assert.equal(retr.prelim?.code, 150);
      // The source's bytes went into a connection the target closed unread: 226 or 426 by timing.
      assert.ok([226, 426].includes(retr.final?.code ?? 0), `the source reports: ${line(retr.final)}`);
      t.diagnostic(`${peer} source RETR: ${line(retr.final)}; ${kind} target STOR: ${line(stor.final)}`);
      assertPassiveRefused(kind, stor);
      await assertNotCopied(strictServers[kind], rel);
    });

    it(`${kind} as the passive source: the foreign data connection is refused on its RETR; the target says 226 (empty file)`, { timeout: 20_000 }, async () => {
      const [S, T] = [await session(strictServers[kind]), await session(fxpServers[peer])];
      const { pasv, port } = await passiveThenPort(S, T);
      assert.equal(pasv.code, 227);
      assert.equal(port.code, 200);
      const rel = uploadName(fxpServers[peer]);
      const [stor, retr] = await transfer([T, `STOR ${rel}`], [S, 'RETR small.bin'], { finalMs: 2 * SILENCE_MS });
      assert.equal(stor.prelim?.code, 150);
      assert.equal(stor.final?.code, 226, `the target reports success: ${line(stor.final)}`);
      assertPassiveRefused(kind, retr);
      const got = await onDisk(fxpServers[peer], rel);
      assert.equal(got?.length, 0, 'the target created an empty file');
    });
  }

  it('the same strict servers copy when the client comes from 127.0.0.1 (each server as PORT and as PASV side)', { timeout: 20_000 }, async () => {
    for (const [s, t] of [['vsftpd', 'proftpd'], ['proftpd', 'pureftpd'], ['pureftpd', 'vsftpd']] as const) {
      const [S, T] = [await session(strictServers[s], '127.0.0.1'), await session(strictServers[t], '127.0.0.1')];
      assert.equal((await passiveThenPort(T, S)).port.code, 200, `${s} → ${t}`);
      const rel = uploadName(strictServers[t]);
      const [retr, stor] = await transfer([S, 'RETR small.bin'], [T, `STOR ${rel}`]);
      await assertCopied(retr, stor, strictServers[t], rel, SMALL);
    }
  });
});

describe('vsftpd with only one of the two checks relaxed', { timeout: 60_000 }, () => {
  let pasvOnly: RunningServer;
  let portOnly: RunningServer;
  before(async () => {
    pasvOnly = await start('vsftpd', { fxp: { port: false, pasv: true } });
    portOnly = await start('vsftpd', { fxp: { port: true, pasv: false } });
  });

  it('startServer refuses a split setting for ProFTPD and Pure-FTPd', async () => {
    for (const kind of ['proftpd', 'pureftpd'] as const) {
      await assert.rejects(startServer(kind, { fxp: { port: true, pasv: false } }), /fxp \{ port, pasv \} is vsftpd only/);
    }
  });

  it('{ port: false, pasv: true } as the source: PORT refused (FluentFTP orientation), PASV on it works (Net::FTP orientation)', { timeout: 20_000 }, async () => {
    let [S, T] = [await session(pasvOnly), await session(fxpServers.proftpd)];
    assert.equal(line((await passiveThenPort(T, S)).port), '500 Illegal PORT command.');
    [S, T] = [await session(pasvOnly), await session(fxpServers.proftpd)];
    assert.equal((await passiveThenPort(S, T)).port.code, 200);
    const rel = uploadName(fxpServers.proftpd);
    const [stor, retr] = await transfer([T, `STOR ${rel}`], [S, 'RETR small.bin']);
    await assertCopied(retr, stor, fxpServers.proftpd, rel, SMALL);
  });

  it('{ port: true, pasv: false } as the source: PORT works, PASV on it gets 425 on the RETR', { timeout: 20_000 }, async () => {
    let [S, T] = [await session(portOnly), await session(fxpServers.proftpd)];
    assert.equal((await passiveThenPort(T, S)).port.code, 200);
    let rel = uploadName(fxpServers.proftpd);
    const [retr, stor] = await transfer([S, 'RETR small.bin'], [T, `STOR ${rel}`]);
    await assertCopied(retr, stor, fxpServers.proftpd, rel, SMALL);
    [S, T] = [await session(portOnly), await session(fxpServers.proftpd)];
    assert.equal((await passiveThenPort(S, T)).port.code, 200);
    rel = uploadName(fxpServers.proftpd);
    const [stor2, retr2] = await transfer([T, `STOR ${rel}`], [S, 'RETR small.bin']);
    assert.equal(line(retr2.final), '425 Security: Bad IP connecting.');
    assert.equal(stor2.final?.code, 226);
    await assertNotCopied(fxpServers.proftpd, rel);
  });
});

describe('passive commands, CPSV and SSCN', { timeout: 120_000 }, () => {
  const PASV_RE: Record<ServerKind, RegExp> = {
    vsftpd: /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)\.$/,
    proftpd: /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)\.$/,
    pureftpd: /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)$/,
  };
  const EPSV_RE: Record<ServerKind, RegExp> = {
    vsftpd: /^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)$/,
    proftpd: /^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)$/,
    pureftpd: /^229 Extended Passive mode OK \(\|\|\|\d+\|\)$/,
  };
  const CPSV: Record<ServerKind, string> = { vsftpd: '500 Unknown command.', proftpd: '500 CPSV not understood', pureftpd: '500 Unknown command' };
  const SSCN_PLAIN: Record<ServerKind, string> = { vsftpd: '500 Unknown command.', proftpd: '500 SSCN not understood', pureftpd: '500 Unknown command' };

  for (const kind of SERVER_KINDS) {
    it(`${kind}: PASV and EPSV answer; CPSV and SSCN do not (plain FTP)`, { timeout: 20_000 }, async () => {
      const ftp = await session(fxpServers[kind]);
      assert.match(line(await ftp.cmd('PASV')), PASV_RE[kind]);
      assert.match(line(await ftp.cmd('EPSV')), EPSV_RE[kind]);
      const feat = await ftp.cmd('FEAT');
      assert.equal(feat.code, 211);
      assert.ok(!feat.lines.some((l) => /^ (CPSV|SSCN)\b/.test(l)), replyText(feat));
      assert.equal(line(await ftp.cmd('CPSV')), CPSV[kind]);
      assert.equal(line(await ftp.cmd('SSCN')), SSCN_PLAIN[kind]);
    });

    it(`${kind} with explicit FTPS: SSCN ${kind === 'proftpd' ? 'listed and answered' : 'absent'}, CPSV absent`, { timeout: 20_000 }, async () => {
      const server = await startServer(kind, { tls: { mode: 'explicit' } });
      try {
        const ftp = await RawFtp.connect({ host: server.host, port: server.port, localAddress: CLIENT });
        open.push(ftp);
        await ftp.startTls();
        const feat = await ftp.cmd('FEAT');
        assert.equal(feat.code, 211);
        assert.ok(feat.lines.includes(' AUTH TLS'), replyText(feat));
        assert.equal(feat.lines.includes(' SSCN'), kind === 'proftpd', replyText(feat));
        assert.ok(!feat.lines.some((l) => /^ CPSV\b/.test(l)), replyText(feat));
        await ftp.login(server.user, server.password);
        await ftp.expect('PBSZ 0', 200);
        await ftp.expect('PROT P', 200);
        if (kind === 'proftpd') {
          assert.equal(line(await ftp.cmd('SSCN')), '200 SSCN:SERVER METHOD');
          assert.equal(line(await ftp.cmd('SSCN ON')), '200 SSCN:CLIENT METHOD');
          assert.equal(line(await ftp.cmd('SSCN OFF')), '200 SSCN:SERVER METHOD');
        } else {
          assert.equal(line(await ftp.cmd('SSCN ON')), SSCN_PLAIN[kind]);
        }
        assert.equal(line(await ftp.cmd('CPSV')), CPSV[kind]);
        await ftp.close();
      } finally {
        await server.stop();
      }
    });
  }
});

describe('STAT on the source during a 64 MiB RETR', { timeout: 120_000 }, () => {
  /**
   * A data receiver on 127.0.0.1 (a foreign address for the 127.0.0.2 control connection, as a
   * target server would be) that reads only while `allow` bytes remain, so the transfer is
   * reliably still running when STAT goes out.
   */
  class SlowReceiver {
    readonly server: Server;
    socket: Socket | undefined;
    received = 0;
    private budget = 1024 * 1024;
    private pacer: NodeJS.Timeout | undefined;
    constructor() {
      this.server = createServer((socket) => {
        this.socket = socket;
        socket.on('data', (chunk: Buffer) => {
          this.received += chunk.length;
          this.budget -= chunk.length;
          if (this.budget <= 0) socket.pause();
        });
        socket.on('error', () => undefined);
      });
    }
    async listen(): Promise<number> {
      await new Promise<void>((res) => this.server.listen(0, '127.0.0.1', () => res()));
      return (this.server.address() as { port: number }).port;
    }
    /** Reads about `bytesPerTick` every 20 ms (Infinity: as fast as it comes). */
    pace(bytesPerTick: number): void {
      clearInterval(this.pacer);
      const tick = (): void => { this.budget = bytesPerTick; this.socket?.resume(); };
      tick();
      if (Number.isFinite(bytesPerTick)) this.pacer = setInterval(tick, 20);
    }
    close(): void {
      clearInterval(this.pacer);
      this.socket?.destroy();
      this.server.close();
    }
  }

  for (const kind of SERVER_KINDS) {
    it(`${kind}: what STAT says while the source sends`, { timeout: 20_000 }, async (t) => {
      const receiver = new SlowReceiver();
      try {
        const port = await receiver.listen();
        const S = await session(fxpServers[kind]);
        assert.equal((await S.cmd(`PORT ${portTuple('127.0.0.1', port)}`)).code, 200);
        S.send('RETR big.bin');
        const prelim = await S.reply();
        assert.equal(prelim.code, 150, line(prelim));
        // The receiver has read 1 MiB and stopped: the source is blocked in the transfer.
        const deadline = Date.now() + 5_000;
        while (receiver.received < 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        S.send('STAT');
        // While the receiver waits (the source still fills the socket buffers), then while it reads
        // slowly (~12 MB/s, 1.5 s): does STAT get answered while the transfer runs?
        const stalled = await S.replyWithin(SILENCE_MS);
        const before = receiver.received;
        receiver.pace(256 * 1024);
        const during = stalled ?? (await S.replyWithin(1_500));
        const receivedAtReply = receiver.received;
        if (!during) assert.ok(receiver.received - before > 1024 * 1024, `the transfer ran (${receiver.received - before} bytes)`);
        assert.ok(receivedAtReply < BIG.length, 'and was still running');
        receiver.pace(Infinity);
        // Then the rest: Pure-FTPd its 226; the others their 226 and the STAT reply; nothing more.
        const rest: RawReply[] = [];
        while (rest.length < (kind === 'pureftpd' ? 1 : 2)) rest.push(await S.reply(10_000));
        assert.equal(line(await S.replyWithin(300)), '(no reply)');
        t.diagnostic(`STAT ${during ? `answered at ${receivedAtReply} bytes: ${line(during)}` : 'not answered during the transfer'}; then: ${rest.map(line).join(' | ')}`);
        const done = rest.find((r) => r.code === 226);
        assert.ok(done, `226 after the transfer: ${rest.map(line).join(' | ')}`);
        if (kind === 'pureftpd') {
          // Read during the transfer, answered at once: Pure-FTPd knows only ABOR then.
          assert.equal(line(during), '500 Unknown command');
          assert.equal(done.lines[0], '226-File successfully transferred');
          assert.match(done.lines[1] ?? '', /^226 \d+\.\d{3} seconds \(measured here\), [\d.]+ [KM]?bytes per second$/);
        } else {
          assert.equal(during, null, `${kind} does not answer during the transfer`);
          assert.equal(rest[0], done, '226 first, then the STAT reply');
          const status = rest[1];
          assert.ok(status, 'the STAT reply after the 226');
          assert.equal(status.code, 211);
          if (kind === 'vsftpd') {
            assert.deepEqual([status.lines[0], status.lines.at(-1)], ['211-FTP server status:', '211 End of status']);
            assert.ok(!status.lines.some((l) => /bytes|transferr/i.test(l)), replyText(status));
          } else {
            assert.equal(status.lines[0], "211-Status of 'ftp-session test server'");
            assert.ok(status.lines.includes(` Total bytes transferred for session: ${BIG.length}`), replyText(status));
            assert.ok(status.lines.includes(' No data connection'), replyText(status));
          }
        }
      } finally {
        receiver.close();
      }
    });
  }
});

describe('progress from a third connection: SIZE on the target during its STOR', { timeout: 60_000 }, () => {
  for (const kind of SERVER_KINDS) {
    it(`${kind} writes the upload in place: SIZE follows the bytes received`, { timeout: 20_000 }, async () => {
      const server = fxpServers[kind];
      const [up, monitor] = [await session(server), await session(server)];
      const rel = uploadName(server);
      const { host, port } = parsePasv(await up.cmd('PASV'));
      up.send(`STOR ${rel}`);
      // A plain passive upload from the control peer's address (the data a source server would send).
      const data = connect({ host, port, localAddress: CLIENT });
      data.on('error', () => undefined);
      try {
        assert.equal((await up.reply()).code, 150);
        /** SIZE polled (bounded) until it says `bytes`; the last reply. */
        const sizeReaches = async (bytes: number): Promise<string> => {
          let last = '';
          for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
            last = line(await monitor.cmd(`SIZE ${rel}`));
            if (last === `213 ${bytes}`) break;
          }
          return last;
        };
        assert.equal(await sizeReaches(0), '213 0');
        data.write(BIG.subarray(0, 1 << 20));
        assert.equal(await sizeReaches(1 << 20), `213 ${1 << 20}`);
        data.write(BIG.subarray(1 << 20, 4 << 20));
        assert.equal(await sizeReaches(4 << 20), `213 ${4 << 20}`);
        data.end();
        assert.equal((await up.final()).code, 226);
        assert.equal(line(await monitor.cmd(`SIZE ${rel}`)), `213 ${4 << 20}`);
      } finally {
        data.destroy();
      }
    });
  }
});
