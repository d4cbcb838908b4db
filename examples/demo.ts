/**
 * `npm run demo`: a tour of ftp-session against an FTP server that runs in this very process,
 * over an in-memory file system (examples/support/memory-server.ts), so nothing needs installing.
 *
 * You post commands; the session queues them, runs them one at a time once logged in, and tells
 * you how each went with events. The dimmed lines are the protocol trace: `>>>` is what the
 * client sent, `<<<` what the server answered. Events are delivered asynchronously, so the trace
 * of the next command may show up just before the event of the one that finished.
 */
import { createHash } from 'node:crypto';
import { FtpSession } from '../lib/index.js';
import { startMemoryServer } from './support/memory-server.js';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const dim = (text: string): string => (color ? `\x1b[2m${text}\x1b[22m` : text);
const bold = (text: string): string => (color ? `\x1b[1m${text}\x1b[22m` : text);
const show = (event: string, text = ''): void => console.log(`${bold(event.padEnd(14))} ${text}`);

async function main(): Promise<void> {
  const server = await startMemoryServer({
    files: {
      '/pub/readme.txt': 'Welcome to ftp-session!\nThis file lives in the memory of the demo server.\n',
      '/pub/notes/todo.txt': '- try the examples in examples/\n',
    },
    greeting: ['Welcome to the ftp-session demo server.', 'Log in as demo / demo.'],
  });
  console.log(`Demo FTP server listening on ${server.host}:${server.port}\n`);

  const ftp = FtpSession.spawn({
    host: server.host,
    port: server.port,
    user: 'demo',
    password: 'demo',
    transferMode: 'binary', // TYPE I before each transfer: files arrive byte for byte
    debug: (line) => {
      if (/^\S*(>>>|<<<) /.test(line)) console.log(dim(`    ${line.replace(/^FtpSession#\d+/, '')}`));
    },
  });

  let failures = 0;
  const failed = (what: string, code: number | null, text: string): void => {
    failures++;
    show(`${what} ✗`, `${code ?? '---'} ${text}`);
  };
  const giveUp = (what: string, code: number | null, text: string): void => {
    failed(what, code, text);
    void ftp.close(); // fails the queued commands, then emits 'closed'
  };
  ftp.on('connect_error', (code, text) => giveUp('connect_error', code, text));
  ftp.on('login_error', (code, text) => giveUp('login_error', code, text));
  for (const name of ['pwd', 'cd', 'ls', 'get', 'put', 'size', 'rename', 'delete', 'quit'] as const) {
    ftp.on(`${name}_error`, (code, text, param) => failed(`${name}_error`, code, `${text}${param ? ` (${param})` : ''}`));
  }
  ftp.on('error', (error) => failed('error', null, error.message));

  ftp.on('connected', (code, text) => show('connected', `${code} ${text.split('\n').join(' / ')}`));
  ftp.on('authenticated', (code, text) => show('authenticated', `${code} ${text}`));
  ftp.on('pwd', (_code, _text, _param, path) => show('pwd', `we are in ${path}`));
  ftp.on('cd', (code, text, param) => show('cd', `${param}: ${code} ${text}`));
  ftp.on('ls_data', (line) => show('ls_data', line));
  ftp.on('ls_done', () => show('ls_done', 'end of listing'));

  const download: Buffer[] = [];
  ftp.on('get_data', (chunk) => download.push(chunk));
  ftp.on('get_done', (param) => {
    const data = Buffer.concat(download);
    const sha256 = createHash('sha256').update(data).digest('hex');
    show('get_done', `${param}: ${data.length} bytes, sha256 ${sha256}`);
    show('', JSON.stringify(data.toString('utf8')));
  });

  // An upload: once the data connection is open, feed it with put_data and end it with put_close.
  ftp.on('put_connected', (param) => {
    show('put_connected', `${param}: sending two chunks`);
    ftp.post('put_data', 'Hello, FTP!\n');
    ftp.post('put_data', Buffer.from(`Uploaded by the ftp-session demo at ${new Date().toISOString()}\n`));
    ftp.post('put_close');
  });
  ftp.on('put_flushed', (bytes) => show('put_flushed', `${bytes} bytes written to the data connection`));
  ftp.on('put_closed', (param) => {
    const stored = server.readFile(`/pub/${param}`);
    show('put_closed', `${param} stored; the server now holds ${JSON.stringify(stored?.toString('utf8'))}`);
  });

  ftp.on('size', (_code, _text, param, size) => show('size', `${param} is ${size} bytes`));
  ftp.on('rename', (code, text, to) => show('rename', `now called ${to}: ${code} ${text}`));
  ftp.on('delete', (code, text, param) => show('delete', `${param}: ${code} ${text}`));

  const done = new Promise<void>((resolve) => ftp.on('quit', (code, text) => {
    show('quit', `${code} ${text}`);
    resolve();
  }));

  // The whole tour is posted at once: commands wait in the queue until login, then run in order.
  ftp.post('pwd');
  ftp.post('cd', '/pub');
  ftp.post('ls');
  ftp.post('get', 'readme.txt');
  ftp.post('put', 'hello.txt');
  ftp.post('size', 'hello.txt');
  ftp.post('rename', 'hello.txt', 'greeting.txt');
  ftp.post('delete', 'greeting.txt');
  ftp.post('quit');

  const timer = setTimeout(() => {
    failed('timeout', null, 'the demo did not finish within 20 seconds');
    void ftp.close();
  }, 20_000);
  await Promise.race([done, new Promise((resolve) => ftp.on('closed', () => resolve(undefined)))]);
  clearTimeout(timer);
  await ftp.close();
  await server.close();
  console.log(failures === 0 ? '\nAll done: session closed, server stopped.' : `\n${failures} step(s) failed.`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
