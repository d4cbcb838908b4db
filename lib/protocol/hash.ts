/**
 * File hashes computed by the server: choosing a method from FEAT (draft-bryan-ftp-hash's
 * `HASH`, or the legacy `XSHA512`, `XSHA256`, `XSHA1`, `XMD5` and `XCRC` verbs), reading the
 * hash out of the reply, and hashing the local copy the same way. Pure functions.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { excerpt } from './excerpt.js';

/** The hash algorithms the server may compute, named as in the HASH draft. */
export type HashAlgorithm = 'SHA-512' | 'SHA-256' | 'SHA-1' | 'MD5' | 'CRC32';

/** How to ask the server for one file's hash. */
export interface HashMethod {
  /** The algorithm the server will use. */
  algorithm: HashAlgorithm;
  /** 'HASH' (draft; needs OPTS HASH <algorithm> first unless already selected) or a legacy verb. */
  verb: 'HASH' | 'XSHA512' | 'XSHA256' | 'XSHA1' | 'XMD5' | 'XCRC';
  /** For HASH: whether `OPTS HASH <algorithm>` must be sent first (false when FEAT marked it selected with `*`). */
  select: boolean;
}

/** What a hash reply holds. */
export interface HashReply {
  /** The hash, lower-case hex (a CRC32 is left-padded to 8 digits). */
  hash: string;
  /** The byte range the hash covers, as the HASH reply gave it (legacy replies give none). */
  range?: { start: number; end: number };
}

/** A streaming hasher: feed it chunks, then call `digest()` once. */
export interface Hasher {
  /** Adds the next chunk of the data. */
  update(chunk: Uint8Array): void;
  /** The hash of everything added, lower-case hex. Finishes the hasher: do not use it afterwards. */
  digest(): string;
}

/** Per algorithm, strongest first: hex digits of its hash, its legacy verb, its node:crypto name. */
const ALGORITHMS: Readonly<Record<HashAlgorithm, { digits: number; verb: HashMethod['verb']; crypto: string | null }>> = {
  'SHA-512': { digits: 128, verb: 'XSHA512', crypto: 'sha512' },
  'SHA-256': { digits: 64, verb: 'XSHA256', crypto: 'sha256' },
  'SHA-1': { digits: 40, verb: 'XSHA1', crypto: 'sha1' },
  MD5: { digits: 32, verb: 'XMD5', crypto: 'md5' },
  CRC32: { digits: 8, verb: 'XCRC', crypto: null },
};
const STRONGEST_FIRST = Object.keys(ALGORITHMS) as HashAlgorithm[];

/** `<algorithm> [<start>-<end>] <hash> <path>`: the draft always gives the range; it is optional here. */
const HASH_REPLY = /^(\S+)\s+(?:(\d+)-(\d+)\s+)?([0-9A-Fa-f]+)(?:\s|$)/;

/**
 * The strongest method the server offers in FEAT, in the order SHA-512, SHA-256, SHA-1, MD5,
 * CRC32, with HASH before the legacy verb for the same algorithm. `preferred` (the caller's list)
 * filters and orders instead when given. Algorithm names in the HASH feature are compared
 * case-insensitively; names this module does not know (SHA-384, ...) are skipped.
 * @returns null when the server offers none of the algorithms.
 * @throws InvalidArgumentError when `preferred` names an unknown algorithm.
 */
export function chooseHashMethod(features: ReadonlyMap<string, string>, preferred?: readonly HashAlgorithm[]): HashMethod | null {
  for (const algorithm of preferred ?? []) checkAlgorithm(algorithm);
  // The HASH feature: `SHA-1;SHA-256*;MD5`, the `*` marking the currently selected one.
  const offered = new Map<string, boolean>();
  for (const entry of (features.get('HASH') ?? '').split(';')) {
    const name = entry.trim().toUpperCase();
    if (name.endsWith('*')) offered.set(name.slice(0, -1), true);
    else if (name !== '') offered.set(name, false);
  }
  for (const algorithm of preferred ?? STRONGEST_FIRST) {
    const selected = offered.get(algorithm);
    if (selected !== undefined) return { algorithm, verb: 'HASH', select: !selected };
    const { verb } = ALGORITHMS[algorithm];
    if (features.has(verb)) return { algorithm, verb, select: false };
  }
  return null;
}

