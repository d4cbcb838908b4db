import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../lib/errors.js';
import {
  DEFAULT_REPLY_LIMITS,
  ReplyParser,
  replyClass,
  type Reply,
  type ReplyLimits,
} from '../../lib/protocol/reply.js';
import { parsePwdReply } from '../../lib/protocol/values.js';

/** Pushes `bytes` in chunks cut at `cuts` (sorted offsets) and collects every reply. */
function parseChunked(parser: ReplyParser, bytes: Buffer, cuts: readonly number[]): Reply[] {
  const replies: Reply[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    replies.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  return replies;
}

function parseBytewise(input: string | Buffer, limits?: Partial<ReplyLimits>): Reply[] {
  const bytes = Buffer.from(input);
  return parseChunked(new ReplyParser(limits), bytes, Array.from({ length: bytes.length }, (_, i) => i));
}

function parseOnce(input: string | Buffer, limits?: Partial<ReplyLimits>): Reply[] {
  return new ReplyParser(limits).push(Buffer.from(input));
}

function reply(code: number, lines: string[]): Reply {
  return { code, lines, text: lines[lines.length - 1] ?? '', message: lines.join('\n').trimEnd() };
}

describe('ReplyParser: fault catalogue section A', () => {
  it('A1: inner lines starting with digits do not end a multi-line reply, and the next reply is not shifted', () => {
    const input = '220-Hi\r\nline 2\r\n  234 numbers\r\n220-still\r\n220 ready\r\n200 next\r\n';
    const expected = [reply(220, ['Hi', 'line 2', '  234 numbers', 'still', 'ready']), reply(200, ['next'])];
    assert.deepEqual(parseOnce(input), expected);
    assert.deepEqual(parseBytewise(input), expected);
  });

  it('A2: a bare code closes a multi-line reply', () => {
    const replies = parseOnce('200-A\r\n200-B\r\n200\r\n');
    assert.deepEqual(replies, [reply(200, ['A', 'B', ''])]);
    assert.equal(replies[0]?.text, '');
    assert.equal(replies[0]?.message, 'A\nB');
  });

  it('A3: an inner line with another code and a space is text', () => {
    assert.deepEqual(parseOnce('150-A\r\n226 not the end\r\n150 done\r\n'), [
      reply(150, ['A', '226 not the end', 'done']),
    ]);
  });

  it('A4: a 257 reply sent byte by byte, split inside CRLF and inside a UTF-8 character, parses identically', () => {
    const input = Buffer.from('257 "/dïr" created\r\n');
    const parser = new ReplyParser();
    for (let i = 0; i < input.length - 1; i++) {
      assert.deepEqual(parser.push(input.subarray(i, i + 1)), [], `no reply before the final LF (byte ${i})`);
    }
    const [last] = parser.push(input.subarray(input.length - 1));
    assert.deepEqual(last, reply(257, ['"/dïr" created']));
    assert.equal(parsePwdReply(last?.text ?? ''), '/dïr');
    assert.equal(parser.pendingBytes, 0);
  });

  it('A5: two replies in one segment are returned in order', () => {
    assert.deepEqual(parseOnce('150 Opening data connection\r\n226 Transfer complete\r\n'), [
      reply(150, ['Opening data connection']),
      reply(226, ['Transfer complete']),
    ]);
  });

  it('A6: bare-LF line endings are accepted', () => {
    assert.deepEqual(parseOnce('220-Welcome\n220 ready\n331 password\n'), [
      reply(220, ['Welcome', 'ready']),
      reply(331, ['password']),
    ]);
  });

  it('A7: a 17 KB line under the cap is accepted', () => {
    const long = 'x'.repeat(17 * 1024);
    assert.deepEqual(parseOnce(`250 ${long}\r\n`), [reply(250, [long])]);
  });

  it('A8: an endless multi-line reply fails at the reply cap with bounded memory', () => {
    const parser = new ReplyParser();
    const chunk = Buffer.from('211-x\r\n'.repeat(1000));
    let fed = 0;
    assert.throws(() => {
      for (;;) {
        parser.push(chunk);
        fed += chunk.length;
        assert.ok(parser.pendingBytes <= DEFAULT_REPLY_LIMITS.maxReplyBytes);
      }
    }, ProtocolError);
    assert.ok(fed <= DEFAULT_REPLY_LIMITS.maxReplyBytes, `failed only after ${fed} bytes`);
  });

  it('A8: 10 MB without LF fails at the line cap while holding at most maxLineBytes + 1', () => {
    const parser = new ReplyParser();
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let fed = 0;
    assert.throws(() => {
      while (fed < 10 * 1024 * 1024) {
        parser.push(chunk);
        fed += chunk.length;
        assert.ok(parser.pendingBytes <= DEFAULT_REPLY_LIMITS.maxLineBytes + 1);
      }
    }, /longer than 65536 bytes/);
    assert.ok(fed <= DEFAULT_REPLY_LIMITS.maxLineBytes, `failed only after ${fed} bytes`);
  });

  it('A9: a 226-line reply under the cap is accepted', () => {
    const inner = Array.from({ length: 224 }, (_, i) => `250-line ${i}\r\n`).join('');
    const [only, ...rest] = parseOnce(`250-start\r\n${inner}250 end\r\n`);
    assert.equal(rest.length, 0);
    assert.equal(only?.lines.length, 226);
    assert.equal(only?.lines[100], 'line 99');
    assert.equal(only?.text, 'end');
  });

  it('A10: a NUL byte is a ProtocolError and the parser stays failed', () => {
    const parser = new ReplyParser();
    assert.throws(() => parser.push(Buffer.from('230 logged\x00 in\r\n')), {
      name: 'ProtocolError',
      code: 'ERR_FTP_PROTOCOL',
    });
    assert.throws(() => parser.push(Buffer.from('230 logged in\r\n')), ProtocolError);
  });

  it('A11: a non-FTP greeting is a "weird server reply" with an excerpt', () => {
    assert.throws(() => parseOnce('HTTP/1.1 200 OK\r\nServer: x\r\n'), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.match(error.message, /weird server reply/);
      assert.match(error.message, /HTTP\/1\.1 200 OK/);
      return true;
    });
  });

  it('A12: codes outside 1xx-5xx and malformed code prefixes are ProtocolErrors', () => {
    for (const line of ['633 x', '999 x', '099 x', '220x', '22 ok', '2a0 ok', '', ' 220 ok']) {
      assert.throws(() => parseOnce(`${line}\r\n`), ProtocolError, JSON.stringify(line));
    }
  });
});

