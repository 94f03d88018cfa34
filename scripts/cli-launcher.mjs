#!/usr/bin/env node
/**
 * The installed entry point (dist/src/cli/main.js, copied here by scripts/build-cli.mjs): runs the
 * bundled CLI, bundle/regaudit.cjs, with V8's code cache made at build time (bundle/regaudit.cjs.cache),
 * so a start compiles little JavaScript. A cache V8 rejects (another Node version, a corrupt file) or a
 * missing one only costs the compile it would have saved.
 */
import { createRequire } from 'node:module';

// Node's built-ins through require: importing node:fs as an ES module builds a facade of all its
// exports, which loads its streams and promises modules (~3 ms of every start).
const require = createRequire(import.meta.url);
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const vm = require('node:vm');

// The old generation may grow 25 % past what the last full collection left, not V8's adaptive factor of
// up to 4x: the commands that stream a large plan make garbage faster than they keep data, and V8 let it
// pile up (`gc --delete-untagged --format csv` on the large benchmark tree peaked at 192 to 284 MB from
// run to run, 187 to 191 MB with this; scan, report and gc-preview took the same time). Set before any
// compile, in the build's training run too, so the code cache's flag hash matches.
require('node:v8').setFlagsFromString('--heap-growing-percent=25');

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bundle', 'regaudit.cjs');
const cacheFile = process.env.REGAUDIT_CODE_CACHE ?? `${file}.cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // no cache: compile
}
// CommonJS's own wrapper; the bundle's first line is a #! line, which is only valid at the very start.
const source = readFileSync(file, 'utf8').replace(/^#!.*/, '');
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: file,
  ...(cachedData ? { cachedData } : {}),
});
if (process.env.REGAUDIT_DEBUG && (cachedData === undefined || script.cachedDataRejected))
  process.stderr.write(`regaudit: code cache ${cacheFile} ${cachedData ? 'rejected by V8' : 'missing'}: compiling\n`);
// The build's training run (scripts/build-cli.mjs) writes the cache once the command has compiled what it ran.
if (process.env.REGAUDIT_CODE_CACHE_WRITE === '1')
  process.once('exit', () => {
    writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
    renameSync(`${cacheFile}.tmp`, cacheFile);
  });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
