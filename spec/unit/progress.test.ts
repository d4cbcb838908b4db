import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressMeter, type ProgressOptions, type TransferProgress } from '../../lib/api/progress.js';

const invalidArgument = { name: 'InvalidArgumentError', code: 'ERR_FTP_INVALID_ARGUMENT' };

// The meter reads a manual clock; mock.timers fires its interval. Node 20's mocked Date reads the
// end time inside every callback of one tick() call, so time moves one step at a time instead.
let clock = 0;

/** Moves the clock and the timers forward by `ms`, in steps of at most `step` ms. */
function advance(ms: number, step = 1000): void {
  for (let left = ms; left > 0; left -= step) {
    const by = Math.min(step, left);
    clock += by;
    mock.timers.tick(by);
  }
}

/** A meter whose reports are collected in `reports`. */
function meter(options: ProgressOptions = {}): { meter: ProgressMeter; reports: TransferProgress[] } {
  const reports: TransferProgress[] = [];
  return { meter: new ProgressMeter((progress) => reports.push(progress), { now: () => clock, ...options }), reports };
}

/** Every numeric field is finite (no NaN, no Infinity). */
function assertFinite(progress: TransferProgress): void {
  for (const value of Object.values(progress)) {
    if (value !== undefined) assert.ok(Number.isFinite(value), JSON.stringify(progress));
  }
}

beforeEach(() => {
  clock = 1_000_000;
  mock.timers.enable({ apis: ['setInterval'] });
});

afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

