/**
 * --repository and --exclude on usage, prune and gc-preview: the same globs as report; prune deletes
 * nothing outside them; a filtered view says it is filtered (table line, JSON `filter`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli, runCliJson, scanInto } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';

function fixture(t: { after(fn: () => void): void }): { tree: StorageTree; db: string } {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  tree.image('app', 'v1', ['app base', 'app 1']);
  tree.image('app', null, ['app old']);
  tree.image('app/2024', 'v1', ['year']);
  tree.image('lib', 'v1', ['lib']);
  tree.image('lib', null, ['lib old']);
  tree.dir('repositories/old/a/_layers');
  tree.dir('repositories/old/b/_layers');
  tree.dir('repositories/keep/c/_layers');
  tree.age(3_600_000 * 48);
  const db = path.join(tree.root, 'idx.db');
  scanInto(tree.root, db);
  return { tree, db };
}

test('usage --repository/--exclude: only matching rows, the filter shown', (t) => {
  const { db } = fixture(t);
  type U = { filter: unknown; totals: { blobs: number }; repositories: Array<{ repository: string }> };
  const args = ['usage', '--db', db, '--format', 'json', '--sort', 'repository'];
  const all = runCliJson<U>(args).json;
  assert.equal(all.filter, null);
  const some = runCliJson<U>([...args, '--repository', 'app,app/*', '--exclude', 'app/2024']).json;
  assert.deepEqual(
    some.repositories.map((r) => r.repository),
    ['app'],
  );
  assert.deepEqual(some.filter, { repositories: ['app', 'app/*'], exclude: ['app/2024'] });
  assert.deepEqual(some.totals, all.totals, 'the blobs/ totals stay whole');
  const tags = runCli(['usage', '--db', db, '--format', 'csv', '--by', 'tag', '--exclude', 'app*']);
  assert.equal(tags.code, 0, tags.stderr);
  assert.deepEqual(
    tags.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').slice(0, 2).join(':'))
      .sort(),
    ['app/2024:v1', 'lib:v1'],
  );
  const table = runCli(['usage', '--db', db, '--exclude', 'lib']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /filtered \(--exclude lib\)/);
  assert.doesNotMatch(table.stdout, /│ lib\s/);
  assert.doesNotMatch(runCli(['usage', '--db', db]).stdout, /filtered/);
});

test('prune --repository/--exclude: only matching empty repositories are planned and deleted', (t) => {
  const { tree, db } = fixture(t);
  type P = { filter: unknown; repositories: Array<{ name: string; action: string; deleted: boolean }> };
  const dry = runCliJson<P>(['prune', '--db', db, '--format', 'json', '--repository', 'old/*', '--exclude', 'old/b']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(
    dry.json.repositories.map((r) => [r.name, r.action]),
    [['old/a', 'delete']],
  );
  assert.deepEqual(dry.json.filter, { repositories: ['old/*'], exclude: ['old/b'] });
  const unfiltered = runCliJson<P>(['prune', '--db', db, '--format', 'json']).json;
  assert.equal(unfiltered.filter, null);
  assert.deepEqual(unfiltered.repositories.map((r) => r.name).sort(), ['keep/c', 'old/a', 'old/b']);

  const applied = runCli(['prune', tree.root, '--db', db, '--quiet', '--apply', '--exclude', 'keep/**,old/b']);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /Plan filtered \(--exclude keep\/\*\*,old\/b\)/);
  assert.equal(tree.exists('repositories/old/a'), false, 'the matching empty repository is deleted');
  assert.equal(tree.exists('repositories/old/b/_layers'), true, 'excluded: kept');
  assert.equal(tree.exists('repositories/keep/c/_layers'), true, 'excluded: kept');

  const none = runCli(['prune', tree.root, '--db', db, '--quiet', '--repository', 'nothing/*']);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /No empty repositories among the matching ones\./);
});

test('gc-preview --repository/--exclude: lists matching items, predicts over everything, says it is filtered', (t) => {
  const { db } = fixture(t);
  type G = {
    filter: unknown;
    scenarios: Array<{
      id: string;
      outcome: string;
      blobs: { count: number };
      manifests: { items: Array<{ repository: string }> };
    }>;
  };
  const args = ['gc-preview', '--db', db, '--format', 'json', '--scenario', '2-m,3-m'];
  const all = runCliJson<G>(args).json;
  assert.equal(all.filter, null);
  for (const s of all.scenarios)
    assert.deepEqual([...new Set(s.manifests.items.map((m) => m.repository))].sort(), ['app', 'lib'], s.id);
  const lib = runCliJson<G>([...args, '--repository', 'lib']).json;
  assert.deepEqual(lib.filter, { repositories: ['lib'], exclude: [] });
  lib.scenarios.forEach((s, i) => {
    assert.deepEqual(
      s.manifests.items.map((m) => m.repository),
      ['lib'],
      s.id,
    );
    assert.equal(s.outcome, all.scenarios[i]!.outcome);
    assert.equal(s.blobs.count, all.scenarios[i]!.blobs.count, 'blobs are the whole storage');
  });
  const noApp = runCliJson<G>([...args, '--exclude', 'app']).json;
  for (const s of noApp.scenarios)
    assert.ok(
      s.manifests.items.every((m) => m.repository !== 'app'),
      s.id,
    );
  const table = runCli(['gc-preview', '--db', db, '--repository', 'lib']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /filtered \(--repository lib\): manifests, layer links, broken tags and issues of matching/,
  );
  assert.doesNotMatch(runCli(['gc-preview', '--db', db]).stdout, /filtered/);
});
