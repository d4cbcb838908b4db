/**
 * transferFile (FXP) between real servers: vsftpd→ProFTPD and ProFTPD→vsftpd, byte-exact (sha256
 * on disk) for 0 bytes, a small and a 64 MiB file; progress; events on both sessions; ifExists;
 * verification (sizes; hashes between two ProFTPD with mod_digest) and a forced mismatch; resume
 * after the target's data connection is cut halfway (fault proxy); an orientation refused, then
 * the other one; servers that refuse FXP (FxpError naming the side) and the fallback through the
 * client; a folder tree; FTPS (SSCN, never a silent PROT C). The clients' control connections come from 127.0.0.2, so the servers' foreign-address
 * checks apply (see `fxp` in spec/support/servers.ts). Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FtpSession, FxpError, IntegrityError, type FxpOptions, type FxpResult, type TransferProgress } from '../../lib/index.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { sha256 } from '../support/hash.js';
import { startServer, writeFixture, type RunningServer, type ServerKind, type ServerOptions } from '../support/servers.js';
import { within } from '../support/traced.js';

const MiB = 1024 * 1024;
const BIG = randomBytes(64 * MiB);
const SMALL = randomBytes(10_000);
const CLIENT_ADDRESS = '127.0.0.2';

/** A session to `server` (or to `via`, a proxy in front of it) from 127.0.0.2, recording its FXP steps. */
async function open(server: RunningServer, via?: { host: string; port: number }): Promise<{ ftp: FtpSession; steps: string[] }> {
  const ftp = await FtpSession.connect({
    host: via?.host ?? server.host, port: via?.port ?? server.port, user: server.user, password: server.password,
    sourceAddress: CLIENT_ADDRESS, reconnectDelay: 50, ...(server.tls ? { tls: 'explicit' as const, tlsOptions: { ca: server.tls.ca } } : {}),
  });
  const steps: string[] = [];
  ftp.on('fxp_step', (role, line, code) => steps.push(`${role} ${line} ${code}`));
  return { ftp, steps };
}

const onDisk = async (server: RunningServer, name: string): Promise<Buffer> => readFile(join(server.root, server.uploadDir, name));

/** Copies with a bounded wait. */
function copy(from: FtpSession, path: string, to: FtpSession, target: string, options: FxpOptions = {}): Promise<FxpResult> {
  return within(from.transferFile(path, to, target, options), 60_000, `transferFile ${path} -> ${target}`);
}

interface Pair { source: RunningServer; target: RunningServer; from: FtpSession; to: FtpSession; sourceSteps: string[]; targetSteps: string[] }

async function pair(source: ServerKind, target: ServerKind, options: { source?: ServerOptions; target?: ServerOptions } = {}): Promise<Pair> {
  const [s, t] = await Promise.all([startServer(source, options.source ?? { fxp: true }), startServer(target, options.target ?? { fxp: true })]);
  await Promise.all([writeFixture(s, 'big.bin', BIG), writeFixture(s, 'small.bin', SMALL), writeFixture(s, 'empty.bin', Buffer.alloc(0))]);
  const [a, b] = await Promise.all([open(s), open(t)]);
  return { source: s, target: t, from: a.ftp, to: b.ftp, sourceSteps: a.steps, targetSteps: b.steps };
}

async function unpair(p: Pair | undefined): Promise<void> {
  if (!p) return;
  await Promise.all([p.from.close(), p.to.close()]);
  await Promise.all([p.source.stop(), p.target.stop()]);
}

