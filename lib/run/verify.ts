/**
 * Checks, on a new connection, whether a command whose reply was lost with the old one took
 * effect (the command table's `verify`). Existence is asked with MLST when the server offers it
 * (RFC 3659), else with SIZE for files; when neither can tell, the outcome stays unknown.
 */
import { OutcomeUnknownError } from '../errors.js';
import { formatCommand } from '../protocol/command-line.js';
import { parseFeatReply } from '../protocol/values.js';
import type { Job, RunContext } from './context.js';

type Outcome = 'done' | 'not-done' | 'unknown';

/**
 * Runs the check for `job`: when it took effect, emits its success event with the reply code
 * the command would have had and a text saying how it was known; when it did not, runs it
 * again with `rerun`; otherwise fails it with OutcomeUnknownError.
 */
export async function runVerified(ctx: RunContext, job: Job, rerun: (ctx: RunContext, job: Job) => Promise<void>): Promise<void> {
  const { spec, args, param } = job;
  job.progress.verify = false;
  const outcome = await check(ctx, job);
  if (outcome === 'not-done') return rerun(ctx, job);
  if (outcome === 'unknown') {
    ctx.fail(job, new OutcomeUnknownError(`${spec.name}: the connection was lost before the server answered, and the server offers no way to check whether it took effect; it was not run again`));
    return;
  }
  const text = `${formatCommand(spec.verb!, args)}: the reply was lost with the connection; the change was verified after reconnecting`;
  if (spec.name === 'rename') ctx.events.push('rename', 250, text, args[1]!);
  else ctx.events.pushNamed(spec.name, spec.verify === 'exists' ? 257 : 250, text, param);
}

async function check(ctx: RunContext, job: Job): Promise<Outcome> {
  const [first, second] = job.args;
  switch (job.spec.verify) {
    case 'gone': {
      const found = await exists(ctx, first!, job.spec.name === 'delete');
      return found === null ? 'unknown' : found ? 'not-done' : 'done';
    }
    case 'exists': {
      const found = await exists(ctx, first!, false);
      return found === null ? 'unknown' : found ? 'done' : 'not-done';
    }
    case 'moved': {
      // SIZE can prove the source is still there (not renamed), never that it is gone.
      const source = await exists(ctx, first!, true);
      if (source === true) return 'not-done';
      const target = await exists(ctx, second!, true);
      return source === false && target === true ? 'done' : 'unknown';
    }
    default:
      return 'unknown';
  }
}

/** Whether `path` exists: true, false, or null when the server cannot say. */
async function exists(ctx: RunContext, path: string, isFile: boolean): Promise<boolean | null> {
  const features = await serverFeatures(ctx);
  if (features.has('MLST')) {
    const reply = await ctx.control.command(formatCommand('MLST', [path]));
    if (reply.code >= 200 && reply.code < 300) return true;
    return reply.code === 550 ? false : null;
  }
  if (!isFile) return null;
  // SIZE proves a file is there; its 550 could also mean "not a plain file": no proof of absence.
  const reply = await ctx.control.command(formatCommand('SIZE', [path]));
  return reply.code === 213 ? true : null;
}

async function serverFeatures(ctx: RunContext): Promise<Map<string, string>> {
  if (ctx.settings.features) return ctx.settings.features;
  const reply = await ctx.control.command('FEAT');
  let features = new Map<string, string>();
  if (reply.code >= 200 && reply.code < 300) {
    try {
      features = parseFeatReply(reply.lines);
    } catch {
      // An unreadable FEAT offers nothing to check with.
    }
  }
  ctx.settings.features = features;
  return features;
}
