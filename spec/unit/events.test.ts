import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventDelivery } from '../../lib/events.js';

function recorder(subscriptions?: readonly (string | Record<string, string>)[]) {
  const seen: Array<[string, unknown[]]> = [];
  const delivery = new EventDelivery(subscriptions, (name, args) => seen.push([name, args]));
  return { delivery, seen };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('event delivery', () => {
  it('delivers asynchronously and in order', async () => {
    const { delivery, seen } = recorder();
    delivery.push('connected', 220, 'hi');
    delivery.push('authenticated', 230, 'ok');
    assert.equal(seen.length, 0);
    await tick();
    assert.deepEqual(seen, [['connected', [220, 'hi']], ['authenticated', [230, 'ok']]]);
  });

  it('delivers every event when no subscription is given', () => {
    assert.equal(recorder().delivery.nameFor('get_data'), 'get_data');
  });

  it('filters and renames as POE Events does', async () => {
    const { delivery, seen } = recorder(['authenticated', { get_data: 'chunk' }]);
    delivery.push('connected', 220, 'hi');
    delivery.push('authenticated', 230, 'ok');
    delivery.pushNamed('get_data', Buffer.from('x'), 'f');
    await tick();
    assert.deepEqual(seen.map(([name]) => name), ['authenticated', 'chunk']);
  });

  it("lets a rename win over 'all'", () => {
    const { delivery } = recorder(['all', { get_data: 'chunk' }]);
    assert.equal(delivery.nameFor('get_data'), 'chunk');
    assert.equal(delivery.nameFor('get_done'), 'get_done');
  });

  it('delivers events queued by a listener after those already queued', async () => {
    const seen: string[] = [];
    const delivery: EventDelivery = new EventDelivery(undefined, (name) => {
      seen.push(name);
      if (name === 'connected') delivery.push('authenticated', 230, 'ok');
    });
    delivery.push('connected', 220, 'hi');
    delivery.push('cd', 250, 'ok', '/');
    await tick();
    await tick();
    assert.deepEqual(seen, ['connected', 'cd', 'authenticated']);
  });
});
