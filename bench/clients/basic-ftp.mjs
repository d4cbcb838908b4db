// @ts-check
/**
 * The basic-ftp benchmark client (a peer): the same jobs as ftp-session.mjs (see common.mjs),
 * with basic-ftp's Client. basic-ftp sends TYPE I at login and uses EPSV; FTPS is `secure: true`
 * (explicit AUTH TLS, PROT P, data connections resume the control connection's TLS session).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { nullSink, runClient } from './common.mjs';

/** @param {import('./common.mjs').Server} server */
async function connect(server) {
  const client = new Client(60_000);
  const { host, port, user, password } = server;
  const tls = server.caFile ? { secure: true, secureOptions: { ca: readFileSync(server.caFile, 'utf8') } } : {};
  await client.access({ host, port, user, password, ...tls });
  return client;
}

/** @param {Client} client @param {string[]} remotes */
async function downloadSmall(client, remotes) {
  let bytes = 0;
  for (const remote of remotes) {
    const sink = nullSink();
    await client.downloadTo(sink, remote);
    bytes += sink.bytes;
  }
  return bytes;
}

/** @param {Client} client @param {string[]} remotes @param {string[]} locals */
async function uploadSmall(client, remotes, locals) {
  let bytes = 0;
  for (let i = 0; i < remotes.length; i++) {
    const data = await readFile(/** @type {string} */ (locals[i]));
    await client.uploadFrom(Readable.from(data), /** @type {string} */ (remotes[i]));
    bytes += data.length;
  }
  return bytes;
}

/** @param {import('./common.mjs').Server} server @param {string} dir @param {string} file */
async function oneSession(server, dir, file) {
  const client = await connect(server);
  try {
    const entries = await client.list(dir);
    if (entries.length === 0) throw new Error(`${dir}: empty listing`);
    const sink = nullSink();
    await client.downloadTo(sink, file);
    return sink.bytes;
  } finally {
    client.close();
  }
}

await runClient({
  name: 'basic-ftp',
  connect,
  close: async (client) => { client.close(); },
  download: async (client, remote, sink) => { await client.downloadTo(sink, remote); },
  uploadMemory: async (client, remote, data) => { await client.uploadFrom(Readable.from(data), remote); },
  uploadFile: async (client, remote, local) => { await client.uploadFrom(local, remote); },
  downloadSmall,
  uploadSmall,
  oneSession,
});
