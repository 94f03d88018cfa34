/**
 * The derived manifest graph (held, tag_usage): kept current by incremental rescans, refused (scan again) for
 * scans an older regaudit wrote, and read only through index searches (pinned with EXPLAIN QUERY PLAN).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runReport } from '../../src/app/report.js';
import * as graph from '../../src/index/graph.js';
import * as usage from '../../src/index/usage.js';
import * as queries from '../../src/index/queries.js';
import { openIndexForRead, openIndexForWrite, type DB } from '../../src/index/open.js';
import { latestScan } from '../../src/index/scans.js';
import { scanStorage } from '../../src/scan/run.js';
import { sha256, StorageTree } from '../helpers/tree.js';

const hex = (d: string): string => d.slice(7);

async function scan(tree: StorageTree, db: string): Promise<void> {
  const h = openIndexForWrite(db);
  try {
    await scanStorage(h, tree.root, { dbFile: db, jobs: 0 });
  } finally {
    h.close();
  }
}

async function kinds(tree: StorageTree, db: string): Promise<string[]> {
  const r = await runReport({ dbFile: db, format: 'json', now: Date.now(), uploadAgeMs: 168 * 3600_000 });
  void tree;
  return r.findings.map((f) => `${f.kind} ${f.repository ?? ''}`).sort();
}

test('an incremental rescan re-derives the graph when something changed', async (t) => {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const db = path.join(s.root, 'idx.db');
  const img = s.image('app', 'v1', ['one', 'two']);
  await scan(s, db);
  assert.deepEqual(await kinds(s, db), []);
  await scan(s, db); // unchanged: the derived rows stay as they are
  assert.deepEqual(await kinds(s, db), []);
  s.remove(`blobs/sha256/${hex(img.layers[1]!).slice(0, 2)}/${hex(img.layers[1]!)}`);
  s.image('app', 'v2', ['three']);
  await scan(s, db);
  assert.deepEqual(await kinds(s, db), ['dangling-layer-link app', 'missing-blob app']);
  const h = openIndexForRead(db);
  try {
    assert.deepEqual(
      usage.tagUsage(h, latestScan(h, db).id).map((r) => r.tag),
      ['v1', 'v2'],
    );
  } finally {
    h.close();
  }
});

test('an index written before migration 0005: reading refuses it until a scan rebuilds the graph', async (t) => {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const db = path.join(s.root, 'idx.db');
  s.image('app', null, ['loose']);
  await scan(s, db);
  const raw = new Database(db);
  raw.exec(`DROP TABLE tag_usage; DROP TABLE held; PRAGMA user_version = 4;`);
  raw.close();
  // A reading command neither migrates nor reads: it names the command that does.
  await assert.rejects(kinds(s, db), /version 4 is older .* reading commands do not upgrade it: run "regaudit scan/);
  assert.equal(userVersionOf(db), 4);
  // Migrating (the frozen 0005 derives nothing) leaves the graph empty: "scan again", not an empty report.
  openIndexForWrite(db).close();
  await assert.rejects(kinds(s, db), /predates the manifest graph .* scan again: regaudit scan /);
  // The same regaudit's scan would be updated in place; an underived one is read in full and derived.
  await scan(s, db);
  assert.deepEqual(await kinds(s, db), ['untagged-manifest app']);
});

test('an index written before migration 0012: reading refuses its scans until a scan derives the report checks', async (t) => {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const db = path.join(s.root, 'idx.db');
  s.image('app', 'v1', ['a']);
  s.blob('nobody holds this'); // unreferenced-blob
  s.revisionLink('app', sha256('manifest gone')); // missing-manifest-blob
  s.tagLink('app', 'gone', sha256('manifest gone')); // dangling-tag
  const other = s.image('other', 'v1', ['b']);
  s.revisionLink('other', sha256('a path'), other.manifest); // content names another digest than its path
  await scan(s, db);
  const before = await kinds(s, db);
  for (const k of ['unreferenced-blob app', 'missing-manifest-blob app', 'dangling-tag app'])
    assert.ok(
      before.some((f) => f.startsWith(k.split(' ')[0]!)),
      `${k} in ${before.join(', ')}`,
    );
  const raw = new Database(db);
  raw.exec(
    `DROP TABLE unheld_blobs; DROP TABLE blobless_revisions; DROP TABLE dead_tags; PRAGMA user_version = 11;` /* before 0012 */,
  );
  raw.close();
  openIndexForWrite(db).close(); // migrates: the frozen 0012 derives nothing, it marks the scans underived
  await assert.rejects(kinds(s, db), /predates the manifest graph .* scan again: regaudit scan /);
  await scan(s, db); // underived: read in full, checks derived
  assert.deepEqual(await kinds(s, db), before);
});

function userVersionOf(file: string): number {
  const d = new Database(file, { readonly: true });
  try {
    return d.pragma('user_version', { simple: true }) as number;
  } finally {
    d.close();
  }
}

test('graph and usage queries search indexes, never scan a stored table', async (t) => {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const db = path.join(s.root, 'idx.db');
  s.image('app', 'v1', ['a']);
  await scan(s, db);
  const h = openIndexForRead(db);
  t.after(() => h.close());
  const seen: string[] = [];
  const prepare = h.prepare.bind(h);
  const spy = Object.create(h) as DB;
  spy.prepare = (sql: string) => {
    seen.push(sql);
    return prepare(sql);
  };
  const id = latestScan(h, db).id;
  for (const f of [
    graph.untaggedManifests,
    graph.missingReferences,
    graph.unlinkedReferences,
    graph.unreferencedLayerLinks,
    graph.unreferencedBlobs,
    graph.unreadableManifests,
  ])
    f(spy, id);
  for (const f of [usage.repositoryUsage, usage.tagUsage, usage.usageTotals]) f(spy, id);
  for (const f of [queries.badLinks, queries.danglingLayerLinks]) f(spy, id);
  assert.ok(seen.length >= 13);
  for (const sql of seen) {
    const explain = prepare(`EXPLAIN QUERY PLAN ${sql}`);
    const plan = (
      (sql.includes(':scan') ? explain.all({ scan: id }) : explain.all(id)) as Array<{ detail: string }>
    ).map((r) => r.detail);
    const scans = plan.filter((d) => /^SCAN /.test(d) && !/^SCAN (CONSTANT ROW|\(subquery)/.test(d));
    assert.deepEqual(scans, [], `${sql.replace(/\s+/g, ' ').slice(0, 120)}\n${plan.join('\n')}`);
  }
});
