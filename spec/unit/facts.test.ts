import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFactLine } from '../../lib/protocol/facts.js';

describe('parseFactLine', () => {
  it('reads facts (names lower-cased, values as sent) and the name after the first space', () => {
    const entry = parseFactLine('Type=file;Size=42;Modify=20240506070809;UNIX.mode=0644; my file;x=1.txt');
    assert.deepEqual([...entry!.facts], [['type', 'file'], ['size', '42'], ['modify', '20240506070809'], ['unix.mode', '0644']]);
    assert.equal(entry!.name, 'my file;x=1.txt');
  });

  it('accepts the leading space of an MLST entry line and an empty fact list', () => {
    assert.equal(parseFactLine(' type=dir; /pub')!.name, '/pub');
    assert.equal(parseFactLine('  name')!.facts.size, 0); // leading space, no facts, then SP name
  });

  it('returns null for a line that is not a fact line', () => {
    assert.equal(parseFactLine('nospace'), null);
    assert.equal(parseFactLine('drwxr-xr-x 2 ftp ftp 4096 May 6 pub'), null);
  });
});