/**
 * The hash in the text of a 2xx reply to `method`, lower-case. A HASH reply must follow the
 * draft's grammar and name the method's algorithm. A legacy reply holds the hash alone, before
 * the path or after it: only the first and last words are considered, so words of the path
 * cannot be taken for the hash, and a reply where both could be the hash (a path named like a
 * hash) is refused rather than guessed. A word of the algorithm's exact length wins over a
 * shorter CRC32 (1..8 digits accepted, left-padded to 8).
 * @throws ProtocolError when no hash of the algorithm's length is found, the first and last
 *   words are two different candidates, or a HASH reply names another algorithm.
 */
export function parseHashReply(method: HashMethod, text: string): HashReply {
  if (method.verb === 'HASH') {
    const match = HASH_REPLY.exec(text.trim());
    if (match === null) throw new ProtocolError(`unparsable HASH reply: ${excerpt(text)}`);
    const [, name = '', start, end, hash = ''] = match;
    if (name.toUpperCase() !== method.algorithm) {
      throw new ProtocolError(`HASH reply names ${excerpt(name)}, not ${method.algorithm}`);
    }
    const found = fitHash(hash, method.algorithm, true) ?? fitHash(hash, method.algorithm, false);
    if (found === null) throw new ProtocolError(`HASH reply without a ${method.algorithm} hash: ${excerpt(text)}`);
    if (start === undefined || end === undefined) return { hash: found };
    const range = { start: Number(start), end: Number(end) };
    if (!Number.isSafeInteger(range.end) || range.start > range.end) {
      throw new ProtocolError(`HASH reply with an invalid range: ${excerpt(text)}`);
    }
    return { hash: found, range };
  }
  const words = text.trim().split(/\s+/);
  const ends = new Set([words[0] ?? '', words[words.length - 1] ?? '']);
  for (const exact of [true, false]) {
    const found = new Set([...ends].map((word) => fitHash(word, method.algorithm, exact)).filter((hash) => hash !== null));
    if (found.size > 1) throw new ProtocolError(`${method.verb} reply with two possible hashes: ${excerpt(text)}`);
    const [hash] = found;
    if (hash !== undefined) return { hash };
  }
  throw new ProtocolError(`${method.verb} reply without a ${method.algorithm} hash: ${excerpt(text)}`);
}

/**
 * A streaming hasher for `algorithm`, giving lower-case hex as the server does. CRC32 is the
 * IEEE 802.3 CRC of zlib and XCRC (8 digits, zero-padded), computed here with a table; the others
 * come from node:crypto.
 * @throws InvalidArgumentError for an unknown algorithm.
 */
export function createHasher(algorithm: HashAlgorithm): Hasher {
  const name = ALGORITHMS[checkAlgorithm(algorithm)].crypto;
  if (name === null) return crc32Hasher();
  const hash = createHash(name);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest('hex'),
  };
}

/** The word as a lower-case hash of `algorithm`: of its exact length, or (`exact` false) a CRC32 of 1..7 digits, padded; else null. */
function fitHash(word: string, algorithm: HashAlgorithm, exact: boolean): string | null {
  if (!/^[0-9A-Fa-f]+$/.test(word)) return null;
  const { digits } = ALGORITHMS[algorithm];
  if (exact) return word.length === digits ? word.toLowerCase() : null;
  return algorithm === 'CRC32' && word.length < digits ? word.toLowerCase().padStart(digits, '0') : null;
}

/** @throws InvalidArgumentError unless `algorithm` is one of {@link HashAlgorithm}. */
function checkAlgorithm(algorithm: HashAlgorithm): HashAlgorithm {
  if (!Object.hasOwn(ALGORITHMS, algorithm)) throw new InvalidArgumentError(`unknown hash algorithm: ${String(algorithm)}`);
  return algorithm;
}

/** CRC-32 lookup table for the reflected polynomial 0xEDB88320 (IEEE 802.3). */
const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** A CRC-32 hasher: initial value and final XOR 0xFFFFFFFF, bytes processed least significant bit first. */
function crc32Hasher(): Hasher {
  let crc = 0xffffffff;
  return {
    update(chunk) {
      for (let i = 0; i < chunk.length; i++) crc = CRC32_TABLE[(crc ^ chunk[i]!) & 0xff]! ^ (crc >>> 8);
    },
    digest: () => ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0'),
  };
}
