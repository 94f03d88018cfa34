/**
 * Advice that never overreaches: a part of the storage that could not be read makes gc-preview
 * uncertain (nothing listed as safe to delete), marks blob findings uncertain and makes report exit
 * 23; an aborting GC run lists no deletions. Run as uid 65534 so a mode-000 directory really bites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGcPreview } from '../../src/app/gc-preview.js';
import { giveToNobody, requireRoot, runCliAsNobody } from '../safety/support.js';
import { StorageTree } from '../helpers/tree.js';

function worldReadable(t: { after(fn: () => void): void }): { s: StorageTree; db: string } {
  const s = new StorageTree();
  const dbDir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-db-'));
  chmodSync(dbDir, 0o777);
  chmodSync(s.root, 0o755);
  t.after(() => {
    s.cleanup();
    rmSync(dbDir, { recursive: true, force: true });
  });
  return { s, db: path.join(dbDir, 'idx.db') };
}

test('an unreadable repositories/library: gc-preview uncertain, blob findings uncertain, report exits 23', (t) => {
  const root = requireRoot('unreadable-directory test');
  if (root.skip) return t.skip(root.skip);
  const { s, db } = worldReadable(t);
  s.image('library/alpine', 'latest', ['alpine layer']);
  s.image('app', 'v1', ['app layer']);
  chmodSync(path.join(s.v2, 'repositories', 'library'), 0o000);

  const gc = runCliAsNobody(['gc-preview', s.root, '--db', db, '--format', 'json', '-q']);
  assert.equal(gc.code, 0, gc.stderr);
  const scenarios = (JSON.parse(gc.stdout) as { scenarios: any[] }).scenarios;
  assert.equal(scenarios.length, 4);
  for (const sc of scenarios) {
    assert.equal(sc.outcome, 'uncertain', sc.id);
    assert.equal(sc.blobs.count, 0, `${sc.id}: nothing listed as safe to delete`);
    assert.deepEqual(sc.blobs.items, []);
    assert.ok(sc.withheld.blobs >= 2, `${sc.id}: alpine's blobs are what the model would have deleted`);
    assert.ok(
      sc.issues.some((i: any) => i.effect === 'uncertain' && i.path === 'repositories/library'),
      JSON.stringify(sc.issues),
    );
  }

  const table = runCliAsNobody(['gc-preview', '--db', db]);
  assert.match(table.stdout, /uncertain: part of the storage was not read, so nothing is listed as safe to delete/);
  assert.doesNotMatch(table.stdout, /^ {2}delete sha256:/m);

  const rep = runCliAsNobody(['report', '--db', db, '--format', 'json']);
  assert.equal(rep.code, 23, rep.stderr);
  assert.match(rep.stderr, /^regaudit: partial: 1 path could not be read/);
  const findings = (JSON.parse(rep.stdout) as { findings: any[] }).findings;
  const blobs = findings.filter((f) => f.kind === 'unreferenced-blob');
  assert.ok(blobs.length >= 2, 'alpine looks unreferenced');
  for (const f of blobs) {
    assert.equal(f.uncertain, true);
    assert.match(f.message, /some repositories could not be read/);
  }
  // --fail-on does not hide a partial result.
  assert.equal(runCliAsNobody(['report', '--db', db, '--fail-on', 'info']).code, 23);
});

test('a readable tree: gc-preview runs and lists its deletions', async (t) => {
  const { s, db } = worldReadable(t);
  s.image('app', 'v1', ['app layer']);
  const orphan = s.blob('orphan');
  const r = await runGcPreview({ dbFile: db, root: s.root, format: 'json', jobs: 0 });
  for (const p of r.predictions) {
    assert.equal(p.outcome, 'runs');
    assert.equal(p.withheld, null);
    assert.deepEqual(
      [...p.blobs].map((b) => b.digest),
      [orphan],
    );
  }
});

test('an aborting scenario lists no deletions (an aborted run deletes nothing)', async (t) => {
  const { s, db } = worldReadable(t);
  const app = s.image('app', 'v1', ['app layer']);
  s.blob('orphan');
  // An empty revision link stops every version's mark phase.
  const rev = path.join(s.v2, 'repositories/app/_manifests/revisions/sha256', app.manifest.slice(7), 'link');
  writeFileSync(rev, '');
  const r = await runGcPreview({ dbFile: db, root: s.root, format: 'json', jobs: 0 });
  for (const p of r.predictions) {
    assert.equal(p.outcome, 'aborts', p.scenario.id);
    assert.deepEqual([[...p.blobs], [...p.manifests], [...p.layerLinks], p.brokenTags], [[], [], [], []]);
    assert.ok(p.withheld && p.withheld.blobs >= 1);
  }
  const json = JSON.parse([...r.output].join('')) as { scenarios: any[] };
  assert.ok(json.scenarios.every((x) => x.outcome === 'aborts' && x.blobs.count === 0));
});

test('prune --apply that skips an unreadable repository exits 23 and says so on stderr', (t) => {
  const root = requireRoot('unreadable-repository prune test');
  if (root.skip) return t.skip(root.skip);
  const { s, db } = worldReadable(t);
  const a = s.image('gone', 'v1', ['gone layer']);
  s.apiDelete('gone', a.manifest, ['v1']);
  const b = s.image('locked', 'v1', ['locked layer']);
  s.apiDelete('locked', b.manifest, ['v1']);
  // Old enough for the default --min-age.
  const old = Date.now() / 1000 - 30 * 86_400;
  for (const r of ['gone', 'locked'])
    spawnSyncOk('find', [path.join(s.v2, 'repositories', r), '-exec', 'touch', '-h', '-d', `@${old}`, '{}', '+']);
  giveToNobody(s.root);
  chmodSync(path.join(s.v2, 'repositories/locked/_manifests'), 0o000);

  const dry = runCliAsNobody(['prune', s.root, '--db', db, '-q']);
  assert.equal(dry.code, 0, `a dry run deletes nothing, so nothing is partial: ${dry.stderr}`);
  const applied = runCliAsNobody(['prune', s.root, '--db', db, '--apply', '--format', 'json', '-q']);
  assert.equal(applied.code, 23, applied.stderr);
  assert.match(
    applied.stderr,
    /^regaudit: partial: 1 repository was skipped as unreadable or permission-denied \(locked;/,
  );
  const out = JSON.parse(applied.stdout) as { repositories: Array<{ name: string; action: string; reason?: string }> };
  assert.deepEqual(out.repositories.map((r) => `${r.name} ${r.action} ${r.reason ?? ''}`.trim()).sort(), [
    'gone delete',
    'locked skip unreadable',
  ]);
});

function spawnSyncOk(bin: string, args: string[]): void {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}
