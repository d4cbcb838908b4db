/**
 * FXP: a file and a folder copied from one FTP server straight to another; the bytes never pass
 * through this process. Shows each command the copy sends (`fxp_step`), progress, and the check
 * by hash (both servers offer HASH) or else by size.
 *
 *   npx tsx examples/fxp.ts
 *
 * It starts two FTP servers embedded in this process (examples/support/memory-server.ts), the
 * source limited to 16 MiB/s. Progress comes from the target's SIZE, and the embedded server
 * shows a file only once it is complete, so here it jumps from 0 to 100 %; real servers (vsftpd,
 * ProFTPD, Pure-FTPd) report the growing size. With real servers, make
 * sure they allow FXP (vsftpd: pasv_promiscuous and port_promiscuous; ProFTPD:
 * AllowForeignAddress; Pure-FTPd: -w) and see docs/fxp.md.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FtpSession, type TransferProgress } from '../lib/index.js';
import { startMemoryServer } from './support/memory-server.js';

const MiB = 1024 * 1024;
const data = randomBytes(24 * MiB);

function show(p: TransferProgress): void {
  const line = `  ${(p.percent ?? 0).toFixed(0).padStart(3)} %  ${(p.bytes / MiB).toFixed(1)} MiB  ${(p.bytesPerSecond / MiB).toFixed(1)} MiB/s`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}\x1b[K`);
  else console.log(line);
}

async function main(): Promise<void> {
  const source = await startMemoryServer({ files: { '/pub/big.bin': data, '/pub/docs/a.txt': 'first\n', '/pub/docs/b.txt': 'second\n' }, rate: 16 * MiB });
  const target = await startMemoryServer();
  const from = await FtpSession.connect({ host: source.host, port: source.port, user: 'demo', password: 'demo' });
  const to = await FtpSession.connect({ host: target.host, port: target.port, user: 'demo', password: 'demo' });
  try {
    from.on('fxp_step', (role, line, code) => console.log(`  ${role} ${line} -> ${code}`));
    to.on('fxp_step', (role, line, code) => console.log(`  ${role} ${line} -> ${code}`));
    console.log(`copying /pub/big.bin (${data.length} bytes) from ${source.host}:${source.port} to ${target.host}:${target.port}`);
    const result = await from.transferFile('/pub/big.bin', to, '/big.bin', { onProgress: show, progressInterval: 250, verify: 'hash' });
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.log(`${result.status} via ${result.via}: ${result.transferred} bytes, checked by ${result.verified}`);
    assert.ok(target.readFile('/big.bin')?.equals(data), 'the copy equals the source');

    from.removeAllListeners('fxp_step');
    to.removeAllListeners('fxp_step');
    const tree = await from.transferDir('/pub/docs', to, '/docs');
    console.log(`folder: ${tree.done} files copied, ${tree.failed} failed`);
    assert.equal(target.readFile('/docs/b.txt')?.toString(), 'second\n');
  } finally {
    await from.close();
    await to.close();
    await source.close();
    await target.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
