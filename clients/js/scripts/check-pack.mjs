// Proves that `npm pack` makes an installable package: packs it, installs the tarball into
// an empty project (no registry needed: the package has no runtime dependencies), imports
// the core entry point there and checks that every entry point ships its JS and types.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'tokenward-client-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], pkgDir));
  console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes`);
  const app = join(tmp, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', '--omit=peer', join(tmp, packed.filename)], app);
  const installed = join(app, 'node_modules', '@tokenward', 'client');
  for (const f of ['index', 'react', 'vue']) {
    for (const ext of ['.js', '.d.ts']) {
      if (!existsSync(join(installed, 'dist', f + ext))) throw new Error(`the package lacks dist/${f}${ext}: is "files" in package.json right?`);
    }
  }
  const out = run('node', ['--input-type=module', '-e',
    "const m = await import('@tokenward/client'); const c = m.createBffClient({ syncTabs: false, csrfHeader: 'X-CSRF' }); console.log(typeof c.fetch, Object.keys(m).sort().join(','));"], app);
  if (!out.startsWith('function ')) throw new Error(`importing the installed package gave: ${out}`);
  console.log(`installed and imported: ${out.trim()}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
