/**
 * Test helpers around a session's events: wait for one event, record every event in order,
 * and run one command to its outcome. Every wait is bounded.
 */
import { COMMANDS, type CommandArgs, type CommandName, type FtpEventName, type FtpEvents, type FtpSession } from '../../lib/index.js';

/** Every event name a session can emit (from the command table plus the lifecycle events). */
export const ALL_EVENTS: readonly string[] = [
  ...new Set([
    ...Object.values(COMMANDS).flatMap((spec) => spec.events),
    'connected', 'connect_error', 'authenticated', 'login_error', 'server_message', 'disconnected', 'state', 'error', 'closed',
    'reconnecting', 'reconnected', 'reconnect_error', 'listing_unparsed',
  ]),
];

/** Resolves with the arguments of the next `name` event; rejects after `timeoutMs`. */
export function nextEvent<E extends FtpEventName>(ftp: FtpSession, name: E, timeoutMs = 5000): Promise<Parameters<FtpEvents[E]>> {
  return new Promise((resolve, reject) => {
    const listener = ((...args: Parameters<FtpEvents[E]>) => {
      clearTimeout(timer);
      resolve(args);
    }) as FtpEvents[E];
    const timer = setTimeout(() => {
      ftp.off(name, listener);
      reject(new Error(`no '${String(name)}' event within ${timeoutMs} ms (state ${ftp.state})`));
    }, timeoutMs);
    ftp.once(name, listener);
  });
}

/** One recorded event. */
export interface Recorded {
  name: string;
  args: unknown[];
}

/** Records every event (except `state`, unless asked) in delivery order. */
export function recordEvents(ftp: FtpSession, options: { states?: boolean } = {}): Recorded[] {
  const seen: Recorded[] = [];
  const on = ftp.on.bind(ftp) as (name: string, listener: (...args: unknown[]) => void) => void;
  for (const name of ALL_EVENTS) {
    if (name === 'state' && !options.states) continue;
    on(name, (...args) => seen.push({ name, args }));
  }
  return seen;
}

/** The outcome of one command run with {@link runCommand}. */
export interface Outcome {
  /** The event that ended it: `<name>`, `<name>_done`, `put_closed`, `rename`, or an `_error`. */
  event: string;
  args: unknown[];
  /** Downloads: the `_data` payloads, in order. */
  data: Array<Buffer | string>;
}

const FINAL: Partial<Record<CommandName, [string, string]>> = {
  put: ['put_closed', 'put_error'], appe: ['put_closed', 'put_error'], stou: ['put_closed', 'put_error'],
  rename: ['rename', 'rename_error'], mode: ['mode', 'mode_error'],
};

/** Posts a command and resolves with the event that ends it (success or error). */
export function runCommand<N extends CommandName>(ftp: FtpSession, name: N, args: CommandArgs[N], timeoutMs = 10_000): Promise<Outcome> {
  const spec = COMMANDS[name];
  const [ok, fail] = FINAL[name] ?? (spec.kind === 'download' ? [`${name}_done`, `${name}_error`] : [name, `${name}_error`]);
  const on = ftp.on.bind(ftp) as (n: string, l: (...a: unknown[]) => void) => void;
  const off = ftp.off.bind(ftp) as (n: string, l: (...a: unknown[]) => void) => void;
  return new Promise((resolve, reject) => {
    const data: Array<Buffer | string> = [];
    const onData = (chunk: unknown) => data.push(chunk as Buffer | string);
    const finish = (event: string) => (...eventArgs: unknown[]) => {
      cleanup();
      resolve({ event, args: eventArgs, data });
    };
    const onOk = finish(ok);
    const onFail = finish(fail);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${name} did not finish within ${timeoutMs} ms (state ${ftp.state})`));
    }, timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      off(ok, onOk);
      off(fail, onFail);
      off(`${name}_data`, onData);
    }
    on(ok, onOk);
    on(fail, onFail);
    if (spec.kind === 'download') on(`${name}_data`, onData);
    (ftp.post as (n: string, ...a: unknown[]) => void)(name, ...(args as unknown[]));
  });
}

/**
 * Uploads `data` with put, put_data and put_close, `chunkSize` bytes at a time, each chunk
 * posted when the previous one was flushed (so memory stays at one chunk); resolves with the
 * outcome and the bytes `put_flushed` reported.
 */
export async function uploadPaced(
  ftp: FtpSession, name: string, data: Buffer, { chunkSize = 1024 * 1024, timeoutMs = 120_000 } = {},
): Promise<{ outcome: Outcome; flushed: number }> {
  let sent = 0;
  let flushed = 0;
  const next = () => {
    if (sent < data.length) {
      ftp.post('put_data', data.subarray(sent, sent + chunkSize));
      sent += chunkSize;
    } else if (flushed >= data.length) {
      ftp.post('put_close');
    }
  };
  const onFlushed = (bytes: number) => {
    flushed += bytes;
    next();
  };
  ftp.on('put_flushed', onFlushed);
  const done = runCommand(ftp, 'put', [name], timeoutMs);
  next();
  try {
    return { outcome: await done, flushed };
  } finally {
    ftp.off('put_flushed', onFlushed);
  }
}