describe('ReplyParser: details', () => {
  it('keeps lines without the code prefix verbatim and strips "ddd-" only for the reply code', () => {
    const input = '211-Features:\r\n MDTM\r\n REST STREAM\r\n211x odd\r\n211-dash\r\n211 End\r\n';
    assert.deepEqual(parseOnce(input), [reply(211, ['Features:', ' MDTM', ' REST STREAM', '211x odd', 'dash', 'End'])]);
  });

  it('accepts a bare code, or "ddd-" with no text, as a first line', () => {
    assert.deepEqual(parseOnce('200\r\n230-\r\n230 \r\n'), [reply(200, ['']), reply(230, ['', ''])]);
  });

  it('trims trailing whitespace from message only', () => {
    const [only] = parseOnce('200-a  \r\n200 b \t\r\n');
    assert.deepEqual(only?.lines, ['a  ', 'b \t']);
    assert.equal(only?.text, 'b \t');
    assert.equal(only?.message, 'a  \nb');
  });

  it('strips one trailing CR even when it arrives in a separate push, and keeps an inner CR', () => {
    const parser = new ReplyParser();
    assert.deepEqual(parser.push(Buffer.from('200 a\rb\r')), []);
    assert.deepEqual(parser.push(Buffer.from('\n')), [reply(200, ['a\rb'])]);
  });

  it('counts an open multi-line reply in pendingBytes until it completes', () => {
    const parser = new ReplyParser();
    parser.push(Buffer.from('220-Hi\r\n220 r'));
    assert.equal(parser.pendingBytes, 8 + 5);
    parser.push(Buffer.from('eady\r\n'));
    assert.equal(parser.pendingBytes, 0);
  });

  it('calls onLine with every raw line, code included, before validating it', () => {
    const parser = new ReplyParser();
    const seen: string[] = [];
    parser.onLine = (line) => seen.push(line);
    parser.push(Buffer.from('220-Hi\r\n220 ready\n'));
    assert.throws(() => parser.push(Buffer.from('SSH-2.0\r\n')), ProtocolError);
    assert.deepEqual(seen, ['220-Hi', '220 ready', 'SSH-2.0']);
  });

  it('sanitises and shortens the excerpt in a weird-reply message', () => {
    assert.throws(() => parseOnce(`\x1b[31m${'z'.repeat(100)}\n`), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.ok(!error.message.includes('\x1b'), 'no raw escape character');
      assert.match(error.message, /\\x1b\[31m/);
      assert.ok(error.message.length < 100, error.message);
      return true;
    });
  });

  it('enforces custom limits exactly', () => {
    const limits = { maxLineBytes: 10, maxReplyBytes: 30 };
    assert.equal(parseOnce('200 567890\r\n', limits).length, 1);
    assert.throws(() => parseOnce('200 5678901\r\n', limits), /line longer than 10/);
    assert.equal(parseOnce('200-56789\r\n200-56789\r\n200 67\r\n', limits).length, 1);
    assert.throws(() => parseOnce('200-56789\r\n200-56789\r\n200 678\r\n', limits), /reply longer than 30/);
  });

  it('fails as soon as a partial line is certain to break the reply cap', () => {
    const parser = new ReplyParser({ maxLineBytes: 100, maxReplyBytes: 30 });
    parser.push(Buffer.from('200-12345\r\n'));
    assert.throws(() => parser.push(Buffer.from(`200-${'a'.repeat(16)}`)), /reply longer than 30/);
  });

  it('rejects limits that are not positive integers', () => {
    assert.throws(() => new ReplyParser({ maxLineBytes: 0 }), { code: 'ERR_FTP_INVALID_ARGUMENT' });
    assert.throws(() => new ReplyParser({ maxReplyBytes: 1.5 }), { code: 'ERR_FTP_INVALID_ARGUMENT' });
  });
});

