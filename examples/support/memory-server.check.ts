/**
 * Self-check of the memory FTP server against a real client (curl) and a raw control connection.
 *
 *   npx tsx examples/support/memory-server.check.ts        (needs /usr/bin/curl; VERBOSE=1 for the trace)
 *
 * Prints one line per check and exits non-zero on the first failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMemoryServer, type MemoryServer } from './memory-server.js';

const tmp = mkdtempSync(join(tmpdir(), 'memory-server-check-'));
const binary = randomBytes(1024 * 1024 + 17);
const big = Buffer.alloc(32 * 1024 * 1024, 'x'); // larger than any socket buffer: stalls if unread
let server: MemoryServer;
let base = '';
let passed = 0;

async function check(name: string, body: () => Promise<void>): Promise<void> {
  await body();
  passed++;
  console.log(`ok ${passed} - ${name}`);
}

// --- curl ---

interface CurlResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function curl(...args: string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', ...args], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr.toString() });
    });
  });
}

async function curlOk(...args: string[]): Promise<Buffer> {
  const result = await curl(...args);
  assert.equal(result.code, 0, `curl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

// --- a raw control connection ---

interface Reply {
  code: number;
  lines: string[];
}

class Control {
  private text = '';
  private readonly replies: Reply[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static async open(login = true): Promise<Control> {
    const socket = net.connect(server.port, server.host);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const control = new Control(socket);
    assert.equal((await control.read()).code, 220);
    if (login) {
      assert.equal((await control.cmd('USER demo')).code, 331);
      assert.equal((await control.cmd('PASS demo')).code, 230);
    }
    return control;
  }

  private parse(): void {
    for (;;) {
      const lines = this.text.split('\r\n');
      const first = lines[0] ?? '';
      const code = first.slice(0, 3);
      let end = -1;
      if (/^\d{3} /.test(first)) end = 0;
      else if (/^\d{3}-/.test(first)) end = lines.findIndex((line, i) => i > 0 && i < lines.length - 1 && line.startsWith(`${code} `));
      if (end < 0 || end >= lines.length - 1) return;
      this.replies.push({ code: Number(code), lines: lines.slice(0, end + 1) });
      this.text = lines.slice(end + 1).join('\r\n');
      this.waiter?.();
    }
  }

  async read(): Promise<Reply> {
    while (this.replies.length === 0) {
      if (this.closed) throw new Error('control connection closed');
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.replies.shift() as Reply;
  }

  send(line: string | Buffer): void {
    this.socket.write(typeof line === 'string' ? `${line}\r\n` : line);
  }

  async cmd(line: string): Promise<Reply> {
    this.send(line);
    return this.read();
  }

  /** PASV (or EPSV) and connect; `data` resolves with everything received until the server closes. */
  async passive(extended = false): Promise<{ socket: net.Socket; data: Promise<Buffer> }> {
    const reply = await this.cmd(extended ? 'EPSV' : 'PASV');
    const text = reply.lines[0] ?? '';
    let port: number;
    if (extended) {
      assert.equal(reply.code, 229, text);
      port = Number(/\(\|\|\|(\d+)\|\)/.exec(text)?.[1]);
    } else {
      assert.equal(reply.code, 227, text);
      const nums = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(text)?.slice(1).map(Number) ?? [];
      assert.deepEqual(nums.slice(0, 4), [127, 0, 0, 1]);
      port = (nums[4] ?? 0) * 256 + (nums[5] ?? 0);
    }
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const data = new Promise<Buffer>((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks))));
    await new Promise((resolve) => socket.once('connect', resolve));
    return { socket, data };
  }

  async close(): Promise<void> {
    this.socket.destroy();
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  server = await startMemoryServer({
    files: {
      '/pub/readme.txt': 'Hello from the memory server!\n',
      '/pub/data.bin': binary,
      '/pub/big.bin': big,
      '/pub/docs/guide.txt': 'guide\n',
      '/delete-me.txt': 'bye',
    },
    greeting: ['Welcome to the check server.', '220 this middle line starts with digits', 'Ready.'],
    ...(process.env.VERBOSE ? { log: (line: string) => console.log(`  ${line}`) } : {}),
  });
  base = `ftp://demo:demo@127.0.0.1:${server.port}`;

  // ---------------- curl ----------------
  // (curl turns the CRLF of ASCII listings into LF)
  await check('curl LIST (EPSV) lists the names', async () => {
    const text = (await curlOk(`${base}/pub/`)).toString();
    assert.match(text, /^drwxr-xr-x .* docs$/m);
    assert.match(text, /^-rw-r--r-- .* 30 \w{3} [ \d]\d \d\d:\d\d readme\.txt$/m);
    assert.match(text, / data\.bin$/m);
  });
  await check('curl --list-only (NLST) gives bare names', async () => {
    assert.equal((await curlOk('--list-only', `${base}/pub/`)).toString(), 'big.bin\ndata.bin\ndocs\nreadme.txt\n');
  });
  await check('curl download is byte-exact', async () => {
    assert.equal(sha256(await curlOk(`${base}/pub/data.bin`)), sha256(binary));
    assert.equal((await curlOk('--ftp-pasv', `${base}/pub/docs/guide.txt`)).toString(), 'guide\n');
  });
  await check('curl PASV (--disable-epsv) download', async () => {
    assert.equal(sha256(await curlOk('--ftp-pasv', '--disable-epsv', `${base}/pub/data.bin`)), sha256(binary));
  });
  await check('curl active mode: EPRT and PORT', async () => {
    assert.equal(sha256(await curlOk('-P', '127.0.0.1', `${base}/pub/data.bin`)), sha256(binary));
    assert.equal(sha256(await curlOk('-P', '127.0.0.1', '--disable-eprt', `${base}/pub/data.bin`)), sha256(binary));
    assert.match((await curlOk('-P', '127.0.0.1', '--disable-eprt', `${base}/pub/`)).toString(), / readme\.txt$/m);
  });
  await check('curl upload (STOR) arrives byte-exact, also in active mode', async () => {
    const local = join(tmp, 'upload.bin');
    const payload = randomBytes(2 * 1024 * 1024 + 3);
    writeFileSync(local, payload);
    await curlOk('-T', local, `${base}/pub/up.bin`);
    assert.equal(sha256(server.readFile('/pub/up.bin') ?? Buffer.alloc(0)), sha256(payload));
    await curlOk('-P', '127.0.0.1', '-T', local, `${base}/pub/up-active.bin`);
    assert.equal(sha256(server.readFile('/pub/up-active.bin') ?? Buffer.alloc(0)), sha256(payload));
  });
  await check('curl --append (APPE), --ftp-create-dirs (MKD), -C (REST)', async () => {
    const local = join(tmp, 'more.txt');
    writeFileSync(local, 'more\n');
    await curlOk('--append', '-T', local, `${base}/pub/readme.txt`);
    assert.equal(server.readFile('/pub/readme.txt')?.toString(), 'Hello from the memory server!\nmore\n');
    await curlOk('--ftp-create-dirs', '-T', local, `${base}/new/deep/more.txt`);
    assert.equal(server.readFile('/new/deep/more.txt')?.toString(), 'more\n');
    assert.deepEqual(await curlOk('-C', '1000', `${base}/pub/data.bin`), binary.subarray(1000));
  });
  await check('curl -Q "DELE x" deletes', async () => {
    await curlOk('-Q', 'DELE delete-me.txt', `${base}/`);
    assert.equal(server.readFile('/delete-me.txt'), undefined);
  });
  await check('curl: missing file fails (78), bad password fails (67)', async () => {
    assert.equal((await curl(`${base}/pub/missing.txt`)).code, 78);
    assert.equal((await curl(`ftp://demo:wrong@127.0.0.1:${server.port}/pub/readme.txt`)).code, 67);
  });

  // ---------------- raw control connection ----------------
  await check('greeting is multi-line, login rules, 530 before login, 502 unknown', async () => {
    const socket = net.connect(server.port, server.host);
    const greeting = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.endsWith('220 Ready.\r\n')) resolve(text);
      });
    });
    socket.destroy();
    assert.equal(greeting, '220-Welcome to the check server.\r\n 220 this middle line starts with digits\r\n220 Ready.\r\n');
    const c = await Control.open(false);
    assert.equal((await c.cmd('PWD')).code, 530);
    assert.equal((await c.cmd('LIST')).code, 530);
    assert.equal((await c.cmd('PASS demo')).code, 503);
    assert.equal((await c.cmd('XYZZY')).code, 502);
    assert.equal((await c.cmd('USER demo')).code, 331);
    assert.equal((await c.cmd('PASS nope')).code, 530);
    assert.equal((await c.cmd('PWD')).code, 530);
    assert.equal((await c.cmd('FEAT')).code, 211);
    assert.equal((await c.cmd('USER demo')).code, 331);
    assert.equal((await c.cmd('PASS demo')).code, 230);
    assert.equal((await c.cmd('SYST')).lines[0], '215 UNIX Type: L8');
    assert.equal((await c.cmd('QUIT')).code, 221);
    await new Promise((resolve) => (c.closed ? resolve(null) : c.socket.once('close', resolve)));
  });
  await check('NUL byte and over-long lines are refused with 500, the session goes on', async () => {
    const c = await Control.open();
    c.send(Buffer.from('NOOP\0x\r\n'));
    assert.equal((await c.read()).code, 500);
    c.send(`NOOP ${'x'.repeat(9000)}`);
    assert.equal((await c.read()).code, 500);
    assert.equal((await c.cmd('NOOP')).code, 200);
    c.send(Buffer.from([0xff, 0xf4, 0xff, 0x41, 0x42, 0x4f, 0x52, 0x0d, 0x0a])); // IAC IP, IAC (DM lost) ABOR
    assert.equal((await c.read()).code, 226);
    await c.close();
  });
  await check('FEAT, HELP, OPTS, TYPE/MODE/STRU', async () => {
    const c = await Control.open();
    assert.deepEqual((await c.cmd('FEAT')).lines, [
      '211-Features:', ' EPRT', ' EPSV', ' HASH SHA-1*;SHA-256;SHA-512;MD5;', ' MDTM', ' MLST type*;size*;modify*;perm*;', ' REST STREAM',
      ' SIZE', ' UTF8', '211 End',
    ]);
    const help = await c.cmd('HELP');
    assert.equal(help.code, 214);
    assert.ok(help.lines.length > 3 && help.lines.some((line) => line.includes('RETR')));
    assert.equal((await c.cmd('OPTS UTF8 ON')).code, 200);
    assert.equal((await c.cmd('TYPE I')).code, 200);
    assert.equal((await c.cmd('TYPE A')).code, 200);
    assert.equal((await c.cmd('TYPE E')).code, 504);
    assert.equal((await c.cmd('TYPE Q')).code, 501);
    assert.equal((await c.cmd('MODE S')).code, 200);
    assert.equal((await c.cmd('MODE B')).code, 504);
    assert.equal((await c.cmd('STRU F')).code, 200);
    assert.equal((await c.cmd('STRU R')).code, 504);
    await c.close();
  });
  await check('paths: PWD quoting, CWD/CDUP, .. never escapes /, MKD/RMD', async () => {
    const c = await Control.open();
    assert.equal((await c.cmd('MKD say "hi"')).lines[0], '257 "/say ""hi""" directory created.');
    assert.equal((await c.cmd('CWD say "hi"')).code, 250);
    assert.equal((await c.cmd('PWD')).lines[0], '257 "/say ""hi""" is the current directory.');
    assert.equal((await c.cmd('CDUP')).code, 250);
    assert.equal((await c.cmd('CWD ../../../pub/./docs/..')).code, 250);
    assert.equal((await c.cmd('PWD')).lines[0], '257 "/pub" is the current directory.');
    assert.equal((await c.cmd('CWD nowhere')).code, 550);
    assert.equal((await c.cmd('CWD readme.txt')).code, 550);
    assert.equal((await c.cmd('RMD docs')).code, 550); // not empty
    assert.equal((await c.cmd('RMD /say "hi"')).code, 250);
    assert.equal((await c.cmd('MKD docs')).code, 550); // exists
    assert.equal((await c.cmd('DELE docs')).code, 550); // a directory
    assert.equal((await c.cmd('DELE nothing')).code, 550);
    await c.close();
  });
  await check('RNFR/RNTO, SIZE, MDTM, STAT, MLST', async () => {
    const c = await Control.open();
    assert.equal((await c.cmd('RNTO x')).code, 503);
    assert.equal((await c.cmd('RNFR /pub/readme.txt')).code, 350);
    assert.equal((await c.cmd('RNTO /pub/docs/renamed.txt')).code, 250);
    assert.equal(server.readFile('/pub/readme.txt'), undefined);
    assert.ok(server.readFile('/pub/docs/renamed.txt'));
    assert.equal((await c.cmd('RNFR /pub/docs/renamed.txt')).code, 350);
    assert.equal((await c.cmd('NOOP')).code, 200);
    assert.equal((await c.cmd('RNTO /pub/readme.txt')).code, 503); // RNTO must follow RNFR at once
    assert.equal((await c.cmd('RNFR /pub')).code, 350);
    assert.equal((await c.cmd('RNTO /pub/docs/pub')).code, 550); // into itself
    assert.equal((await c.cmd('RNFR /missing')).code, 550);
    assert.equal((await c.cmd('SIZE /pub/data.bin')).lines[0], `213 ${binary.length}`);
    assert.equal((await c.cmd('SIZE /pub')).code, 550);
    assert.match((await c.cmd('MDTM /pub/data.bin')).lines[0] ?? '', /^213 \d{14}$/);
    assert.equal((await c.cmd('MDTM /nothing')).code, 550);
    const stat = await c.cmd('STAT');
    assert.equal(stat.code, 211);
    assert.ok(stat.lines.length > 2);
    const statPath = await c.cmd('STAT /pub');
    assert.equal(statPath.code, 213);
    assert.ok(statPath.lines.some((line) => line.endsWith(' data.bin')));
    assert.equal((await c.cmd('STAT /nothing')).code, 550);
    const mlst = await c.cmd('MLST /pub/data.bin');
    assert.equal(mlst.code, 250);
    assert.match(mlst.lines[1] ?? '', new RegExp(`^ type=file;size=${binary.length};modify=\\d{14};perm=adfrw; /pub/data\\.bin$`));
    await c.close();
  });
  await check('HASH and OPTS HASH (ProFTPD mod_digest replies), SITE CHMOD', async () => {
    const c = await Control.open();
    const data = server.readFile('/pub/data.bin')!;
    const sha1 = createHash('sha1').update(data).digest('hex');
    assert.equal((await c.cmd('HASH /pub/data.bin')).lines[0], `213 SHA-1 0-${data.length} ${sha1} /pub/data.bin`);
    assert.equal((await c.cmd('OPTS HASH')).lines[0], '200 SHA-1');
    assert.equal((await c.cmd('OPTS HASH sha-256')).lines[0], '200 sha-256');
    assert.equal((await c.cmd('OPTS HASH SHA256')).lines[0], '501 SHA256: Unsupported algorithm');
    assert.equal((await c.cmd('HASH /pub/data.bin')).lines[0], `213 SHA-256 0-${data.length} ${sha256(data)} /pub/data.bin`);
    assert.ok((await c.cmd('FEAT')).lines.includes(' HASH SHA-1;SHA-256*;SHA-512;MD5;'));
    assert.equal((await c.cmd('HASH /pub/missing.bin')).code, 550);
    assert.equal((await c.cmd('HASH /pub/docs')).lines[0], '553 /pub/docs: Not a regular file');
    assert.equal((await c.cmd('SITE CHMOD 600 /pub/docs/guide.txt')).code, 200);
    assert.equal((await c.cmd('SITE CHMOD 711 /pub/docs')).code, 200);
    const stat = await c.cmd('STAT /pub/docs');
    assert.ok(stat.lines.some((line) => /^-rw------- .* guide\.txt$/.test(line)), stat.lines.join('\n'));
    assert.ok((await c.cmd('STAT /pub')).lines.some((line) => /^drwx--x--x .* docs$/.test(line)));
    assert.equal((await c.cmd('SITE CHMOD 9 /pub/docs')).code, 501);
    assert.equal((await c.cmd('SITE CHMOD 644 /pub/missing')).code, 550);
    assert.equal((await c.cmd('SITE EXEC ls')).code, 500);
    await c.close();
  });
  await check('rate: a data connection carries at most `rate` bytes per second, both ways', async () => {
    const slow = await startMemoryServer({ files: { '/slow.bin': binary.subarray(0, 256 * 1024) }, rate: 1024 * 1024 });
    try {
      const url = `ftp://demo:demo@127.0.0.1:${slow.port}`;
      let start = Date.now();
      assert.equal(sha256(await curlOk(`${url}/slow.bin`)), sha256(binary.subarray(0, 256 * 1024)));
      const down = Date.now() - start;
      const file = join(tmp, 'slow-up.bin');
      writeFileSync(file, binary.subarray(0, 256 * 1024));
      start = Date.now();
      await curlOk('-T', file, `${url}/slow-up.bin`);
      const up = Date.now() - start;
      assert.ok(down >= 180 && up >= 180, `256 KiB at 1 MiB/s took ${down} ms down, ${up} ms up (expected about 250)`);
      assert.equal(slow.readFile('/slow-up.bin')?.length, 256 * 1024);
    } finally {
      await slow.close();
    }
  });
  await check('data commands: 425 without PASV/PORT, 550 for RETR of a missing file, NLST/MLSD', async () => {
    const c = await Control.open();
    assert.equal((await c.cmd('RETR /pub/data.bin')).code, 425);
    assert.equal((await c.cmd('LIST')).code, 425);
    await c.passive();
    assert.equal((await c.cmd('RETR /pub/missing.bin')).code, 550);
    const nlst = await c.passive(true);
    assert.equal((await c.cmd('NLST /pub/*.bin')).code, 150);
    assert.equal((await c.read()).code, 226);
    assert.equal((await nlst.data).toString(), '/pub/big.bin\r\n/pub/data.bin\r\n/pub/up-active.bin\r\n/pub/up.bin\r\n');
    const mlsd = await c.passive();
    assert.equal((await c.cmd('MLSD /pub')).code, 150);
    assert.equal((await c.read()).code, 226);
    const facts = (await mlsd.data).toString();
    assert.match(facts, /^type=dir;modify=\d{14};perm=cdeflmp; docs\r\n/m);
    assert.match(facts, new RegExp(`^type=file;size=${binary.length};modify=\\d{14};perm=adfrw; data\\.bin\\r\\n`, 'm'));
    await c.passive();
    assert.equal((await c.cmd('MLSD /pub/data.bin')).code, 501);
    await c.close();
  });
  await check('STOU replies 150 FILE: name; REST + STOR resumes an upload', async () => {
    const c = await Control.open();
    server.writeFile('/in/upload', 'taken');
    const up = await c.passive();
    const opening = await c.cmd('STOU /in/upload');
    assert.equal(opening.lines[0], '150 FILE: upload.1');
    up.socket.end('unique');
    assert.equal((await c.read()).code, 226);
    assert.equal(server.readFile('/in/upload.1')?.toString(), 'unique');
    const resume = await c.passive();
    assert.equal((await c.cmd('REST 3')).code, 350);
    assert.equal((await c.cmd('STOR /in/upload.1')).code, 150);
    resume.socket.end('QUE!');
    assert.equal((await c.read()).code, 226);
    assert.equal(server.readFile('/in/upload.1')?.toString(), 'uniQUE!');
    await c.close();
  });
  await check('PORT/EPRT must name the control peer (else 500); active RETR works', async () => {
    const c = await Control.open();
    assert.equal((await c.cmd('PORT 10,1,2,3,4,5')).code, 500);
    assert.equal((await c.cmd('EPRT |1|10.1.2.3|1029|')).code, 500);
    assert.equal((await c.cmd('EPRT |3|x|1|')).code, 522);
    assert.equal((await c.cmd('PORT 1,2,3')).code, 501);
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const received = new Promise<Buffer>((resolve) => listener.once('connection', (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks)));
    }));
    assert.equal((await c.cmd(`PORT 127,0,0,1,${port >> 8},${port & 255}`)).code, 200);
    assert.equal((await c.cmd('RETR /pub/data.bin')).code, 150);
    assert.equal((await c.read()).code, 226);
    assert.equal(sha256(await received), sha256(binary));
    listener.close();
    await c.close();
  });
  await check('ABOR during a stalled transfer: 426 then 226; STAT answers meanwhile', async () => {
    const c = await Control.open();
    const dl = await c.passive();
    dl.socket.pause(); // never read: the server's writes stall
    assert.equal((await c.cmd('RETR /pub/big.bin')).code, 150);
    await sleep(100);
    const stat = await c.cmd('STAT');
    assert.equal(stat.code, 211);
    assert.ok(stat.lines.some((line) => line.includes('RETR /pub/big.bin')), stat.lines.join('\n'));
    c.send('ABOR');
    assert.equal((await c.read()).code, 426);
    assert.equal((await c.read()).code, 226);
    assert.equal((await c.cmd('NOOP')).code, 200);
    await c.close();
  });
  await check('a client dropping mid-transfer does not hurt the server', async () => {
    // data socket reset during RETR: 426, the session goes on
    const c = await Control.open();
    const dl = await c.passive();
    assert.equal((await c.cmd('RETR /pub/big.bin')).code, 150);
    await new Promise((resolve) => dl.socket.once('data', resolve));
    dl.socket.resetAndDestroy();
    assert.equal((await c.read()).code, 426);
    // data socket reset during STOR: 426, what arrived is kept
    const up = await c.passive();
    assert.equal((await c.cmd('STOR /pub/partial.bin')).code, 150);
    up.socket.write('partial');
    await sleep(50);
    up.socket.resetAndDestroy();
    assert.equal((await c.read()).code, 426);
    assert.equal(server.readFile('/pub/partial.bin')?.toString(), 'partial');
    assert.equal((await c.cmd('NOOP')).code, 200);
    // control and data both dropped mid-transfer
    const dl2 = await c.passive();
    assert.equal((await c.cmd('RETR /pub/big.bin')).code, 150);
    c.socket.resetAndDestroy();
    dl2.socket.destroy();
    await sleep(100);
    const again = await Control.open();
    assert.equal((await again.cmd('NOOP')).code, 200);
    await again.close();
  });
  await check('passive listener refuses a second connection', async () => {
    const c = await Control.open();
    const reply = await c.cmd('EPSV');
    const port = Number(/\|\|\|(\d+)\|/.exec(reply.lines[0] ?? '')?.[1]);
    const first = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => first.once('connect', resolve));
    const second = net.connect(port, '127.0.0.1');
    const refused = await new Promise<boolean>((resolve) => {
      second.once('error', () => resolve(true));
      second.once('close', () => resolve(true));
      second.once('connect', () => second.once('close', () => resolve(true)));
    });
    assert.ok(refused);
    first.destroy();
    await c.close();
  });

  await server.close();
  console.log(`${passed} passed, 0 failed`);
}

main()
  .catch(async (err: unknown) => {
    console.error(err);
    console.log(`${passed} passed, 1 failed`);
    process.exitCode = 1;
    await server?.close();
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
