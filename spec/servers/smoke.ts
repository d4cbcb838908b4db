/**
 * Proves the server configs with curl: `npx tsx spec/servers/smoke.ts [KIND...]`.
 * Starts the servers at once, then on each: passive LIST, RETR of a fixture, upload into the
 * upload folder, active (PORT/EPRT) LIST, MLSD where supported, a wrong password. Exits 1 on failure.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SERVER_KINDS, startServer, writeFixture, type RunningServer, type ServerKind } from '../support/servers.js';

function curl(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    const child = execFile('curl', ['-sS', '--max-time', '20', ...args], (error, out, err) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      res({ code, out, err });
    });
    child.stdin?.end(input ?? '');
  });
}

async function check(s: RunningServer): Promise<string[]> {
  const url = `ftp://127.0.0.1:${s.port}`;
  const auth = ['-u', `${s.user}:${s.password}`];
  const failures: string[] = [];
  const step = async (name: string, run: () => Promise<boolean>): Promise<void> => {
    const t0 = performance.now();
    const ok = await run().catch((e: unknown) => { console.log(`    ${String(e)}`); return false; });
    console.log(`  ${s.kind.padEnd(8)} ${ok ? 'ok  ' : 'FAIL'} ${name} (${(performance.now() - t0).toFixed(0)} ms)`);
    if (!ok) failures.push(`${s.kind}: ${name}`);
  };
  await writeFixture(s, 'hello.txt', Buffer.from('hello fixture\n'));
  await writeFixture(s, 'sub/dir/nested.txt', Buffer.from('nested\n'));
  await writeFixture(s, `${s.uploadDir}/old.txt`, Buffer.from('old\n'));

  await step('passive LIST /', async () => {
    const r = await curl([...auth, `${url}/`]);
    return r.code === 0 && r.out.includes('hello.txt') && r.out.includes(s.uploadDir);
  });
  await step('RETR fixture', async () => (await curl([...auth, `${url}/sub/dir/nested.txt`])).out === 'nested\n');
  await step('STOR into upload dir', async () => {
    const r = await curl([...auth, '-T', '-', `${url}/${s.uploadDir}/new.txt`], 'uploaded\n');
    return r.code === 0 && (await readFile(join(s.root, s.uploadDir, 'new.txt'), 'utf8')) === 'uploaded\n';
  });
  await step('APPE + overwrite fixture', async () => {
    const a = await curl([...auth, '-a', '-T', '-', `${url}/${s.uploadDir}/new.txt`], 'more\n');
    const o = await curl([...auth, '-T', '-', `${url}/${s.uploadDir}/old.txt`], 'new\n');
    const dir = join(s.root, s.uploadDir);
    return a.code === 0 && o.code === 0 && (await readFile(join(dir, 'new.txt'), 'utf8')) === 'uploaded\nmore\n'
      && (await readFile(join(dir, 'old.txt'), 'utf8')) === 'new\n';
  });
  await step('MKD, RNFR/RNTO, DELE, RMD', async () => {
    const u = s.uploadDir;
    // curl sends -Q commands before it changes into the URL's folder: use paths from the root.
    const q = ['MKD d', 'MKD d/e', 'RNFR new.txt', 'RNTO d/e/moved.txt', 'DELE d/e/moved.txt', 'RMD d/e', 'RMD d', 'DELE old.txt']
      .map((c) => c.replace(' ', ` ${u}/`));
    const r = await curl([...auth, ...q.flatMap((c) => ['-Q', c]), `${url}/${u}/`]);
    return r.code === 0 && !r.out.includes('new.txt') && !r.out.includes('old.txt');
  });
  await step('active LIST /sub', async () => {
    const r = await curl([...auth, '-P', '127.0.0.1', `${url}/sub/`]);
    return r.code === 0 && r.out.includes('dir');
  });
  await step('write outside upload dir refused', async () =>
    (await curl([...auth, '-T', '-', `${url}/nope.txt`], 'x')).code === 25);
  if (s.features.mlsd) {
    await step('MLSD /', async () => (await curl([...auth, '-X', 'MLSD', `${url}/`])).out.includes('type=dir'));
  }
  if (s.badPasswordRejected) {
    await step('wrong password gets 530', async () =>
      (await curl(['-u', `${s.user}:wrong`, `${url}/`])).err.includes('530'));
  }
  return failures;
}

async function main(): Promise<void> {
  const kinds = (process.argv.length > 2 ? process.argv.slice(2) : SERVER_KINDS) as ServerKind[];
  const t0 = performance.now();
  const servers = await Promise.all(kinds.map(async (kind) => {
    const t = performance.now();
    const s = await startServer(kind);
    console.log(`started ${kind} pid ${s.pid} port ${s.port} root ${s.root} in ${(performance.now() - t).toFixed(0)} ms`);
    return s;
  }));
  console.log(`all started in ${(performance.now() - t0).toFixed(0)} ms`);
  const failures: string[] = [];
  try {
    for (const s of servers) failures.push(...(await check(s)));
  } finally {
    const t = performance.now();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.stop())); // twice is fine
    console.log(`stopped in ${(performance.now() - t).toFixed(0)} ms`);
  }
  console.log(failures.length === 0 ? 'smoke: all passed' : `smoke: FAILED\n  ${failures.join('\n  ')}`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

void main();
