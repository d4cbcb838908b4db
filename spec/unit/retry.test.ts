/** The retry policy (lib/retry.ts): which interrupted commands run again, and the default backoff. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMMANDS, ConnectionClosedError, DataConnectionError, OutcomeUnknownError, PartialTransferError, ReplyError, RestoreError,
} from '../../lib/index.js';
import { exponentialBackoff, isPermanent, isTransientReply, newProgress, recoverFromFailure, recoverFromLoss } from '../../lib/retry.js';

const lost = new ConnectionClosedError('gone');
const progress = (changes: Partial<ReturnType<typeof newProgress>> = {}) => ({ ...newProgress(), ...changes });

describe('retry policy', () => {
  it('a lost connection: replay-class commands run again, up to maxRetries', () => {
    for (const name of ['cd', 'pwd', 'size', 'mdtm', 'type', 'noop', 'stat', 'feat', 'list', 'nlst', 'mlsd', 'get'] as const) {
      assert.deepEqual(recoverFromLoss(COMMANDS[name], progress({ sent: true }), lost, null, 2), { action: 'run-again' }, name);
    }
    assert.equal(recoverFromLoss(COMMANDS.size, progress({ retries: 2 }), lost, null, 2).action, 'report');
  });

  it('a lost connection after a server-changing verb was sent: verify when the table says how, else OutcomeUnknownError', () => {
    for (const name of ['delete', 'mkdir', 'rmdir', 'rename'] as const) {
      assert.deepEqual(recoverFromLoss(COMMANDS[name], progress({ sent: true }), lost, null, 2), { action: 'verify' }, name);
      // Checked once: a second loss during the check itself is not checked again.
      const again = recoverFromLoss(COMMANDS[name], progress({ sent: true, verify: true }), lost, null, 2);
      assert.ok(again.action === 'report' && again.error instanceof OutcomeUnknownError, name);
    }
    for (const name of ['site', 'quot', 'put', 'appe', 'stou'] as const) {
      const recovery = recoverFromLoss(COMMANDS[name], progress({ sent: true }), lost, null, 2);
      assert.ok(recovery.action === 'report' && recovery.error instanceof OutcomeUnknownError, name);
    }
    // Not sent yet (lost during TYPE or EPSV): safe to run.
    assert.deepEqual(recoverFromLoss(COMMANDS.put, progress(), lost, null, 2), { action: 'run-again' });
  });

  it('an upload cut off after bytes were written reports how many', () => {
    const recovery = recoverFromLoss(COMMANDS.put, progress({ sent: true, delivered: 4096 }), lost, 'I', 2);
    assert.ok(recovery.action === 'report' && recovery.error instanceof PartialTransferError);
    assert.match(recovery.action === 'report' ? recovery.error.message : '', /after 4096 bytes/);
  });

  it('a get resumes after data was delivered only in TYPE I; a listing never replays delivered lines', () => {
    assert.equal(recoverFromLoss(COMMANDS.get, progress({ delivered: 10 }), lost, 'I', 2).action, 'run-again');
    assert.equal(recoverFromLoss(COMMANDS.get, progress({ delivered: 10 }), lost, 'A', 2).action, 'report');
    assert.equal(recoverFromLoss(COMMANDS.get, progress({ delivered: 10 }), lost, null, 2).action, 'report');
    assert.equal(recoverFromLoss(COMMANDS.list, progress({ delivered: 1 }), lost, 'I', 2).action, 'report');
  });

  it('a reply failure: only 421, 425, 426, 450, 451 run again; every 5xx and other 4xx is reported', () => {
    for (const code of [421, 425, 426, 450, 451]) {
      assert.equal(recoverFromFailure(COMMANDS.delete, progress({ sent: true }), new ReplyError('x', code), null, 2).action, 'run-again', String(code));
    }
    for (const code of [400, 452, 500, 502, 530, 550, 552]) {
      assert.equal(recoverFromFailure(COMMANDS.delete, progress({ sent: true }), new ReplyError('x', code), null, 2).action, 'report', String(code));
    }
  });

  it('data-side failures run a download again, never an upload; a refused REST is final', () => {
    const data = new DataConnectionError('reset');
    assert.equal(recoverFromFailure(COMMANDS.get, progress({ delivered: 5 }), data, 'I', 2).action, 'run-again');
    assert.equal(recoverFromFailure(COMMANDS.put, progress(), data, 'I', 2).action, 'report');
    assert.equal(recoverFromFailure(COMMANDS.get, progress({ delivered: 5 }), new PartialTransferError('short', 226), 'I', 2).action, 'run-again');
    assert.equal(recoverFromFailure(COMMANDS.get, progress({ delivered: 5 }), new PartialTransferError('REST refused', 502), 'I', 2).action, 'report');
  });

  it('connect and restore failures: transient 4xx, permanent 5xx or an unknown directory', () => {
    assert.equal(isTransientReply(new ReplyError('too many users', 421)), true);
    assert.equal(isTransientReply(new ReplyError('no', 530)), false);
    assert.equal(isTransientReply(lost), false);
    assert.equal(isPermanent(new RestoreError('cwd', 'gone', 550)), true);
    assert.equal(isPermanent(new RestoreError('cwd', 'unknown', null)), true);
    assert.equal(isPermanent(new RestoreError('login', 'busy', 421)), false);
    assert.equal(isPermanent(lost), false);
  });

  it('the default backoff: attempt 1 at once, then doubling delays with jitter between half and all, capped, then null', () => {
    const backoff = exponentialBackoff({ maxAttempts: 5, baseDelay: 100, maxDelay: 300 });
    assert.equal(backoff(1), 0);
    for (let run = 0; run < 50; run++) {
      const second = backoff(2)!;
      assert.ok(second >= 50 && second <= 100, `attempt 2: ${second}`);
      const third = backoff(3)!;
      assert.ok(third >= 100 && third <= 200, `attempt 3: ${third}`);
      const fifth = backoff(5)!;
      assert.ok(fifth >= 150 && fifth <= 300, `attempt 5 is capped: ${fifth}`);
    }
    assert.equal(backoff(6), null);
  });
});