for (const [sourceKind, targetKind] of [['vsftpd', 'proftpd'], ['proftpd', 'vsftpd']] as const) {
  describe(`FXP ${sourceKind} → ${targetKind}`, () => {
    let p: Pair;
    before(async () => { p = await pair(sourceKind, targetKind); });
    after(() => unpair(p));

    for (const [name, data] of [['empty.bin', Buffer.alloc(0)], ['small.bin', SMALL], ['big.bin', BIG]] as const) {
      it(`copies ${name} (${data.length} bytes) byte-exact, server to server`, async () => {
        const done: string[] = [];
        p.from.on('fxp_done', (role, path) => done.push(`${role} ${path}`));
        p.to.on('fxp_done', (role, path) => done.push(`${role} ${path}`));
        const result = await copy(p.from, name, p.to, `${p.target.uploadDir}/${name}`);
        assert.equal(result.via, 'fxp');
        assert.equal(result.status, 'done');
        assert.equal(result.verified, 'size');
        assert.equal(sha256(await onDisk(p.target, name)), sha256(data));
        // The target listened, the source was told where to connect; both answered 2xx at the end.
        assert.ok(p.targetSteps.some((step) => /^target PASV 227$/.test(step)), p.targetSteps.join('\n'));
        assert.ok(p.sourceSteps.some((step) => /^source PORT 127,0,0,1,\d+,\d+ 200$/.test(step)), p.sourceSteps.join('\n'));
        assert.match(p.sourceSteps.at(-1)!, /^source \(RETR done\) 226$/);
        assert.match(p.targetSteps.at(-1)!, /^target \(STOR done\) 226$/);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(done.sort(), [`source ${name}`, `target ${p.target.uploadDir}/${name}`]);
        assert.deepEqual((await p.to.listDirs(p.target.uploadDir)).filter((entry) => entry.endsWith('.part')), [], 'no temporary name left');
      });
    }

    it('reports progress from the target\'s SIZE, monotonic, ending at 100 %', async () => {
      const reports: TransferProgress[] = [];
      const events: TransferProgress[] = [];
      p.to.on('fxp_progress', (progress) => events.push(progress));
      await copy(p.from, 'big.bin', p.to, `${p.target.uploadDir}/progress.bin`, { onProgress: (r) => reports.push(r), progressInterval: 5 });
      assert.ok(reports.length >= 2, `${reports.length} reports`);
      for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.bytes >= reports[i - 1]!.bytes, 'monotonic');
      const last = reports.at(-1)!;
      assert.equal(last.bytes, BIG.length);
      assert.equal(last.total, BIG.length);
      assert.equal(last.percent, 100);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(events.at(-1)?.percent, 100, 'fxp_progress on the target session');
    });

    it('ifExists: skip leaves the target, fail throws, resume appends the rest', async () => {
      const name = `${p.target.uploadDir}/exists.bin`;
      await writeFixture(p.target, name, BIG.subarray(0, 5 * MiB));
      assert.equal((await copy(p.from, 'big.bin', p.to, name, { ifExists: 'skip' })).status, 'skipped');
      await assert.rejects(copy(p.from, 'big.bin', p.to, name, { ifExists: 'fail' }), { code: 'ERR_FTP_EXISTS' });
      const before = p.sourceSteps.length;
      const result = await copy(p.from, 'big.bin', p.to, name, { ifExists: 'resume' });
      assert.equal(result.resumedFrom, 5 * MiB);
      assert.equal(result.transferred, BIG.length - 5 * MiB);
      assert.ok(p.sourceSteps.slice(before).includes(`source REST ${5 * MiB} 350`), p.sourceSteps.slice(before).join('\n'));
      assert.ok(p.targetSteps.some((step) => step.startsWith(`target APPE ${name} 150`)), p.targetSteps.join('\n'));
      assert.equal(sha256(await onDisk(p.target, 'exists.bin')), sha256(BIG));
    });

    it('refuses a source file that does not exist before sending anything for the copy', async () => {
      const before = p.sourceSteps.length;
      await assert.rejects(copy(p.from, 'missing.bin', p.to, `${p.target.uploadDir}/missing.bin`), { code: 'ERR_FTP_REPLY', replyCode: 550 });
      assert.equal(p.sourceSteps.length, before, 'no FXP step');
      assert.equal(existsSync(join(p.target.root, p.target.uploadDir, 'missing.bin')), false);
    });
  });
}

