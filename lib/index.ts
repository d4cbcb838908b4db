/**
 * ftp-session: an event-driven, non-blocking FTP client session for Node.js.
 * @packageDocumentation
 */
export { FtpSession } from './session.js';
export type { FtpSessionOptions, ConnectionMode, TransferMode, EventSubscription } from './options.js';
export type { FtpEvents, FtpEventName, ErrorListener, SimpleCommandName, DownloadCommandName } from './events.js';
export type { SessionState } from './state.js';
export { COMMANDS, type CommandArgs, type CommandName, type CommandSpec, type CommandKind, type RetryPolicy } from './commands.js';
export * from './errors.js';
export type { Reply } from './protocol/reply.js';
