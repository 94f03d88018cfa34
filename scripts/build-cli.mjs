#!/usr/bin/env node
/**
 * Bundles the CLI after `tsc` (npm run build): dist/src/cli/main.js, the file `bin` and the tests run,
 * is replaced by one ESM file holding the command-line layer, and each command's use case becomes a
 * chunk in dist/src/cli/bundle/ loaded when that command runs (the dynamic imports in
 * src/cli/commands/). Every command used to load ~170 modules through Node's ESM loader, which cost
 * more than the work of a small command (docs/benchmarks.md, "verify and diff").
 *
 * - The worker threads' entry points are bundled into the same directory as the chunks that start
 *   them: src/scan/parallel.ts and src/verify/pool.ts name their worker `./worker.js` and
 *   `./hash-worker.js` relative to their own module.
 * - better-sqlite3 (a native addon) and the AWS SDK (large, loaded only for s3://) stay external, as
 *   does what src/lazy-module.ts requires on first use (esbuild does not follow a require by variable).
 * - Running `tsc` alone rewrites main.js with its unbundled twin: slower to start, same behaviour.
 *
 *   node scripts/build-cli.mjs [--dist DIR]   (default dist; the benchmark builds its own snapshot)
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distArg = process.argv.indexOf('--dist');
const dist = distArg > 0 ? path.resolve(process.argv[distArg + 1] ?? 'dist') : path.join(root, 'dist');
const outdir = path.join(dist, 'src', 'cli');
rmSync(path.join(outdir, 'bundle'), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'src/cli/main.ts',
    'bundle/worker': 'src/scan/worker.ts',
    'bundle/hash-worker': 'src/verify/hash-worker.ts',
  },
  outdir,
  chunkNames: 'bundle/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', '@aws-sdk/*'],
  // Bundled CommonJS packages (commander, cli-table3) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __regauditCreateRequire } from 'node:module'; const require = __regauditCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