describe('replyClass', () => {
  it('returns the first digit of a valid code', () => {
    assert.deepEqual([100, 230, 331, 421, 599].map(replyClass), [1, 2, 3, 4, 5]);
  });

  it('rejects codes outside 100..599', () => {
    for (const code of [99, 600, 250.5, Number.NaN]) {
      assert.throws(() => replyClass(code), { code: 'ERR_FTP_INVALID_ARGUMENT' });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Property-based tests

/** Text fragments that stress the multi-line rules and UTF-8 splitting. */
const fragment = fc.oneof(
  fc.constantFrom(' ', '-', '226 ', '  234 ', '150', 'ä', '€', '😀', '\t', 'End', '"', '\r'),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);
/** Line text: no LF, no NUL, and no CR at the end (a final CR is part of the line ending). */
const lineText = fc
  .array(fragment, { maxLength: 6 })
  .map((parts) => parts.join('').replace(/[\n\0]/g, '').replace(/\r+$/, ''));
const eol = fc.constantFrom('\r\n', '\n');

interface Model {
  wire: string;
  expected: Reply;
}

/** An inner line of a multi-line reply with code `code`: [what is sent, what the parser yields]. */
function innerLine(code: number): fc.Arbitrary<[string, string]> {
  const other = fc.integer({ min: 100, max: 599 }).filter((c) => c !== code);
  return fc.oneof(
    lineText.map((t): [string, string] => [`${code}-${t}`, t]),
    fc.tuple(other, lineText).map(([c, t]): [string, string] => [`${c} ${t}`, `${c} ${t}`]),
    lineText.map((t): [string, string] => [`  ${code} ${t}`, `  ${code} ${t}`]),
    lineText.map((t): [string, string] => [`${code}x${t}`, `${code}x${t}`]),
    lineText
      .filter((t) => !t.startsWith(String(code)))
      .map((t): [string, string] => [t, t]),
  );
}

const replyModel: fc.Arbitrary<Model> = fc.integer({ min: 100, max: 599 }).chain((code) =>
  fc
    .record({
      first: lineText,
      inner: fc.array(fc.tuple(innerLine(code), eol), { maxLength: 5 }),
      last: fc.option(lineText),
      multi: fc.boolean(),
      eols: fc.tuple(eol, eol),
    })
    .map(({ first, inner, last, multi, eols }) => {
      const lastWire = last === null ? `${code}` : `${code} ${last}`;
      if (!multi) return { wire: `${lastWire}${eols[0]}`, expected: reply(code, [last ?? '']) };
      const wire = `${code}-${first}${eols[0]}${inner.map(([[sent], e]) => sent + e).join('')}${lastWire}${eols[1]}`;
      return { wire, expected: reply(code, [first, ...inner.map(([[, got]]) => got), last ?? '']) };
    }),
);

/** Sorted cut offsets into a buffer of `length` bytes. */
function cutsFor(length: number): fc.Arbitrary<number[]> {
  return fc
    .uniqueArray(fc.integer({ min: 0, max: length }), { maxLength: 40 })
    .map((cuts) => cuts.sort((a, b) => a - b));
}

describe('ReplyParser properties', () => {
  it('parses any sequence of valid replies, however the bytes are split', () => {
    const scenario = fc.array(replyModel, { minLength: 1, maxLength: 6 }).chain((models) => {
      const bytes = Buffer.from(models.map((m) => m.wire).join(''));
      return fc.tuple(fc.constant(models), fc.constant(bytes), cutsFor(bytes.length));
    });
    fc.assert(
      fc.property(scenario, ([models, bytes, cuts]) => {
        const expected = models.map((m) => m.expected);
        assert.deepEqual(parseChunked(new ReplyParser(), bytes, cuts), expected);
        assert.deepEqual(parseBytewise(bytes), expected);
      }),
    );
  });

  it('holds at most maxLineBytes + 1 bytes while a line without LF streams in', () => {
    const scenario = fc.record({
      maxLineBytes: fc.integer({ min: 1, max: 2000 }),
      chunks: fc.array(fc.uint8Array({ minLength: 1, maxLength: 700 }), { minLength: 1, maxLength: 30 }),
    });
    fc.assert(
      fc.property(scenario, ({ maxLineBytes, chunks }) => {
        const parser = new ReplyParser({ maxLineBytes });
        let fed = 0;
        for (const raw of chunks) {
          const chunk = Buffer.from(raw.map((b) => (b === 0x0a || b === 0 ? 0x41 : b)));
          try {
            parser.push(chunk);
          } catch (error) {
            assert.ok(error instanceof ProtocolError);
            assert.ok(fed + chunk.length > maxLineBytes, 'fails only once the line is too long');
            return;
          }
          fed += chunk.length;
          assert.equal(parser.pendingBytes, fed);
          assert.ok(parser.pendingBytes <= maxLineBytes + 1);
        }
      }),
    );
  });

  it('gives the same result for one push as for any split, on valid and invalid input alike', () => {
    const piece = fc.oneof(
      replyModel.map((m) => Buffer.from(m.wire)),
      fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
    );
    const scenario = fc
      .record({
        pieces: fc.array(piece, { minLength: 1, maxLength: 6 }),
        maxLineBytes: fc.integer({ min: 1, max: 80 }),
        maxReplyBytes: fc.integer({ min: 1, max: 300 }),
      })
      .chain(({ pieces, ...limits }) => {
        const bytes = Buffer.concat(pieces);
        return fc.tuple(fc.constant(bytes), fc.constant(limits), cutsFor(bytes.length));
      });
    fc.assert(
      fc.property(scenario, ([bytes, limits, cuts]) => {
        const run = (split: (parser: ReplyParser) => Reply[]) => {
          const parser = new ReplyParser(limits);
          const lines: string[] = [];
          parser.onLine = (line) => lines.push(line);
          try {
            return { replies: split(parser), lines, pending: parser.pendingBytes, failed: false };
          } catch (error) {
            assert.ok(error instanceof ProtocolError, 'only ProtocolError is thrown');
            return { failed: true };
          }
        };
        const whole = run((parser) => parser.push(bytes));
        const split = run((parser) => parseChunked(parser, bytes, cuts));
        if (whole.failed) assert.equal(split.failed, true);
        else assert.deepEqual(split, whole);
      }),
    );
  });
});
