/** Control-channel parsing as the session lives it: split and merged reads, odd line endings, limits. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../lib/index.js';
import { delay, sendData } from '../support/scripted-server.js';
import { BOUND, PASSWORD, USER, errorOf, names, only, start, until, waitFor } from './harness.js';

describe('replies', () => {
  it('replies sent byte by byte (inside CRLF and inside a UTF-8 257 "/dïr") parse as if whole', BOUND, async (t) => {
    const bytewise = { pieceSize: 1, delayMs: 1 };
    const { server, ftp, seen } = await start(t, {
      greeting: async (conn) => { await conn.sendRaw('220-Hello\r\n220 byte by byte\r\n', bytewise); },
      handlers: {
        USER: async (conn) => { await conn.sendRaw('331 Password please\r\n', bytewise); },
        PASS: async (conn) => { await conn.sendRaw('230 In\r\n', bytewise); },
        PWD: async (conn) => { await conn.sendRaw('257 "/dïr" is the current directory\r\n', bytewise); },
      },
    });
    ftp.post('pwd');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(seen, [
      { name: 'connected', args: [220, 'byte by byte'] },
      { name: 'authenticated', args: [230, 'In'] },
      { name: 'pwd', args: [257, '"/dïr" is the current directory', undefined, '/dïr'] },
      { name: 'noop', args: [200, 'NOOP ok.', undefined] },
    ]);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'PWD', 'NOOP']);
  });

  it('a UTF-8 character cut between two writes is decoded whole', BOUND, async (t) => {
    const reply = Buffer.from('257 "/dïr" created\r\n');
    const cutInsideI = reply.indexOf(Buffer.from('ï')) + 1;
    const { seen, ftp } = await start(t, { handlers: { MKD: async (conn) => { await conn.sendRaw(reply, { cuts: [cutInsideI], delayMs: 20 }); } } });
    ftp.post('mkdir', '/dïr');
    const made = await waitFor(seen, 'mkdir');
    assert.deepEqual(made.args, [257, '"/dïr" created', '/dïr']);
  });

  it('two replies in one write (120 + 220 greeting; 150 + 226 before the data) are both consumed in order', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      greeting: ['120 Wait a moment', '220 Go ahead'],
      handlers: {
        LIST: async (conn) => {
          await conn.send('150 Here it comes', '226 Done already');
          await delay(50);
          await sendData(await conn.dataSocket(), 'one\r\ntwo\r\n');
        },
      },
    });
    ftp.post('ls');
    ftp.post('pwd');
    await waitFor(seen, 'pwd');
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'ls_connected', 'ls_server', 'ls_data', 'ls_data', 'ls_done', 'pwd']);
    assert.deepEqual(seen[0]!.args, [220, 'Go ahead']);
    assert.deepEqual(only(seen, 'ls_data').map((event) => event.args[0]), ['one', 'two']);
    assert.deepEqual(only(seen, 'pwd')[0]!.args, [257, '"/" is the current directory', undefined, '/']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'EPSV', 'LIST', 'PWD']);
  });

  it('bare LF line endings are accepted everywhere', BOUND, async (t) => {
    const { ftp, seen, server } = await start(t, { eol: '\n', greeting: ['220-multi', '220 line'] });
    ftp.post('pwd');
    ftp.post('cd', '/x');
    await waitFor(seen, 'cd');
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'pwd', 'cd']);
    assert.deepEqual(seen[0]!.args, [220, 'line']);
    assert.equal(only(seen, 'pwd')[0]!.args[3], '/');
    assert.ok(server.receivedText.includes('CWD /x\r\n'), 'the client still sends CRLF');
  });

  it('only "<same code><space>" ends a multi-line reply (inner "  234 numbers" and "226 not the end" lines)', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: {
        CWD: (conn) => conn.send('250-Hi', '  234 numbers', '226 not the end', '250-still', '250 ready'),
        STAT: (conn) => conn.send('150-A', '226 not the end', '150 done', '211 status'),
      },
    });
    ftp.post('cd', '/x');
    ftp.post('stat');
    ftp.post('pwd');
    await waitFor(seen, 'pwd');
    assert.deepEqual(seen.slice(2), [
      { name: 'cd', args: [250, 'Hi\n  234 numbers\n226 not the end\nstill\nready', '/x'] },
      { name: 'stat', args: [211, 'status', undefined] },
      { name: 'pwd', args: [257, '"/" is the current directory', undefined, '/'] },
    ]);
  });

  it('a bare "200" closes a multi-line reply', BOUND, async (t) => {
    const { ftp, seen } = await start(t, { handlers: { NOOP: (conn) => conn.send('200-A', '200-B', '200') } });
    ftp.post('noop');
    ftp.post('pwd');
    await waitFor(seen, 'pwd');
    assert.deepEqual(seen.slice(2), [
      { name: 'noop', args: [200, 'A\nB', undefined] },
      { name: 'pwd', args: [257, '"/" is the current directory', undefined, '/'] },
    ]);
  });

  it('a 17 KB reply line is accepted', BOUND, async (t) => {
    const text = 'x'.repeat(17 * 1024);
    const { ftp, seen } = await start(t, { handlers: { CWD: (conn) => conn.send(`250 ${text}`) } });
    ftp.post('cd', '/long');
    const done = await waitFor(seen, 'cd');
    assert.deepEqual(done.args, [250, text, '/long']);
  });

  it('a 10 MB line without LF: the session drops the connection at the parser cap (disconnected, then ProtocolError)', BOUND, async (t) => {
    const total = 10 * 1024 * 1024;
    let written = -1;
    const { ftp, seen } = await start(t, {
      handlers: {
        CWD: async (conn) => {
          written = await conn.sendRaw(Buffer.alloc(total, 0x78), { pieceSize: 64 * 1024, delayMs: 2 });
        },
      },
    }, { reconnect: false });
    ftp.post('cd', '/huge');
    ftp.post('noop');
    const failure = await waitFor(seen, 'cd_error', { timeoutMs: 5000 });
    await waitFor(seen, 'disconnected');
    assert.deepEqual(failure.args.slice(0, 1), [null]);
    assert.equal(failure.args[2], '/huge');
    assert.match(errorOf(failure, ProtocolError).message, /longer than 65536 bytes/);
    assert.deepEqual(names(seen).slice(2, 4), ['disconnected', 'cd_error']);
    assert.equal(ftp.code, 421);
    assert.equal(ftp.state, 'idle');
    // The session read no more than the cap (plus socket buffers) before dropping the connection:
    // the server's writes start failing long before the 10 MB are out.
    await until(() => written >= 0, 'the server stopped writing');
    t.diagnostic(`server wrote ${written} bytes before the drop`);
    assert.ok(written < total / 4, `the server could write ${written} of ${total} bytes before the session hung up`);
  });

  it('a NUL byte in a reply is a ProtocolError and the connection is dropped', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { PASS: (conn) => conn.sendRaw('230 logged\0 in\r\n') } });
    ftp.post('noop');
    const failure = await waitFor(seen, 'login_error');
    await waitFor(seen, 'disconnected');
    assert.equal(failure.args[0], null);
    errorOf(failure, ProtocolError);
    assert.deepEqual(names(seen), ['connected', 'disconnected', 'login_error']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`]);
    assert.equal(ftp.state, 'idle');
  });

  it('a reply code 633 after PASS is a login_error (ProtocolError), never authenticated', BOUND, async (t) => {
    const { server, seen } = await start(t, { handlers: { PASS: (conn) => conn.send('633 logged in, sort of') } });
    const failure = await waitFor(seen, 'login_error');
    await waitFor(seen, 'disconnected');
    assert.equal(failure.args[0], null);
    errorOf(failure, ProtocolError);
    assert.equal(only(seen, 'authenticated').length, 0);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`]);
  });
});
