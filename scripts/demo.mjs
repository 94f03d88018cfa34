#!/usr/bin/env node
// Demo on the bundled sample storage (written by a real docker-registry 2.8, see fixtures/sample-storage.md):
// extracts fixtures/sample-storage.tar.gz into a temp dir, then prints `regaudit report` and a dry-run
// `regaudit prune` of it. Needs the project build (`npm run demo` builds first). Nothing outside the temp dir
// is touched; the index database goes inside the temp dir too.
//
//   node scripts/demo.mjs [extra prune args, e.g. --min-age 0s]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const archive = path.join(repoRoot, 'fixtures', 'sample-storage.tar.gz');
const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

if (!existsSync(cli)) {
  console.error(
    `demo: ${path.relative(process.cwd(), cli)} not found; run \`npm run build\` first (or \`npm run demo\`)`,
  );
  process.exit(2);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regaudit-demo-'));
const root = path.join(tmp, 'storage');
const db = path.join(tmp, 'regaudit.db');
let status = 0;
try {
  // tar restores the archived mtimes (the time the sample was built), which `prune --min-age` looks at.
  mkdirSync(root);
  const t = spawnSync('tar', ['-xzf', archive, '-C', root], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`tar -xzf ${archive} failed: ${t.stderr}`);

  const run = (title, args) => {
    console.log(`\n$ regaudit ${args.join(' ').replaceAll(tmp, '$TMP')}\n${'-'.repeat(80)}`);
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    process.stdout.write((r.stdout ?? '').replaceAll(tmp, '$TMP'));
    if (r.stderr) process.stderr.write(r.stderr.replaceAll(tmp, '$TMP'));
    if (r.status !== 0) {
      console.error(`(${title} exited with ${r.status ?? r.signal})`);
      status = status || r.status || 1;
    }
  };

  console.log(`sample storage extracted to $TMP/storage (TMP=${tmp})`);
  run('report', ['report', root, '--db', db]);
  run('prune (dry run)', ['prune', root, '--db', db, ...process.argv.slice(2)]);
  console.log(
    '\n(dry run: nothing was deleted; `prune --apply` would act on the plan above, with the registry stopped)',
  );
} catch (e) {
  console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
  status = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
