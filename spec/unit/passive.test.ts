import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatEprtArgument,
  formatPortArgument,
  parseEpsvReply,
  parsePasvReply,
} from '../../lib/protocol/passive.js';

const protocolError = { name: 'ProtocolError', code: 'ERR_FTP_PROTOCOL' };
const invalidArgument = { name: 'InvalidArgumentError', code: 'ERR_FTP_INVALID_ARGUMENT' };

describe('parsePasvReply', () => {
  it('parses the usual parenthesised form', () => {
    assert.deepEqual(parsePasvReply('Entering Passive Mode (192,168,1,10,4,51).'), {
      host: '192.168.1.10',
      port: 1075,
    });
  });

  it('F64: parses the form without parentheses (RFC 1123 scan for the first digit)', () => {
    assert.deepEqual(parsePasvReply('Entering passive mode. 127,0,0,1,4,51'), { host: '127.0.0.1', port: 1075 });
  });

  it('F64: rejects a number above 255', () => {
    assert.throws(() => parsePasvReply('Entering Passive Mode (1216,256,2,127,127,127)'), protocolError);
    assert.throws(() => parsePasvReply('(127,0,0,1,256,1)'), protocolError);
  });

  it('F62/F63: returns the advertised host as is (the session decides whether to use it)', () => {
    assert.deepEqual(parsePasvReply('(10,0,0,5,0,21)'), { host: '10.0.0.5', port: 21 });
    assert.deepEqual(parsePasvReply('(0,0,0,0,255,255)'), { host: '0.0.0.0', port: 65535 });
    assert.deepEqual(parsePasvReply('(252,253,254,255,1,0)'), { host: '252.253.254.255', port: 256 });
  });

  it('normalises leading zeros', () => {
    assert.deepEqual(parsePasvReply('(010,000,0,01,0,080)'), { host: '10.0.0.1', port: 80 });
  });

  it('rejects port 0, missing numbers, extra numbers and digit-less text', () => {
    const bad = ['(127,0,0,1,0,0)', '(127,0,0,1,4)', '(127,0,0,1,4,51,7)', 'Entering Passive Mode', '', '2 (127,0,0,1,4,51)'];
    for (const text of bad) {
      assert.throws(() => parsePasvReply(text), protocolError, text);
    }
  });
});

describe('parseEpsvReply', () => {
  it('parses the RFC 2428 form', () => {
    assert.equal(parseEpsvReply('Entering Extended Passive Mode (|||6446|)'), 6446);
  });

  it('F65: accepts any delimiter in 33..126 used four times', () => {
    assert.equal(parseEpsvReply('(!!!6446!)'), 6446);
    assert.equal(parseEpsvReply('(~~~65535~)'), 65535);
  });

  it('F65: ignores a non-empty address field', () => {
    assert.equal(parseEpsvReply('(|1|9.9.9.9|6446|)'), 6446);
  });

  it('F65: rejects an out-of-range, non-numeric or zero port', () => {
    for (const text of ['(|||1000000|)', '(|||abc|)', '(|||0|)', '(|||65536|)', '(||||)', '(|||-1|)']) {
      assert.throws(() => parseEpsvReply(text), protocolError, text);
    }
  });

  it('rejects missing parentheses, mixed delimiters and bad delimiters', () => {
    const bad = ['|||6446|', '(|||6446|', '|||6446|)', '(|!|6446|)', '(|||6446!)', '( 6446 )', '(\x7f\x7f\x7f6446\x7f)', ''];
    for (const text of bad) {
      assert.throws(() => parseEpsvReply(text), protocolError, JSON.stringify(text));
    }
  });
});

describe('formatPortArgument', () => {
  it('formats an IPv4 address and port as six numbers', () => {
    assert.equal(formatPortArgument('192.168.1.10', 1075), '192,168,1,10,4,51');
    assert.equal(formatPortArgument('10.0.0.1', 65535), '10,0,0,1,255,255');
  });

  it('accepts an IPv4-mapped IPv6 address', () => {
    assert.equal(formatPortArgument('::ffff:1.2.3.4', 256), '1,2,3,4,1,0');
    assert.equal(formatPortArgument('::FFFF:1.2.3.4', 21), '1,2,3,4,0,21');
  });

  it('rejects IPv6, bad addresses and bad ports', () => {
    for (const host of ['::1', '2001:db8::1', '1.2.3', '1.2.3.256', '01.2.3.4', 'localhost', '1.2.3.4 ', '']) {
      assert.throws(() => formatPortArgument(host, 21), invalidArgument, host);
    }
    for (const port of [0, 65536, 21.5, Number.NaN]) {
      assert.throws(() => formatPortArgument('1.2.3.4', port), invalidArgument, String(port));
    }
  });
});

describe('formatEprtArgument', () => {
  it('formats IPv4 as family 1 and IPv6 as family 2', () => {
    assert.equal(formatEprtArgument('1.2.3.4', 6446), '|1|1.2.3.4|6446|');
    assert.equal(formatEprtArgument('::1', 6446), '|2|::1|6446|');
    assert.equal(formatEprtArgument('2001:db8::8:800:200c:417a', 21), '|2|2001:db8::8:800:200c:417a|21|');
  });

  it('maps an IPv4-mapped IPv6 address to family 1', () => {
    assert.equal(formatEprtArgument('::ffff:1.2.3.4', 6446), '|1|1.2.3.4|6446|');
  });

  it('rejects non-addresses, zone ids and bad ports', () => {
    for (const host of ['localhost', 'fe80::1%eth0', '1.2.3.4|5', '::g', '']) {
      assert.throws(() => formatEprtArgument(host, 21), invalidArgument, host);
    }
    assert.throws(() => formatEprtArgument('::1', 0), invalidArgument);
    assert.throws(() => formatEprtArgument('::1', 70000), invalidArgument);
  });
});
