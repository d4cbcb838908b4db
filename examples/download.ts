/**
 * Download a remote file (RETR) into a local file, writing each `get_data` chunk as it arrives.
 *
 *   npx tsx examples/download.ts [host] [port] [user] [password] [remotePath] [localFile]
 *
 * Each argument left out comes from FTP_HOST, FTP_PORT, FTP_USER, FTP_PASSWORD, FTP_PATH and
 * FTP_FILE, else 127.0.0.1, 21, anonymous, anonymous@; the local file defaults to the remote
 * file's name in the current directory. A failed download removes the partial local file.
 * Set FTP_DEBUG=1 to see the protocol on stderr.
 * (Port of the download sample of POE::Component::Client::FTP.)
 */
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { basename } from 'node:path';
import { FtpSession } from '../lib/index.js';

const [host = process.env.FTP_HOST ?? '127.0.0.1', port = process.env.FTP_PORT ?? '21',
  user = process.env.FTP_USER ?? 'anonymous', password = process.env.FTP_PASSWORD ?? 'anonymous@',
  remotePath = process.env.FTP_PATH ?? '', localFile = process.env.FTP_FILE ?? basename(remotePath)] = process.argv.slice(2);

if (remotePath === '' || localFile === '') {
  console.error('usage: download.ts host port user password remotePath [localFile]');
  process.exit(2);
}

// binary: TYPE I before the transfer, so the file arrives byte for byte
const ftp = FtpSession.spawn({ host, port: Number(port), user, password, transferMode: 'binary', debug: Boolean(process.env.FTP_DEBUG) });
let output: WriteStream | null = null; // created with the first data, so a 550 leaves no file behind
let received = 0;

function file(): WriteStream {
  output ??= createWriteStream(localFile).on('error', (error) => fail(`cannot write ${localFile}`, null, error.message));
  return output;
}

function fail(what: string, code: number | null, text: string): void {
  if (process.exitCode) return; // report the first failure only
  console.error(`${what}: ${code ?? ''} ${text}`.replace(/ +/g, ' '));
  process.exitCode = 1;
  if (output) {
    output.destroy();
    rmSync(localFile, { force: true });
  }
  void ftp.close();
}

ftp.on('connect_error', (code, text) => fail('cannot connect', code, text));
ftp.on('login_error', (code, text) => fail('cannot log in', code, text));
ftp.post('get', remotePath); // queued: runs once logged in

ftp.on('get_data', (chunk) => {
  file().write(chunk); // the stream buffers what the disk has not taken yet
  received += chunk.length;
});
ftp.on('get_done', (param) => {
  file().end(() => {
    console.log(`downloaded ${param} to ${localFile} (${received} bytes)`);
    ftp.post('quit');
  });
});
ftp.on('get_error', (code, text, param) => fail(`cannot download ${param ?? remotePath}`, code, text));
ftp.on('quit', () => void ftp.close());
