/**
 * Node streams: upload() from a Readable that generates a CSV file, then download() piped
 * through a Transform (keep some rows) and gzip into a local file. Backpressure holds end to
 * end: the generator runs only as fast as the data connection takes its rows, and a slow disk
 * or transform pauses the download's data socket, so memory stays flat whatever the file size.
 *
 *   npx tsx examples/streams.ts [host] [port] [user] [password] [dir]
 *
 * With no arguments it runs against an FTP server embedded in this process; see
 * examples/support/target.ts for a real server.
 */
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, createGzip } from 'node:zlib';
import { FtpSession } from '../lib/index.js';
import { openTarget } from './support/target.js';

const ROWS = 200_000;

/**
 * A CSV file, made as the upload asks for it, 1,000 rows per chunk: each chunk of an upload's
 * source is one write to the data connection, so chunks of some KiB go much faster than lines.
 */
function* csv(): Generator<string> {
  const cities = ['Lyon', 'Oslo', 'Quito', 'Perth'];
  let rows = ['id,city,amount'];
  for (let id = 1; id <= ROWS; id++) {
    rows.push(`${id},${cities[id % cities.length]},${(id * 7919) % 10_000}`);
    if (rows.length === 1000 || id === ROWS) {
      yield `${rows.join('\n')}\n`;
      rows = [];
    }
  }
}

/** Keeps the header and the rows of one city: a line-by-line Transform (a line may span chunks). */
function onlyCity(city: string): Transform {
  let rest = '';
  let header = true;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop()!;
      const kept = lines.filter((line) => {
        const keep = header || line.split(',')[1] === city;
        header = false;
        return keep;
      });
      callback(null, kept.map((line) => `${line}\n`).join(''));
    },
    flush(callback) {
      callback(null, rest === '' || rest.split(',')[1] !== city ? '' : `${rest}\n`);
    },
  });
}

async function main(): Promise<void> {
  const target = await openTarget();
  console.log(`Connecting to ${target.name}`);
  const local = mkdtempSync(join(tmpdir(), 'ftp-session-streams-'));
  const ftp = await FtpSession.connect(target.options);
  const remote = posix.join(target.dir, 'ftp-session-streams.csv');
  try {
    // upload(): any Readable, async iterable, Buffer or string; resolves once the server confirmed (226).
    let flushed = 0;
    await ftp.upload(remote, Readable.from(csv()), { transferMode: 'binary', onFlushed: (bytes) => (flushed += bytes) });
    console.log(`upload()    ${ROWS} generated rows, ${flushed} bytes; the server says ${await ftp.size(remote)} bytes`);

    // download(): a Readable with backpressure; pipeline() destroys it (ABOR) if a later stage fails.
    const file = join(local, 'oslo.csv.gz');
    let received = 0;
    const source = ftp.download(remote, { transferMode: 'binary', highWaterMark: 256 * 1024, onData: (chunk) => (received += chunk.length) });
    await pipeline(source, onlyCity('Oslo'), createGzip(), createWriteStream(file));
    const rows = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
    console.log(`download()  ${received} bytes through the filter and gzip: ${file} (${statSync(file).size} bytes), ${rows.length - 1} rows of Oslo`);

    assert.equal(rows[0], 'id,city,amount');
    assert.equal(rows.length - 1, ROWS / 4);
    assert.ok(rows.slice(1).every((row) => row.split(',')[1] === 'Oslo'));
    await ftp.removeFile(remote);
  } finally {
    await ftp.close();
    await target.close();
    rmSync(local, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
