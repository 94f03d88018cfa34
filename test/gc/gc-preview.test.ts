/**
 * gc-preview on built trees: the 2.8 and 3.x mark/sweep differences (one-level vs recursive marking,
 * repository markers, layer-link removal in catalog order) and the conditions that stop a real run.
 * The equality with the real 2.8 garbage-collect is in test/e2e/gc-catalog-equality.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { runGcPreview } from '../../src/app/gc-preview.js';
import type { GcBlob, GcLayerLink, GcManifest, GcPrediction } from '../../src/gc/prediction.js';
import { gcIssues, GC_SCENARIOS, type GcIssueInput } from '../../src/gc/scenarios.js';
import { StorageTree } from '../helpers/tree.js';

const hex = (d: string): string => d.slice(d.indexOf(':') + 1);

/** A prediction with its lists as arrays, to compare. */
type Listed = Omit<GcPrediction, 'blobs' | 'manifests' | 'layerLinks'> & {
  blobs: GcBlob[];
  manifests: GcManifest[];
  layerLinks: GcLayerLink[];
};
const listed = (p: GcPrediction): Listed => ({
  ...p,
  blobs: [...p.blobs],
  manifests: [...p.manifests],
  layerLinks: [...p.layerLinks],
});

async function preview(tree: StorageTree): Promise<Map<string, Listed>> {
  const r = await runGcPreview({ dbFile: path.join(tree.root, 'idx.db'), root: tree.root, format: 'json', jobs: 0 });
  JSON.parse([...r.output].join('')); // the JSON renders
  return new Map(r.predictions.map((p) => [p.scenario.id, listed(p)]));
}

const digests = (xs: Array<{ digest: string }>): string[] => xs.map((x) => x.digest).sort();
const effects = (p: Listed): string[] => p.issues.map((i) => `${i.effect} ${i.repository ?? ''}`).sort();

function tree(t: { after(fn: () => void): void }): StorageTree {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  return s;
}

test('2.8 marks one level: -m deletes untagged index children and sweeps their layers; 3.x keeps them', async (t) => {
  const s = tree(t);
  const v1 = s.image('app', 'v1', ['app 1']);
  const moved = s.image('app', null, ['app 0']); // the revision a moved tag left behind
  const c1 = s.image('multi', null, ['amd64']);
  const c2 = s.image('multi', null, ['arm64']);
  const index = s.index('multi', 'latest', [c1.manifest, c2.manifest]);
  const orphan = s.blob('orphan');
  const gc = await preview(s);

  for (const id of ['2', '3']) {
    assert.deepEqual(digests(gc.get(id)!.blobs), [orphan], `${id}: only what nothing references`);
    assert.deepEqual(gc.get(id)!.manifests, []);
    assert.deepEqual(gc.get(id)!.brokenTags, []);
  }
  const m2 = gc.get('2-m')!;
  assert.deepEqual(digests(m2.manifests), [moved.manifest, c1.manifest, c2.manifest].sort());
  assert.deepEqual(
    digests(m2.blobs),
    [orphan, moved.manifest, moved.config, ...moved.layers, c1.config, ...c1.layers, c2.config, ...c2.layers].sort(),
    '2.8 marks the children digests (one level) but not their config and layers',
  );
  assert.deepEqual(
    m2.brokenTags.map((b) => [`${b.repository}:${b.tag}`, b.digest, b.deletedManifests, b.sweptBlobs]),
    [['multi:latest', index, [c1.manifest, c2.manifest].sort(), 4]],
  );
  assert.equal(
    m2.brokenTags[0]!.bytes,
    m2.blobs
      .filter((b) => [c1.config, ...c1.layers, c2.config, ...c2.layers].includes(b.digest))
      .reduce((n, b) => n + b.size, 0),
  );

  const m3 = gc.get('3-m')!;
  assert.deepEqual(digests(m3.manifests), [moved.manifest]);
  assert.deepEqual(digests(m3.blobs), [orphan, moved.manifest, moved.config, ...moved.layers].sort());
  assert.deepEqual(m3.brokenTags, []);
  assert.ok([...gc.values()].every((p) => !p.issues.some((i) => i.effect === 'aborts')));
  void v1;
});

