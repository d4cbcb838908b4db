/** The queue around odd commands: an unknown name, and a 3xx final reply to `quot` (POE's hang). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UnknownCommandError } from '../../lib/index.js';
import { BOUND, PASSWORD, USER, names, start, waitFor } from './harness.js';

describe('commands', () => {
  it('an unknown command name gives an error event with UnknownCommandError; the queue keeps running', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    ftp.post('cd', '/before');
    (ftp.post as (name: string, ...args: unknown[]) => void)('frobnicate', 'x');
    ftp.post('pwd');
    await waitFor(seen, 'pwd');
    const error = seen.find((event) => event.name === 'error')!;
    assert.ok(error.args[0] instanceof UnknownCommandError);
    assert.match((error.args[0] as Error).message, /frobnicate/);
    assert.equal(error.args[1], 'frobnicate');
    assert.deepEqual(names(seen).filter((name) => name !== 'error'), ['connected', 'authenticated', 'cd', 'pwd']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'CWD /before', 'PWD', 'PWD'] /* the first PWD records the directory for reconnects */);
  });

  it("quot('REST', '100') answered 350 completes with quot(350, ...) and the next command runs", BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { REST: (conn, cmd) => conn.send(`350 Restart position accepted (${cmd.arg}).`) } });
    ftp.post('quot', 'REST', '100');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(seen.slice(2), [
      { name: 'quot', args: [350, 'Restart position accepted (100).', 'REST'] },
      { name: 'noop', args: [200, 'NOOP ok.', undefined] },
    ]);
    assert.deepEqual(server.commands.slice(2), ['REST 100', 'NOOP']);
  });

  it('quot with a 1xx then a final reply waits for the final one', BOUND, async (t) => {
    const { ftp, seen } = await start(t, {
      handlers: { XWAIT: async (conn) => { await conn.send('150 working'); await conn.send('250 finished'); } },
    });
    ftp.post('quot', 'XWAIT');
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(seen.slice(2), [
      { name: 'quot', args: [250, 'finished', 'XWAIT'] },
      { name: 'noop', args: [200, 'NOOP ok.', undefined] },
    ]);
  });
});
