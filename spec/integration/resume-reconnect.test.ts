/**
 * retrFile and store of 64 MiB through the fault proxy in front of a real vsftpd (and store on
 * ProFTPD), with the control connection reset once, halfway through the data (where the server
 * allows it, the data connection is held at exactly 32 MiB first, so the cut lands there): the
 * session reconnects by itself (the `reconnected` event), the transfer goes on from where it
 * stopped, and the file arrives byte-exact (sha256), under its own name, with no `.part` left behind.
 * Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { FtpSession, type FileTransferResult } from '../../lib/index.js';
import { nextEvent, recordEvents, type Recorded } from '../support/events.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sha256 } from '../support/hash.js';
import { startServer, writeFixture, type RunningServer } from '../support/servers.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const HALF = 32 * MiB;
const BIG = randomBytes(SIZE);
const BIG_HASH = sha256(BIG);
const TEST = { timeout: 90_000 };
const WAIT_MS = 60_000;
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** Resolves once `ready()` holds (polled every 2 ms); rejects after `ms` with `what` and a hint. */
async function until(ready: () => boolean, what: string, hint: () => unknown = () => '', ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; ${JSON.stringify(hint())}`);
    await sleep(2);
  }
}

/** The command lines sent on control connection `index` (1-based). */
const sentOn = (proxy: FaultProxy, index: number) => proxy.log.filter((l) => l.connection === index).map((l) => l.line);
/** The login as the proxy logs it: vsftpd's anonymous USER is enough, ProFTPD's user needs PASS. */
const loginLines = (server: RunningServer) => [`USER ${server.user}`, ...(server.badPasswordRejected ? ['PASS ****'] : [])];
const named = (events: Recorded[], name: string) => events.filter((e) => e.name === name);

interface Setup {
  proxy: FaultProxy;
  ftp: FtpSession;
  events: Recorded[];
  /** The session's protocol trace (sent and received lines, state changes). */
  trace: string[];
  dir: string;
}

/** A proxy in front of `server`, a session logged in through it, and a local temporary folder; all released after the test. */
async function setUp(t: TestContext, server: RunningServer): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'ftp-resume-reconnect-'));
  const proxy = await startFaultProxy({ target: server });
  const trace: string[] = [];
  const ftp = FtpSession.spawn({
    host: proxy.host, port: proxy.port, user: server.user, password: server.password,
    timeout: 5000, transferMode: 'binary', debug: (line) => trace.push(line),
  });
  t.after(async () => {
    await ftp.close();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });
  const events = recordEvents(ftp);
  await within(ftp.ready(), 'login', 10_000);
  return { proxy, ftp, events, trace, dir };
}

/** The protocol lines of a trace (for failure messages), without the session prefix. */
const protocol = (trace: string[]) => trace.filter((line) => /(>>>|<<<|---) /.test(line)).map((line) => line.replace(/^FtpSession#\d+/, '')).slice(-60);

describe('resume across a forced reconnect, vsftpd behind the fault proxy', { timeout: 300_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer('vsftpd');
    await writeFixture(server, 'big/r.bin', BIG);
  });
  after(() => server?.stop());

  it('retrFile of 64 MiB, control connection reset after 32 MiB: reconnects, resumes with REST, byte-exact, no .part', TEST, async (t) => {
    const { proxy, ftp, events, trace, dir } = await setUp(t, server);
    const local = join(dir, 'r.bin');
    proxy.onData('stall', HALF); // holds the data at exactly 32 MiB, so the cut lands there
    const reconnected = nextEvent(ftp, 'reconnected', WAIT_MS);
    reconnected.catch(() => {});
    const began = Date.now();
    const transfer = ftp.retrFile('big/r.bin', local);
    transfer.catch(() => {});
    await until(() => proxy.dataBytes.toClient >= HALF, '32 MiB forwarded', () => proxy.dataBytes);
    await sleep(100); // the client has read what the proxy forwarded
    proxy.faultControl('reset');

    const result = await within(transfer, 'retrFile').catch((error: unknown) => {
      assert.fail(`retrFile rejected: ${String(error)}; sent ${JSON.stringify(proxy.log)}; trace ${JSON.stringify(protocol(trace))}`);
    });
    const took = Date.now() - began;
    assert.deepEqual(await within(reconnected, 'the reconnected event', 1000), [2]);
    assert.equal(ftp.connectCount, 2);

    const bytes = await readFile(local);
    assert.equal(bytes.length, SIZE);
    assert.equal(sha256(bytes), BIG_HASH, 'byte-exact');
    assert.deepEqual(await readdir(dir), ['r.bin'], 'no .part left behind');

    const first = sentOn(proxy, 1);
    const second = sentOn(proxy, 2);
    const rest = second.find((line) => line.startsWith('REST ')) ?? 'REST ?';
    const offset = Number(rest.slice(5));
    t.diagnostic(`${took} ms; result ${JSON.stringify(result)}; connection 1 ${JSON.stringify(first)}; connection 2 ${JSON.stringify(second)}; data to client ${proxy.dataBytes.toClient}`);
    assert.deepEqual(first, [...loginLines(server), 'TYPE I', 'SIZE big/r.bin', 'MDTM big/r.bin', 'EPSV', 'RETR big/r.bin']);
    assert.ok(offset > 0 && offset <= HALF, `resumed at ${offset}: after byte 0 and no later than the 32 MiB forwarded`);
    const restAt = second.indexOf(rest);
    assert.deepEqual(second.slice(restAt - 1, restAt + 2), ['EPSV', rest, 'RETR big/r.bin'], 'REST right before RETR, after EPSV');
    assert.equal(second.at(-1), 'SIZE big/r.bin', 'verified by size on the new connection');
    assert.equal(proxy.dataBytes.toClient, HALF + SIZE - offset, 'the second RETR sent exactly the rest');
    // The core resumed the download by itself: one attempt for retrFile, every byte counted once.
    assert.deepEqual(result, { status: 'done', transferred: SIZE, resumedFrom: 0, verified: 'size', attempts: 1 } satisfies FileTransferResult);
    assert.equal(named(events, 'reconnected').length, 1);
    assert.equal(named(events, 'reconnect_error').length, 0);
  });

  // No stall here: vsftpd write-locks an upload until its transfer ends (lock_upload_files), so a
  // first STOR held open by a stalled data connection would block the resumed one for good. The
  // control connection is reset as soon as 32 MiB have passed; the client then closes its data
  // connection, vsftpd ends the first transfer and releases the lock. The cut lands a little after 32 MiB.
  it('store of 64 MiB, control connection reset once 32 MiB have passed: reconnects, resumes from the remote size, byte-exact, no .part', TEST, async (t) => {
    const { proxy, ftp, events, trace, dir } = await setUp(t, server);
    const local = join(dir, 'v.bin');
    await writeFile(local, BIG);
    const reconnected = nextEvent(ftp, 'reconnected', WAIT_MS);
    reconnected.catch(() => {});
    const transfer = ftp.store(local, 'upload/v.bin');
    transfer.catch(() => {});
    await until(() => proxy.dataBytes.toServer >= HALF, '32 MiB forwarded', () => proxy.dataBytes);
    const cutAt = proxy.dataBytes.toServer;
    proxy.faultControl('reset');

    const result = await within(transfer, 'store').catch((error: unknown) => {
      assert.fail(`store rejected: ${String(error)}; sent ${JSON.stringify(proxy.log)}; trace ${JSON.stringify(protocol(trace))}`);
    });
    assert.deepEqual(await within(reconnected, 'the reconnected event', 1000), [2]);
    assert.equal(ftp.connectCount, 2);
    const stored = await readFile(join(server.root, 'upload/v.bin'));
    assert.equal(stored.length, SIZE);
    assert.equal(sha256(stored), BIG_HASH, 'byte-exact on the server');
    const left = (await readdir(join(server.root, 'upload'))).filter((name) => name.includes('v.bin'));
    assert.deepEqual(left, ['v.bin'], 'no .part left behind on the server');

    const first = sentOn(proxy, 1);
    const second = sentOn(proxy, 2);
    t.diagnostic(`cut at ${cutAt} bytes; result ${JSON.stringify(result)}; connection 2 ${JSON.stringify(second)}`);
    assert.ok(cutAt < SIZE, 'the cut came before the end of the upload');
    const stor = first.find((line) => line.startsWith('STOR ')) ?? 'STOR ?';
    const temp = stor.slice(5);
    assert.deepEqual(first, [...loginLines(server), 'TYPE I', 'EPSV', stor]);
    const rest = second.find((line) => line.startsWith('REST ')) ?? 'REST ?';
    const offset = Number(rest.slice(5));
    assert.ok(offset > 0 && offset < SIZE, `resumed at ${offset}`);
    const restAt = second.indexOf(rest);
    assert.deepEqual(second.slice(restAt - 2, restAt + 2), [`SIZE ${temp}`, 'EPSV', rest, stor], 'SIZE of the temporary file, then REST right before STOR');
    assert.deepEqual(second.slice(-3), [`SIZE ${temp}`, `RNFR ${temp}`, 'RNTO upload/v.bin']);
    assert.deepEqual([result.status, result.resumedFrom, result.verified, result.attempts], ['done', 0, 'size', 2]);
    assert.ok(result.transferred >= SIZE - offset && result.transferred <= SIZE + HALF, `transferred ${result.transferred}`);
    assert.equal(named(events, 'reconnected').length, 1);
  });
});

// The exact cut at 32 MiB for an upload: vsftpd cannot take it (the stalled first STOR keeps its
// upload lock, the resumed STOR times out waiting for it), ProFTPD takes no such lock
// (AllowStoreRestart is on in its test config).
describe('resume across a forced reconnect, ProFTPD behind the fault proxy', { timeout: 300_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer('proftpd');
  });
  after(() => server?.stop());

  it('store of 64 MiB, control connection reset after 32 MiB: reconnects, resumes from the remote size, byte-exact under server.root, no .part', TEST, async (t) => {
    const { proxy, ftp, events, trace, dir } = await setUp(t, server);
    const local = join(dir, 's.bin');
    await writeFile(local, BIG);
    proxy.onData('stall', HALF);
    const reconnected = nextEvent(ftp, 'reconnected', WAIT_MS);
    reconnected.catch(() => {});
    const began = Date.now();
    const transfer = ftp.store(local, 'upload/s.bin');
    transfer.catch(() => {});
    await until(() => proxy.dataBytes.toServer >= HALF, '32 MiB forwarded', () => proxy.dataBytes);
    await sleep(100); // the server has written what the proxy forwarded
    proxy.faultControl('reset');

    const result = await within(transfer, 'store').catch((error: unknown) => {
      assert.fail(`store rejected: ${String(error)}; sent ${JSON.stringify(proxy.log)}; trace ${JSON.stringify(protocol(trace))}`);
    });
    const took = Date.now() - began;
    assert.deepEqual(await within(reconnected, 'the reconnected event', 1000), [2]);
    assert.equal(ftp.connectCount, 2);

    const stored = await readFile(join(server.root, 'upload/s.bin'));
    assert.equal(stored.length, SIZE);
    assert.equal(sha256(stored), BIG_HASH, 'byte-exact on the server');
    const left = (await readdir(join(server.root, 'upload'))).filter((name) => name.includes('s.bin'));
    assert.deepEqual(left, ['s.bin'], 'no .part left behind on the server');

    const first = sentOn(proxy, 1);
    const second = sentOn(proxy, 2);
    t.diagnostic(`${took} ms; result ${JSON.stringify(result)}; connection 1 ${JSON.stringify(first)}; connection 2 ${JSON.stringify(second)}; data to server ${proxy.dataBytes.toServer}`);
    const stor = first.find((line) => line.startsWith('STOR ')) ?? 'STOR ?';
    const temp = stor.slice(5);
    assert.match(temp, /^upload\/\.s\.bin\.[0-9a-f]+\.part$/, 'written under a temporary name first');
    assert.deepEqual(first, [...loginLines(server), 'TYPE I', 'EPSV', stor]);
    const rest = second.find((line) => line.startsWith('REST ')) ?? 'REST ?';
    const offset = Number(rest.slice(5));
    assert.ok(offset > 0 && offset <= HALF, `resumed at ${offset}: after byte 0 and no later than the 32 MiB forwarded`);
    const restAt = second.indexOf(rest);
    assert.equal(second[restAt - 2], `SIZE ${temp}`, 'the offset is the temporary file\'s remote size');
    assert.deepEqual(second.slice(restAt - 1, restAt + 2), ['EPSV', rest, stor], 'REST right before STOR, after EPSV');
    assert.deepEqual(second.slice(-3), [`SIZE ${temp}`, `RNFR ${temp}`, 'RNTO upload/s.bin'], 'verified, then renamed into place');
    assert.equal(proxy.dataBytes.toServer, HALF + SIZE - offset, 'the second STOR sent exactly the rest');
    assert.equal(result.status, 'done');
    assert.equal(result.resumedFrom, 0);
    assert.equal(result.verified, 'size');
    assert.equal(result.attempts, 2, 'an upload cannot be replayed by the core: store resumed it');
    assert.ok(result.transferred >= SIZE && result.transferred <= SIZE + HALF, `transferred ${result.transferred}`);
    assert.equal(named(events, 'reconnected').length, 1);
    assert.equal(named(events, 'reconnect_error').length, 0);
  });
});
