/**
 * Proves the FTPS server configs: `npx tsx spec/servers/tls-smoke.ts [-v]`.
 * For each configuration: LIST, RETR and STOR in passive mode (curl) and in active mode (lftp:
 * curl 7.87-7.88, Debian 12's, never starts TLS on an active data connection, curl issue #10666);
 * whether a data connection that does not resume the control connection's TLS session
 * (`curl --no-sessionid`) is refused; whether a login without TLS is refused; the TLS version curl
 * negotiated; and, for client-certificate configs, that a login without the certificate fails.
 * Prints a table; exits 1 when a cell fails. `-v` prints the client's stderr for failed steps.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testCertificates } from '../support/certs.js';
import { startServer, writeFixture, type RunningServer, type ServerKind, type TlsServerOptions } from '../support/servers.js';

const VERBOSE = process.argv.includes('-v');
// Pure-FTPd only enforces session reuse when built with ONLY_ACCEPT_REUSED_SSL_SESSIONS (Debian's is not).
const REUSE_ENFORCED: Record<ServerKind, boolean> = { vsftpd: true, proftpd: true, pureftpd: false };
const explicit = { mode: 'explicit' } as const;
const CONFIGS: [ServerKind, TlsServerOptions][] = [
  ['vsftpd', { ...explicit, version: 'TLSv1.2' }], ['vsftpd', { ...explicit, version: 'TLSv1.3' }],
  ['vsftpd', { mode: 'implicit' }], ['vsftpd', { ...explicit, requireClientCert: true }],
  ['proftpd', explicit], ['proftpd', { ...explicit, version: 'TLSv1.2' }],
  ['proftpd', { mode: 'implicit' }], ['proftpd', { ...explicit, requireClientCert: true }],
  ['pureftpd', explicit], ['pureftpd', { ...explicit, version: 'TLSv1.2' }],
];
const configName = ([kind, o]: [ServerKind, TlsServerOptions]): string =>
  [kind, o.mode, o.version, o.requireClientCert ? 'client cert' : undefined].filter(Boolean).join(' ');
const COLUMNS = ['list', 'get', 'put', 'list -P', 'get -P', 'put -P', 'reuse enforced', 'plain refused', 'no cert refused', 'TLS'];

interface Result { code: number; out: string; err: string }
function run(cmd: string, args: string[], input = ''): Promise<Result> {
  return new Promise((res) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (error, out, err) => {
      res({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out, err });
    });
    child.stdin?.end(input);
  });
}
const curl = (args: string[], input?: string): Promise<Result> => run('curl', ['-sS', '--max-time', '10', ...args], input);

async function check(s: RunningServer, clientCert: boolean): Promise<Record<string, string>> {
  const certs = await testCertificates();
  const caFile = certs.ca.certPath;
  const base = `${s.tls?.mode === 'implicit' ? 'ftps' : 'ftp'}://127.0.0.1:${s.port}`;
  const client = clientCert ? ['--cert', certs.client.certPath, '--key', certs.client.keyPath] : [];
  const tls = ['--ssl-reqd', '--cacert', caFile, ...client, '-u', `${s.user}:${s.password}`];
  const lftpSettings = [
    'ftp:ssl-force true', 'ftp:ssl-protect-data true', 'ftp:passive-mode off', `ssl:ca-file ${caFile}`,
    'net:max-retries 1', 'net:timeout 5', 'cmd:fail-exit true', 'xfer:clobber on',
    ...(clientCert ? [`ssl:cert-file ${certs.client.certPath}`, `ssl:key-file ${certs.client.keyPath}`] : []),
  ].map((v) => `set ${v}; `).join('');
  const lftp = (script: string): Promise<Result> =>
    run('lftp', ['-u', `${s.user},${s.password}`, '-e', `${lftpSettings}${script}; bye`, base]);
  const local = join(certs.dir, `${s.kind}-${s.port}.txt`);
  const row: Record<string, string> = {};
  const cell = async (col: string, step: () => Promise<[boolean, Result]>, yes = 'ok', no = 'FAIL'): Promise<void> => {
    const [ok, r] = await step();
    row[col] = ok ? yes : no;
    if (!ok && VERBOSE) console.log(`  ${s.kind} ${col}: exit ${r.code}\n${r.err.trim().replace(/^/gm, '    ')}`);
  };
  await writeFixture(s, 'hello.txt', Buffer.from('hello over tls\n'));
  const text = (path: string): Promise<string> => readFile(path, 'utf8').catch(() => '');
  const listed = (r: Result): [boolean, Result] => [r.code === 0 && r.out.includes('hello.txt'), r];
  const uploaded = async (name: string, r: Result): Promise<[boolean, Result]> =>
    [r.code === 0 && (await text(join(s.root, s.uploadDir, name))) === 'uploaded\n', r];
  await cell('list', async () => listed(await curl([...tls, `${base}/`])));
  await cell('get', async () => {
    const r = await curl([...tls, `${base}/hello.txt`]);
    return [r.out === 'hello over tls\n', r];
  });
  await cell('put', async () => uploaded('pasv.txt', await curl([...tls, '-T', '-', `${base}/${s.uploadDir}/pasv.txt`], 'uploaded\n')));
  await cell('list -P', async () => listed(await lftp('ls')));
  await cell('get -P', async () => {
    const r = await lftp(`get hello.txt -o ${local}`);
    return [r.code === 0 && (await text(local)) === 'hello over tls\n', r];
  });
  await writeFile(local, 'uploaded\n');
  await cell('put -P', async () => uploaded('active.txt', await lftp(`put ${local} -o ${s.uploadDir}/active.txt`)));
  // The login works, the data connection's handshake too, then the server refuses the transfer
  // (vsftpd: 522 and it ends the session; ProFTPD: 425); curl says "got 522".
  await cell('reuse enforced', async () => {
    const r = await curl([...tls, '--no-sessionid', `${base}/`]);
    return [/got [45]\d\d/.test(r.err) && !r.out.includes('hello.txt'), r];
  }, 'yes', REUSE_ENFORCED[s.kind] ? 'FAIL' : 'no');
  // Explicit: USER without AUTH TLS gets 530 (vsftpd), 550 (ProFTPD) or 421 (Pure-FTPd). Implicit: no greeting.
  await cell('plain refused', async () => {
    const r = await curl(['-v', '--max-time', '3', '-u', `${s.user}:${s.password}`, `ftp://127.0.0.1:${s.port}/`]);
    return [r.code !== 0 && (s.tls?.mode === 'implicit' || /^< (530|550|421) /m.test(r.err)), r];
  });
  if (clientCert) {
    await cell('no cert refused', async () => {
      const r = await curl([...tls.filter((a) => !client.includes(a)), `${base}/`]);
      return [r.code !== 0, r];
    });
  } else row['no cert refused'] = '-';
  const v = await curl([...tls, '-v', '-I', `${base}/hello.txt`]);
  row.TLS = /SSL connection using (\S+)/.exec(v.err)?.[1] ?? '?';
  return row;
}

/** The client side of `cert: 'wrongName' | 'wrongCa'`: curl with the test CA must refuse both (exit 60). */
async function certChecks(): Promise<boolean> {
  const certs = await testCertificates();
  let ok = true;
  for (const cert of ['wrongName', 'wrongCa'] as const) {
    const s = await startServer('vsftpd', { tls: { mode: 'explicit', cert } });
    try {
      const url = `ftp://127.0.0.1:${s.port}/`;
      const bad = await curl(['--ssl-reqd', '--cacert', certs.ca.certPath, '-u', `${s.user}:${s.password}`, url]);
      let line = `cert ${cert}: test CA -> ${bad.code === 60 ? 'refused' : 'FAIL'} (curl exit ${bad.code})`;
      ok &&= bad.code === 60;
      if (cert === 'wrongCa') {
        const own = s.tls?.ca === certs.wrongCa.cert;
        const r = await curl(['--ssl-reqd', '--cacert', certs.wrongCa.certPath, '-u', `${s.user}:${s.password}`, url]);
        line += `; RunningServer.tls.ca is the unrelated CA: ${own ? 'yes' : 'FAIL'}, curl with it: ${r.code === 0 ? 'ok' : 'FAIL'}`;
        ok &&= own && r.code === 0;
      }
      console.log(line);
    } finally {
      await s.stop();
    }
  }
  return ok;
}

async function main(): Promise<void> {
  const rows: [string, Record<string, string>][] = [];
  for (const config of CONFIGS) {
    let s: RunningServer | undefined;
    try {
      s = await startServer(config[0], { tls: config[1] });
      rows.push([configName(config), await check(s, config[1].requireClientCert === true)]);
    } catch (err) {
      console.log(`${configName(config)}: ${String(err)}`);
      rows.push([configName(config), Object.fromEntries(COLUMNS.map((col) => [col, 'ERR']))]);
    } finally {
      await s?.stop();
    }
  }
  const width = Math.max(...rows.map(([n]) => n.length));
  console.log(['config'.padEnd(width), ...COLUMNS].join(' | '));
  for (const [name, row] of rows) {
    console.log([name.padEnd(width), ...COLUMNS.map((col) => (row[col] ?? '?').padEnd(col.length))].join(' | '));
  }
  const certsOk = await certChecks();
  const failed = !certsOk || rows.some(([, row]) => Object.values(row).some((v) => v === 'FAIL' || v === 'ERR'));
  console.log(failed ? 'tls-smoke: FAILED' : 'tls-smoke: all passed');
  process.exitCode = failed ? 1 : 0;
}

void main();
