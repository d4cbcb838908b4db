import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFeatReply, parseMdtmReply, parsePwdReply, parseSizeReply } from '../../lib/protocol/values.js';

const protocolError = { name: 'ProtocolError', code: 'ERR_FTP_PROTOCOL' };

describe('parsePwdReply', () => {
  it('returns the quoted path', () => {
    assert.equal(parsePwdReply('"/pub/CPAN" is current directory.'), '/pub/CPAN');
  });

  it('H85: undoubles quotes, skips text before the first quote', () => {
    assert.equal(parsePwdReply('"/""hello"""'), '/"hello"');
    assert.equal(parsePwdReply('junk "/p/q"'), '/p/q');
    assert.equal(parsePwdReply('"a""b" is "not" this'), 'a"b');
  });

  it('keeps spaces and non-ASCII characters', () => {
    assert.equal(parsePwdReply('"/ lead/trail /dïr" created'), '/ lead/trail /dïr');
  });

  it('H85: rejects an unterminated quote, no quote or an empty path', () => {
    for (const text of ['"only', '"/a""', 'no quote here', '', '"" empty']) {
      assert.throws(() => parsePwdReply(text), protocolError, text);
    }
  });

  it('H84: rejects control characters in the path', () => {
    for (const text of ['"/\x03"', '"/\r"', '"/a\nb"', '"/\x7f"', '"/\x00"']) {
      assert.throws(() => parsePwdReply(text), protocolError, JSON.stringify(text));
    }
  });

  it('allows control characters outside the quoted path', () => {
    assert.equal(parsePwdReply('"/ok"\tis current'), '/ok');
  });
});

describe('parseSizeReply', () => {
  it('parses digits, ignoring surrounding whitespace', () => {
    assert.equal(parseSizeReply('751'), 751);
    assert.equal(parseSizeReply(' 0 '), 0);
    assert.equal(parseSizeReply(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  });

  it('E55: rejects junk and values past 2^53 - 1', () => {
    const bad = ['file: 213, Size =51', '99999999999999999999', '9007199254740992', '-1', '1e3', '12 34', '0x10', ''];
    for (const text of bad) {
      assert.throws(() => parseSizeReply(text), protocolError, text);
    }
  });
});

describe('parseMdtmReply', () => {
  it('parses a time-val as UTC', () => {
    assert.equal(parseMdtmReply('20030405102659').toISOString(), '2003-04-05T10:26:59.000Z');
  });

  it('keeps a fraction to the millisecond, truncating', () => {
    assert.equal(parseMdtmReply('20030405102659.5').toISOString(), '2003-04-05T10:26:59.500Z');
    assert.equal(parseMdtmReply('20030405102659.123987').toISOString(), '2003-04-05T10:26:59.123Z');
  });

  it('handles leap days, early years and a leap second', () => {
    assert.equal(parseMdtmReply('20000229000000').toISOString(), '2000-02-29T00:00:00.000Z');
    assert.equal(parseMdtmReply('00500101000000').getUTCFullYear(), 50);
    assert.equal(parseMdtmReply('20161231235960').toISOString(), '2017-01-01T00:00:00.000Z');
  });

  it('E57: rejects malformed values and out-of-range fields', () => {
    const bad = [
      '2003040a102659', '200304051026', '200304051026599', '20030405102659.', '20030405102659Z',
      '20031305102659', '20030005102659', '20030400102659', '20030431102659', '19000229000000',
      '20030405242659', '20030405106059', '20030405102661', '',
    ];
    for (const text of bad) {
      assert.throws(() => parseMdtmReply(text), protocolError, text);
    }
  });
});

describe('parseFeatReply', () => {
  it('maps each feature line to its upper-cased first word and the rest', () => {
    const lines = ['Extensions supported:', ' MDTM', ' REST STREAM', ' mlst type*;size*;modify*;', ' AUTH TLS ', 'End'];
    const features = parseFeatReply(lines);
    assert.deepEqual([...features], [
      ['MDTM', ''],
      ['REST', 'STREAM'],
      ['MLST', 'type*;size*;modify*;'],
      ['AUTH', 'TLS'],
    ]);
  });

  it('gives an empty map for a single-line 211 or a header/End pair', () => {
    assert.equal(parseFeatReply(['No features']).size, 0);
    assert.equal(parseFeatReply(['Features:', 'End']).size, 0);
    assert.equal(parseFeatReply([]).size, 0);
  });

  it('tolerates feature lines without the leading space, skips blank lines, and keeps the last duplicate', () => {
    const features = parseFeatReply(['Features:', 'UTF8', '   ', ' SIZE', ' HASH SHA-1', ' HASH SHA-256*', 'End']);
    assert.deepEqual([...features], [
      ['UTF8', ''],
      ['SIZE', ''],
      ['HASH', 'SHA-256*'],
    ]);
  });
});
