/**
 * The promise API in one run: connect, look around, make a directory tree, upload a string,
 * list it, read it back, rename it, change its permissions, remove the tree, close.
 *
 *   npx tsx examples/promises.ts [host] [port] [user] [password] [dir]
 *
 * With no arguments it runs against an FTP server embedded in this process; see
 * examples/support/target.ts for a real server. Every call is queued on the session, in order,
 * and settles with its result or a typed FtpError.
 */
import { posix } from 'node:path';
import { FtpSession, ReplyError } from '../lib/index.js';
import { openTarget } from './support/target.js';

async function main(): Promise<void> {
  const target = await openTarget();
  console.log(`Connecting to ${target.name}`);
  const ftp = await FtpSession.connect(target.options); // resolves once logged in
  try {
    console.log(`pwd        ${await ftp.pwd()}`);

    const base = posix.join(target.dir, 'ftp-session-promises');
    const notes = posix.join(base, 'notes/2026');
    await ftp.createDir(notes, { recursive: true }); // each missing level; an existing one is fine
    console.log(`createDir  ${notes}`);

    const todo = posix.join(notes, 'todo.txt');
    await ftp.upload(todo, 'write the docs\ntry the examples\n');
    console.log(`upload     ${todo}: ${await ftp.size(todo)} bytes`);

    console.log(`listDirs   ${JSON.stringify(await ftp.listDirs(notes))}`);
    console.log(`retrText   ${JSON.stringify(await ftp.retrText(todo))}`);

    const done = posix.join(notes, 'done.txt');
    await ftp.rename(todo, done);
    console.log(`rename     now ${done}; todo.txt exists: ${await ftp.existsFile(todo)}, done.txt exists: ${await ftp.existsFile(done)}`);

    try {
      await ftp.chmod(done, { user: 'rw', group: 'r' }); // SITE CHMOD 640
      console.log(`chmod      ${(await ftp.list(notes)).trimEnd()}`);
    } catch (error) {
      if (!(error instanceof ReplyError)) throw error;
      console.log(`chmod      refused by this server: ${error.replyCode} ${error.message}`); // vsftpd's anonymous user, for one
    }

    await ftp.removeDir(base, { recursive: true }); // files first, then each directory, deepest first
    const left = await ftp.listDirs(target.dir === '' ? undefined : target.dir);
    console.log(`removeDir  ${base}; ${target.dir || 'the login directory'} now holds ${JSON.stringify(left)}`);
  } finally {
    await ftp.close();
    await target.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
