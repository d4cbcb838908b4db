/**
 * Idle detection for data connections without a timer per chunk. A socket's own `setTimeout`
 * re-arms a timer on every read and write; at gigabytes per second that is tens of thousands of
 * timer updates. Here the hot path only bumps a counter, and one timer looks at it four times
 * per period: idleness is reported after `ms` without progress, at most `ms / 4` late.
 */

/** Calls `onIdle` once when {@link IdleWatch.touch} has not been called for `ms` while watching. */
export class IdleWatch {
  /** Progress marks since the watch started; the hot path increments it. */
  private marks = 0;
  private seen = -1;
  private quietSince = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private held = false;

  constructor(private readonly ms: number, private readonly onIdle: () => void) {
    const tick = Math.max(1, Math.ceil(ms / 4));
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref?.();
  }

  /** Notes progress (a chunk read or written). */
  touch(): void {
    this.marks++;
  }

  /** Stops counting idle time (the consumer paused reading), or starts again from now. */
  hold(held: boolean): void {
    this.held = held;
    this.quietSince = performance.now();
  }

  /** Ends the watch; `onIdle` is not called after this. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const now = performance.now();
    if (this.held || this.marks !== this.seen) {
      this.seen = this.marks;
      if (!this.held) this.quietSince = now;
      return;
    }
    if (now - this.quietSince < this.ms) return;
    this.stop();
    this.onIdle();
  }
}