test('repository markers: 2.x never marks a repository without _layers, 3.x stops on it', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['app']);
  const only = s.image('nolayers', 'v1', ['no layers dir']);
  s.remove('repositories/nolayers/_layers');
  const gc = await preview(s);
  const v2 = gc.get('2')!;
  assert.deepEqual(digests(v2.blobs), [only.manifest, only.config, ...only.layers].sort());
  assert.deepEqual(
    v2.brokenTags.map((b) => `${b.repository}:${b.tag}`),
    ['nolayers:v1'],
  );
  assert.deepEqual(effects(v2), ['breaks nolayers']);
  assert.deepEqual(effects(gc.get('3')!), ['aborts nolayers']);
  assert.match(gc.get('3')!.issues[0]!.message, /Path not found/);
});

test('3.x removes a layer link whose blob no repository marked before its turn (catalog order)', async (t) => {
  const s = tree(t);
  const b = s.image('b', 'v1', ['shared later']);
  s.layerLink('a', b.layers[0]!); // 'a' comes before 'b': the blob is not marked yet at a's turn
  s.layerLink('c', b.layers[0]!); // 'c' comes after 'b': marked by then, kept
  s.image('a', 'v1', ['a own']);
  s.image('c', 'v1', ['c own']);
  const stray = s.blob('stray upload');
  s.layerLink('c', stray);
  const gc = await preview(s);
  const linkSet = (id: string): string[] =>
    gc
      .get(id)!
      .layerLinks.map((l) => `${l.repository} ${l.digest}`)
      .sort();
  assert.deepEqual(linkSet('3'), [`a ${b.layers[0]}`, `c ${stray}`].sort());
  assert.deepEqual(linkSet('3-m'), linkSet('3'));
  assert.deepEqual(gc.get('2')!.layerLinks, [], '2.x never removes layer links');
  assert.deepEqual(digests(gc.get('3')!.blobs), [stray]);
});

test('one scenario alone (marks looked up per blob) predicts what it predicts beside the others (mark table)', async (t) => {
  // With a repository without _layers (3.x aborts on it, 2.x does not mark it) and without (3.x runs).
  for (const noLayers of [true, false]) {
    const s = tree(t);
    const v1 = s.image('app', 'v1', ['app 1']);
    s.image('app', null, ['app 0']);
    const c1 = s.image('multi', null, ['amd64']);
    s.index('multi', 'latest', [c1.manifest, s.image('multi', null, ['arm64']).manifest]);
    s.image('a', 'v1', ['a own']);
    s.layerLink('a', v1.layers[0]!);
    s.layerLink('a', s.blob('stray'));
    s.blob('orphan');
    if (noLayers) {
      s.image('nolayers', 'v1', ['no layers dir', 'app 1']);
      s.remove('repositories/nolayers/_layers');
    }
    const all = await preview(s);
    for (const scenario of GC_SCENARIOS) {
      const r = await runGcPreview({ dbFile: path.join(s.root, 'idx.db'), format: 'json', scenarios: [scenario.id] });
      assert.deepEqual(r.predictions.map(listed), [all.get(scenario.id)], scenario.id);
    }
    const sizes = (id: string): number[] => {
      const p = all.get(id)!;
      return [p.blobs.length, p.manifests.length, p.layerLinks.length, p.brokenTags.length];
    };
    // What the tree exercises: sweeps, -m deletions, 3.x layer links, broken tags.
    if (noLayers)
      assert.deepEqual(
        [sizes('2'), sizes('2-m')],
        [
          [5, 0, 0, 1],
          [12, 3, 0, 2],
        ],
      );
    else
      assert.deepEqual(
        [sizes('3'), sizes('3-m')],
        [
          [2, 0, 2, 0],
          [5, 1, 4, 0],
        ],
      );
  }
});

test('a symbolic link makes every scenario uncertain (the registry follows it, regaudit does not)', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['app']);
  symlinkSync(path.join(s.v2, 'repositories/app'), path.join(s.v2, 'repositories/mirror'));
  const gc = await preview(s);
  for (const p of gc.values())
    assert.deepEqual(
      p.issues.map((i) => `${i.effect} ${i.path}`),
      ['uncertain repositories/mirror'],
    );
});

