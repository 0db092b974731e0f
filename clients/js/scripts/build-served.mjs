// Builds the file the BFF serves at /bff/client.js: src/index.ts bundled into one ES
// module (the core only: no React, no Vue), committed at handler/clientjs/client.js so
// that the Go build never needs npm. Beside it, client.js.sources records the SHA-256 of
// every input and of the output; a Go test (handler/clientjs_test.go) hashes the same
// inputs and fails when the committed file no longer matches its sources.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(pkgDir, '..', '..');
const outDir = join(repo, 'handler', 'clientjs');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));

// The inputs, as repository-relative paths in byte order (the Go test lists them alike).
export function sourceFiles() {
  const src = readdirSync(join(pkgDir, 'src')).filter((f) => f.endsWith('.ts')).map((f) => join('src', f));
  return [...src, 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-served.mjs']
    .map((f) => relative(repo, join(pkgDir, f)).split('\\').join('/'))
    .sort();
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

const result = await build({
  entryPoints: [join(pkgDir, 'src', 'index.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  write: false,
  legalComments: 'none',
  charset: 'utf8',
  banner: {
    js: `// @tokenward/client ${pkg.version}: the BFF serves this file at /bff/client.js.\n` +
      '// Built from clients/js by `npm run build`; do not edit (a Go test checks it matches its sources).',
  },
});
const js = result.outputFiles[0].contents;
writeFileSync(join(outDir, 'client.js'), js);

const lines = sourceFiles().map((f) => `${sha256(readFileSync(join(repo, f)))}  ${f}`);
lines.push(`${sha256(js)}  handler/clientjs/client.js`);
writeFileSync(join(outDir, 'client.js.sources'), lines.join('\n') + '\n');
console.log(`handler/clientjs/client.js: ${js.length} bytes from ${lines.length - 1} sources`);
