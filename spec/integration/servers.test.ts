/**
 * The session against real servers (vsftpd, ProFTPD, Pure-FTPd), in passive and active mode:
 * login, every simple command, listings, downloads of 0 bytes, a small and a 64 MiB file (by
 * hash), the put flow, rename, queueing before login, the events filter and 550 errors.
 * Needs `npm run test:setup` (root) first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FtpSession, type ConnectionMode } from '../../lib/index.js';
import { nextEvent, recordEvents, runCommand, uploadPaced } from '../support/events.js';
import { sha256 } from '../support/hash.js';
import { SERVER_KINDS, startServer, writeFixture, type RunningServer } from '../support/servers.js';

const BIG = randomBytes(64 * 1024 * 1024);
const BIG_HASH = sha256(BIG);
const SMALL = Buffer.from('small file\r\nwith two lines\n');
const MTIME = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));

async function loggedIn(server: RunningServer, mode: ConnectionMode, extra: Partial<Parameters<typeof FtpSession.spawn>[0]> = {}) {
  const ftp = FtpSession.spawn({
    host: server.host, port: server.port, user: server.user, password: server.password,
    connectionMode: mode, transferMode: 'binary', timeout: 10_000, debug: process.env.FTP_DEBUG ? 2 : false, ...extra,
  });
  await nextEvent(ftp, 'authenticated');
  return ftp;
}

for (const kind of SERVER_KINDS) {
  describe(kind, { timeout: 180_000 }, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer(kind);
      await writeFixture(server, 'empty.bin', Buffer.alloc(0));
      await writeFixture(server, 'small.txt', SMALL);
      await writeFixture(server, 'big.bin', BIG);
      await writeFixture(server, 'dir/sub/inner.txt', Buffer.from('inner'));
      await utimes(join(server.root, 'small.txt'), MTIME, MTIME);
    });
    after(() => server.stop());

    for (const mode of ['passive', 'active'] as const) {
      describe(mode, () => {
        let ftp: FtpSession;
        before(async () => {
          ftp = await loggedIn(server, mode);
        });
        after(() => ftp.close());

        it('runs every simple command with POE event arguments', async () => {
          const syst = await runCommand(ftp, 'syst', []);
          assert.equal(syst.event, 'syst');
          assert.equal(syst.args[0], 215);
          assert.equal((await runCommand(ftp, 'noop', [])).args[0], 200);
          const pwd = await runCommand(ftp, 'pwd', []);
          assert.deepEqual([pwd.event, pwd.args[0], pwd.args[3]], ['pwd', 257, '/']);
          const cd = await runCommand(ftp, 'cd', ['dir/sub']);
          assert.deepEqual([cd.event, cd.args[0], cd.args[2]], ['cd', 250, 'dir/sub']);
          assert.equal((await runCommand(ftp, 'pwd', [])).args[3], '/dir/sub');
          const cdup = await runCommand(ftp, 'cdup', []);
          assert.equal(cdup.event, 'cdup');
          assert.ok([200, 250].includes(cdup.args[0] as number));
          assert.equal((await runCommand(ftp, 'pwd', [])).args[3], '/dir');
          await runCommand(ftp, 'cd', ['/']);
          assert.equal((await runCommand(ftp, 'type', ['A'])).args[0], 200);
          assert.equal((await runCommand(ftp, 'type', ['I'])).args[0], 200);
          const size = await runCommand(ftp, 'size', ['small.txt']);
          assert.deepEqual([size.event, size.args[0], size.args[2], size.args[3]], ['size', 213, 'small.txt', SMALL.length]);
          const mdtm = await runCommand(ftp, 'mdtm', ['small.txt']);
          assert.equal(mdtm.event, 'mdtm');
          assert.equal((mdtm.args[3] as Date).getTime(), MTIME.getTime());
          const feat = await runCommand(ftp, 'feat', []);
          assert.equal(feat.event, 'feat');
          assert.ok((feat.args[3] as Map<string, string>).has('SIZE'));
          const help = await runCommand(ftp, 'help', []);
          assert.equal(help.event, 'help');
          assert.equal(help.args[0], 214);
          const stat = await runCommand(ftp, 'stat', []);
          assert.deepEqual([stat.event, stat.args[0]], ['stat', 211]);
          assert.equal(stat.args[1], ftp.message, 'STAT text keeps every line of the reply');
          const quot = await runCommand(ftp, 'quot', ['NOOP']);
          assert.deepEqual([quot.event, quot.args[0], quot.args[2]], ['quot', 200, 'NOOP']);
          const site = await runCommand(ftp, 'site', ['HELP']);
          assert.ok(['site', 'site_error'].includes(site.event));
          assert.equal(typeof site.args[0], 'number');
        });

        it('makes, removes and deletes in the upload folder', async () => {
          const dir = `${server.uploadDir}/${mode}-made`;
          const mk = await runCommand(ftp, 'mkdir', [dir]);
          assert.deepEqual([mk.event, mk.args[0]], ['mkdir', 257]);
          const rm = await runCommand(ftp, 'rmdir', [dir]);
          assert.deepEqual([rm.event, rm.args[0]], ['rmdir', 250]);
          assert.equal((await runCommand(ftp, 'cd', [dir])).event, 'cd_error');
        });

        it('lists with LIST (ls), NLST (dir) and MLSD', async () => {
          const ls = await runCommand(ftp, 'ls', []);
          assert.equal(ls.event, 'ls_done');
          assert.ok(ls.data.some((line) => / small\.txt$/.test(String(line))), `LIST lines: ${ls.data.join(' | ')}`);
          assert.ok(ls.data.every((line) => typeof line === 'string' && !/[\r\n]/.test(line)));
          const nlst = await runCommand(ftp, 'dir', []);
          assert.equal(nlst.event, 'dir_done');
          assert.ok(nlst.data.map(String).map((n) => n.replace(/^\.?\//, '')).includes('small.txt'), `NLST: ${nlst.data.join(' | ')}`);
          const mlsd = await runCommand(ftp, 'mlsd', []);
          if (server.features.mlsd) {
            assert.equal(mlsd.event, 'mlsd_done');
            const entry = mlsd.data.map(String).find((line) => line.endsWith(' small.txt'));
            assert.ok(entry && /type=file;/i.test(entry) && new RegExp(`size=${SMALL.length};`, 'i').test(entry), `MLSD: ${mlsd.data.join(' | ')}`);
          } else {
            assert.deepEqual([mlsd.event, mlsd.args[0]], ['mlsd_error', 500]);
          }
        });

        it('downloads 0 bytes, a small file and 64 MiB byte-exact', async () => {
          const empty = await runCommand(ftp, 'get', ['empty.bin']);
          assert.equal(empty.event, 'get_done');
          assert.equal(Buffer.concat(empty.data as Buffer[]).length, 0);
          const small = await runCommand(ftp, 'get', ['small.txt']);
          assert.equal(small.event, 'get_done');
          assert.deepEqual(Buffer.concat(small.data as Buffer[]), SMALL);
          const big = await runCommand(ftp, 'get', ['big.bin'], 60_000);
          assert.equal(big.event, 'get_done');
          assert.ok(big.data.every((chunk) => (chunk as Buffer).length <= 65_536), 'chunks stay within blockSize');
          assert.equal(sha256(big.data as Buffer[]), BIG_HASH);
        });

        it('uploads with put_data and put_close, honouring put_flushed', async () => {
          const name = `${server.uploadDir}/${mode}-up.bin`;
          const source = BIG.subarray(0, 8 * 1024 * 1024 + 123);
          const { outcome, flushed } = await uploadPaced(ftp, name, source, { chunkSize: 1_000_000, timeoutMs: 60_000 });
          assert.equal(outcome.event, 'put_closed');
          assert.deepEqual(outcome.args, [name]);
          assert.equal(flushed, source.length);
          assert.equal(sha256(await readFile(join(server.root, name))), sha256(source));
          const back = await runCommand(ftp, 'get', [name], 30_000);
          assert.equal(sha256(back.data as Buffer[]), sha256(source));
        });

        it('buffers put_data posted before put_connected, and appends with appe', async () => {
          const name = `${server.uploadDir}/${mode}-early.txt`;
          const events = recordEvents(ftp);
          const done = runCommand(ftp, 'put', [name]);
          ftp.post('put_data', 'hello ');
          ftp.post('put_data', Buffer.from('world'));
          ftp.post('put_close');
          assert.equal((await done).event, 'put_closed');
          const appended = runCommand(ftp, 'appe', [name]);
          ftp.post('put_data', '!');
          ftp.post('put_close');
          assert.equal((await appended).event, 'put_closed');
          assert.equal(await readFile(join(server.root, name), 'utf8'), 'hello world!');
          const names = events.map((e) => e.name).filter((n) => n.startsWith('put_'));
          assert.deepEqual(names.slice(0, 5).sort(), ['put_closed', 'put_connected', 'put_flushed', 'put_flushed', 'put_server']);
          assert.equal(names[4], 'put_closed');
        });

        it('renames, and reports 550 errors with the reply code', async () => {
          const from = `${server.uploadDir}/${mode}-old.txt`;
          const to = `${server.uploadDir}/${mode}-new.txt`;
          await writeFixture(server, from, Buffer.from('r'));
          const events = recordEvents(ftp);
          const renamed = await runCommand(ftp, 'rename', [from, to]);
          assert.deepEqual([renamed.event, renamed.args[0], renamed.args[2]], ['rename', 250, to]);
          assert.deepEqual(events.filter((e) => e.name === 'rename_partial').map((e) => [e.args[0], e.args[2]]), [[350, from]]);
          assert.equal(await readFile(join(server.root, to), 'utf8'), 'r');
          const missing = await runCommand(ftp, 'rename', ['no-such-file', to]);
          assert.deepEqual([missing.event, missing.args[0], missing.args[2]], ['rename_error', 550, 'no-such-file']);
          for (const [name, args] of [['get', ['no-such-file']], ['cd', ['no-such-dir']], ['size', ['no-such-file']], ['delete', ['no-such-file']]] as const) {
            const outcome = await runCommand(ftp, name, args as never);
            assert.equal(outcome.event, `${name}_error`);
            assert.equal(outcome.args[0], 550, `${name}: ${String(outcome.args[1])}`);
            assert.equal(outcome.args[2], 'no-such-file'.replace('file', name === 'cd' ? 'dir' : 'file'));
          }
          const deleted = await runCommand(ftp, 'delete', [to]);
          assert.deepEqual([deleted.event, deleted.args[0]], ['delete', 250]);
        });
      });
    }

    it('queues commands posted before authenticated and runs them in order', async () => {
      const ftp = FtpSession.spawn({ host: server.host, port: server.port, user: server.user, password: server.password });
      const events = recordEvents(ftp);
      ftp.post('cd', 'dir');
      ftp.post('pwd');
      ftp.post('cd', 'sub');
      ftp.post('pwd');
      await nextEvent(ftp, 'pwd');
      await nextEvent(ftp, 'pwd');
      await ftp.close();
      const names = events.map((e) => e.name);
      assert.deepEqual(names.slice(0, 6), ['connected', 'authenticated', 'cd', 'pwd', 'cd', 'pwd']);
      assert.deepEqual(events.filter((e) => e.name === 'pwd').map((e) => e.args[3]), ['/dir', '/dir/sub']);
    });

    it('delivers only subscribed events, renamed as asked', async () => {
      const ftp = FtpSession.spawn({
        host: server.host, port: server.port, user: server.user, password: server.password,
        transferMode: 'binary', events: ['authenticated', 'get_done', { get_data: 'chunk' }],
      });
      const events = recordEvents(ftp);
      const chunks: Buffer[] = [];
      (ftp.on as (name: string, listener: (data: Buffer) => void) => void)('chunk', (data) => chunks.push(data));
      ftp.post('get', 'small.txt');
      await nextEvent(ftp, 'get_done');
      await ftp.close();
      assert.deepEqual(Buffer.concat(chunks), SMALL);
      assert.deepEqual([...new Set(events.map((e) => e.name))], ['authenticated', 'get_done']);
    });

    it('logs in with a posted login when spawned without credentials, and reports a wrong password', async () => {
      const ftp = FtpSession.spawn({ host: server.host, port: server.port });
      await nextEvent(ftp, 'connected');
      assert.equal(ftp.state, 'awaiting_login');
      if (server.badPasswordRejected) {
        ftp.post('login', server.user, 'wrong-password');
        const [code] = await nextEvent(ftp, 'login_error', 20_000); // Pure-FTPd delays failed logins by seconds
        assert.equal(code, 530);
        assert.equal(ftp.state, 'awaiting_login');
      }
      ftp.post('login', server.user, server.password);
      const [code] = await nextEvent(ftp, 'authenticated');
      assert.equal(code, 230);
      assert.equal(ftp.state, 'ready');
      const closed = nextEvent(ftp, 'closed');
      ftp.post('quit');
      const [quitCode] = await nextEvent(ftp, 'quit');
      assert.equal(quitCode, 221);
      await closed;
      assert.equal(ftp.state, 'closed');
    });
  });
}
