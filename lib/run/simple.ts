/** Runs a simple command (one line, one final reply) and a rename (RNFR then RNTO). */
import { posix } from 'node:path';
import { ConnectionClosedError, FtpError, ProtocolError } from '../errors.js';
import { formatCommand } from '../protocol/command-line.js';
import { announce, askWorkingDirectory, ensureTransferType, replyError, type Job, type RunContext } from './context.js';

/** Sends the command; emits `<name>(code, text, param[, result])` or `<name>_error`. */
export async function runSimple(ctx: RunContext, job: Job): Promise<void> {
  const { spec, args, param } = job;
  const line = spec.verb === null ? formatCommand(args[0]!, args.slice(1)) : formatCommand(spec.verb, args);
  // A call that names its transfer type (SIZE for a binary transfer) gets that TYPE first.
  if (job.transferMode && !(await ensureTransferType(ctx, job))) return;
  job.progress.sent = true;
  const reply = await ctx.control.command(line);
  if (reply.code >= 400) {
    ctx.fail(job, replyError(reply));
    return;
  }
  const result: unknown[] = [];
  if (spec.result) {
    try {
      result.push(spec.result(reply));
    } catch (error) {
      ctx.fail(job, error instanceof FtpError ? error : new ProtocolError(String(error)));
      return;
    }
  }
  await remember(ctx, job);
  ctx.events.pushNamed(spec.name, reply.code, reply.message, param, ...result);
}

/** Records what a successful command changed, for the restore plan after a reconnect. */
async function remember(ctx: RunContext, job: Job): Promise<void> {
  const { settings } = ctx;
  switch (job.spec.changes) {
    case 'type':
      settings.type = job.args.join(' ').toUpperCase();
      return;
    case 'opts':
      settings.opts.set(job.args[0]!.toUpperCase(), job.args);
      return;
    case 'cwd':
      if (ctx.options.reconnect) settings.cwd = await currentDirectory(ctx, job);
      return;
    default:
  }
}

/**
 * The working directory after a successful `cd`/`cdup`, by PWD. When the server will not say,
 * it is worked out from the previous one (Unix paths), else undefined (unknown: a reconnect
 * then refuses to guess). A connection lost before PWD's answer interrupts the `cd` itself,
 * which then runs again after the reconnect.
 */
async function currentDirectory(ctx: RunContext, job: Job): Promise<string | undefined> {
  const { reply, path } = await askWorkingDirectory(ctx.control);
  if (ctx.control.closed) throw new ConnectionClosedError(`the connection closed before PWD after ${job.spec.name} was answered: ${reply.code} ${reply.text}`);
  if (path !== null) return path;
  const previous = ctx.settings.cwd;
  const target = job.spec.name === 'cdup' ? '..' : job.args[0]!;
  if (posix.isAbsolute(target)) return posix.normalize(target);
  return typeof previous === 'string' ? posix.resolve(previous, target) : undefined;
}

/** RNFR from → 350 → `rename_partial` → RNTO to → 2xx → `rename(code, text, to)`. Never splits the pair across connections. */
export async function runRename(ctx: RunContext, job: Job): Promise<void> {
  const [from, to] = job.args as [string, string];
  const first = await ctx.control.command(formatCommand('RNFR', [from]));
  if (first.code !== 350) {
    ctx.fail(job, first.code >= 400 ? replyError(first) : new ProtocolError(`unexpected reply to RNFR: ${first.code} ${first.text}`));
    return;
  }
  announce(ctx, job, 'rename_partial', first.code, first.text, from);
  job.progress.sent = true;
  const second = await ctx.control.command(formatCommand('RNTO', [to]));
  if (second.code >= 300) {
    ctx.fail({ ...job, param: to }, replyError(second));
    return;
  }
  ctx.events.push('rename', second.code, second.text, to);
}
