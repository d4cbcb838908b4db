/**
 * The machine and the versions a suite run used, for the report.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';

/** What the report says about the machine and the software. */
export interface MachineInfo {
  nproc: number;
  cpu: string;
  kernel: string;
  memGiB: number;
  node: string;
  curl: string;
  lftp: string;
  basicFtp: string;
  vsftpd: string;
  /** The commit of this repository (with `+changes` when the work tree differs from it). */
  ftpSession: string;
}

function run(cmd: string, args: string[], stdin?: 'pipe'): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: [stdin ?? 'ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    return `unknown (${(error as Error).message.split('\n')[0]})`;
  }
}

/** Collects {@link MachineInfo} (a few short child processes). */
export function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const pkg = JSON.parse(readFileSync(new URL('../../node_modules/basic-ftp/package.json', import.meta.url), 'utf8')) as { version: string };
  const commit = run('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['status', '--porcelain', '--', 'lib']) !== '';
  // vsftpd -v prints its version on file descriptor 0, so it needs a pipe there.
  const vsftpd = (() => {
    try {
      return execFileSync('sh', ['-c', '/usr/sbin/vsftpd -v 0>&1'], { encoding: 'utf8' }).trim();
    } catch (error) {
      return ((error as { stdout?: string }).stdout ?? 'unknown').trim();
    }
  })();
  return {
    nproc: availableParallelism(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    kernel: release(),
    memGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    curl: run('curl', ['--version']).split('\n')[0] ?? '',
    lftp: /Version\s+(\S+)/.exec(run('lftp', ['--version']))?.[1] ?? 'unknown',
    basicFtp: pkg.version,
    vsftpd,
    ftpSession: `${commit}${dirty ? ' + uncommitted changes in lib/' : ''}`,
  };
}
