/**
 * ftp-session: an event-driven, non-blocking FTP client session for Node.js.
 * @packageDocumentation
 */
export { FtpSession } from './session.js';
export type { CallOptions, TransferCallOptions, CommandReply, ParsedValues, RequestName, RequestResult } from './api/request.js';
export type { DownloadOptions, UploadOptions, UploadSource } from './api/streams.js';
export type { ChunkSink, DownloadToOptions } from './api/sink.js';
export { fileSource, type FileSource } from './api/file-source.js';
export type { FileTransferOptions, FileTransferResult, IfExists, MismatchPolicy } from './api/files.js';
export type { VerifyMode } from './api/integrity.js';
export type { FxpOptions, FxpResult } from './api/fxp.js';
export type { FxpTreeOptions } from './api/trees.js';
export type { Permissions, Access } from './api/directories.js';
export type { ListOptions } from './api/listing.js';
export type { ListingCallOptions } from './api/request.js';
export type { TreeOptions, TreeResult, TreeFileResult, TreeProgress, TreeEntry } from './api/trees.js';
export type { FileInfo, FileType, ListingFormat, EntryPermissions } from './protocol/listing/entry.js';
export { parseListing, ListingParser, type ListingParserOptions } from './protocol/listing/parser.js';
export type { TransferProgress, ProgressListener } from './api/progress.js';
export type { HashAlgorithm } from './protocol/hash.js';
export type { FtpSessionOptions, ConnectionMode, TransferMode, EventSubscription, Encoding } from './options.js';
export type { FtpEvents, FtpEventName, ErrorListener, SimpleCommandName, DownloadCommandName } from './events.js';
export type { SessionState } from './state.js';
export { COMMANDS, type CommandArgs, type CommandName, type CommandSpec, type CommandKind, type RetryPolicy } from './commands.js';
export * from './errors.js';
export type { Reply } from './protocol/reply.js';
