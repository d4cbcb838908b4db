/**
 * Checks a finished transfer: both copies hashed when the server offers a hash command (chosen
 * from FEAT: HASH, XSHA256, XSHA1, XMD5, XCRC, ...), else their sizes compared.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { describe, IntegrityError, isNotImplemented, LocalIoError, ProtocolError, ReplyError } from '../errors.js';
import { chooseHashMethod, createHasher, parseHashReply, type HashAlgorithm, type HashMethod } from '../protocol/hash.js';
import type { FtpSession } from '../session.js';
import type { CallOptions } from './request.js';

/**
 * How a finished transfer is checked: `false` not at all; `'size'` SIZE against the local size;
 * `'hash'` a hash when the server offers one, else the size (a clean fallback, never an error).
 */
export type VerifyMode = false | 'size' | 'hash';

/** Hash algorithms tried, best first: SHA-256 is strong and fast everywhere. */
const PREFERRED: readonly HashAlgorithm[] = ['SHA-256', 'SHA-512', 'SHA-1', 'MD5', 'CRC32'];

/**
 * Compares `remote` with `localPath`. Returns how (`size`, `HASH SHA-256`, `XSHA256`, ...), or
 * null when `mode` is false or the server has no readable SIZE; throws {@link IntegrityError} when the copies differ.
 */
export async function verifyCopy(ftp: FtpSession, remote: string, localPath: string, mode: VerifyMode, options: CallOptions): Promise<string | null> {
  if (mode === false) return null;
  const localSize = await localFileSize(localPath);
  if (mode === 'hash' && localSize > 0) {
    const method = chooseHashMethod(await ftp.features(), PREFERRED);
    const remoteHash = method ? await askHash(ftp, method, remote, options) : null;
    if (method && remoteHash !== null) {
      const name = method.verb === 'HASH' ? `HASH ${method.algorithm}` : method.verb;
      const localHash = await hashFile(localPath, method.algorithm);
      if (localHash !== remoteHash) throw new IntegrityError(name, `${remote}: ${name} differs (remote ${remoteHash}, local ${localHash})`);
      return name;
    }
  }
  const remoteSize = await readableSize(ftp, remote, options);
  if (remoteSize === null) return null;
  if (remoteSize !== localSize) throw new IntegrityError('size', `${remote}: sizes differ (remote ${remoteSize} bytes, local ${localSize} bytes)`);
  return 'size';
}

/**
 * Compares two remote copies, each asked of its own server (a server-to-server copy): the first
 * hash algorithm both servers offer, else SIZE on each side. Returns how, or null when `mode` is
 * false or a side gives no readable SIZE; throws {@link IntegrityError} when the copies differ.
 */
export async function verifyRemoteCopy(
  source: FtpSession, sourcePath: string, target: FtpSession, targetPath: string, mode: VerifyMode, options: CallOptions,
): Promise<string | null> {
  if (mode === false) return null;
  if (mode === 'hash') {
    const [sourceFeatures, targetFeatures] = await Promise.all([source.features(), target.features()]);
    for (const algorithm of PREFERRED) {
      const methods = [chooseHashMethod(sourceFeatures, [algorithm]), chooseHashMethod(targetFeatures, [algorithm])] as const;
      if (!methods[0] || !methods[1]) continue;
      const sourceHash = await askHash(source, methods[0], sourcePath, options);
      const targetHash = sourceHash === null ? null : await askHash(target, methods[1], targetPath, options);
      if (sourceHash === null || targetHash === null) break; // offered but refused for this file: sizes then
      if (sourceHash !== targetHash) throw new IntegrityError(algorithm, `${targetPath}: ${algorithm} differs (source ${sourceHash}, target ${targetHash})`);
      return algorithm;
    }
  }
  const [sourceSize, targetSize] = await Promise.all([readableSize(source, sourcePath, options), readableSize(target, targetPath, options)]);
  if (sourceSize === null || targetSize === null) return null;
  if (sourceSize !== targetSize) throw new IntegrityError('size', `${targetPath}: sizes differ (source ${sourceSize} bytes, target ${targetSize} bytes)`);
  return 'size';
}

/** SIZE of `path`, or null when the server has no SIZE or an unreadable one (unverified, not failed). */
function readableSize(ftp: FtpSession, path: string, options: CallOptions): Promise<number | null> {
  return ftp.size(path, options).catch((error: unknown) => {
    if (error instanceof ProtocolError || isNotImplemented(error)) return null;
    throw error;
  });
}

/** The remote file's hash, or null when the server will not give it for this file (then sizes are compared). */
async function askHash(ftp: FtpSession, method: HashMethod, remote: string, options: CallOptions): Promise<string | null> {
  try {
    if (method.select) await ftp.request('opts', ['HASH', method.algorithm], options);
    // The legacy verbs take `path [start end]`: a path with spaces must be quoted.
    const path = method.verb !== 'HASH' && /\s/.test(remote) ? `"${remote}"` : remote;
    const reply = await ftp.request('quot', [method.verb, path], options);
    return parseHashReply(method, reply.text.split('\n').pop()!).hash;
  } catch (error) {
    if (error instanceof ReplyError) return null;
    throw error;
  }
}

/** The lower-case hex digest of a local file. */
export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string> {
  const hasher = createHasher(algorithm);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hasher.update(chunk as Buffer);
  } catch (error) {
    throw new LocalIoError(`cannot read ${path} to hash it: ${describe(error)}`, { cause: error });
  }
  return hasher.digest();
}

/** The size of a local file (LocalIoError when it cannot be read). */
export async function localFileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw new LocalIoError(`cannot read ${path}: ${describe(error)}`, { cause: error });
  }
}
