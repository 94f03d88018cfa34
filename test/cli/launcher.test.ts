/**
 * The built entry point runs the bundled CLI with the code cache the build made (scripts/build-cli.mjs):
 * V8 accepts that cache, and a cache it rejects or a missing one costs only compile time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliPath, runCli } from '../helpers/cli.js';

const bundle = path.join(path.dirname(cliPath), 'bundle', 'regaudit.cjs');
const version = (
  JSON.parse(readFileSync(path.join(path.dirname(cliPath), '../../../package.json'), 'utf8')) as {
    version: string;
  }
).version;

test('the built CLI is the bundle, started with a code cache V8 accepts', () => {
  assert.ok(existsSync(bundle), `${bundle}: npm run build bundles the CLI`);
  assert.ok(existsSync(`${bundle}.cache`), 'the build wrote the code cache');
  const r = runCli(['--version'], { env: { REGAUDIT_DEBUG: '1' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), version);
  assert.equal(r.stderr, '', 'no "code cache rejected" line');
});

test('a corrupt or missing code cache: the CLI compiles and runs as usual', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-launcher-'));
  try {
    const corrupt = path.join(dir, 'corrupt.cache');
    writeFileSync(corrupt, Buffer.alloc(4096, 7));
    for (const [file, why] of [
      [corrupt, 'rejected by V8'],
      [path.join(dir, 'absent.cache'), 'missing'],
    ] as const) {
      const r = runCli(['--version'], { env: { REGAUDIT_DEBUG: '1', REGAUDIT_CODE_CACHE: file } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
      assert.equal(r.stderr, `regaudit: code cache ${file} ${why}: compiling\n`);
      // An error path through the bundle still ends in one line and its exit code.
      const bad = runCli(['reprot'], { env: { REGAUDIT_CODE_CACHE: file } });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^regaudit: unknown command 'reprot' \(Did you mean report\?\)\n$/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
