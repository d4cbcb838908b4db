/**
 * Connect, log in, list one directory and print each line of the listing (LIST).
 *
 *   npx tsx examples/listing.ts [host] [port] [user] [password] [path]
 *
 * Each argument left out comes from FTP_HOST, FTP_PORT, FTP_USER, FTP_PASSWORD, FTP_PATH, else
 * 127.0.0.1, 21, anonymous, anonymous@, '/'. Set FTP_DEBUG=1 to see the protocol on stderr.
 * (Port of the listing sample of POE::Component::Client::FTP.)
 */
import { FtpSession } from '../lib/index.js';

const [host = process.env.FTP_HOST ?? '127.0.0.1', port = process.env.FTP_PORT ?? '21',
  user = process.env.FTP_USER ?? 'anonymous', password = process.env.FTP_PASSWORD ?? 'anonymous@',
  path = process.env.FTP_PATH ?? '/'] = process.argv.slice(2);

const ftp = FtpSession.spawn({ host, port: Number(port), user, password, debug: Boolean(process.env.FTP_DEBUG) });

function fail(what: string, code: number | null, text: string): void {
  if (process.exitCode) return; // report the first failure only
  console.error(`${what}: ${code ?? ''} ${text}`.replace(/ +/g, ' '));
  process.exitCode = 1;
  void ftp.close();
}

ftp.on('connect_error', (code, text) => fail('cannot connect', code, text));
ftp.on('login_error', (code, text) => fail('cannot log in', code, text));
ftp.on('authenticated', () => ftp.post('ls', path));
ftp.on('ls_data', (line) => console.log(line));
ftp.on('ls_done', () => ftp.post('quit'));
ftp.on('ls_error', (code, text, param) => fail(`cannot list ${param ?? path}`, code, text));
ftp.on('quit', () => void ftp.close());
