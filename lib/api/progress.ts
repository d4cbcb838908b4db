/**
 * Progress of one transfer: a {@link ProgressMeter} counts the bytes moved and reports them to a
 * listener on a timer, with the speed over a recent window and an estimate of the time left.
 */
import { InvalidArgumentError } from '../errors.js';

/** One progress report of a transfer. */
export interface TransferProgress {
  /** Bytes of the file done so far, counted from the file's start (a resumed transfer starts at its offset). */
  bytes: number;
  /** The file's size when known, else undefined. */
  total: number | undefined;
  /** 0..100 when total is known (100 when total is 0 and the transfer finished), else undefined. */
  percent: number | undefined;
  /** Speed over the recent window (not a lifetime average), bytes per second; 0 before anything moved. */
  bytesPerSecond: number;
  /** Seconds left at the current speed, when total is known and speed > 0 (0 when done), else undefined. */
  etaSeconds: number | undefined;
}

/** Receives each {@link TransferProgress} report of a {@link ProgressMeter}. */
export type ProgressListener = (progress: TransferProgress) => void;

/** Options of a {@link ProgressMeter}. */
export interface ProgressOptions {
  /** Milliseconds between reports (at most 2^31 - 1, Node's timer limit); default 1000. */
  interval?: number;
  /** Milliseconds of history the speed is computed over (at most 10,000 intervals); default 5000. */
  window?: number;
  /** Bytes already done before this transfer (the resume offset); default 0. */
  offset?: number;
  /** The file's size, when known. */
  total?: number | undefined;
  /** The clock, in milliseconds (for tests); default `performance.now`. */
  now?: () => number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_WINDOW_INTERVALS = 10_000;

/**
 * Counts a transfer's bytes and reports its progress every `interval` while running, then once
 * more when it finishes. The speed is measured over the last `window` of interval samples, so it
 * follows changes of rate instead of averaging the whole transfer. A listener that throws does not
 * break the meter: the first throw is reported with `process.emitWarning`, and all are ignored.
 */
export class ProgressMeter {
  private readonly listener: ProgressListener;
  private readonly interval: number;
  private readonly window: number;
  private readonly now: () => number;
  /** A ring of (time, bytes) samples, one per tick after the start sample, oldest at `first`. */
  private readonly sampleTimes: Float64Array;
  private readonly sampleBytes: Float64Array;
  private first = 0;
  private count = 0;
  private bytes: number;
  private total: number | undefined;
  private timer: NodeJS.Timeout | null = null;
  /** When finish() or stop() ended the meter: snapshots are computed at that time from then on. */
  private endedAt: number | null = null;
  private finished = false;
  private warned = false;

  /** @throws InvalidArgumentError when an option is out of range. */
  constructor(listener: ProgressListener, options: ProgressOptions = {}) {
    const { interval = 1000, window = 5000, offset = 0, total, now = () => performance.now() } = options;
    if (!(interval > 0 && interval <= MAX_TIMER_MS)) throw new InvalidArgumentError(`progress interval out of range: ${interval}`);
    if (!(window > 0 && window / interval <= MAX_WINDOW_INTERVALS)) {
      throw new InvalidArgumentError(`progress window out of range: ${window} (interval ${interval})`);
    }
    checkByteCount('progress offset', offset);
    if (total !== undefined) checkByteCount('progress total', total);
    this.listener = listener;
    this.interval = interval;
    this.window = window;
    this.now = now;
    // Enough samples to reach one window back from a tick, plus that tick's own.
    const capacity = Math.ceil(window / interval) + 1;
    this.sampleTimes = new Float64Array(capacity);
    this.sampleBytes = new Float64Array(capacity);
    this.bytes = offset;
    this.total = total;
    this.sample(now());
  }

