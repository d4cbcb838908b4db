/**
 * Server-to-server copies against two scripted servers, for what real servers will not do on
 * demand: the exact command order on each connection, a target whose final reply fails while the
 * source says 226, a PASV reply naming 0.0.0.0, a target lost in the middle, and `fxp` posted
 * by hand. The real copies (vsftpd, ProFTPD) are in spec/integration/fxp.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionClosedError, InvalidArgumentError, ReplyError, type FtpSession } from '../../lib/index.js';
import type { ScriptedConnection, ScriptedServer } from '../support/scripted-server.js';
import { within } from '../support/traced.js';
import { BOUND, errorOf, only, start, waitFor } from './harness.js';

const FILE = { 'a.bin': 'hello' };
/** A copy that answers 150 then, once the other side is going, its final reply. */
const answers = (final: string) => async (conn: ScriptedConnection) => {
  await conn.send('150 Opening BINARY mode data connection.');
  await conn.send(final);
};
const copyOptions = { verify: false, atomic: false, attempts: 1 } as const;

/** Only the commands a copy sends (not the login). */
const copyCommands = (server: ScriptedServer): string[] => server.commands.filter((line) => !/^(USER|PASS)/.test(line));

async function twoServers(
  t: Parameters<typeof start>[0], target: Parameters<typeof start>[1], source: Parameters<typeof start>[1] = {},
): Promise<{ source: ScriptedServer; target: ScriptedServer; from: FtpSession; to: FtpSession; toSeen: ReturnType<typeof only> }> {
  const a = await start(t, { files: FILE, handlers: { RETR: answers('226 Transfer complete.'), ...source.handlers } });
  const b = await start(t, target);
  return { source: a.server, target: b.server, from: a.ftp, to: b.ftp, toSeen: b.seen };
}

describe('transferFile (FXP), command by command', () => {
  it('TYPE on both, PASV on the target, PORT to it on the source, RETR then STOR; done when both say 2xx', BOUND, async (t) => {
    const { source, target, from, to } = await twoServers(t, {
      handlers: { PASV: (conn) => conn.send('227 Entering Passive Mode (127,0,0,1,78,32).'), STOR: answers('226 Transfer complete.') },
    });
    const result = await within(from.transferFile('a.bin', to, 'copy.bin', copyOptions), 5000, 'copy');
    assert.equal(result.via, 'fxp');
    assert.deepEqual(copyCommands(source), ['TYPE I', 'SIZE a.bin', 'PORT 127,0,0,1,78,32', 'RETR a.bin']);
    assert.deepEqual(copyCommands(target), ['TYPE I', 'PASV', 'STOR copy.bin']);
  });

  it('fails, never done, when the target\'s final reply fails while the source says 226', BOUND, async (t) => {
    const { from, to, toSeen } = await twoServers(t, {
      handlers: { PASV: (conn) => conn.send('227 (127,0,0,1,78,33)'), STOR: answers('451 Local error in processing.') },
    });
    const failure = await within(from.transferFile('a.bin', to, 'copy.bin', copyOptions).then(() => null, (e: unknown) => e), 5000, 'copy');
    assert.ok(failure instanceof ReplyError, String(failure));
    assert.equal(failure.replyCode, 451);
    assert.match(failure.message, /STOR on the target failed/);
    const event = await waitFor(toSeen, 'fxp_error');
    assert.equal(event.args[0], 451);
    assert.equal(only(toSeen, 'fxp_done').length, 0);
  });

  it('sends PORT to the target\'s control address when its PASV names 0.0.0.0', BOUND, async (t) => {
    const { source, from, to } = await twoServers(t, {
      handlers: { PASV: (conn) => conn.send('227 Entering Passive Mode (0,0,0,0,78,34).'), STOR: answers('226 ok') },
    });
    await within(from.transferFile('a.bin', to, 'copy.bin', copyOptions), 5000, 'copy');
    assert.ok(copyCommands(source).includes('PORT 127,0,0,1,78,34'), copyCommands(source).join('\n'));
  });

  it('a target lost in the middle fails the copy and stops the source with ABOR; both sessions go on', BOUND, async (t) => {
    const { source, from, to } = await twoServers(t, {
      handlers: {
        PASV: (conn) => conn.send('227 (127,0,0,1,78,35)'),
        STOR: async (conn) => {
          await conn.send('150 go');
          conn.reset();
        },
      },
    }, { handlers: { RETR: (conn) => conn.send('150 sending') } }); // the source's 226 never comes by itself
    const failure = await within(from.transferFile('a.bin', to, 'copy.bin', copyOptions).then(() => null, (e: unknown) => e), 5000, 'copy');
    assert.ok(failure instanceof ConnectionClosedError, String(failure));
    assert.ok(copyCommands(source).includes('ABOR'), copyCommands(source).join('\n'));
    assert.equal(await within(from.pwd(), 5000, 'source pwd'), '/');
    assert.equal(await within(to.pwd(), 5000, 'target pwd after its reconnect'), '/');
  });

  it('fxp cannot be posted by hand', BOUND, async (t) => {
    const { ftp, seen } = await start(t);
    ftp.post('fxp');
    const event = await waitFor(seen, 'fxp_error');
    errorOf(event, InvalidArgumentError);
  });
});
