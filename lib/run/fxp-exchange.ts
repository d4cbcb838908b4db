/**
 * One attempt of a server-to-server copy (FXP) over two leased control connections (see
 * `hold.ts`). The order, as FluentFTP and lftp use it:
 *
 * 1. TYPE on both sides;
 * 2. with protected data (PROT P) on both: one server must take the TLS client's part, so
 *    `SSCN ON` goes to a side that offers it (or `CPSV` replaces PASV); `PROT C` only when the
 *    caller asked for a clear copy; never a silent downgrade;
 * 3. the listening side opens a port (PASV) and the other side is told to connect to it (PORT),
 *    with the address the listener advertised: the one place the library uses a PASV address;
 * 4. REST on the source when resuming;
 * 5. the connecting side's transfer command first (its server connects at once; the listener's
 *    kernel accepts), then the listener's: RETR on the source, STOR (or APPE) on the target;
 * 6. success only when **both** final replies are 2xx.
 *
 * No retries here: `lib/api/fxp.ts` tries the other orientation after an {@link FxpError},
 * and resumes after a failure in the middle.
 */
import { FxpError, PartialTransferError, ReplyError } from '../errors.js';
import { formatPortArgument, parsePasvReply, type HostPort } from '../protocol/passive.js';
import type { Reply } from '../protocol/reply.js';
import type { FxpRole, Lease } from './hold.js';

/** What one attempt copies, and how. */
export interface ExchangePlan {
  readonly sourcePath: string;
  readonly targetPath: string;
  /** Resume at this byte: REST on the source and APPE on the target; 0: STOR. */
  readonly offset: number;
  readonly type: 'A' | 'I';
  /** The side that listens (PASV); the other connects (PORT). */
  readonly listener: FxpRole;
  /** Copy with PROT C where the sessions protect data (the caller's explicit choice). */
  readonly clearData: boolean;
  /** The sides whose server offers SSCN, and CPSV (from FEAT). */
  readonly sscn: ReadonlySet<FxpRole>;
  readonly cpsv: ReadonlySet<FxpRole>;
}

/** Runs one attempt; resolves when both servers confirmed the copy. `stop` aborts it (ABOR on both). */
export async function exchange(source: Lease, target: Lease, plan: ExchangePlan, stop?: AbortSignal): Promise<void> {
  const listener = plan.listener === 'target' ? target : source;
  const connector = plan.listener === 'target' ? source : target;
  for (const side of [source, target]) {
    const reply = await side.ensureType(plan.type);
    if (reply && reply.code >= 300) throw refusal(side, 'type', `TYPE ${plan.type}`, reply);
  }
  const undo: Undo = [];
  try {
    const cpsv = await protect(source, target, listener, connector, plan, undo);
    const passiveVerb = cpsv ? 'CPSV' : 'PASV';
    const passive = await listener.command(passiveVerb);
    if (passive.code !== 227) throw refusal(listener, 'pasv', passiveVerb, passive);
    const address = advertised(passive, listener);
    const portArgument = formatPortArgument(address.host, address.port);
    const port = await connector.command('PORT', [portArgument]);
    if (port.code >= 300) throw refusal(connector, 'port', `PORT ${portArgument}`, port);
    if (plan.offset > 0) {
      const rest = await source.command('REST', [String(plan.offset)]);
      if (rest.code !== 350) throw new PartialTransferError(`FXP: the source refused REST ${plan.offset}: ${rest.code} ${rest.text}`, rest.code, 'restart-refused');
    }
    await transfer([connector, listener], plan, stop);
  } finally {
    // Back to what the sessions had (PROT P, SSCN OFF), even when a later step failed.
    for (const step of undo) await step().catch(() => {});
  }
}

