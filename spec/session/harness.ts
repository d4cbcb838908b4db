/**
 * Shared set-up for the session tests: a scripted server, a session logged in to it (or not),
 * every event recorded in order, and bounded waits on that record.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FtpSession, type FtpError, type FtpSessionOptions } from '../../lib/index.js';
import { recordEvents, type Recorded } from '../support/events.js';
import { scriptedServer, type ScriptedServer, type ScriptedServerOptions } from '../support/scripted-server.js';

export const USER = 'user';
export const PASSWORD = 'secret';

export interface Harness {
  server: ScriptedServer;
  ftp: FtpSession;
  /** Every event but `state`, in delivery order. */
  seen: Recorded[];
}

/**
 * Starts a scripted server and a session on it (user/secret, 2 s timeout unless overridden;
 * `credentials: false` spawns without them). Both are released after the test.
 */
export async function start(
  t: TestContext,
  serverOptions: ScriptedServerOptions = {},
  sessionOptions: Partial<FtpSessionOptions> = {},
  { credentials = true }: { credentials?: boolean } = {},
): Promise<Harness> {
  const server = await scriptedServer(serverOptions);
  const ftp = FtpSession.spawn({
    ...server.address,
    ...(credentials ? { user: USER, password: PASSWORD } : {}),
    timeout: 2000,
    ...(process.env.FTP_DEBUG ? { debug: (line: string) => { process.stderr.write(`${line}\n`); } } : {}),
    ...sessionOptions,
  });
  const seen = recordEvents(ftp);
  t.after(async () => {
    await server.close();
    await ftp.close();
    assert.deepEqual(server.errors, [], 'the scripted server reported no script errors');
  });
  return { server, ftp, seen };
}

/** Names of the recorded events, in order. */
export const names = (seen: readonly Recorded[]): string[] => seen.map((event) => event.name);

/** The recorded events called `name`. */
export const only = (seen: readonly Recorded[], name: string): Recorded[] => seen.filter((event) => event.name === name);

/**
 * Resolves with the `count`-th recorded event called `name` (already recorded ones count);
 * rejects after `timeoutMs`.
 */
export async function waitFor(seen: readonly Recorded[], name: string, { count = 1, timeoutMs = 3000 } = {}): Promise<Recorded> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = only(seen, name);
    if (found.length >= count) return found[count - 1]!;
    if (Date.now() > deadline) {
      throw new Error(`no ${count > 1 ? `${count} ` : ''}'${name}' event within ${timeoutMs} ms; seen: ${names(seen).join(', ') || '(none)'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves when `condition()` holds; rejects after `timeoutMs` with `what`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Asserts that an error event's last argument is an `FtpError` of class `type`, and returns it. */
export function errorOf(event: Recorded, type: abstract new (...args: never[]) => FtpError): FtpError {
  const error = event.args[event.args.length - 1];
  assert.ok(error instanceof type, `${event.name}: expected a ${type.name}, got ${String(error)}`);
  return error;
}

/** Lets every queued event be delivered (two turns of the event loop). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** The test options every session test uses. */
export const BOUND = { timeout: 10_000 } as const;
