#!/usr/bin/env node
/**
 * Bundles the CLI after `tsc` (npm run build). Every command used to load ~170 modules through Node's
 * ESM loader and compile them, which cost more than the work of a small command (docs/benchmarks.md,
 * "verify and diff"). Now:
 *
 * - dist/src/cli/bundle/regaudit.cjs: the whole CLI in one CommonJS file (esbuild); a command's use
 *   case (the dynamic imports in src/cli/commands/) is only evaluated when that command runs.
 *   CommonJS, not ESM: one file needs no module linking, and V8's code cache applies to it.
 * - dist/src/cli/bundle/regaudit.cjs.cache: that code cache, written by a training run of
 *   `verify` (which scans first) on an empty store made here, so the functions a command start runs
 *   are compiled already.
 * - dist/src/cli/main.js, the file `bin` and the tests run: scripts/cli-launcher.mjs, which runs the
 *   bundle with the cache.
 * - bundle/worker.js and bundle/hash-worker.js: the worker threads' entry points, ES modules beside the
 *   bundle, where src/scan/parallel.ts and src/verify/pool.ts look for them (relative to their module).
 * - better-sqlite3's JavaScript is bundled (its addon is named by path: src/index/open.ts); the AWS
 *   SDK (large, loaded only for s3://) stays external, as does what src/lazy-module.ts requires on
 *   first use (esbuild does not follow a require by variable).
 * - Running `tsc` alone rewrites main.js with its unbundled twin: slower to start, same behaviour.
 *
 *   node scripts/build-cli.mjs [--dist DIR]   (default dist; the benchmark builds its own snapshot)
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distArg = process.argv.indexOf('--dist');
const dist = distArg > 0 ? path.resolve(process.argv[distArg + 1] ?? 'dist') : path.join(root, 'dist');
const cliDir = path.join(dist, 'src', 'cli');
const outdir = path.join(cliDir, 'bundle');
rmSync(outdir, { recursive: true, force: true });

/**
 * Node compiles a built-in module that is not in its start-up snapshot the first time it is loaded:
 * child_process (commander requires it at its top level, only to run a command that is a separate
 * executable, which regaudit has none of), crypto and worker_threads (needed only when something is
 * hashed or a thread started) cost ~5 ms of every start together. In the bundle each is an object
 * with the same export names whose getters load the real module on first use.
 */
const LAZY_BUILTINS = ['node:child_process', 'node:crypto', 'node:worker_threads'];
const requireHere = createRequire(import.meta.url);
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.namespace !== 'lazy' && LAZY_BUILTINS.includes(args.path)
        ? { path: args.path, namespace: 'lazy' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      contents: `let real;
for (const key of ${JSON.stringify(Object.keys(requireHere(args.path)))})
  Object.defineProperty(module.exports, key, { enumerable: true, get: () => (real ??= require(${JSON.stringify(args.path)}))[key] });`,
      loader: 'js',
    }));
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['@aws-sdk/*'],
  logLevel: 'warning',
};

const cli = await build({
  ...common,
  metafile: true,
  entryPoints: { regaudit: 'src/cli/main.ts' },
  plugins: [lazyBuiltins],
  outdir,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // Code that locates files next to itself (workers, package.json, lazily required packages).
  define: { 'import.meta.url': '__regauditModuleUrl' },
  banner: { js: "const __regauditModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The launcher runs the bundle as a vm.Script, where import() has no loader (Node 20 offers one only
// as an experimental feature): a package the bundle loads at run time must be required.
for (const out of Object.values(cli.metafile.outputs))
  for (const imp of out.imports)
    if (imp.kind === 'dynamic-import' && imp.external)
      throw new Error(
        `build-cli: the bundle imports ${imp.path} with import(); load it with require (src/lazy-module.ts)`,
      );

await build({
  ...common,
  entryPoints: { worker: 'src/scan/worker.ts', 'hash-worker': 'src/verify/hash-worker.ts' },
  outdir,
  format: 'esm',
  // A bundled CommonJS package calls require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __regauditCreateRequire } from 'node:module'; const require = __regauditCreateRequire(import.meta.url);",
  },
});

const main = path.join(cliDir, 'main.js');
copyFileSync(path.join(root, 'scripts', 'cli-launcher.mjs'), main);

// The training run: an empty store, scanned and verified into a temporary index.
const work = mkdtempSync(path.join(tmpdir(), 'regaudit-build-'));
try {
  for (const d of ['repositories', 'blobs'])
    mkdirSync(path.join(work, 'docker', 'registry', 'v2', d), { recursive: true });
  const run = spawnSync(
    process.execPath,
    [main, 'verify', work, '--db', path.join(work, 'index.db'), '--jobs', '0', '-q', '--format', 'json'],
    { env: { ...process.env, REGAUDIT_CODE_CACHE_WRITE: '1' }, encoding: 'utf8' },
  );
  if (run.status !== 0) {
    // Without a cache the CLI still works, only compiles more at each start.
    rmSync(path.join(outdir, 'regaudit.cjs.cache'), { force: true });
    process.stderr.write(`build-cli: no code cache (training run exit ${run.status}): ${run.stderr}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