/** Starts both transfer commands in order and waits for both final replies. */
async function transfer(order: readonly Lease[], plan: ExchangePlan, stop?: AbortSignal): Promise<void> {
  const verbs: Record<FxpRole, [string, string]> = {
    source: ['RETR', plan.sourcePath],
    target: [plan.offset > 0 ? 'APPE' : 'STOR', plan.targetPath],
  };
  const started: Lease[] = [];
  const abortAll = () => Promise.all(started.map((side) => side.abort().catch(() => {})));
  try {
    for (const side of order) {
      const [verb, path] = verbs[side.role];
      const first = await side.transfer(verb, [path]);
      // 425: this server could not open (or would not accept) the data connection: the orientation's fault.
      if (first.code === 425) throw refusal(side, 'transfer', verb, first);
      if (first.code >= 200) throw sideError(side, verb, first);
      started.push(side);
    }
    let failure: ReplyError | null = null;
    const onStop = () => void abortAll();
    stop?.addEventListener('abort', onStop, { once: true });
    try {
      await Promise.all(started.map(async (side) => {
        const reply = await side.done();
        if (reply.code < 300) return;
        failure ??= sideError(side, verbs[side.role][0], reply);
        await abortAll(); // the other side may wait for a peer that is gone
      }));
    } finally {
      stop?.removeEventListener('abort', onStop);
    }
    if (stop?.aborted) throw stop.reason;
    if (failure) throw failure;
  } catch (error) {
    await abortAll();
    throw error;
  }
}

/** Steps that undo what {@link protect} changed, run after the attempt whatever its outcome. */
type Undo = Array<() => Promise<unknown>>;

/**
 * Step 2: with PROT P on both sides, one server must be the TLS client of the data connection:
 * SSCN ON on the connector (else on the listener), else CPSV on the listener (returns true). With
 * PROT P on one side only, or on both and none of these, the copy is impossible unless the caller
 * chose a clear copy (PROT C on the protected sides for this copy). Each change is undone by `undo`.
 */
async function protect(source: Lease, target: Lease, listener: Lease, connector: Lease, plan: ExchangePlan, undo: Undo): Promise<boolean> {
  const guarded = [source, target].filter((side) => side.protectsData);
  if (guarded.length === 0) return false;
  if (plan.clearData) {
    for (const side of guarded) {
      const reply = await side.command('PROT', ['C']);
      if (reply.code >= 300) throw refusal(side, 'tls', 'PROT C', reply);
      undo.push(() => side.command('PROT', ['P']));
    }
    return false;
  }
  if (guarded.length === 1) {
    const [side] = guarded as [Lease];
    throw new FxpError(side.role, 'tls', `FXP: the ${side.role} protects its data connections (PROT P) and the other server does not; copying would leave the data in clear on one side (pass clearData to allow PROT C)`);
  }
  const client = [connector, listener].find((side) => plan.sscn.has(side.role));
  if (client) {
    const reply = await client.command('SSCN', ['ON']);
    if (reply.code >= 300) throw refusal(client, 'tls', 'SSCN ON', reply);
    undo.push(() => client.command('SSCN', ['OFF']));
    return false;
  }
  if (plan.cpsv.has(listener.role)) return true;
  throw new FxpError(listener.role, 'tls', 'FXP with protected data needs SSCN or CPSV, and neither server offers them (FEAT); pass clearData to copy with PROT C, or copy through the client');
}

/**
 * The address in the listener's 227. A server behind NAT, or one that advertises 0.0.0.0,
 * names an address its peer cannot reach; then the control connection's peer address is used.
 */
function advertised(reply: Reply, listener: Lease): HostPort {
  const address = parsePasvReply(reply.text);
  const unusable = address.host === '0.0.0.0' || address.host.startsWith('127.') !== isLoopback(listener.remoteAddress);
  return unusable ? { host: plainIpv4(listener.remoteAddress), port: address.port } : address;
}

function isLoopback(address: string): boolean {
  return plainIpv4(address).startsWith('127.');
}

function plainIpv4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** An {@link FxpError}: `side` would not take `line`. */
function refusal(side: Lease, stage: FxpError['stage'], line: string, reply: Reply): FxpError {
  return new FxpError(side.role, stage, `FXP: the ${side.role} refused ${line}: ${reply.code} ${reply.text}`, reply.code);
}

/** A failed transfer reply of one side (4xx: the copy may resume; 5xx: it cannot). */
function sideError(side: Lease, verb: string, reply: Reply): ReplyError {
  return new ReplyError(`FXP: ${verb} on the ${side.role} failed: ${reply.code} ${reply.text}`, reply.code);
}
