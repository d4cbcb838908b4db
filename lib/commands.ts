/**
 * The command table: every command a caller can post, as data. A newcomer adding a command adds
 * one row here (and, for a new kind, one runner in `lib/run/`).
 */
import { InvalidArgumentError } from './errors.js';
import { assertSafeArgument, formatCommand } from './protocol/command-line.js';
import type { Reply } from './protocol/reply.js';
import { parseFeatReply, parseMdtmReply, parsePwdReply, parseSizeReply } from './protocol/values.js';
import type { Encoding } from './options.js';

/** How a command runs; each kind has one runner. */
export type CommandKind =
  /** One command line, one final reply. */
  | 'simple'
  /** A data connection carrying bytes or lines from the server (RETR, LIST, NLST, MLSD). */
  | 'download'
  /** A data connection carrying `put_data` chunks to the server (STOR, APPE, STOU). */
  | 'upload'
  /** RNFR then RNTO. */
  | 'rename'
  /** USER/PASS/ACCT with the posted credentials. */
  | 'login'
  /** A new control connection (after `connect_error`). */
  | 'connect'
  /** A local setting, nothing sent. */
  | 'setting'
  /** Feeds the open upload (`put_data`, `put_close`): never queued on its own. */
  | 'feed'
  /** Lends the control connection to a server-to-server copy (`transferFile`); never posted by callers. */
  | 'hold';

/**
 * What may happen to a command whose reply was lost with the connection (used by reconnect):
 * `replay`: harmless to run again; `resume`: run again from where the data stopped;
 * `never`: could apply twice, so the caller is told the outcome is unknown.
 */
export type RetryPolicy = 'replay' | 'resume' | 'never';

/** Session state a successful command changes (what a reconnect must restore). */
export type SessionEffect = 'cwd' | 'type' | 'opts' | 'connectionMode' | 'quit' | 'login';

/**
 * How a `never` command whose reply was lost is checked on the new connection (by MLST, or SIZE
 * for files): `gone` (DELE, RMD: done when the path no longer exists), `exists` (MKD: done when
 * it exists), `moved` (RNFR/RNTO: done when the source is gone and the target exists). When the
 * path still shows the command did not happen, the command runs again; when the check cannot
 * tell, the caller gets an {@link OutcomeUnknownError}.
 */
export type Verification = 'gone' | 'exists' | 'moved';

/** One row of the command table. */
export interface CommandSpec {
  /** The name callers post, and the stem of its event names. */
  readonly name: CommandName;
  /** The FTP verb sent; `null` when the first argument is the verb (`quot`) or nothing is sent. */
  readonly verb: string | null;
  readonly kind: CommandKind;
  /** Fewest and most arguments accepted. */
  readonly args: readonly [min: number, max: number];
  /** For downloads: deliver `bytes` (Buffer chunks) or `lines` (one string per event). */
  readonly payload?: 'bytes' | 'lines';
  readonly retry: RetryPolicy;
  /** For `never` commands: how a lost reply is checked (see {@link Verification}). */
  readonly verify?: Verification;
  readonly changes: SessionEffect | null;
  /** Parses a successful reply into the extra event argument (path, size, date, features). */
  readonly result?: (reply: Reply) => unknown;
  /** The events this command can emit (before any rename by the `events` option). */
  readonly events: readonly string[];
  /** The event that says it succeeded (the promise API resolves on it). */
  readonly success: string;
}

const simpleEvents = (name: string) => [name, `${name}_error`] as const;
const dataEvents = (name: string) =>
  [`${name}_connected`, `${name}_server`, `${name}_data`, `${name}_done`, `${name}_error`] as const;
const UPLOAD_EVENTS = ['put_connected', 'put_server', 'put_flushed', 'put_closed', 'put_error'] as const;
const ANY = 64;