  /** Starts the interval timer (unref'd, so it never keeps the process alive); the speed is measured from here. Does nothing when already started or ended. */
  start(): void {
    if (this.timer !== null || this.endedAt !== null) return;
    this.count = 0;
    this.sample(this.now());
    this.timer = setInterval(() => this.tick(), this.interval).unref();
  }

  /** Counts bytes moved (the hot path: constant time, no allocation). Ignored once the meter has ended. */
  add(bytes: number): void {
    if (!(bytes >= 0 && bytes <= Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError(`progress bytes out of range: ${bytes}`);
    if (this.endedAt === null) this.bytes += bytes;
  }

  /** Sets or updates the file's size (e.g. learned from a 150 reply); undefined when unknown. */
  setTotal(total: number | undefined): void {
    if (total !== undefined) checkByteCount('progress total', total);
    this.total = total;
  }

  /**
   * Rebases after the transfer restarted from zero or from a new offset: `bytes` becomes `offset`.
   * The samples move by the same amount, so the speed still counts the bytes that crossed the
   * network before the restart and never goes negative.
   */
  reset(offset: number): void {
    checkByteCount('progress offset', offset);
    const shift = offset - this.bytes;
    for (let k = 0; k < this.count; k++) this.sampleBytes[this.slot(k)]! += shift;
    this.bytes = offset;
  }

  /**
   * Ends the meter after a successful transfer: stops the timer and sends the final report, whose
   * percent is 100 when the total is known and reached. Only the first call of finish() or stop() counts.
   */
  finish(): void {
    if (this.endedAt !== null) return;
    this.end();
    this.finished = true;
    this.report();
  }

  /** Ends the meter after a failure: stops the timer, with no final report. */
  stop(): void {
    if (this.endedAt === null) this.end();
  }

  /** The progress now (or when the meter ended). */
  snapshot(): TransferProgress {
    const now = this.endedAt ?? this.now();
    const { bytes, total } = this;
    const bytesPerSecond = this.speed(now);
    if (total === undefined) return { bytes, total, percent: undefined, bytesPerSecond, etaSeconds: undefined };
    const left = Math.max(0, total - bytes);
    const percent = total === 0 ? (this.finished ? 100 : 0) : Math.min(100, (bytes / total) * 100);
    const etaSeconds = this.finished || left === 0 ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : undefined;
    return { bytes, total, percent, bytesPerSecond, etaSeconds };
  }

  private tick(): void {
    this.sample(this.now());
    this.report();
  }

  private end(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.endedAt = this.now();
  }

  private report(): void {
    try {
      this.listener(this.snapshot());
    } catch (error) {
      if (this.warned) return;
      this.warned = true;
      process.emitWarning(`progress listener threw (further throws are ignored): ${String(error)}`);
    }
  }

  /** Records (time, bytes) in the ring, dropping the oldest sample when it is full. */
  private sample(time: number): void {
    const capacity = this.sampleTimes.length;
    if (this.count === capacity) {
      this.first = (this.first + 1) % capacity;
      this.count--;
    }
    const slot = this.slot(this.count++);
    this.sampleTimes[slot] = time;
    this.sampleBytes[slot] = this.bytes;
  }

  /** Bytes per second since the oldest sample inside the window (or, when none is, since the newest earlier one). */
  private speed(now: number): number {
    let since = now;
    let from = this.bytes;
    for (let k = 0; k < this.count; k++) {
      const time = this.sampleTimes[this.slot(k)]!;
      if (time >= now) break;
      since = time;
      from = this.sampleBytes[this.slot(k)]!;
      if (time >= now - this.window) break;
    }
    const moved = this.bytes - from;
    return moved > 0 && now > since ? (moved * 1000) / (now - since) : 0;
  }

  /** The ring index of the k-th oldest sample. */
  private slot(k: number): number {
    return (this.first + k) % this.sampleTimes.length;
  }
}

/** @throws InvalidArgumentError unless `value` is a whole number of bytes, 0..2^53 - 1. */
function checkByteCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a whole number of bytes: ${value}`);
}
