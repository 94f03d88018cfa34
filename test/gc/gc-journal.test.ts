/**
 * gc --apply runs in the index journal (`regaudit journal`) and gc batches in `quarantine list` and
 * `quarantine purge`, as prune's are: the run with its items, outcomes, freed bytes and batch; a
 * finished batch is purged, an unfinished one kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runJournal, runQuarantineList, runQuarantinePurge } from '../../src/app/quarantine.js';
import { gc, HOUR, tree } from './support.js';

test('a gc apply is in the journal; its batch is listed and purged like a prune batch', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  s.blob('garbage one');
  s.blob('garbage two');
  s.layerLink('stale', s.blob('linked from stale only'));
  s.age(2 * HOUR);
  const q = path.join(s.root, 'quarantine');
  const run = await gc(s, { apply: true, quarantine: q });
  const dbFile = path.join(s.root, 'idx.db');
  const journal = JSON.parse(runJournal({ dbFile, limit: 10, format: 'json' })) as {
    gcRuns: Array<{
      id: number;
      status: string;
      mode: string;
      bytesFreed: number;
      quarantineBatch: string;
      planned: number;
      done: number;
    }>;
  };
  const r = journal.gcRuns[0]!;
  assert.equal(journal.gcRuns.length, 1);
  assert.deepEqual(
    [r.status, r.mode, r.bytesFreed, r.quarantineBatch, r.planned, r.done],
    ['complete', 'quarantine', run.result!.bytesFreed, run.batch, run.plan.items.length, run.plan.items.length],
  );
  assert.ok(r.bytesFreed > 0);
  assert.equal(JSON.parse(run.output).journalRun, r.id);
  assert.match(runJournal({ dbFile, limit: 10, format: 'table' }), /gc runs:/);

  const list = JSON.parse(runQuarantineList({ dir: q, format: 'json' })) as {
    batches: Array<{ name: string; kind: string; status: string; files: number; bytes: number }>;
  };
  assert.equal(list.batches.length, 1);
  const b = list.batches[0]!;
  assert.deepEqual([b.kind, b.status, path.join(q, b.name)], ['gc', 'complete', run.batch]);
  assert.ok(b.files >= 4 && b.bytes >= run.result!.bytesFreed, JSON.stringify(b));

  // An unfinished batch (killed: `running`) is kept; a finished one goes.
  const journalFile = path.join(run.batch!, 'gc.json');
  const j = JSON.parse(readFileSync(journalFile, 'utf8')) as { status: string };
  writeFileSync(journalFile, JSON.stringify({ ...j, status: 'running' }));
  const kept = JSON.parse(
    runQuarantinePurge({ dir: q, olderThanMs: 0, dryRun: false, format: 'json', now: Date.now() + 1000 }),
  ) as { batches: Array<{ action: string; reason: string }> };
  assert.match(kept.batches[0]!.reason, /unfinished gc/);
  assert.ok(existsSync(run.batch!));
  writeFileSync(journalFile, JSON.stringify(j));
  runQuarantinePurge({ dir: q, olderThanMs: 0, dryRun: false, format: 'json', now: Date.now() + 1000 });
  assert.ok(!existsSync(run.batch!), 'purged');
});

test('a gc that refuses is journaled as failed', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  s.blob('garbage');
  s.age(2 * HOUR);
  await gc(s); // the scan
  s.layerLink('late', s.blob('after the scan'));
  await assert.rejects(gc(s, { apply: true, root: undefined }));
  const journal = JSON.parse(runJournal({ dbFile: path.join(s.root, 'idx.db'), limit: 10, format: 'json' })) as {
    gcRuns: Array<{ status: string; error: string; done: number }>;
  };
  assert.equal(journal.gcRuns[0]!.status, 'failed');
  assert.match(journal.gcRuns[0]!.error, /changed since the scan/);
  assert.equal(journal.gcRuns[0]!.done, 0);
});
