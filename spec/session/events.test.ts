/** Event delivery: the `events` filter/rename option, and never synchronously from `post`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, UnknownCommandError, type FtpSession } from '../../lib/index.js';
import { ALL_EVENTS } from '../support/events.js';
import { BOUND, names, only, settle, start, until, waitFor } from './harness.js';

const payload = Buffer.from('0123456789'.repeat(1000));
/** `on` for names outside the typed map (renamed events). */
const onAny = (ftp: FtpSession) => ftp.on.bind(ftp) as unknown as (name: string, listener: (...args: unknown[]) => void) => void;

describe('events', () => {
  it("events: ['authenticated', { get_data: 'chunk' }] delivers only authenticated and chunk", BOUND, async (t) => {
    const { server, ftp, seen } = await start(t, { files: { 'f.bin': payload } }, { events: ['authenticated', { get_data: 'chunk' }] });
    const chunks: Buffer[] = [];
    onAny(ftp)('chunk', (data, param) => {
      assert.equal(param, 'f.bin');
      chunks.push(data as Buffer);
    });
    ftp.post('get', 'f.bin');
    await until(() => Buffer.concat(chunks).length === payload.length, 'every chunk arrived');
    // No get_done to wait for (not subscribed): the state says when the transfer is over.
    await until(() => ftp.state === 'ready', 'the transfer finished');
    await ftp.close();
    await settle();
    assert.deepEqual(names(seen), ['authenticated'], 'no other event under its own name (get_data, get_done, connected, closed...)');
    assert.ok(Buffer.concat(chunks).equals(payload));
    assert.equal(server.commands.at(-1), 'QUIT');
  });

  it("events: ['all', { rename: 'renamed', get_data: 'chunk' }] renames those and delivers the rest as they are", BOUND, async (t) => {
    const { ftp, seen } = await start(t, { files: { 'f.bin': payload } }, { events: ['all', { rename: 'renamed', get_data: 'chunk' }] });
    const renamed: unknown[][] = [];
    let chunkBytes = 0;
    onAny(ftp)('renamed', (...args) => renamed.push(args));
    onAny(ftp)('chunk', (data) => { chunkBytes += (data as Buffer).length; });
    ftp.post('rename', 'old.txt', 'new.txt');
    ftp.post('get', 'f.bin');
    await waitFor(seen, 'get_done');
    assert.deepEqual(renamed, [[250, 'Rename successful.', 'new.txt']]);
    assert.equal(chunkBytes, payload.length);
    assert.deepEqual(names(seen), ['connected', 'authenticated', 'rename_partial', 'get_connected', 'get_server', 'get_done']);
    assert.deepEqual(only(seen, 'rename_partial')[0]!.args, [350, 'Ready for RNTO.', 'old.txt']);
  });

  it('post never emits synchronously: a listener added after post, in the same tick, still gets the event', BOUND, async (t) => {
    const { ftp, seen } = await start(t);
    await waitFor(seen, 'authenticated');
    const got: string[] = [];
    (ftp.post as (name: string) => void)('frobnicate');
    ftp.on('error', (error) => got.push(`error:${error.constructor.name}`));
    ftp.post('cd', 'a\nb');
    ftp.on('cd_error', (_code, _text, _param, error) => got.push(`cd_error:${error.constructor.name}`));
    ftp.post('noop');
    ftp.on('noop', (code) => got.push(`noop:${code}`));
    await until(() => got.length === 3, 'three events');
    assert.deepEqual(got, [`error:${UnknownCommandError.name}`, `cd_error:${InvalidArgumentError.name}`, 'noop:200']);
  });

  it('no event of any kind fires while post is running', BOUND, async (t) => {
    const { ftp, seen } = await start(t);
    await waitFor(seen, 'authenticated');
    let posting = false;
    const duringPost: string[] = [];
    for (const name of ALL_EVENTS) onAny(ftp)(name, () => { if (posting) duringPost.push(name); });
    const post = (ftp.post as (name: string, ...args: unknown[]) => void).bind(ftp);
    posting = true;
    post('frobnicate');
    post('cd', 'x\r\ny');
    post('put_data', 'no upload open');
    post('connect');
    post('mode', 'sideways');
    post('noop');
    posting = false;
    await waitFor(seen, 'noop');
    assert.deepEqual(duringPost, []);
    assert.deepEqual(names(seen).slice(2), ['error', 'cd_error', 'put_error', 'error', 'mode_error', 'noop']);
  });
});
