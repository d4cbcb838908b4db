/** Runs a simple command (one line, one final reply) and a rename (RNFR then RNTO). */
import { FtpError, ProtocolError } from '../errors.js';
import { formatCommand } from '../protocol/command-line.js';
import { replyError, type Job, type RunContext } from './context.js';

/** Sends the command; emits `<name>(code, text, param[, result])` or `<name>_error`. */
export async function runSimple(ctx: RunContext, job: Job): Promise<void> {
  const { spec, args, param } = job;
  const line = spec.verb === null ? formatCommand(args[0]!, args.slice(1)) : formatCommand(spec.verb, args);
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
  if (spec.changes === 'type') ctx.settings.type = args[0]!.toUpperCase();
  ctx.events.pushNamed(spec.name, reply.code, reply.message, param, ...result);
}

/** RNFR from → 350 → `rename_partial` → RNTO to → 2xx → `rename(code, text, to)`. */
export async function runRename(ctx: RunContext, job: Job): Promise<void> {
  const [from, to] = job.args as [string, string];
  const first = await ctx.control.command(formatCommand('RNFR', [from]));
  if (first.code !== 350) {
    ctx.fail(job, first.code >= 400 ? replyError(first) : new ProtocolError(`unexpected reply to RNFR: ${first.code} ${first.text}`));
    return;
  }
  ctx.events.push('rename_partial', first.code, first.text, from);
  const second = await ctx.control.command(formatCommand('RNTO', [to]));
  if (second.code >= 300) {
    ctx.fail({ ...job, param: to }, replyError(second));
    return;
  }
  ctx.events.push('rename', second.code, second.text, to);
}
