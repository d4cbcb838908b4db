/**
 * Upload a local file (STOR) by feeding `put_data` chunks, with flow control: reading pauses
 * while more than WINDOW bytes are posted and not yet flushed, and resumes on `put_flushed`.
 *
 *   npx tsx examples/upload.ts [host] [port] [user] [password] [localFile] [remotePath]
 *
 * Each argument left out comes from FTP_HOST, FTP_PORT, FTP_USER, FTP_PASSWORD, FTP_FILE and
 * FTP_PATH, else 127.0.0.1, 21, anonymous, anonymous@; the remote path defaults to the local
 * file's name. Set FTP_DEBUG=1 to see the protocol on stderr.
 * (Port of the upload sample of POE::Component::Client::FTP.)
 */
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { FtpSession } from '../lib/index.js';

const [host = process.env.FTP_HOST ?? '127.0.0.1', port = process.env.FTP_PORT ?? '21',
  user = process.env.FTP_USER ?? 'anonymous', password = process.env.FTP_PASSWORD ?? 'anonymous@',
  localFile = process.env.FTP_FILE ?? '', remotePath = process.env.FTP_PATH ?? basename(localFile)] = process.argv.slice(2);

const WINDOW = 256 * 1024; // bytes posted but not yet flushed before we stop reading

let size: number;
try {
  size = statSync(localFile).size;
} catch {
  console.error(`usage: upload.ts host port user password localFile [remotePath] (cannot read '${localFile}')`);
  process.exit(2);
}

// binary: TYPE I before the transfer, so the file arrives byte for byte
const ftp = FtpSession.spawn({ host, port: Number(port), user, password, transferMode: 'binary', debug: Boolean(process.env.FTP_DEBUG) });
const input = createReadStream(localFile, { highWaterMark: 64 * 1024 });
input.pause(); // nothing is read until the data connection is open
input.on('error', (error) => fail(`cannot read ${localFile}`, null, error.message));
let inFlight = 0;
let sent = 0;

function fail(what: string, code: number | null, text: string): void {
  if (process.exitCode) return; // report the first failure only
  console.error(`${what}: ${code ?? ''} ${text}`.replace(/ +/g, ' '));
  process.exitCode = 1;
  input.destroy();
  void ftp.close();
}

ftp.on('connect_error', (code, text) => fail('cannot connect', code, text));
ftp.on('login_error', (code, text) => fail('cannot log in', code, text));
ftp.post('put', remotePath); // queued: runs once logged in

ftp.on('put_connected', () => {
  input.on('data', (chunk) => {
    ftp.post('put_data', chunk);
    inFlight += chunk.length;
    if (inFlight >= WINDOW) input.pause();
  });
  input.on('end', () => ftp.post('put_close'));
  input.resume();
});
ftp.on('put_flushed', (bytes) => {
  inFlight -= bytes;
  sent += bytes;
  process.stderr.write(`\r${sent} / ${size} bytes`);
  if (inFlight < WINDOW && input.isPaused() && !input.readableEnded) input.resume();
});
ftp.on('put_closed', (param) => {
  console.error('');
  console.log(`uploaded ${localFile} to ${param} (${sent} bytes)`);
  ftp.post('quit');
});
ftp.on('put_error', (code, text, param) => fail(`cannot upload to ${param ?? remotePath}`, code, text));
ftp.on('quit', () => void ftp.close());
