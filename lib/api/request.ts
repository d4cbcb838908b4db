/**
 * The promise form of posted commands: each call queues one command on the session (the same
 * queue as `post`, so order is kept) with an observer that turns its events into one promise.
 */
import { COMMANDS, lookupCommand, type CommandArgs } from '../commands.js';
import type { FtpError } from '../errors.js';
import type { DownloadCommandName, SimpleCommandName } from '../events.js';
import type { TransferMode } from '../options.js';
import type { JobObserver, JobRequest } from '../run/context.js';

/** Queues a command (the session's `submit`). */
export type Submit = (name: string, args: readonly unknown[], request: JobRequest) => void;

/** Options every promise call takes. */
export interface CallOptions {
  /**
   * Aborts the call: a queued command leaves the queue, a running transfer is stopped with ABOR
   * (the session stays usable), and the promise rejects with an `AbortError`. A simple command
   * already sent cannot be taken back: its promise settles with its real outcome.
   */
  signal?: AbortSignal | undefined;
}

/** Options of calls that move file data. */
export interface TransferCallOptions extends CallOptions {
  /** This call's TYPE, in place of the session's `transferMode` (see `docs/promises.md`). */
  transferMode?: TransferMode | undefined;
}

/** A successful reply, with the value parsed from it where the command has one. */
export interface CommandReply<V = undefined> {
  code: number;
  /** The reply text (all lines, joined with newlines). */
  text: string;
  value: V;
}

/** The values some commands parse from their reply. */
export interface ParsedValues {
  pwd: string;
  size: number;
  mdtm: Date;
  feat: Map<string, string>;
}

/** Commands with a promise form through `request` (uploads have `upload`, `store`). */
export type RequestName = SimpleCommandName | DownloadCommandName | 'rename' | 'mode';

/** What `request(name)` resolves with. */
export type RequestResult<N extends RequestName> =
  N extends 'get' ? Buffer
  : N extends DownloadCommandName ? string[]
  : N extends 'mode' ? undefined
  : N extends keyof ParsedValues ? CommandReply<ParsedValues[N]>
  : CommandReply;

/** What {@link call} needs beyond the command. */
export interface CallRequest extends Omit<JobRequest, 'observer'> {
  /** Sees every event of the command before the promise settles (data chunks, 1xx replies). */
  onEvent?: (name: string, args: readonly unknown[]) => void;
  readonly flow?: JobObserver['flow'];
}

/**
 * Queues `name` and resolves with the arguments of its success event, or rejects with the
 * typed error its error event would have carried.
 */
export function call(submit: Submit, name: string, args: readonly unknown[], request: CallRequest = {}): Promise<readonly unknown[]> {
  const { onEvent, flow, ...job } = request;
  return new Promise((resolve, reject) => {
    const success = lookupCommand(name)?.success;
    const observer: JobObserver = {
      event(event, eventArgs) {
        onEvent?.(event, eventArgs);
        if (event === success) resolve(eventArgs);
      },
      failed: (error: FtpError) => reject(error),
      ...(flow ? { flow } : {}),
    };
    submit(name, args, { ...job, observer });
  });
}

/** The promise form of any command named in {@link RequestName}. */
export async function request<N extends RequestName>(
  submit: Submit, name: N, args: CommandArgs[N], options: TransferCallOptions = {},
): Promise<RequestResult<N>> {
  const items: Array<Buffer | string> = [];
  const outcome = await call(submit, name, args, {
    ...jobOptions(options),
    onEvent: (event, eventArgs) => {
      if (event === `${name}_data`) items.push(eventArgs[0] as Buffer | string);
    },
  });
  if (name === 'get') return Buffer.concat(items as Buffer[]) as RequestResult<N>;
  if (COMMANDS[name].kind === 'download') return items as RequestResult<N>;
  if (name === 'mode') return undefined as RequestResult<N>;
  const [code, text, , value] = outcome as [number, string, unknown, unknown];
  return { code, text, value } as RequestResult<N>;
}

/** The job options of a call's options (the `undefined`s and a 0 offset left out). */
export function jobOptions(options: TransferCallOptions & { offset?: number | undefined }): Pick<JobRequest, 'signal' | 'transferMode' | 'offset'> {
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.transferMode ? { transferMode: options.transferMode } : {}),
    ...(options.offset ? { offset: options.offset } : {}),
  };
}
