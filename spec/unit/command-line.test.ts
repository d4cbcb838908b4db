import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../lib/errors.js';
import { assertSafeArgument, formatCommand, maskForTrace } from '../../lib/protocol/command-line.js';

const invalidArgument = { name: 'InvalidArgumentError', code: 'ERR_FTP_INVALID_ARGUMENT' };

/** Runs `fn`, expecting an InvalidArgumentError, and returns its message. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError);
    return error.message;
  }
  assert.fail('expected an InvalidArgumentError');
}

describe('assertSafeArgument', () => {
  it('H80/H81: rejects CRLF, bare CR, bare LF and NUL anywhere', () => {
    for (const value of ['a.txt\r\nDELE x', 'a\rb', 'a\nb', 'a\0b', '\n', 'end\r']) {
      assert.throws(() => assertSafeArgument(value, 'path'), invalidArgument, JSON.stringify(value));
    }
  });

  it('names the argument and shows an escaped excerpt of a non-secret value', () => {
    const message = messageOf(() => assertSafeArgument('a.txt\r\nDELE x', 'path'));
    assert.match(message, /^path /);
    assert.ok(message.includes(JSON.stringify('a.txt\r\nDELE x')), message);
    assert.ok(!/[\r\n]/.test(message), 'no raw line break in the message');
  });

  it('H82: never puts a secret value in the message', () => {
    const message = messageOf(() => assertSafeArgument('hunter2\r\nDELE x', 'password', true));
    assert.match(message, /^password /);
    assert.ok(!message.includes('hunter2'), message);
  });

  it('accepts safe values, including the empty string, and rejects non-strings', () => {
    assert.doesNotThrow(() => assertSafeArgument('', 'path'));
    assert.doesNotThrow(() => assertSafeArgument(' odd\t name ä ', 'path'));
    assert.throws(() => assertSafeArgument(42 as unknown as string, 'path'), invalidArgument);
  });
});

describe('formatCommand', () => {
  it('joins the verb and arguments with single spaces, without CRLF', () => {
    assert.equal(formatCommand('RETR', ['file.txt']), 'RETR file.txt');
    assert.equal(formatCommand('SITE', ['CHMOD', '755', 'f']), 'SITE CHMOD 755 f');
    assert.equal(formatCommand('PWD', []), 'PWD');
  });

  it('H83: keeps odd but legal names byte-exact', () => {
    for (const name of [' lead', 'trail ', '100%20.txt', 'a;b|c', 'ä.txt']) {
      assert.equal(formatCommand('STOR', [name]), `STOR ${name}`);
    }
  });

  it('H80: rejects an unsafe argument in any position, naming its position', () => {
    const message = messageOf(() => formatCommand('RNTO', ['ok', 'a.txt\r\nDELE x']));
    assert.match(message, /argument 2 of RNTO/);
  });

  it('H82: does not echo PASS, ACCT or RESP arguments in the error', () => {
    for (const verb of ['PASS', 'pass', 'ACCT', 'RESP']) {
      const message = messageOf(() => formatCommand(verb, ['s3cret\r\nDELE x']));
      assert.ok(!message.includes('s3cret'), message);
    }
  });

  it('rejects an empty verb or one that is not letters and digits', () => {
    for (const verb of ['', 'RE TR', 'RETR\r\n', ' RETR', 'X-FOO', '1RETR']) {
      assert.throws(() => formatCommand(verb, []), invalidArgument, JSON.stringify(verb));
    }
    assert.equal(formatCommand('XMD5', ['f']), 'XMD5 f');
  });
});

describe('maskForTrace', () => {
  it('K97: masks PASS, ACCT and RESP lines, keeping the verb as sent', () => {
    assert.equal(maskForTrace('PASS hunter2'), 'PASS ....');
    assert.equal(maskForTrace('pass hunter2'), 'pass ....');
    assert.equal(maskForTrace('Acct billing-42'), 'Acct ....');
    assert.equal(maskForTrace('RESP token'), 'RESP ....');
    assert.equal(maskForTrace('PASS'), 'PASS ....');
  });

  it('leaves other lines unchanged, USER included', () => {
    for (const line of ['USER anonymous', 'PASV', 'RETR pass.txt', 'STOR PASS hunter2']) {
      assert.equal(maskForTrace(line), line);
    }
  });
});
