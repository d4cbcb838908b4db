import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS, lookupCommand, type CommandSpec } from '../../lib/commands.js';

const rows = Object.entries(COMMANDS) as Array<[string, CommandSpec]>;

describe('command table', () => {
  it('keys every row by its own name', () => {
    for (const [key, spec] of rows) assert.equal(spec.name, key);
  });

  it('maps POE names to the FTP verbs POE sends (ls=LIST, dir=NLST)', () => {
    const verbs = Object.fromEntries(rows.map(([name, spec]) => [name, spec.verb]));
    assert.deepEqual(
      { cd: verbs.cd, mkdir: verbs.mkdir, rmdir: verbs.rmdir, delete: verbs.delete, ls: verbs.ls, dir: verbs.dir, get: verbs.get, put: verbs.put, list: verbs.list, nlst: verbs.nlst, appe: verbs.appe, stou: verbs.stou },
      { cd: 'CWD', mkdir: 'MKD', rmdir: 'RMD', delete: 'DELE', ls: 'LIST', dir: 'NLST', get: 'RETR', put: 'STOR', list: 'LIST', nlst: 'NLST', appe: 'APPE', stou: 'STOU' },
    );
  });

  it('gives each simple command a success and an error event', () => {
    for (const [name, spec] of rows.filter(([, s]) => s.kind === 'simple')) {
      assert.deepEqual(spec.events, [name, `${name}_error`]);
    }
  });

  it('gives each download the five POE data events', () => {
    for (const [name, spec] of rows.filter(([, s]) => s.kind === 'download')) {
      assert.deepEqual(spec.events, ['connected', 'server', 'data', 'done', 'error'].map((e) => `${name}_${e}`));
      assert.ok(spec.payload === 'bytes' || spec.payload === 'lines');
    }
  });

  it('never marks a command that can apply twice as replayable', () => {
    for (const name of ['delete', 'mkdir', 'rmdir', 'site', 'quot', 'put', 'appe', 'stou', 'rename']) {
      assert.equal(lookupCommand(name)?.retry, 'never', name);
    }
    assert.equal(lookupCommand('get')?.retry, 'resume');
    for (const name of ['cd', 'pwd', 'size', 'mdtm', 'noop', 'stat', 'feat', 'type', 'ls', 'mlsd']) {
      assert.equal(lookupCommand(name)?.retry, 'replay', name);
    }
  });

  it('records what each state-changing command changes', () => {
    assert.equal(lookupCommand('cd')?.changes, 'cwd');
    assert.equal(lookupCommand('cdup')?.changes, 'cwd');
    assert.equal(lookupCommand('type')?.changes, 'type');
    assert.equal(lookupCommand('mode')?.changes, 'connectionMode');
    assert.equal(lookupCommand('quit')?.changes, 'quit');
  });

  it('parses results of pwd, size, mdtm and feat', () => {
    const reply = (text: string, lines = [text]) => ({ code: 200, text, lines, message: lines.join('\n') });
    assert.equal(lookupCommand('pwd')?.result?.(reply('"/a ""b""" is current')), '/a "b"');
    assert.equal(lookupCommand('size')?.result?.(reply('751')), 751);
    assert.deepEqual(lookupCommand('mdtm')?.result?.(reply('20240102030405')), new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
    const features = lookupCommand('feat')?.result?.(reply('End', ['Features:', ' MDTM', ' REST STREAM', 'End'])) as Map<string, string>;
    assert.equal(features.get('REST'), 'STREAM');
    assert.ok(features.has('MDTM'));
  });

  it('does not know internal or inherited names', () => {
    for (const name of ['success', 'failure', 'toString', '__proto__', 'constructor', 'RETR']) assert.equal(lookupCommand(name), undefined, name);
  });
});
