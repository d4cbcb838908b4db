import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { chooseHashMethod, createHasher, parseHashReply, type HashAlgorithm, type HashMethod } from '../../lib/protocol/hash.js';
import { parseFeatReply } from '../../lib/protocol/values.js';

const protocolError = { name: 'ProtocolError', code: 'ERR_FTP_PROTOCOL' };
const invalidArgument = { name: 'InvalidArgumentError', code: 'ERR_FTP_INVALID_ARGUMENT' };

const ALL: HashAlgorithm[] = ['SHA-512', 'SHA-256', 'SHA-1', 'MD5', 'CRC32'];
const CRYPTO_NAME: Partial<Record<HashAlgorithm, string>> = { 'SHA-512': 'sha512', 'SHA-256': 'sha256', 'SHA-1': 'sha1', MD5: 'md5' };

/** The features of a FEAT reply listing `lines`. */
function feat(...lines: string[]): Map<string, string> {
  return parseFeatReply(['Features:', ...lines.map((line) => ` ${line}`), 'End']);
}

/** The hash of `text` by node:crypto. */
function hex(name: string, text: string): string {
  return createHash(name).update(text).digest('hex');
}

const SHA256 = hex('sha256', 'file');
const SHA1 = hex('sha1', 'file');
const MD5 = hex('md5', 'file');
const method = (algorithm: HashAlgorithm, verb: HashMethod['verb']): HashMethod => ({ algorithm, verb, select: false });

describe('chooseHashMethod', () => {
  it('prefers HASH with the strongest algorithm, asking to select it unless FEAT marked it', () => {
    assert.deepEqual(chooseHashMethod(feat('HASH SHA-1;SHA-256*;MD5')), { algorithm: 'SHA-256', verb: 'HASH', select: false });
    assert.deepEqual(chooseHashMethod(feat('HASH SHA-1*;SHA-256;MD5')), { algorithm: 'SHA-256', verb: 'HASH', select: true });
    assert.deepEqual(chooseHashMethod(feat('HASH md5;crc32*')), { algorithm: 'MD5', verb: 'HASH', select: true });
  });

  it('takes HASH before the legacy verb for the same algorithm, but a stronger legacy verb first', () => {
    assert.deepEqual(chooseHashMethod(feat('XSHA256', 'HASH SHA-256')), { algorithm: 'SHA-256', verb: 'HASH', select: true });
    assert.deepEqual(chooseHashMethod(feat('XSHA512', 'HASH SHA-256*')), { algorithm: 'SHA-512', verb: 'XSHA512', select: false });
  });

  it('falls back to legacy verbs, strongest first', () => {
    assert.deepEqual(chooseHashMethod(feat('XCRC "filename" SP EP', 'XMD5 "filename" SP EP', 'XSHA1')), {
      algorithm: 'SHA-1', verb: 'XSHA1', select: false,
    });
    assert.deepEqual(chooseHashMethod(feat('XCRC "filename" SP EP')), { algorithm: 'CRC32', verb: 'XCRC', select: false });
  });

  it('gives null when nothing is offered, or only unknown algorithms', () => {
    assert.equal(chooseHashMethod(feat('MDTM', 'SIZE')), null);
    assert.equal(chooseHashMethod(new Map()), null);
    assert.equal(chooseHashMethod(feat('HASH SHA-384;SHA-224*')), null);
  });

  it('filters and orders by the preferred list', () => {
    const features = feat('HASH SHA-1;SHA-256*;MD5', 'XCRC');
    assert.deepEqual(chooseHashMethod(features, ['CRC32', 'MD5']), { algorithm: 'CRC32', verb: 'XCRC', select: false });
    assert.deepEqual(chooseHashMethod(features, ['SHA-512', 'MD5']), { algorithm: 'MD5', verb: 'HASH', select: true });
    assert.equal(chooseHashMethod(features, ['SHA-512']), null);
    assert.equal(chooseHashMethod(features, []), null);
    assert.throws(() => chooseHashMethod(features, ['SHA-3' as HashAlgorithm]), invalidArgument);
  });
});

