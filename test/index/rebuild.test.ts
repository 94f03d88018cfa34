/**
 * A full scan writes a new index file and renames it into place (src/index/rebuild.ts): what the
 * previous file held besides the replaced scans survives (other roots, the prune journal), the
 * index is the same as an in-place scan makes, and when another connection has the file open the
 * scan is merged into it instead of renamed over it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openIndexForRebuild, openIndexForWrite } from '../../src/index/open.js';
import { claimRebuild, finishRebuild, rebuildPath, startRebuild } from '../../src/index/rebuild.js';
import { scanStorage, type ScanResult } from '../../src/scan/run.js';
import { runCli } from '../helpers/cli.js';
import { dumpIndex } from '../helpers/index-dump.js';
import { StorageTree } from '../helpers/tree.js';

async function scan(tree: StorageTree, db: string, rebuild: boolean): Promise<ScanResult> {
  const h = openIndexForWrite(db);
  const r = await scanStorage(h, tree.root, { dbFile: db, jobs: 0, full: true, rebuild });
  r.db.close();
  h.close();
  return r;
}

function trees(t: { after: (fn: () => void) => void }): [StorageTree, StorageTree] {
  const a = new StorageTree();
  const b = new StorageTree();
  t.after(() => {
    a.cleanup();
    b.cleanup();
  });
  a.image('app', 'v1', ['one', 'two']);
  a.image('app', null, ['three']);
  a.dir('repositories/gone/_layers');
  b.image('other/svc', 'latest', ['x']);
  b.blob('orphan');
  return [a, b];
}

const rows = (db: string, sql: string): unknown[] => {
  const h = new Database(db, { readonly: true });
  try {
    return h.prepare(sql).all();
  } finally {
    h.close();
  }
};

test('a full scan renames a new file into place, keeping other roots and the prune journal', async (t) => {
  const [a, b] = trees(t);
  const db = path.join(a.root, 'idx.db');
  await scan(a, db, true);
  const prune = runCli(['prune', '--db', db, '--format', 'json']); // a dry run: recorded in the journal
  assert.equal(prune.code, 0, prune.stderr);
  const journal = rows(db, `SELECT id, root, mode, status FROM prune_runs ORDER BY id`);
  assert.equal(journal.length, 1);
  const aScan = rows(db, `SELECT id, root, status FROM scans`);

  const inode = statSync(db).ino;
  const r = await scan(b, db, true);
  assert.equal(r.rebuilt, true);
  assert.notEqual(statSync(db).ino, inode, 'a new file');
  assert.ok(!existsSync(rebuildPath(db)));
  assert.deepEqual(rows(db, `SELECT id, root, mode, status FROM prune_runs ORDER BY id`), journal);
  assert.deepEqual(rows(db, `SELECT id, root, status FROM scans WHERE root = '${a.v2}'`), aScan);
  assert.equal(
    (rows(db, `PRAGMA integrity_check`)[0] as { integrity_check: string }).integrity_check,
    'ok',
    'integrity',
  );

  // the first root's report is unchanged by the second root's scan
  const report = (args: string[]): unknown => JSON.parse(runCli(['report', ...args, '--format', 'json']).stdout);
  const single = path.join(a.root, 'single.db');
  await scan(a, single, false);
  const strip = (x: unknown): unknown => ({ ...(x as object), scannedAt: null });
  assert.deepEqual(strip(report([a.root, '--db', db])), strip(report(['--db', single])));
  // rescanning the first root fully keeps the second one
  await scan(a, db, true);
  assert.deepEqual(
    (rows(db, `SELECT root FROM scans ORDER BY root`) as Array<{ root: string }>).map((x) => x.root),
    [a.v2, b.v2].sort(),
  );
});

test('a rebuilt index holds what an in-place scan writes; a stray rebuild file is replaced', async (t) => {
  const [a] = trees(t);
  const rebuilt = path.join(a.root, 'rebuilt.db');
  const inPlace = path.join(a.root, 'in-place.db');
  writeFileSync(rebuildPath(rebuilt), 'left by a killed scan');
  await scan(a, rebuilt, true);
  await scan(a, inPlace, false);
  assert.deepEqual(dumpIndex(rebuilt), dumpIndex(inPlace));
  for (const table of ['held', 'tag_usage', 'unheld_blobs', 'dead_tags'])
    assert.deepEqual(
      rows(rebuilt, `SELECT count(*) AS n FROM ${table}`),
      rows(inPlace, `SELECT count(*) AS n FROM ${table}`),
      table,
    );
});

test('while another connection has the index open, the full scan is made in place, not renamed over it', async (t) => {
  const [a, b] = trees(t);
  const db = path.join(a.root, 'idx.db');
  await scan(a, db, true);
  await scan(b, db, true);
  const expected = dumpIndex(db);
  const reader = new Database(db, { readonly: true });
  t.after(() => reader.close());
  reader.prepare(`SELECT count(*) FROM scans`).get(); // a WAL reader holds its lock until it closes
  const inode = statSync(db).ino;
  const r = await scan(b, db, true);
  assert.equal(r.rebuilt, undefined);
  assert.equal(statSync(db).ino, inode, 'the same file');
  assert.ok(!existsSync(rebuildPath(db)));
  assert.deepEqual(dumpIndex(db), expected);
  assert.equal(
    (reader.prepare(`SELECT count(*) AS n FROM scans WHERE status = 'complete'`).get() as { n: number }).n,
    2,
  );
});

test('a connection opened during a rebuild reads the previous scan and cannot write to the replaced file', async (t) => {
  const [a] = trees(t);
  const db = path.join(a.root, 'idx.db');
  await scan(a, db, true);
  const old = openIndexForWrite(db);
  assert.ok(claimRebuild(old));
  old.exec('BEGIN IMMEDIATE');
  const r = startRebuild(db, a.v2, openIndexForRebuild);
  const late = new Database(db);
  t.after(() => late.close());
  late.pragma('busy_timeout = 0');
  assert.equal(
    (late.prepare(`SELECT count(*) AS n FROM scans`).get() as { n: number }).n,
    1,
    'reads the previous scan',
  );
  finishRebuild(r, old);
  assert.throws(
    () =>
      late.exec(
        `INSERT INTO prune_runs (root, mode, tool_version, pid, host, started_ms, status) VALUES ('x', 'dry-run', 'v', 1, 'h', 0, 'running')`,
      ),
    (err: { code?: string }) => err.code === 'SQLITE_READONLY_DBMOVED',
  );
  assert.deepEqual(rows(db, `SELECT count(*) AS n FROM prune_runs`), [{ n: 0 }], 'nothing went to the new file either');
});
