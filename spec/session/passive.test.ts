/** Passive mode: EPSV then PASV (remembered), the PASV address ignored unless trusted, malformed PASV. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../lib/index.js';
import { pasvReply, type DataListener, type Handler } from '../support/scripted-server.js';
import { BOUND, errorOf, names, only, start, waitFor } from './harness.js';

const refuseEpsv: Handler = (conn) => conn.send('500 EPSV not understood');
const files = { 'a.txt': 'first file\n', 'b.txt': 'second file\n' };
const text = (seen: Parameters<typeof only>[0]) => Buffer.concat(only(seen, 'get_data').map((event) => event.args[0] as Buffer)).toString();

describe('passive mode', () => {
  it('EPSV refused (500): PASV is used, and EPSV is not sent again for the next transfer', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { files, handlers: { EPSV: refuseEpsv } });
    ftp.post('get', 'a.txt');
    ftp.post('get', 'b.txt');
    await waitFor(seen, 'get_done', { count: 2 });
    assert.equal(text(seen), 'first file\nsecond file\n');
    assert.deepEqual(server.commands.slice(2), ['EPSV', 'PASV', 'RETR a.txt', 'PASV', 'RETR b.txt']);
  });

  it('a PASV reply naming a foreign host (10.0.0.5): the data connection goes to the control peer', BOUND, async (t) => {
    let listener: DataListener | undefined;
    const { ftp, seen } = await start(t, {
      files,
      handlers: {
        EPSV: refuseEpsv,
        PASV: async (conn) => {
          listener = await conn.listenPassive({ host: '127.0.0.1' });
          await conn.send(pasvReply('10.0.0.5', listener.port));
        },
      },
    });
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_done');
    assert.equal(text(seen), 'first file\n');
    assert.equal(listener!.connections.length, 1);
  });

  /** PASV names 127.0.0.2 while the control peer is 127.0.0.1; a listener waits on both, on one port. */
  const pasvNaming127002 = (where: { advertised?: DataListener; peer?: DataListener }, current: 'advertised' | 'peer'): Handler => async (conn) => {
    const first = await conn.listenPassive({ host: '127.0.0.2', current: current === 'advertised' });
    const second = await conn.listenPassive({ host: '127.0.0.1', port: first.port, current: current === 'peer' });
    where.advertised = first;
    where.peer = second;
    await conn.send(pasvReply('127.0.0.2', first.port));
  };

  it('PASV naming 127.0.0.2 (control peer 127.0.0.1): by default only the control peer is connected to', BOUND, async (t) => {
    const where: { advertised?: DataListener; peer?: DataListener } = {};
    const { ftp, seen } = await start(t, { files, handlers: { EPSV: refuseEpsv, PASV: pasvNaming127002(where, 'peer') } });
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_done');
    assert.equal(text(seen), 'first file\n');
    assert.equal(where.peer!.connections.length, 1, 'one connection to 127.0.0.1');
    assert.equal(where.advertised!.connections.length, 0, 'none to the advertised 127.0.0.2');
  });

  it('PASV naming 127.0.0.2 with trustPasvAddress: true: the advertised address is connected to', BOUND, async (t) => {
    const where: { advertised?: DataListener; peer?: DataListener } = {};
    const { ftp, seen } = await start(t, { files, handlers: { EPSV: refuseEpsv, PASV: pasvNaming127002(where, 'advertised') } }, { trustPasvAddress: true });
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_done');
    assert.equal(text(seen), 'first file\n');
    assert.equal(where.advertised!.connections.length, 1, 'one connection to 127.0.0.2');
    assert.equal(where.peer!.connections.length, 0, 'none to 127.0.0.1');
  });

  it('PASV naming 0.0.0.0 with trustPasvAddress: true: the control peer is used', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      files,
      handlers: {
        EPSV: refuseEpsv,
        PASV: async (conn) => { await conn.send(pasvReply('0.0.0.0', (await conn.listenPassive()).port)); },
      },
    }, { trustPasvAddress: true });
    ftp.post('get', 'a.txt');
    await waitFor(seen, 'get_done');
    assert.equal(text(seen), 'first file\n');
  });

  it('a malformed PASV reply: get_error(null, msg, param, ProtocolError); the next command runs', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {
      files,
      handlers: { EPSV: refuseEpsv, PASV: (conn) => conn.send('227 Entering Passive Mode (1216,256,2,127,127,127)') },
    });
    ftp.post('get', 'a.txt');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(names(seen).slice(2), ['get_error', 'noop']);
    const failure = only(seen, 'get_error')[0]!;
    assert.deepEqual(failure.args.slice(0, 1), [null]);
    assert.equal(failure.args[2], 'a.txt');
    errorOf(failure, ProtocolError);
    assert.ok(!server.commands.includes('RETR a.txt'), 'RETR is never sent');
  });

  it('a PASV reply without parentheses (RFC 1123 form) is parsed', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      files,
      handlers: {
        EPSV: refuseEpsv,
        PASV: async (conn) => {
          const port = (await conn.listenPassive()).port;
          await conn.send(`227 Entering passive mode. 127,0,0,1,${Math.floor(port / 256)},${port % 256}`);
        },
      },
    });
    ftp.post('get', 'b.txt');
    await waitFor(seen, 'get_done');
    assert.equal(text(seen), 'second file\n');
  });
});