function simple(
  name: CommandName, verb: string | null, args: readonly [number, number], retry: RetryPolicy,
  extra: { changes?: SessionEffect; result?: (reply: Reply) => unknown; verify?: Verification } = {},
): CommandSpec {
  const { changes = null, ...rest } = extra;
  return { name, verb, kind: 'simple', args, retry, changes, events: simpleEvents(name), success: name, ...rest };
}

function download(name: CommandName, verb: string, args: readonly [number, number], payload: 'bytes' | 'lines'): CommandSpec {
  return { name, verb, kind: 'download', args, payload, retry: payload === 'bytes' ? 'resume' : 'replay', changes: null, events: dataEvents(name), success: `${name}_done` };
}

function upload(name: CommandName, verb: string, args: readonly [number, number]): CommandSpec {
  return { name, verb, kind: 'upload', args, retry: 'never', changes: null, events: UPLOAD_EVENTS, success: 'put_closed' };
}

/** Every command, keyed by its posted name. */
export const COMMANDS = {
  cd: simple('cd', 'CWD', [1, 1], 'replay', { changes: 'cwd' }),
  cdup: simple('cdup', 'CDUP', [0, 0], 'replay', { changes: 'cwd' }),
  delete: simple('delete', 'DELE', [1, 1], 'never', { verify: 'gone' }),
  mdtm: simple('mdtm', 'MDTM', [1, 1], 'replay', { result: (r) => parseMdtmReply(r.text) }),
  mkdir: simple('mkdir', 'MKD', [1, 1], 'never', { verify: 'exists' }),
  noop: simple('noop', 'NOOP', [0, 0], 'replay'),
  pwd: simple('pwd', 'PWD', [0, 0], 'replay', { result: (r) => parsePwdReply(r.text) }),
  opts: simple('opts', 'OPTS', [1, ANY], 'replay', { changes: 'opts' }),
  rmdir: simple('rmdir', 'RMD', [1, 1], 'never', { verify: 'gone' }),
  site: simple('site', 'SITE', [1, ANY], 'never'),
  size: simple('size', 'SIZE', [1, 1], 'replay', { result: (r) => parseSizeReply(r.text) }),
  stat: simple('stat', 'STAT', [0, 1], 'replay'),
  syst: simple('syst', 'SYST', [0, 0], 'replay'),
  type: simple('type', 'TYPE', [1, 2], 'replay', { changes: 'type' }),
  quot: simple('quot', null, [1, ANY], 'never'),
  feat: simple('feat', 'FEAT', [0, 0], 'replay', { result: (r) => parseFeatReply(r.lines) }),
  help: simple('help', 'HELP', [0, 1], 'replay'),
  quit: simple('quit', 'QUIT', [0, 0], 'never', { changes: 'quit' }),
  ls: download('ls', 'LIST', [0, ANY], 'lines'),
  dir: download('dir', 'NLST', [0, ANY], 'lines'),
  list: download('list', 'LIST', [0, ANY], 'lines'),
  nlst: download('nlst', 'NLST', [0, ANY], 'lines'),
  mlsd: download('mlsd', 'MLSD', [0, 1], 'lines'),
  get: download('get', 'RETR', [1, 1], 'bytes'),
  put: upload('put', 'STOR', [1, 1]),
  appe: upload('appe', 'APPE', [1, 1]),
  stou: upload('stou', 'STOU', [0, 1]),
  put_data: { name: 'put_data', verb: null, kind: 'feed', args: [1, 1], retry: 'never', changes: null, events: ['put_flushed', 'put_error'], success: 'put_flushed' },
  put_close: { name: 'put_close', verb: null, kind: 'feed', args: [0, 0], retry: 'never', changes: null, events: ['put_closed', 'put_error'], success: 'put_closed' },
  rename: { name: 'rename', verb: 'RNFR', kind: 'rename', args: [2, 2], retry: 'never', verify: 'moved', changes: null, events: ['rename_partial', 'rename', 'rename_error'], success: 'rename' },
  login: { name: 'login', verb: 'USER', kind: 'login', args: [2, 3], retry: 'never', changes: 'login', events: ['authenticated', 'login_error'], success: 'authenticated' },
  connect: { name: 'connect', verb: null, kind: 'connect', args: [0, 0], retry: 'never', changes: null, events: ['connected', 'connect_error'], success: 'connected' },
  fxp: { name: 'fxp', verb: null, kind: 'hold', args: [0, 0], retry: 'never', changes: 'type', events: ['fxp_step', 'fxp_progress', 'fxp_done', 'fxp_error'], success: 'fxp_done' },
  mode: { name: 'mode', verb: null, kind: 'setting', args: [1, 1], retry: 'replay', changes: 'connectionMode', events: ['mode', 'mode_error'], success: 'mode' },
} as const satisfies Record<string, CommandSpec>;

