import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateMachine, type SessionState } from '../../lib/state.js';

describe('state machine', () => {
  it('starts idle and reports each transition once', () => {
    const seen: Array<[SessionState, SessionState, string]> = [];
    const machine = new StateMachine((to, from, reason) => seen.push([to, from, reason]));
    assert.equal(machine.state, 'idle');
    machine.moveTo('connecting', 'connect');
    machine.moveTo('connecting', 'again');
    machine.moveTo('authenticating', 'login');
    machine.moveTo('ready', 'logged in');
    assert.deepEqual(seen, [['connecting', 'idle', 'connect'], ['authenticating', 'connecting', 'login'], ['ready', 'authenticating', 'logged in']]);
  });

  it('refuses transitions the table does not allow', () => {
    const machine = new StateMachine(() => {});
    assert.throws(() => machine.moveTo('busy', 'no'), /idle -> busy/);
    machine.moveTo('closed', 'done');
    assert.equal(machine.canMoveTo('connecting'), false);
    assert.throws(() => machine.moveTo('connecting', 'no'));
  });
});
