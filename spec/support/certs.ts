/**
 * Throw-away certificates for FTPS tests, made at test time with the `openssl` CLI (OpenSSL 3:
 * `req -x509 -CA` signs in one step) in a temporary folder that is removed when the process exits.
 *
 * - `ca` signs `server` (CN localhost, SAN IP:127.0.0.1 + DNS:localhost), `wrongName` (SAN
 *   DNS:wrong.example only: a host-name mismatch for 127.0.0.1 and localhost) and `client`
 *   (clientAuth, CN tester);
 * - `wrongCa` is an unrelated CA; it signs `wrongCaServer` (same names as `server`).
 *
 * Keys are unencrypted RSA 2048 (vsftpd's default cipher and ProFTPD's `TLSRSA*` want RSA). Files
 * are mode 0644 in a 0755 folder so the servers' unprivileged users can read them: a test CA only.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** A certificate and its private key, as PEM text and as files. */
export interface CertAndKey {
  /** Certificate, PEM. */
  cert: string;
  /** Private key (unencrypted PKCS#8), PEM. */
  key: string;
  certPath: string;
  keyPath: string;
  /** A file holding the key then the certificate (what Pure-FTPd's `--certfile` wants). */
  bundlePath: string;
}

/** Every certificate of the test PKI. See the module comment for who signs what. */
export interface TestCertificates {
  /** The folder holding every file (removed on process exit). */
  dir: string;
  ca: CertAndKey;
  /** Server cert from `ca` for IP:127.0.0.1 and DNS:localhost. */
  server: CertAndKey;
  /** Server cert from `ca` for DNS:wrong.example only (no IP): fails host-name checks. */
  wrongName: CertAndKey;
  /** An unrelated CA. */
  wrongCa: CertAndKey;
  /** Server cert from `wrongCa` for IP:127.0.0.1 and DNS:localhost: fails chain checks against `ca`. */
  wrongCaServer: CertAndKey;
  /** Client cert (clientAuth, CN tester) from `ca`. */
  client: CertAndKey;
}

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash'];
const LEAF_EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'authorityKeyIdentifier=keyid'];
const LOCAL_NAMES = 'subjectAltName=IP:127.0.0.1,DNS:localhost';

/** Makes `name`.key/.crt/.pem in `dir`: self-signed when `issuer` is absent, else signed by it. */
async function issue(dir: string, name: string, cn: string, ext: string[], issuer?: CertAndKey): Promise<CertAndKey> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const bundlePath = join(dir, `${name}.pem`);
  await execFileP('openssl', [
    'req', '-config', join(dir, 'req.cnf'), '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650',
    '-subj', `/CN=${cn}`, '-keyout', keyPath, '-out', certPath,
    ...(issuer ? ['-CA', issuer.certPath, '-CAkey', issuer.keyPath] : []),
    ...ext.flatMap((e) => ['-addext', e]),
  ]);
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  await writeFile(bundlePath, key + cert);
  await Promise.all([certPath, keyPath, bundlePath].map((p) => chmod(p, 0o644)));
  return { cert, key, certPath, keyPath, bundlePath };
}

async function generate(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'ftp-session-certs-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  // A config of our own, so the system's openssl.cnf adds no extensions of its own.
  await writeFile(join(dir, 'req.cnf'), '[req]\ndistinguished_name = dn\n[dn]\n');
  const [ca, wrongCa] = await Promise.all([
    issue(dir, 'ca', 'ftp-session test CA', CA_EXT),
    issue(dir, 'wrong-ca', 'ftp-session unrelated CA', CA_EXT),
  ]);
  const server = ['extendedKeyUsage=serverAuth', ...LEAF_EXT];
  const [srv, wrongName, wrongCaServer, client] = await Promise.all([
    issue(dir, 'server', 'localhost', [LOCAL_NAMES, ...server], ca),
    issue(dir, 'wrong-name', 'wrong.example', ['subjectAltName=DNS:wrong.example', ...server], ca),
    issue(dir, 'wrong-ca-server', 'localhost', [LOCAL_NAMES, ...server], wrongCa),
    issue(dir, 'client', 'tester', ['extendedKeyUsage=clientAuth', ...LEAF_EXT], ca),
  ]);
  return { dir, ca, server: srv, wrongName, wrongCa, wrongCaServer, client };
}

let cached: Promise<TestCertificates> | undefined;

/** The test PKI, generated on the first call (about a second) and shared by every later call in this process. */
export function testCertificates(): Promise<TestCertificates> {
  cached ??= generate().catch((err: unknown) => {
    cached = undefined; // let a later call try again
    throw err;
  });
  return cached;
}
