/**
 * A rerun of verify trusts the scan it just made (the scan stat'ed every blob) and, without a root
 * (nothing scanned now), stats each blob in scope itself: a blob changed or gone since the scan is
 * hashed again either way. verify refuses s3:// storage in one line.
 */
import assert from 'node:assert/strict';
import { renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, runCliJson } from '../helpers/cli.js';
import { verifyJson } from '../helpers/verify.js';
import { StorageTree } from '../helpers/tree.js';
import type { VerifyJson } from '../helpers/json.js';

describe('verify reruns notice changed blobs with and without a scan', () => {
  const tree = new StorageTree();
  const db = `${tree.root}.db`;
  after(() => {
    tree.cleanup();
    rmSync(db, { force: true });
  });
  const img = tree.image('app', 'v1', ['first layer', 'second layer']);
  const data = (d: string): string => path.join(tree.v2, `blobs/sha256/${d.slice(7, 9)}/${d.slice(7)}/data`);
  // verify --db IDX: no root, so nothing is scanned now.
  const noRoot = (...extra: string[]): { code: number; json: VerifyJson; stderr: string } =>
    runCliJson<VerifyJson>(['verify', '--db', db, '--format', 'json', ...extra]);

  it('first run hashes all, a rerun with and without a root hashes nothing', () => {
    const first = verifyJson<VerifyJson>(tree.root, db);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json.totals.hashed, 4);
    const withRoot = verifyJson<VerifyJson>(tree.root, db);
    assert.equal(withRoot.json.totals.hashed, 0);
    const without = noRoot();
    assert.equal(without.code, 0, without.stderr);
    assert.equal(without.json.totals.hashed, 0);
    assert.equal(without.json.totals.unchanged, 4);
  });

  it('without a root, a blob replaced since the scan is hashed again and found corrupt', () => {
    const f = data(img.layers[0]!);
    // Same size, other bytes, a new mtime: a new file renamed over the old one.
    writeFileSync(`${f}.new`, 'FIRST LAYER');
    utimesSync(`${f}.new`, new Date(), new Date(Date.now() + 5000));
    renameSync(`${f}.new`, f);
    const r = noRoot('--fail-on', 'error');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.json.totals.hashed, 1);
    assert.deepEqual(
      // (the tree's config descriptor declares 10 bytes: its blob-size-mismatch is not this test's)
      r.json.findings.filter((x) => x.kind !== 'blob-size-mismatch').map((x) => [x.kind, x.digest]),
      [['corrupt-blob', img.layers[0]]],
    );
  });

  it('without a root, a blob gone since the scan is unreadable, not a size mismatch', () => {
    rmSync(data(img.layers[1]!));
    const r = noRoot();
    assert.equal(r.code, 0, r.stderr);
    const gone = r.json.findings.filter((x) => x.digest === img.layers[1]);
    assert.deepEqual(
      gone.map((x) => x.kind),
      ['unreadable-blob'],
    );
    assert.match(gone[0]!.message, /vanished/);
  });

  it('verify refuses an s3:// root in one line, exit 2', () => {
    const r = runCli(['verify', 's3://bucket/registry', '--db', `${db}-s3`]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    assert.match(r.stderr, /^regaudit: s3:\/\/bucket\/registry: verify hashes files on a filesystem/);
  });
});
