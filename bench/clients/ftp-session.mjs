// @ts-check
/**
 * The ftp-session benchmark client: one job (a JSON argument, see common.mjs), one JSON line out.
 * Runs on the built library (dist/esm: `npm run build`), as plain `node`, no loader.
 *
 * Each scenario's operation is one function below, so that they can be switched to faster
 * APIs as the library gets them: downloadTo with a function (reused read buffers) and fileSource.
 */
import { readFileSync } from 'node:fs';
import { FtpSession, fileSource } from '../../dist/esm/index.js';
import { nullSink, runClient } from './common.mjs';

/**
 * Session options for the bench server: always TYPE I (vsftpd sends with sendfile only in
 * binary; the default 'manual' would leave it in ASCII), FTPS when the job names a CA.
 * @param {import('./common.mjs').Server} server
 * @returns {import('../../dist/esm/index.js').FtpSessionOptions}
 */
function options(server) {
  const { host, port, user, password } = server;
  const tls = server.caFile
    ? { tls: /** @type {const} */ ('explicit'), tlsOptions: { ca: readFileSync(server.caFile, 'utf8') } }
    : {};
  return { host, port, user, password, transferMode: 'binary', ...tls };
}
/**
 * Scenarios download, loop-delay, slow-consumer, ftps-down: RETR into `sink` (a null or a
 * throttled Writable) through `downloadTo` with a function, so the data socket reads into
 * ftp-session's reused buffers: the bench sinks keep no chunk after their write callback, so
 * they may borrow it (the function returns a promise while the sink holds the chunk).
 */
async function downloadToSink(/** @type {FtpSession} */ ftp, /** @type {string} */ remote, /** @type {import('node:stream').Writable} */ sink) {
  await ftp.downloadTo(remote, (chunk) => {
    let taken = false;
    const written = new Promise((resolve, reject) => sink.write(chunk, (error) => {
      taken = !error;
      if (error) reject(error); else resolve(undefined);
    }));
    return taken ? undefined : written;
  });
}

/** Scenarios upload-memory, loop-delay, ftps-up: STOR from one Buffer. */
async function uploadFromMemory(/** @type {FtpSession} */ ftp, /** @type {string} */ remote, /** @type {Buffer} */ data) {
  await ftp.upload(remote, data);
}

/** Scenario upload-file: STOR from a file read by `fileSource` (reused 1 MiB buffers). */
async function uploadFromFile(/** @type {FtpSession} */ ftp, /** @type {string} */ remote, /** @type {string} */ local) {
  await ftp.upload(remote, fileSource(local));
}

/** Transfers a small-file client keeps posted: the session queues them and sends each next one ahead of the current one's 226. */
const POSTED = 4;

/**
 * Runs `transfer(i)` for i = 0..count-1 in order, at most POSTED posted at once (the session runs
 * them one at a time, in posting order); returns the sum of their results.
 */
async function posted(/** @type {number} */ count, /** @type {(i: number) => Promise<number>} */ transfer) {
  let next = 0;
  let total = 0;
  const lane = async () => {
    while (next < count) {
      const bytes = await transfer(next++);
      total += bytes;
    }
  };
  await Promise.all(Array.from({ length: Math.min(POSTED, count) }, lane));
  return total;
}

/** Scenarios small-down, small-down-rtt, ftps-small: RETR of each file on one session, a few posted ahead; returns the bytes. */
async function downloadSmallFiles(/** @type {FtpSession} */ ftp, /** @type {string[]} */ remotes) {
  return posted(remotes.length, (i) => ftp.downloadTo(/** @type {string} */ (remotes[i]), () => {}));
}

/** Scenarios small-up, small-up-rtt: STOR of each file from `fileSource` on one session, a few posted ahead; returns the bytes. */
async function uploadSmallFiles(/** @type {FtpSession} */ ftp, /** @type {string[]} */ remotes, /** @type {string[]} */ locals) {
  return posted(remotes.length, async (i) => {
    let sent = 0;
    await ftp.upload(/** @type {string} */ (remotes[i]), fileSource(/** @type {string} */ (locals[i])), { onFlushed: (n) => { sent += n; } });
    return sent;
  });
}

/** Scenario sessions: connect, list a folder, download one file, close; returns the bytes. */
async function oneSession(/** @type {import('./common.mjs').Server} */ server, /** @type {string} */ dir, /** @type {string} */ file) {
  const ftp = await FtpSession.connect(options(server));
  try {
    const entries = await ftp.listEntries(dir);
    if (entries.length === 0) throw new Error(`${dir}: empty listing`);
    const sink = nullSink();
    await downloadToSink(ftp, file, sink);
    return sink.bytes;
  } finally {
    await ftp.close();
  }
}

await runClient({
  name: 'ftp-session',
  connect: (server) => FtpSession.connect(options(server)),
  close: (ftp) => ftp.close(),
  download: downloadToSink,
  uploadMemory: uploadFromMemory,
  uploadFile: uploadFromFile,
  downloadSmall: downloadSmallFiles,
  uploadSmall: uploadSmallFiles,
  oneSession,
});
