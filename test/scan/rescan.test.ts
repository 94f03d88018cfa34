import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { utimesSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StorageTree } from '../helpers/tree.js';
import type { Digest } from '../../src/layout/digest.js';
import { pathFor } from '../../src/layout/paths.js';
import { runCli } from '../helpers/cli.js';
import { dumpIndex as dump } from '../helpers/index-dump.js';

function scan(root: string, db: string, ...flags: string[]): string {
  const r = runCli(['scan', root, '--db', db, ...flags]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Rescans incrementally and checks the index equals a full scan of the same tree. */
function assertRescanExact(tree: StorageTree, incDb: string, label: string): string {
  const out = scan(tree.root, incDb);
  assert.match(out, /updated the previous scan/, label);
  const fullDb = path.join(tree.root, `full-${Math.random().toString(36).slice(2)}.db`);
  scan(tree.root, fullDb, '--full');
  assert.deepEqual(dump(incDb), dump(fullDb), label);
  return out;
}

test('an incremental rescan gives the same index as a full scan after each kind of change', (t) => {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  const imgs = [];
  for (let i = 0; i < 6; i++) imgs.push(tree.image(`team${i % 2}/app${i}`, 'v1', [`layer-${i}`, 'shared']));
  tree.image('team0/app0', 'v2', ['layer-x']);
  tree.upload('team1/app1', 'u1', '2024-01-01T00:00:00Z', 'abc');
  tree.age(3600_000);
  const db = path.join(tree.root, 'inc.db');
  scan(tree.root, db);
  const noChange = assertRescanExact(tree, db, 'no change');
  assert.match(noChange, /0 of 6 repositories and 0 of \d+ blob directories changed, 0 manifests read/);

  // A link rewritten in place deep in the tree: same size, same directory, mtime set back.
  const cur = path.join(tree.v2, 'repositories/team0/app0/_manifests/tags/v1/current/link');
  writeFileSync(cur, imgs[2]!.manifest);
  const old = (Date.now() - 3600_000) / 1000;
  utimesSync(cur, old, old);
  const changed = assertRescanExact(tree, db, 'tag link rewritten in place');
  assert.match(changed, /1 of 6 repositories/);

  // A layer link emptied, as a crash during a pre-3.1 write leaves it.
  tree.file(pathFor({ kind: 'layerLink', repo: 'team1/app3', digest: imgs[3]!.layers[0]! as Digest }), '');
  assertRescanExact(tree, db, 'layer link emptied');

  // An API delete: revision link removed, tag directory removed (an empty revision dir stays).
  tree.apiDelete('team1/app5', imgs[5]!.manifest, ['v1']);
  assertRescanExact(tree, db, 'api delete');

  // The same revision pushed again into its now-empty directory.
  tree.revisionLink('team1/app5', imgs[5]!.manifest);
  assertRescanExact(tree, db, 'revision re-linked into an existing empty directory');

  // A blob data file removed, keeping its directory (a partial restore).
  const layer = imgs[4]!.layers[0]!.slice(7);
  rmSync(path.join(tree.v2, `blobs/sha256/${layer.slice(0, 2)}/${layer}/data`));
  assertRescanExact(tree, db, 'blob data removed');

  // New repository, new nested repository, removed repository, new upload data, new debris.
  tree.image('team0/new', 'latest', ['fresh']);
  tree.image('team0/app0/nested', 'v1', ['n']);
  rmSync(path.join(tree.v2, 'repositories/team1/app3'), { recursive: true });
  writeFileSync(path.join(tree.v2, 'repositories/team1/app1/_uploads/u1/data'), 'abcdef');
  mkdirSync(path.join(tree.v2, 'repositories/team0/_junk'));
  writeFileSync(path.join(tree.v2, 'repositories/team0/app2/_manifests/tags/v1/stray.tmp'), 'x');
  assertRescanExact(tree, db, 'structural changes');

  // A file added inside an upload directory that already holds data: only that directory's mtime moves.
  writeFileSync(path.join(tree.v2, 'repositories/team1/app1/_uploads/u1/hashstates-sha256-6'), 'h');
  assertRescanExact(tree, db, 'file added inside an upload directory');

  // A manifest blob that was missing comes back (restore).
  const m = imgs[0]!.manifest.slice(7);
  const mdir = path.join(tree.v2, `blobs/sha256/${m.slice(0, 2)}/${m}`);
  rmSync(mdir, { recursive: true });
  assertRescanExact(tree, db, 'manifest blob removed');
  tree.image('team0/app0', 'v1', ['layer-0', 'shared']);
  assertRescanExact(tree, db, 'manifest blob restored');
});

test('documented limits: a stray file beside a good link is seen by a thorough scan, and by a rescan only when read again', (t) => {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  const img = tree.image('a', 'v1', ['l']);
  const db = path.join(tree.root, 'x.db');
  scan(tree.root, db);
  writeFileSync(path.join(tree.v2, 'repositories/a/_manifests/tags/v1/current/link.0a1b.tmp'), 'x');
  const tmpRows = (): number => {
    const h = new Database(db, { readonly: true });
    try {
      return h.prepare(`SELECT count(*) FROM debris WHERE kind = 'tmp-file'`).pluck().get() as number;
    } finally {
      h.close();
    }
  };
  scan(tree.root, db);
  assert.equal(tmpRows(), 0, 'a rescan keeps the unchanged repository');
  scan(tree.root, db, '--full');
  assert.equal(tmpRows(), 0, 'a default scan opens current/link by name and never lists its directory');
  assert.doesNotMatch(scan(tree.root, db, '--thorough'), /updated the previous scan/, 'another mode is a full scan');
  assert.equal(tmpRows(), 1);
  const rev = img.manifest.slice('sha256:'.length);
  writeFileSync(path.join(tree.v2, `repositories/a/_manifests/revisions/sha256/${rev}/link.0c0d.tmp`), 'x');
  assert.match(scan(tree.root, db, '--thorough'), /updated the previous scan/);
  assert.equal(tmpRows(), 1, 'the link and its stamp did not change');
  scan(tree.root, db, '--thorough', '--full');
  assert.equal(tmpRows(), 2);
});

test('--full and a scan by another version replace the scan instead of updating it', (t) => {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  tree.image('a', 'v1', ['l']);
  const db = path.join(tree.root, 'x.db');
  assert.doesNotMatch(scan(tree.root, db), /updated the previous scan/);
  assert.doesNotMatch(scan(tree.root, db, '--full'), /updated the previous scan/);
  const h = new Database(db);
  h.prepare(`UPDATE scans SET tool_version = '0.0.1'`).run();
  h.close();
  assert.doesNotMatch(scan(tree.root, db), /updated the previous scan/);
  assert.match(scan(tree.root, db), /updated the previous scan/);
});