/** Arguments of each command, for `post`'s type checking. */
export interface CommandArgs {
  cd: [path: string];
  cdup: [];
  delete: [path: string];
  mdtm: [path: string];
  mkdir: [path: string];
  noop: [];
  opts: [option: string, ...args: (string | number)[]];
  pwd: [];
  rmdir: [path: string];
  site: [word: string, ...words: (string | number)[]];
  size: [path: string];
  stat: [] | [path: string];
  syst: [];
  type: [type: string] | [type: string, format: string];
  quot: [verb: string, ...args: (string | number)[]];
  feat: [];
  help: [] | [topic: string];
  quit: [];
  ls: [...args: string[]];
  dir: [...args: string[]];
  list: [...args: string[]];
  nlst: [...args: string[]];
  mlsd: [] | [path: string];
  get: [path: string];
  put: [path: string];
  appe: [path: string];
  stou: [] | [name: string];
  put_data: [data: Buffer | Uint8Array | string];
  put_close: [];
  rename: [from: string, to: string];
  login: [user: string, password: string] | [user: string, password: string, account: string];
  connect: [];
  /** Not postable: `transferFile` runs it (see `lib/run/hold.ts`). */
  fxp: [];
  mode: [mode: 'active' | 'passive'];
}

/** Names of the commands a caller can post. */
export type CommandName = keyof CommandArgs;

/** The table row of `name`, or undefined for a name the session does not know. */
export function lookupCommand(name: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, name) ? (COMMANDS as Record<string, CommandSpec>)[name] : undefined;
}

/** Checks argument count and types, that no argument holds CR, LF or NUL, and that each fits the encoding. Returns them as strings. */
export function checkArguments(spec: CommandSpec, args: readonly unknown[], encoding: Encoding = 'utf8'): string[] {
  const [min, max] = spec.args;
  if (args.length < min || args.length > max) {
    const wanted = min === max ? `${min}` : `${min} to ${max}`;
    throw new InvalidArgumentError(`${spec.name} takes ${wanted} argument(s), got ${args.length}`);
  }
  if (spec.name === 'put_data') {
    const data = args[0];
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new InvalidArgumentError('put_data takes a Buffer, Uint8Array or string');
    return [];
  }
  if (spec.name === 'mode' && args[0] !== 'active' && args[0] !== 'passive') {
    throw new InvalidArgumentError(`mode must be 'active' or 'passive', got ${String(args[0])}`);
  }
  const words = args.map((arg, index) => {
    if (typeof arg !== 'string' && typeof arg !== 'number') throw new InvalidArgumentError(`${spec.name}: argument ${index + 1} must be a string`);
    const word = String(arg);
    assertSafeArgument(word, `${spec.name} argument ${index + 1}`, spec.kind === 'login' && index > 0);
    if (encoding === 'latin1' && /[^\x00-\xff]/.test(word)) throw new InvalidArgumentError(`${spec.name}: argument ${index + 1} has a character that Latin-1 (the session's encoding) cannot carry`);
    return word;
  });
  if (spec.name === 'quot') formatCommand(words[0]!, words.slice(1)); // the verb itself must be a word
  return words;
}
