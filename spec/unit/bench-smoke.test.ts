// The listing benchmark (bench/listing.ts) in its --smoke mode (1,000 lines, 2 rounds): it must
// still run to the end and print its table, so that it cannot rot between real runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

it('bench/listing.ts --smoke runs and prints its table', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/listing.ts', '--smoke'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `exit ${run.status} ${run.signal ?? ''}\n${run.stderr}`);
  assert.match(run.stdout, /^\| Dataset \| Parser \| Input \| Median ms \/ 100k lines \|/m);
  for (const dataset of ['unix', 'mlsd']) {
    assert.match(run.stdout, new RegExp(`^\\| ${dataset} \\| ftp-session \\| text \\(split \\+ parse\\) \\| \\d`, 'm'));
    assert.match(run.stdout, new RegExp(`^\\| ${dataset} \\| basic-ftp \\| text \\| \\d`, 'm'));
  }
});
