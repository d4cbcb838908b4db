import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { octalMode } from '../../lib/api/directories.js';
import { call, request, type Submit } from '../../lib/api/request.js';
import { InvalidArgumentError, ReplyError } from '../../lib/errors.js';
import type { JobRequest } from '../../lib/run/context.js';

/** A submit that plays back `events` (or a failure) to the observer, as the session would. */
function playing(events: Array<[string, unknown[]]>, failure?: Error): { submit: Submit; seen: Array<{ name: string; job: JobRequest }> } {
  const seen: Array<{ name: string; job: JobRequest }> = [];
  const submit: Submit = (name, _args, job) => {
    seen.push({ name, job });
    queueMicrotask(() => {
      for (const [event, args] of events) job.observer!.event(event, args);
      if (failure) job.observer!.failed(failure as ReplyError);
    });
  };
  return { submit, seen };
}

describe('call', () => {
  it('resolves with the arguments of the success event and shows every event first', async () => {
    const { submit } = playing([['rename_partial', [350, 'ok', 'a']], ['rename', [250, 'done', 'b']]]);
    const events: string[] = [];
    const args = await call(submit, 'rename', ['a', 'b'], { onEvent: (name) => events.push(name) });
    assert.deepEqual(args, [250, 'done', 'b']);
    assert.deepEqual(events, ['rename_partial', 'rename']);
  });

  it('rejects with the failure the session reports', async () => {
    const { submit } = playing([], new ReplyError('no such file', 550));
    await assert.rejects(call(submit, 'size', ['x']), { code: 'ERR_FTP_REPLY', replyCode: 550 });
  });

  it('passes the signal and transfer type on to the job, and no undefined keys', async () => {
    const { submit, seen } = playing([['size', [213, '42', 'x', 42]]]);
    const signal = new AbortController().signal;
    await request(submit, 'size', ['x'], { signal, transferMode: 'binary' });
    assert.equal(seen[0]!.job.signal, signal);
    assert.equal(seen[0]!.job.transferMode, 'binary');
    await request(submit, 'size', ['x'], { signal: undefined });
    assert.equal(Object.hasOwn(seen[1]!.job, 'signal'), false);
  });
});

describe('request results', () => {
  it('gives code, text and the parsed value of a simple command', async () => {
    const { submit } = playing([['size', [213, '42', 'x', 42]]]);
    assert.deepEqual(await request(submit, 'size', ['x']), { code: 213, text: '42', value: 42 });
  });

  it('joins the chunks of a get and collects the lines of a listing', async () => {
    const get = playing([['get_data', [Buffer.from('ab'), 'f']], ['get_data', [Buffer.from('c'), 'f']], ['get_done', ['f']]]);
    assert.equal((await request(get.submit, 'get', ['f'])).toString(), 'abc');
    const nlst = playing([['nlst_data', ['a', undefined]], ['nlst_data', ['b', undefined]], ['nlst_done', [undefined]]]);
    assert.deepEqual(await request(nlst.submit, 'nlst', []), ['a', 'b']);
  });
});

describe('octalMode', () => {
  it('writes numeric modes as octal digits', () => {
    assert.equal(octalMode(0o644), '644');
    assert.equal(octalMode(0o7), '007');
    assert.equal(octalMode(0o4755), '4755');
  });

  it('turns a permission set into one digit per class', () => {
    assert.equal(octalMode({ user: 'rwx', group: 'rx', other: 'r' }), '754');
    assert.equal(octalMode({ user: 'rw' }), '600');
  });

  it('refuses what is not a mode', () => {
    assert.throws(() => octalMode(0o10000), InvalidArgumentError);
    assert.throws(() => octalMode(1.5), InvalidArgumentError);
    assert.throws(() => octalMode({ user: 'rwz' }), InvalidArgumentError);
  });
});