test('conditions that stop a real run, per version and mode', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['app']);
  // A tag's current link that does not parse: only -m reads current links.
  const t2 = s.image('tags', 'good', ['t']);
  s.tagLink('tags', 'broken', t2.manifest, 'garbage');
  // schema1: 2.8 reads it, 3.x does not.
  const l = s.blob('s1 layer');
  s.layerLink('legacy', l);
  s.manifest('legacy', 'old', {
    schemaVersion: 1,
    name: 'legacy',
    tag: 'old',
    fsLayers: [{ blobSum: l }],
    history: [],
  });
  // Untagged revision in a repository that has no _manifests/tags: 2.8 -m fails, 3.x -m skips it.
  s.image('bydigest', null, ['pushed by digest']);
  const gc = await preview(s);
  assert.deepEqual(effects(gc.get('2')!), []);
  assert.deepEqual(effects(gc.get('2-m')!), ['aborts bydigest', 'aborts tags']);
  assert.deepEqual(effects(gc.get('3')!), ['aborts legacy']);
  assert.deepEqual(effects(gc.get('3-m')!), ['aborts legacy', 'aborts tags', 'breaks bydigest']);
  assert.match(gc.get('3')!.issues[0]!.message, /schema1/);
});

test('issues: invalid links and names stop every enumerating version; media types; debris makes it uncertain', () => {
  const base: GcIssueInput = {
    repositories: [
      {
        name: 'ok',
        nameProblem: null,
        hasLayers: true,
        hasManifests: true,
        hasTagsDir: true,
        problem: null,
        revisions: 1,
        untagged: 0,
      },
      {
        name: 'Bad',
        nameProblem: 'uppercase',
        hasLayers: true,
        hasManifests: false,
        hasTagsDir: true,
        problem: null,
        revisions: 0,
        untagged: 0,
      },
    ],
    badLinks: [
      { repository: 'ok', kind: 'revision', tag: null, pathDigest: `sha256:${'a'.repeat(64)}`, problem: 'empty' },
    ],
    manifests: [
      {
        repository: 'ok',
        digest: `sha256:${'b'.repeat(64)}`,
        problem: null,
        mediaType: 'application/vnd.example+json',
        schemaVersion: 2,
        current: true,
        tagged: true,
        live: true,
      },
      {
        repository: 'ok',
        digest: `sha256:${'c'.repeat(64)}`,
        problem: 'too-large',
        mediaType: null,
        schemaVersion: null,
        current: false,
        tagged: false,
        live: false,
      },
    ],
    debris: [
      { path: 'blobs/sha256/zz', kind: 'unrecognized' },
      { path: 'blobs/sha256/ab/x.tmp', kind: 'tmp-file' },
    ],
  };
  const byId = new Map(GC_SCENARIOS.map((sc) => [sc.id, gcIssues(base, sc)]));
  const names = (id: string): string[] =>
    byId.get(id as never)!.map((i) => `${i.effect}:${i.repository ?? i.path}:${i.message.slice(0, 24)}`);
  assert.deepEqual(names('2'), [
    'aborts:Bad:invalid repository name ',
    'aborts:ok:revision link is empty: ',
    'aborts:ok:manifest has media type ',
    'uncertain:ok:manifest over 4 MiB was ',
    'uncertain:blobs/sha256/zz:not part of the blob lay',
  ]);
  // 3.x does not enumerate Bad (no _manifests); -m does not read the untagged too-large manifest.
  assert.deepEqual(names('3-m'), [
    'aborts:ok:revision link is empty: ',
    'aborts:ok:manifest has media type ',
    'uncertain:blobs/sha256/zz:not part of the blob lay',
  ]);
  void hex;
});

test('written while the index is open, the lists read from it give the bytes of the held lists', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['app 1']);
  s.image('app', null, ['app 0']);
  const c1 = s.image('multi', null, ['amd64']);
  s.index('multi', 'latest', [c1.manifest, s.image('multi', null, ['arm64']).manifest]);
  s.layerLink('other', s.blob('stray'));
  for (let i = 0; i < 70; i++) s.blob(`orphan ${i}`); // longer than a JSON batch of short arrays
  await preview(s); // scans into the index
  const dbFile = path.join(s.root, 'idx.db');
  for (const format of ['json', 'csv', 'table'] as const)
    for (const selection of [{}, { repositories: ['multi'] }, { exclude: ['multi'] }]) {
      const held = await runGcPreview({ dbFile, format, selection });
      const chunks: string[] = [];
      const written = await runGcPreview({ dbFile, format, selection, write: (c) => chunks.push(c) });
      assert.deepEqual([...written.output], []);
      assert.equal(chunks.join(''), [...held.output].join(''), `${format} ${JSON.stringify(selection)}`);
      if (format === 'json') {
        const doc = JSON.parse(chunks.join('')) as { scenarios: Array<{ blobs: { count: number; items: unknown[] } }> };
        assert.ok(doc.scenarios.every((x) => x.blobs.items.length === x.blobs.count && x.blobs.count >= 70));
      }
    }
});
