/**
 * `usage` on a built tree whose sizes are known: per repository and per tag, reachable / exclusive /
 * shared / freed, and the equality exclusive + shared (once) + unreferenced = every blobs/**\/data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { runUsage } from '../../src/app/usage.js';
import { sortUsage } from '../../src/report/usage.js';
import type { RepositoryUsageRow, TagUsageRow, UsageTotals } from '../../src/index/usage.js';
import { StorageTree } from '../helpers/tree.js';
import { duBlobs } from '../helpers/du.js';

const hex = (d: string): string => d.slice(d.indexOf(':') + 1);

/** Size of a blob's data file, straight from the filesystem. */
function sizeOf(tree: StorageTree, d: string): number {
  return statSync(path.join(tree.v2, 'blobs', 'sha256', hex(d).slice(0, 2), hex(d), 'data')).size;
}

interface Out {
  totals: UsageTotals;
  repositories?: RepositoryUsageRow[];
  tags?: TagUsageRow[];
}

async function usage(tree: StorageTree, by: 'repository' | 'tag'): Promise<Out> {
  const r = await runUsage({ dbFile: path.join(tree.root, 'idx.db'), root: tree.root, format: 'json', by, jobs: 0 });
  return JSON.parse([...r.output].join('')) as Out;
}

test('usage: exclusive, shared, freed per repository and tag; the byte-sum equality', async (t) => {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const a = s.image('a', 'v1', ['base layer', 'only in a']);
  const aOld = s.image('a', null, ['a untagged']);
  const b = s.image('b', 'v1', ['base layer', 'only in b']);
  const c1 = s.image('multi', null, ['amd64 bits']);
  const c2 = s.image('multi', null, ['arm64 bits']);
  const index = s.index('multi', 'latest', [c1.manifest, c2.manifest]);
  s.tagLink('multi', 'amd64', c1.manifest); // c1 also tagged on its own: 'latest' alone does not keep it
  const orphan = s.blob('orphan, no manifest anywhere');
  s.layerLink('a', orphan);

  const size = (...ds: string[]): number => [...new Set(ds)].reduce((n, d) => n + sizeOf(s, d), 0);
  const base = b.layers[0]!;
  assert.equal(base, a.layers[0], 'the same layer in both repositories');
  const aAll = [a.manifest, a.config, ...a.layers, aOld.manifest, aOld.config, ...aOld.layers];
  const bAll = [b.manifest, b.config, ...b.layers];
  const mAll = [index, c1.manifest, c1.config, ...c1.layers, c2.manifest, c2.config, ...c2.layers];

  const byRepo = await usage(s, 'repository');
  const repos = new Map(byRepo.repositories!.map((r) => [r.repository, r]));
  assert.deepEqual(
    { ...repos.get('a') },
    {
      repository: 'a',
      tags: 1,
      revisions: 2,
      blobs: 7,
      reachable: size(...aAll),
      exclusive: size(...aAll) - size(base),
      shared: size(base),
      freed: size(...aAll) - size(base),
    },
  );
  assert.deepEqual([repos.get('b')!.exclusive, repos.get('b')!.shared], [size(...bAll) - size(base), size(base)]);
  assert.deepEqual(
    [repos.get('multi')!.reachable, repos.get('multi')!.exclusive, repos.get('multi')!.tags],
    [size(...mAll), size(...mAll), 2],
  );

  const tot = byRepo.totals;
  assert.equal(tot.sharedBytes, size(base));
  assert.equal(tot.unreferencedBytes, size(orphan));
  const exclusiveSum = byRepo.repositories!.reduce((n, r) => n + r.exclusive, 0);
  assert.equal(exclusiveSum, tot.exclusiveBytes);
  assert.equal(
    exclusiveSum + tot.sharedBytes + tot.unreferencedBytes,
    duBlobs(path.join(s.v2, 'blobs')),
    'exclusive + shared + unreferenced = du blobs/',
  );
  assert.equal(tot.bytes, duBlobs(path.join(s.v2, 'blobs')));

  const byTag = await usage(s, 'tag');
  const tags = new Map(byTag.tags!.map((r) => [`${r.repository}:${r.tag}`, r]));
  const av1 = tags.get('a:v1')!;
  assert.deepEqual([av1.digest, av1.manifests, av1.blobs], [a.manifest, 1, 4]);
  assert.equal(av1.reachable, size(a.manifest, a.config, ...a.layers));
  assert.equal(av1.shared, size(base));
  assert.equal(av1.freed, size(a.manifest, a.config, a.layers[1]!), 'the base layer stays for b');
  const latest = tags.get('multi:latest')!;
  assert.deepEqual([latest.manifests, latest.reachable], [3, size(...mAll)]);
  // c1 is also tagged amd64: deleting latest frees the index and c2 only.
  assert.equal(latest.freed, size(index, c2.manifest, c2.config, ...c2.layers));
  assert.equal(tags.get('multi:amd64')!.freed, 0, 'latest still lists c1');
});

test('usage: a layer listed twice in one manifest holds once; another revision holding it keeps it from being freed', async (t) => {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const v1 = s.image('d', 'v1', ['twice', 'twice', 'once']);
  const old = s.image('d', null, ['twice']);
  assert.equal(v1.layers[0], v1.layers[1]);
  const size = (...ds: string[]): number => [...new Set(ds)].reduce((n, d) => n + sizeOf(s, d), 0);

  const repo = (await usage(s, 'repository')).repositories!.find((r) => r.repository === 'd')!;
  assert.deepEqual([repo.revisions, repo.blobs], [2, 6]);
  assert.equal(repo.reachable, size(v1.manifest, v1.config, ...v1.layers, old.manifest, old.config));
  const tag = (await usage(s, 'tag')).tags!.find((r) => r.tag === 'v1')!;
  assert.deepEqual([tag.manifests, tag.blobs], [1, 4]);
  assert.equal(tag.reachable, size(v1.manifest, v1.config, ...v1.layers));
  assert.equal(
    tag.freed,
    size(v1.manifest, v1.config, v1.layers[2]!),
    'the untagged revision still holds the twice-listed layer',
  );
});

test('usage: sort by any column, numbers largest first, ties by name; top N', () => {
  const rows = [
    { repository: 'x', tags: 1, revisions: 1, blobs: 3, reachable: 30, exclusive: 10, shared: 20, freed: 10 },
    { repository: 'a', tags: 2, revisions: 2, blobs: 5, reachable: 50, exclusive: 10, shared: 40, freed: 10 },
    { repository: 'm', tags: 0, revisions: 0, blobs: 1, reachable: 5, exclusive: 5, shared: 0, freed: 5 },
  ];
  assert.deepEqual(
    sortUsage(rows, 'repository').rows.map((r) => r.repository),
    ['a', 'x', 'm'],
  );
  assert.deepEqual(
    sortUsage(rows, 'repository', 'reachable').rows.map((r) => r.repository),
    ['a', 'x', 'm'],
  );
  assert.deepEqual(
    sortUsage(rows, 'repository', 'repository', 2).rows.map((r) => r.repository),
    ['a', 'm'],
  );
  assert.deepEqual(
    sortUsage(rows, 'repository', 'shared', 1).rows.map((r) => r.repository),
    ['a'],
  );
  assert.throws(() => sortUsage(rows, 'repository', 'tag'), /not a column of usage by repository/);
});
