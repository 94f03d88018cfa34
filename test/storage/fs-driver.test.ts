/** The filesystem driver keeps the storage seam's contract (src/storage/driver.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fsStorage } from '../../src/storage/fs.js';
import { storageOfKind } from '../../src/storage/index.js';
import { errnoCode } from '../../src/errors.js';

function fixture(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'regaudit-driver-'));
  mkdirSync(`${d}/dir/sub`, { recursive: true });
  writeFileSync(`${d}/dir/link`, 'sha256:abc');
  symlinkSync(`${d}/dir/link`, `${d}/dir/alias`);
  return d;
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return errnoCode(err);
  }
  return undefined;
};

test('list gives entry types and never follows a symbolic link', () => {
  const d = fixture();
  try {
    const entries = fsStorage.list(`${d}/dir`).sort((a, b) => (a.name < b.name ? -1 : 1));
    assert.deepEqual(entries, [
      { name: 'alias', type: 'symlink' },
      { name: 'link', type: 'file' },
      { name: 'sub', type: 'dir' },
    ]);
    assert.equal(fsStorage.lstat(`${d}/dir/alias`).type, 'symlink');
    assert.equal(
      codeOf(() => fsStorage.list(`${d}/missing`)),
      'ENOENT',
    );
    assert.equal(
      codeOf(() => fsStorage.lstat(`${d}/missing`)),
      'ENOENT',
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('reads are bounded, and refuse a symbolic link or a directory', () => {
  const d = fixture();
  try {
    const small = fsStorage.readSmall(`${d}/dir/link`, 6);
    assert.equal(small.text, 'sha256');
    assert.equal(small.truncated, true);
    assert.equal(small.size, 10);
    assert.equal(fsStorage.readSmall(`${d}/dir/link`, 256).truncated, false);
    assert.equal(fsStorage.readBounded(`${d}/dir/link`, 9).buf, null);
    assert.equal(fsStorage.readBounded(`${d}/dir/link`, 10).buf?.toString(), 'sha256:abc');
    assert.equal(
      codeOf(() => fsStorage.readSmall(`${d}/dir/alias`, 256)),
      'ELOOP',
    );
    assert.equal(
      codeOf(() => fsStorage.readSmall(`${d}/dir/sub`, 256)),
      'ENOTFILE',
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('removal is one entry at a time: a non-empty directory stays', () => {
  const d = fixture();
  try {
    assert.equal(
      codeOf(() => fsStorage.removeEmptyDir(`${d}/dir`)),
      'ENOTEMPTY',
    );
    fsStorage.rename(`${d}/dir/sub`, `${d}/moved`);
    assert.ok(existsSync(`${d}/moved`) && !existsSync(`${d}/dir/sub`));
    fsStorage.removeEmptyDir(`${d}/moved`);
    fsStorage.removeFile(`${d}/dir/alias`);
    assert.ok(existsSync(`${d}/dir/link`), 'removing a symlink leaves its target');
    fsStorage.mkdir(`${d}/made`);
    assert.equal(fsStorage.lstat(`${d}/made`).type, 'dir');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('a worker builds its driver from the kind; an unknown kind is an error', () => {
  assert.equal(storageOfKind(fsStorage.kind), fsStorage);
  assert.throws(() => storageOfKind('nope'), /no storage driver of kind nope/);
});