describe('parseHashReply', () => {
  const hash = method('SHA-256', 'HASH');

  it('reads a HASH reply with its range, whatever the case of the name and the hash', () => {
    assert.deepEqual(parseHashReply(hash, `SHA-256 0-49 ${SHA256} file.txt`), { hash: SHA256, range: { start: 0, end: 49 } });
    assert.deepEqual(parseHashReply(hash, `sha-256 10-20 ${SHA256.toUpperCase()} a`), { hash: SHA256, range: { start: 10, end: 20 } });
  });

  it('reads a HASH reply whose path has spaces and hex-looking words, or which has no range', () => {
    const path = `my ${SHA1} dir/${hex('sha256', 'other')}`;
    assert.deepEqual(parseHashReply(hash, `SHA-256 0-4 ${SHA256} ${path}`), { hash: SHA256, range: { start: 0, end: 4 } });
    assert.deepEqual(parseHashReply(hash, `SHA-256 ${SHA256} file`), { hash: SHA256 });
  });

  it('refuses a HASH reply naming another algorithm', () => {
    assert.throws(() => parseHashReply(hash, `SHA-1 0-4 ${SHA1} file`), protocolError);
    assert.throws(() => parseHashReply(hash, `MD5 0-4 ${SHA256} file`), protocolError);
  });

  it('refuses a HASH reply without a hash of the right length or with a bad range', () => {
    const bad = [
      '', 'SHA-256', `SHA-256 0-4 ${SHA1} file`, `SHA-256 0-4 ${SHA256}0 file`, `SHA-256 0-4 ${SHA256}.txt`,
      `SHA-256 0-4 file ${SHA256}`, `SHA-256 9-4 ${SHA256} file`, `SHA-256 0-99999999999999999999 ${SHA256} f`,
    ];
    for (const text of bad) assert.throws(() => parseHashReply(hash, text), protocolError, text);
  });

  it('reads a legacy reply: the hash alone, before the path or after it', () => {
    const sha = method('SHA-256', 'XSHA256');
    for (const text of [SHA256, ` ${SHA256.toUpperCase()} `, `${SHA256} /pub/a file.txt`, `/pub/a file.txt ${SHA256}`, `"my file" ${SHA256}`]) {
      assert.deepEqual(parseHashReply(sha, text), { hash: SHA256 }, text);
    }
    assert.deepEqual(parseHashReply(method('SHA-1', 'XSHA1'), `${SHA1} x`), { hash: SHA1 });
    assert.deepEqual(parseHashReply(method('MD5', 'XMD5'), `dir/x ${MD5}`), { hash: MD5 });
  });

  it('is not fooled by hex-looking words inside the path', () => {
    const md5 = method('MD5', 'XMD5');
    assert.deepEqual(parseHashReply(md5, `${MD5} backup ${hex('md5', 'other')} copy`), { hash: MD5 });
    assert.deepEqual(parseHashReply(md5, `cafe ${hex('md5', 'other')} x ${MD5}`), { hash: MD5 });
    // A word of another algorithm's length is not a candidate.
    assert.deepEqual(parseHashReply(md5, `${SHA1} ${MD5}`), { hash: MD5 });
  });

  it('refuses a legacy reply where both the first and the last word could be the hash', () => {
    const other = hex('md5', 'other');
    assert.throws(() => parseHashReply(method('MD5', 'XMD5'), `${other} ${MD5}`), protocolError);
    assert.deepEqual(parseHashReply(method('MD5', 'XMD5'), `${MD5} ${MD5.toUpperCase()}`), { hash: MD5 });
  });

  it('refuses a legacy reply without a hash of the right length', () => {
    const sha = method('SHA-256', 'XSHA256');
    for (const text of ['', 'ok', SHA1, `${SHA256}0`, `${SHA256.slice(1)} file`, `file ${SHA256}.`, `x ${SHA256} y`]) {
      assert.throws(() => parseHashReply(sha, text), protocolError, text);
    }
  });

  it('left-pads a short CRC32, preferring a full 8-digit word', () => {
    const crc = method('CRC32', 'XCRC');
    assert.deepEqual(parseHashReply(crc, 'CBF43926'), { hash: 'cbf43926' });
    assert.deepEqual(parseHashReply(crc, '1a2b3 file'), { hash: '0001a2b3' });
    assert.deepEqual(parseHashReply(crc, 'cafe menu.txt cbf43926'), { hash: 'cbf43926' });
    assert.deepEqual(parseHashReply(method('CRC32', 'HASH'), 'CRC32 0-9 f00 x'), { hash: '00000f00', range: { start: 0, end: 9 } });
    assert.throws(() => parseHashReply(crc, 'cafe menu 1a2b3'), protocolError);
    assert.throws(() => parseHashReply(crc, '1cbf43926 x'), protocolError);
  });
});

describe('createHasher', () => {
  /** Digest of `data` fed to a new hasher in chunks cut at `cuts`. */
  function chunked(algorithm: HashAlgorithm, data: Uint8Array, cuts: number[]): string {
    const hasher = createHasher(algorithm);
    let from = 0;
    for (const cut of [...cuts, data.length].sort((a, b) => a - b)) {
      hasher.update(data.subarray(from, cut));
      from = cut;
    }
    return hasher.digest();
  }

  it('computes the IEEE CRC32 check values, zero-padded', () => {
    const text = new TextEncoder().encode('123456789');
    assert.equal(chunked('CRC32', text, []), 'cbf43926');
    assert.equal(chunked('CRC32', text, [1, 5, 5]), 'cbf43926');
    assert.equal(createHasher('CRC32').digest(), '00000000');
    assert.equal(chunked('CRC32', new TextEncoder().encode('The quick brown fox jumps over the lazy dog'), [10]), '414fa339');
    assert.equal(chunked('CRC32', new TextEncoder().encode('33'), []), '0a6216d9'); // a leading zero is kept
  });

  it('matches node:crypto for the other algorithms over chunked input', () => {
    const data = new Uint8Array(10_000).map((_, i) => (i * 31) % 251);
    for (const algorithm of ALL) {
      const name = CRYPTO_NAME[algorithm];
      if (name === undefined) continue;
      assert.equal(chunked(algorithm, data, [1, 64, 65, 4096, 9999]), createHash(name).update(data).digest('hex'), algorithm);
    }
  });

  it('refuses an unknown algorithm', () => {
    assert.throws(() => createHasher('SHA-3' as HashAlgorithm), invalidArgument);
  });

  it('gives the same digest however the input is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL),
        fc.uint8Array({ maxLength: 600 }).chain((data) =>
          fc.tuple(fc.constant(data), fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 8 })),
        ),
        (algorithm, [data, cuts]) => chunked(algorithm, data, cuts) === chunked(algorithm, data, []),
      ),
    );
  });
});