describe('FXP verification between two ProFTPD with mod_digest', () => {
  let p: Pair;
  before(async () => { p = await pair('proftpd', 'proftpd', { source: { fxp: true, hash: true }, target: { fxp: true, hash: true } }); });
  after(() => unpair(p));

  it('compares a hash both servers offer', async () => {
    const result = await copy(p.from, 'small.bin', p.to, `${p.target.uploadDir}/hashed.bin`, { verify: 'hash' });
    assert.equal(result.verified, 'SHA-256');
  });

  it('a forced mismatch (a resumed target whose first bytes differ) throws, deletes, or copies again', async () => {
    const name = `${p.target.uploadDir}/mismatch.bin`;
    const wrongStart = Buffer.concat([Buffer.alloc(1000, 0x55), SMALL.subarray(1000, 4000)]);
    await writeFixture(p.target, name, wrongStart);
    await assert.rejects(copy(p.from, 'small.bin', p.to, name, { ifExists: 'resume', verify: 'hash', onMismatch: 'delete' }), IntegrityError);
    assert.equal(existsSync(join(p.target.root, name)), false, 'deleted after the mismatch');
    await writeFixture(p.target, name, wrongStart);
    const result = await copy(p.from, 'small.bin', p.to, name, { ifExists: 'resume', verify: 'hash', onMismatch: 'retry' });
    assert.equal(result.attempts, 2);
    assert.equal(result.verified, 'SHA-256');
    assert.equal(sha256(await onDisk(p.target, 'mismatch.bin')), sha256(SMALL));
  });
});

describe('FXP resume after the target\'s data connection is cut halfway', () => {
  let p: Pair;
  before(async () => { p = await pair('vsftpd', 'proftpd'); });
  after(() => unpair(p));

  it('reconnects nothing it does not need, asks the target its SIZE, and continues with REST and APPE', async () => {
    const proxy = await startFaultProxy({ target: p.target });
    const { ftp: to, steps } = await open(p.target, proxy);
    try {
      proxy.onData('reset', BIG.length / 2);
      const result = await copy(p.from, 'big.bin', to, `${p.target.uploadDir}/cut.bin`);
      assert.equal(result.attempts, 2, steps.join('\n'));
      assert.equal(sha256(await onDisk(p.target, 'cut.bin')), sha256(BIG));
      const rest = p.sourceSteps.find((step) => /^source REST \d+ 350$/.test(step));
      assert.ok(rest, p.sourceSteps.join('\n'));
      const offset = Number(rest.split(' ')[2]);
      assert.ok(offset > 0 && offset < BIG.length, `resumed at ${offset}`);
      assert.ok(steps.some((step) => /^target APPE \S+ 150$/.test(step)), steps.join('\n'));
    } finally {
      await to.close();
      await proxy.close();
    }
  });
});

describe('FXP refused', () => {
  it('tries the other orientation when the source refuses PORT (vsftpd port_promiscuous=NO)', async () => {
    const p = await pair('vsftpd', 'proftpd', { source: { fxp: { port: false, pasv: true } } });
    try {
      const result = await copy(p.from, 'small.bin', p.to, `${p.target.uploadDir}/turned.bin`);
      assert.equal(result.via, 'fxp');
      assert.ok(p.sourceSteps.some((step) => /^source PORT \S+ 500$/.test(step)), p.sourceSteps.join('\n'));
      assert.ok(p.sourceSteps.includes('source PASV 227'), p.sourceSteps.join('\n'));
      assert.ok(p.targetSteps.some((step) => /^target PORT \S+ 200$/.test(step)), p.targetSteps.join('\n'));
      assert.equal(sha256(await onDisk(p.target, 'turned.bin')), sha256(SMALL));
    } finally {
      await unpair(p);
    }
  });

  it('names the side that refused when neither orientation works, and falls back to the client when asked', async () => {
    const p = await pair('vsftpd', 'proftpd', { source: {}, target: {} });
    try {
      const error = await copy(p.from, 'small.bin', p.to, `${p.target.uploadDir}/refused.bin`).then(() => null, (e: unknown) => e);
      assert.ok(error instanceof FxpError, String(error));
      assert.equal(error.code, 'ERR_FTP_FXP');
      assert.ok(error.side === 'source' || error.side === 'target');
      assert.match(error.message, /refused/);
      assert.equal(existsSync(join(p.target.root, p.target.uploadDir, 'refused.bin')), false, 'nothing left on the target');
      const result = await copy(p.from, 'big.bin', p.to, `${p.target.uploadDir}/relayed.bin`, { fallback: 'client' });
      assert.equal(result.via, 'client');
      assert.equal(sha256(await onDisk(p.target, 'relayed.bin')), sha256(BIG));
    } finally {
      await unpair(p);
    }
  });
});