describe('ProgressMeter', () => {
  it('gives a transfer shorter than one interval a final report with its speed', () => {
    const { meter: m, reports } = meter({ total: 500 });
    m.start();
    advance(250);
    m.add(500);
    m.finish();
    assert.deepEqual(reports, [{ bytes: 500, total: 500, percent: 100, bytesPerSecond: 2000, etaSeconds: 0 }]);
  });

  it('reports 0 bytes per second, not NaN or Infinity, when no time passed', () => {
    const { meter: m, reports } = meter({ total: 10 });
    m.start();
    m.add(10);
    m.finish();
    assert.deepEqual(reports, [{ bytes: 10, total: 10, percent: 100, bytesPerSecond: 0, etaSeconds: 0 }]);
  });

  it('reports at every interval while running, whether or not bytes moved, then once at the end', () => {
    const { meter: m, reports } = meter({ interval: 200 });
    m.start();
    m.add(100);
    advance(1000, 200);
    assert.equal(reports.length, 5);
    assert.deepEqual(reports.map((r) => r.bytes), [100, 100, 100, 100, 100]);
    advance(100, 100);
    m.finish();
    assert.equal(reports.length, 6);
    advance(1000, 200);
    assert.equal(reports.length, 6, 'no reports after finish');
    reports.forEach(assertFinite);
  });

  it('measures the speed over the window, not the whole transfer', () => {
    const { meter: m, reports } = meter({ interval: 1000, window: 3000 });
    m.start();
    // 10 s at 10,000 B/s, then 10 s at 1,000 B/s.
    for (let s = 0; s < 10; s++) {
      m.add(10_000);
      advance(1000);
    }
    assert.equal(reports.at(-1)?.bytesPerSecond, 10_000);
    for (let s = 0; s < 10; s++) {
      m.add(1000);
      advance(1000);
    }
    assert.equal(reports.at(-1)?.bytesPerSecond, 1000, 'a lifetime average would read 5,500');
    // Between ticks the window still ends now: the oldest sample inside it is 2.5 s old.
    advance(500, 500);
    assert.equal(m.snapshot().bytesPerSecond, 800);
  });

  it('starts the speed at bytes since start over time since start before the first tick', () => {
    const { meter: m } = meter();
    advance(60_000, 60_000); // before start: not measured
    m.start();
    m.add(300);
    advance(600, 600);
    assert.equal(m.snapshot().bytesPerSecond, 500);
  });

  it('computes percent and the time left at the current speed', () => {
    const { meter: m, reports } = meter({ total: 10_000 });
    m.start();
    m.add(2000);
    advance(1000);
    assert.deepEqual(reports[0], { bytes: 2000, total: 10_000, percent: 20, bytesPerSecond: 2000, etaSeconds: 4 });
  });

  it('leaves percent and the time left undefined while the total is unknown', () => {
    const { meter: m, reports } = meter();
    m.start();
    m.add(700);
    advance(1000);
    m.finish();
    for (const report of reports) {
      assert.equal(report.total, undefined);
      assert.equal(report.percent, undefined);
      assert.equal(report.etaSeconds, undefined);
      assert.equal(report.bytesPerSecond, 700);
    }
  });

  it('uses a total learned later, and leaves the time left undefined before anything moved', () => {
    const { meter: m, reports } = meter();
    m.start();
    m.setTotal(4000);
    advance(1000);
    assert.deepEqual(reports[0], { bytes: 0, total: 4000, percent: 0, bytesPerSecond: 0, etaSeconds: undefined });
    m.add(1000);
    advance(1000);
    assert.equal(reports[1]?.percent, 25);
    assert.equal(reports[1]?.etaSeconds, 6); // 3000 left at 500 B/s (1000 B over 2 s)
  });

  it('reports a total of 0 as 100% only once finished', () => {
    const { meter: m, reports } = meter({ total: 0 });
    m.start();
    advance(1000);
    m.finish();
    assert.deepEqual(reports, [
      { bytes: 0, total: 0, percent: 0, bytesPerSecond: 0, etaSeconds: 0 },
      { bytes: 0, total: 0, percent: 100, bytesPerSecond: 0, etaSeconds: 0 },
    ]);
  });

  it('keeps percent below 100 when a finished transfer fell short, and at most 100 when it overran', () => {
    const short = meter({ total: 1000 });
    short.meter.add(400);
    short.meter.finish();
    assert.equal(short.reports[0]?.percent, 40);
    const long = meter({ total: 1000 });
    long.meter.add(1500);
    long.meter.finish();
    assert.equal(long.reports[0]?.percent, 100);
  });

  it('starts bytes at the resume offset and leaves the offset out of the speed', () => {
    const { meter: m, reports } = meter({ offset: 6000, total: 10_000 });
    m.start();
    assert.equal(m.snapshot().bytes, 6000);
    m.add(1000);
    advance(1000);
    assert.deepEqual(reports[0], { bytes: 7000, total: 10_000, percent: 70, bytesPerSecond: 1000, etaSeconds: 3 });
  });

  it('rebases on reset: bytes become the new offset and the speed stays the network rate', () => {
    const { meter: m, reports } = meter({ total: 10_000 });
    m.start();
    for (let s = 0; s < 3; s++) {
      m.add(1000);
      advance(1000);
    }
    m.reset(0); // the server refused REST: the transfer starts over
    m.add(1000);
    advance(1000);
    assert.equal(reports.at(-1)?.bytes, 1000);
    assert.equal(reports.at(-1)?.bytesPerSecond, 1000);
    m.reset(5000);
    assert.equal(m.snapshot().bytes, 5000);
    assert.equal(m.snapshot().bytesPerSecond, 1000);
    reports.forEach(assertFinite);
  });

  it('sends the final report once when finish is called twice, and freezes the snapshot', () => {
    const { meter: m, reports } = meter({ total: 100 });
    m.start();
    m.add(100);
    advance(500, 500);
    m.finish();
    m.finish();
    assert.equal(reports.length, 1);
    advance(5000);
    m.add(50);
    assert.deepEqual(m.snapshot(), reports[0]);
  });

  it('sends no final report on stop, and finish after stop sends none either', () => {
    const { meter: m, reports } = meter();
    m.start();
    m.add(10);
    advance(1000);
    m.stop();
    m.finish();
    advance(3000);
    assert.equal(reports.length, 1);
  });

  it('survives a throwing listener, warning once', () => {
    const warnings: unknown[] = [];
    mock.method(process, 'emitWarning', (warning: unknown) => warnings.push(warning));
    let calls = 0;
    const m = new ProgressMeter(
      () => {
        calls++;
        throw new Error('listener bug');
      },
      { now: () => clock },
    );
    m.start();
    m.add(1);
    advance(3000);
    m.finish();
    assert.equal(calls, 4);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]), /listener bug/);
  });

  it('rejects out-of-range options and byte counts', () => {
    const listener = (): void => {};
    const bad: ProgressOptions[] = [
      { interval: 0 }, { interval: Number.NaN }, { interval: 2 ** 31 }, { window: 0 }, { window: Infinity },
      { interval: 1, window: 10_001 }, { offset: -1 }, { offset: 1.5 }, { total: Number.NaN },
    ];
    for (const options of bad) assert.throws(() => new ProgressMeter(listener, options), invalidArgument, JSON.stringify(options));
    const m = new ProgressMeter(listener);
    assert.throws(() => m.add(-1), invalidArgument);
    assert.throws(() => m.add(Number.NaN), invalidArgument);
    assert.throws(() => m.setTotal(-5), invalidArgument);
    assert.throws(() => m.reset(Infinity), invalidArgument);
  });
});
