// Builds the published package from lib/: each module format as one bundled file (dist/esm/index.js,
// dist/cjs/index.js; a module graph of ~60 files costs Node about 0.05 s and 5 MiB to load), with
// the type declarations of every module beside it (tsc). Dependencies stay outside the bundle.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const tsc = (args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

rmSync('dist', { recursive: true, force: true });
tsc(['-p', 'tsconfig.build.json', '--emitDeclarationOnly']);
// Declarations read the same for both formats (each folder's package.json says which it is).
cpSync('dist/esm', 'dist/cjs', { recursive: true, filter: (path) => statSync(path).isDirectory() || path.endsWith('.d.ts') });
for (const format of ['esm', 'cjs']) {
  await build({
    entryPoints: ['lib/index.ts'],
    outfile: `dist/${format}/index.js`,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    external: Object.keys(pkg.dependencies),
    keepNames: true, // error classes take their `name` from the class
    sourcemap: true,
    logLevel: 'warning',
  });
  writeFileSync(`dist/${format}/package.json`, `{ "type": "${format === 'esm' ? 'module' : 'commonjs'}" }\n`);
}
console.log('built dist/esm and dist/cjs (one bundled file each, with declarations)');
