/**
 * The debug trace: one sink per session, fed with control lines (`>>> ` sent, `<<< ` received),
 * state changes and data summaries. Sent lines pass through `maskForTrace`, so PASS and ACCT
 * arguments never reach it.
 */
import { maskForTrace } from './protocol/command-line.js';

/** Where trace lines go, and how much is traced. */
export class Trace {
  private readonly sink: ((line: string) => void) | null;
  private readonly level: number;

  constructor(
    setting: boolean | number | ((line: string) => void),
    private readonly prefix: string,
  ) {
    if (typeof setting === 'function') {
      this.sink = setting;
      this.level = 2;
    } else {
      this.level = setting === true ? 1 : setting === false ? 0 : setting;
      this.sink = this.level > 0 ? (line) => process.stderr.write(`${line}\n`) : null;
    }
  }

  /** A line written to the control connection (masked). */
  sent(line: string): void {
    if (this.sink) this.sink(`${this.prefix}>>> ${maskForTrace(line)}`);
  }

  /** A line read from the control connection. */
  received(line: string): void {
    if (this.sink) this.sink(`${this.prefix}<<< ${line}`);
  }

  /** A state change, a data summary or a diagnostic (level 2 and up). */
  note(text: string): void {
    if (this.sink && this.level >= 2) this.sink(`${this.prefix}--- ${text}`);
  }
}
