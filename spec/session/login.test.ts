/** Login: USER/PASS/ACCT variants, refusals and retries, queueing before `authenticated`, password hygiene. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { AuthError } from '../../lib/index.js';
import type { Handler } from '../support/scripted-server.js';
import { BOUND, PASSWORD, USER, errorOf, names, only, start, until, waitFor } from './harness.js';

/** PASS accepts only `good`; anything else gets 530. */
const passwordMustBe = (good: string): Record<string, Handler> => ({
  PASS: (conn, cmd) => conn.send(cmd.arg === good ? '230 Login successful.' : '530 Login incorrect.'),
});

describe('login', () => {
  it('230 right after USER: logged in, PASS never sent', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { USER: (conn) => conn.send('230 No password needed') } });
    ftp.post('noop');
    await waitFor(seen, 'noop');
    assert.deepEqual(seen.slice(1, 2), [{ name: 'authenticated', args: [230, 'No password needed'] }]);
    assert.deepEqual(server.commands, [`USER ${USER}`, 'NOOP']);
  });

  it('332 after PASS with the account option: ACCT is sent (and masked in the trace)', BOUND, async (t) => {
    const trace: string[] = [];
    const { server, seen } = await start(t, { handlers: { PASS: (conn) => conn.send('332 Need account for login.') } }, { account: 'acct-7', debug: (line) => trace.push(line) });
    const done = await waitFor(seen, 'authenticated');
    assert.deepEqual(done.args, [230, 'Account accepted.']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'ACCT acct-7']);
    assert.ok(trace.some((line) => /^\S*>>> ACCT \.\.\.\.$/.test(line)), trace.join('\n'));
    assert.deepEqual(trace.filter((line) => line.includes('acct-7')), []);
  });

  it("332 without an account: login_error; then post('login', u, p, acct) logs in", BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: { PASS: (conn) => conn.send('332 Need account for login.') } });
    const refused = await waitFor(seen, 'login_error');
    assert.equal(refused.args[0], 332);
    errorOf(refused, AuthError);
    assert.equal(ftp.state, 'awaiting_login');
    ftp.post('login', USER, PASSWORD, 'acct-9');
    await waitFor(seen, 'authenticated');
    assert.deepEqual(names(seen), ['connected', 'login_error', 'authenticated']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, `USER ${USER}`, `PASS ${PASSWORD}`, 'ACCT acct-9']);
    assert.equal(ftp.state, 'ready');
  });

  it("530: login_error, state awaiting_login; posting 'login' again succeeds", BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { handlers: passwordMustBe('right') }, { password: 'wrong' });
    const refused = await waitFor(seen, 'login_error');
    assert.deepEqual(refused.args.slice(0, 2), [530, 'Login incorrect.']);
    assert.equal(errorOf(refused, AuthError).replyCode, 530);
    assert.equal(ftp.state, 'awaiting_login');
    assert.equal(ftp.code, 530);
    assert.equal(ftp.ok(), false);
    ftp.post('login', USER, 'right');
    await waitFor(seen, 'authenticated');
    assert.equal(ftp.state, 'ready');
    assert.deepEqual(server.commands, [`USER ${USER}`, 'PASS wrong', `USER ${USER}`, 'PASS right']);
  });

  it('no credentials at spawn: connected, then waits; commands posted meanwhile run after the posted login', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, {}, {}, { credentials: false });
    await waitFor(seen, 'connected');
    await until(() => ftp.state === 'awaiting_login', 'state awaiting_login');
    ftp.post('cd', '/pub');
    ftp.post('pwd');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(server.commands, [], 'nothing is sent before a login is posted');
    assert.deepEqual(names(seen), ['connected']);
    ftp.post('login', USER, PASSWORD);
    await waitFor(seen, 'pwd');
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'cd', 'pwd']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'CWD /pub', 'PWD', 'PWD'] /* after CWD, PWD records the directory for reconnects */);
  });

  it('commands posted before authenticated are queued and run in posting order after it', BOUND, async (t) => {
    const { server, ftp, seen } = await start(t);
    ftp.post('cd', '/a');
    ftp.post('pwd');
    ftp.post('mkdir', 'new');
    ftp.post('cd', '/b');
    assert.equal(ftp.state, 'connecting');
    await waitFor(seen, 'cd', { count: 2 });
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'cd', 'pwd', 'mkdir', 'cd']);
    assert.deepEqual(only(seen, 'cd').map((event) => event.args[2]), ['/a', '/b']);
    assert.deepEqual(server.commands, [`USER ${USER}`, `PASS ${PASSWORD}`, 'CWD /a', 'PWD', 'PWD', 'MKD new', 'CWD /b', 'PWD']);
  });

  it('the debug trace shows "PASS ...." and never the password; no event carries it', BOUND, async (t) => {
    const secret = 'S3cr3t-Pw-4711';
    const trace: string[] = [];
    const { server, ftp, seen } = await start(t, { handlers: passwordMustBe(secret) }, { password: 'first-wrong-Pw', debug: (line) => trace.push(line) });
    await waitFor(seen, 'login_error');
    ftp.post('login', USER, secret);
    ftp.post('noop');
    await waitFor(seen, 'noop');
    await ftp.close();
    assert.deepEqual(server.commands, [`USER ${USER}`, 'PASS first-wrong-Pw', `USER ${USER}`, `PASS ${secret}`, 'NOOP', 'QUIT']);
    assert.equal(trace.filter((line) => /^\S*>>> PASS \.\.\.\.$/.test(line)).length, 2, trace.join('\n'));
    assert.ok(trace.some((line) => line.includes('>>> USER user')), 'the trace does show other commands');
    for (const word of [secret, 'first-wrong-Pw']) {
      assert.deepEqual(trace.filter((line) => line.includes(word)), [], `no trace line shows ${word}`);
      const leaks = seen.filter((event) => inspect(event.args, { depth: 5 }).includes(word) || event.args.some((arg) => arg instanceof Error && String(arg.stack).includes(word)));
      assert.deepEqual(leaks, [], `no event argument carries ${word}`);
    }
  });
});
