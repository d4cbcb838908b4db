/**
 * The promise form of posted commands: each call queues one command on the session (the same
 * queue as `post`, so order is kept) with an observer that turns its events into one promise.
 */
import { COMMANDS, lookupCommand, type CommandArgs, type CommandSpec } from '../commands.js';
import { InvalidArgumentError, ListingTooLargeError, type FtpError } from '../errors.js';
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

/** Options of calls that return a whole listing. */
export interface ListingCallOptions extends CallOptions {
  /** Most bytes of listing text the call holds; past it, the listing is stopped (ABOR) with `ListingTooLargeError`. Default 64 MiB. */
  maxListingBytes?: number | undefined;
}

/** Default cap of a whole listing held in memory. */
export const DEFAULT_MAX_LISTING_BYTES = 64 * 1024 * 1024;

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
  submit: Submit, name: N, args: CommandArgs[N], options: TransferCallOptions & ListingCallOptions = {},
): Promise<RequestResult<N>> {
  const spec: CommandSpec = COMMANDS[name];
  if (spec.payload === 'lines') {
    const lines: string[] = [];
    await listLines(submit, name, args as readonly string[], options, (line) => lines.push(line));
    return lines as RequestResult<N>;
  }
  const buffers: Buffer[] = [];
  const outcome = await call(submit, name, args, {
    ...jobOptions(options),
    onEvent: (event, eventArgs) => {
      if (event === 'get_data') buffers.push(eventArgs[0] as Buffer);
    },
  });
  if (name === 'get') return Buffer.concat(buffers) as RequestResult<N>;
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

/**
 * Queues a listing command and hands each line to `onLine`. Past `maxListingBytes` of text
 * the transfer is stopped (ABOR) and the call rejects with {@link ListingTooLargeError}.
 */
export async function listLines(submit: Submit, name: string, args: readonly string[], options: ListingCallOptions, onLine: (line: string) => void): Promise<void> {
  const limit = options.maxListingBytes ?? DEFAULT_MAX_LISTING_BYTES;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError(`maxListingBytes must be a positive integer, got ${String(limit)}`);
  const { cancel, signal } = cancellable(options.signal);
  let bytes = 0;
  let tooLarge: ListingTooLargeError | null = null;
  try {
    await call(submit, name, args, {
      ...jobOptions({ signal }),
      onEvent(event, eventArgs) {
        if (event !== `${name}_data` || tooLarge) return;
        const line = eventArgs[0] as string;
        bytes += line.length + 1;
        if (bytes > limit) {
          tooLarge = new ListingTooLargeError(limit);
          cancel.abort(tooLarge);
          return;
        }
        onLine(line);
      },
    });
  } catch (error) {
    throw tooLarge ?? error;
  }
  if (tooLarge) throw tooLarge;
}

/** A controller to stop a call from inside, and the signal the call takes: it fires on that or on the caller's `signal`. */
export function cancellable(signal: AbortSignal | undefined): { cancel: AbortController; signal: AbortSignal } {
  const cancel = new AbortController();
  return { cancel, signal: signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal };
}
