/** CR, LF or NUL in any argument: the command's error event, and nothing of it on the wire. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FtpSession, InvalidArgumentError, type FtpSession as Session } from '../../lib/index.js';
import { scriptedServer } from '../support/scripted-server.js';
import { BOUND, PASSWORD, USER, errorOf, names, only, start, waitFor } from './harness.js';

const BAD_CHARS = [['CR', '\r'], ['LF', '\n'], ['NUL', '\0']] as const;
/** Every bad value carries this marker, so any byte of it on the wire would show. */
const MARK = 'INJECTED';
const bad = (char: string) => `x${char}DELE ${MARK}`;

interface Case {
  label: string;
  post(ftp: Session, value: string): void;
  event: string;
  /** The `param` the error event carries. */
  param(value: string): string;
}

const CASES: Case[] = [
  { label: 'cd', post: (ftp, v) => ftp.post('cd', v), event: 'cd_error', param: (v) => v },
  { label: 'get', post: (ftp, v) => ftp.post('get', v), event: 'get_error', param: (v) => v },
  { label: 'put', post: (ftp, v) => ftp.post('put', v), event: 'put_error', param: (v) => v },
  { label: 'rename (from)', post: (ftp, v) => ftp.post('rename', v, 'to.txt'), event: 'rename_error', param: (v) => v },
  { label: 'rename (to)', post: (ftp, v) => ftp.post('rename', 'from.txt', v), event: 'rename_error', param: () => 'from.txt' },
  { label: 'site', post: (ftp, v) => ftp.post('site', 'CHMOD', '644', v), event: 'site_error', param: () => 'CHMOD' },
  { label: 'quot (argument)', post: (ftp, v) => ftp.post('quot', 'SITE', v), event: 'quot_error', param: () => 'SITE' },
  { label: 'quot (verb)', post: (ftp, v) => ftp.post('quot', `NOOP${v}`), event: 'quot_error', param: (v) => `NOOP${v}` },
  { label: 'size', post: (ftp, v) => ftp.post('size', v), event: 'size_error', param: (v) => v },
];

describe('arguments with CR, LF or NUL', () => {
  for (const { label, post, event, param } of CASES) {
    it(`${label}: ${event}(null, msg, param, InvalidArgumentError); nothing sent; later commands run`, BOUND, async (t) => {
      const { server, ftp, seen } = await start(t);
      await waitFor(seen, 'authenticated');
      for (const [, char] of BAD_CHARS) {
        post(ftp, bad(char));
        ftp.post('noop');
      }
      await waitFor(seen, 'noop', { count: BAD_CHARS.length });
      const errors = only(seen, event);
      assert.equal(errors.length, BAD_CHARS.length);
      BAD_CHARS.forEach(([what, char], index) => {
        const failure = errors[index]!;
        assert.equal(failure.args[0], null, what);
        assert.equal(typeof failure.args[1], 'string', what);
        assert.equal(failure.args[2], param(bad(char)), what);
        errorOf(failure, InvalidArgumentError);
      });
      // Validation happens at post time: each error is reported at once, ahead of the queued NOOPs' replies.
      assert.deepEqual(names(seen).slice(2), [...BAD_CHARS.map(() => event), ...BAD_CHARS.map(() => 'noop')]);
      assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'NOOP', 'NOOP', 'NOOP']);
      assert.ok(!server.receivedText.includes(MARK), 'no byte of the bad command reached the wire');
    });
  }

  it('login password: login_error(null, msg, InvalidArgumentError) without the password in it; a good login then works', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {}, {}, { credentials: false });
    await waitFor(seen, 'connected');
    for (const [, char] of BAD_CHARS) ftp.post('login', USER, `pw-${MARK}${char}DELE x`);
    ftp.post('login', USER, PASSWORD);
    await waitFor(seen, 'authenticated');
    const errors = only(seen, 'login_error');
    assert.equal(errors.length, BAD_CHARS.length);
    for (const failure of errors) {
      assert.equal(failure.args[0], null);
      assert.ok(!String(failure.args[1]).includes(MARK), 'the message does not show the password');
      errorOf(failure, InvalidArgumentError);
    }
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`]);
    assert.ok(!server.receivedText.includes(MARK));
  });

  it('credentials with CR/LF at spawn are refused before connecting, without showing the password', BOUND, async (t) => {
    const server = await scriptedServer();
    t.after(() => server.close());
    assert.throws(
      () => FtpSession.spawn({ ...server.address, user: USER, password: `pw-${MARK}\r\nDELE x` }),
      (error: unknown) => error instanceof InvalidArgumentError && !error.message.includes(MARK),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.connections.length, 0);
  });
});
