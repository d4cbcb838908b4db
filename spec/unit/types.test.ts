// Compile-time checks of the public typings: `npm test` type-checks this file first, and every
// `@ts-expect-error` line fails the build if the error it expects does not happen.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FtpSession } from '../../lib/index.js';

function typings(ftp: FtpSession): void {
  ftp.on('size', (code: number, text: string, param: string | undefined, size: number) => void [code, text, param, size]);
  ftp.on('get_data', (data: Buffer) => void data);
  ftp.on('ls_data', (line: string) => void line);
  ftp.post('rename', 'a', 'b');
  ftp.post('put_data', Buffer.from('x'));
  // @ts-expect-error misspelt event name
  ftp.on('get_dat', () => {});
  // @ts-expect-error wrong listener signature: get_data carries a Buffer
  ftp.on('get_data', (data: number) => void data);
  // @ts-expect-error misspelt command name
  ftp.post('rename_file', 'a', 'b');
  // @ts-expect-error rename takes two paths
  ftp.post('rename', 'a');
}

it('public typings compile (checked by tsc)', () => {
  assert.equal(typeof typings, 'function');
});