describe('FXP of a folder tree', () => {
  let p: Pair;
  before(async () => {
    p = await pair('proftpd', 'vsftpd');
    await writeFixture(p.source, 'tree/a.bin', SMALL);
    await writeFixture(p.source, 'tree/sub/b.bin', BIG.subarray(0, MiB));
  });
  after(() => unpair(p));

  it('transferDir copies every file, folders made on the target', async () => {
    const result = await within(p.from.transferDir('tree', p.to, `${p.target.uploadDir}/tree`), 60_000, 'transferDir');
    assert.equal(result.done, 2);
    assert.equal(result.failed, 0);
    assert.equal(sha256(await onDisk(p.target, 'tree/a.bin')), sha256(SMALL));
    assert.equal(sha256(await onDisk(p.target, 'tree/sub/b.bin')), sha256(BIG.subarray(0, MiB)));
  });
});

describe('FXP between FTPS sessions (PROT P on both)', () => {
  let p: Pair;
  before(async () => {
    const tls = { mode: 'explicit' } as const;
    p = await pair('vsftpd', 'proftpd', { source: { fxp: true, tls }, target: { fxp: true, tls } });
  });
  after(() => unpair(p));

  it('makes the server that offers SSCN the TLS client, never copies in clear, and gives SSCN back', async () => {
    // ProFTPD offers SSCN, vsftpd does not; vsftpd requires the data connection to resume its
    // control connection's TLS session, which ProFTPD (as TLS client) cannot: 522, reported as such.
    const error = await copy(p.from, 'small.bin', p.to, `${p.target.uploadDir}/tls.bin`, { attempts: 1 }).then(() => null, (e: unknown) => e);
    assert.ok(p.targetSteps.includes('target SSCN ON 200'), p.targetSteps.join('\n'));
    assert.ok(p.targetSteps.includes('target SSCN OFF 200'), p.targetSteps.join('\n'));
    assert.ok(![...p.sourceSteps, ...p.targetSteps].some((step) => step.includes('PROT C')), 'no PROT C unless asked');
    if (error !== null) {
      assert.ok(error instanceof Error && 'replyCode' in error && (error.replyCode as number) >= 400, String(error));
      assert.equal(existsSync(join(p.target.root, p.target.uploadDir, 'tls.bin')), false, 'a failed copy leaves nothing');
    } else {
      assert.equal(sha256(await onDisk(p.target, 'tls.bin')), sha256(SMALL));
    }
  });

  it('clearData asks for PROT C, and a server that requires protection refuses it (FxpError, PROT P given back)', async () => {
    const before = p.sourceSteps.length;
    const error = await copy(p.from, 'small.bin', p.to, `${p.target.uploadDir}/clear.bin`, { clearData: true, attempts: 1 }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof FxpError, String(error));
    assert.equal(error.stage, 'tls');
    assert.equal(error.side, 'target');
    await new Promise((resolve) => setImmediate(resolve)); // events are delivered after the call settles
    const steps = p.sourceSteps.slice(before);
    assert.equal(steps.at(-1), 'source PROT P 200', steps.join('\n'));
    // The source session still protects its own transfers.
    assert.equal(sha256(await p.from.retrFile('small.bin', join(p.source.root, 'copy-back.bin')).then(() => readFile(join(p.source.root, 'copy-back.bin')))), sha256(SMALL));
  });
});
