/**
 * regaudit gc on built trees: the --min-age guards (a push in progress), 3.x's closure rule under
 * --delete-untagged, the switches, the refusal when part of the storage cannot be read, and the
 * refusal when the storage changed since the scan. Equality with the real registry is in
 * test/e2e/gc-apply-equality.test.ts, crash safety in test/safety/gc-crash.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runGc } from '../../src/app/gc.js';
import { StorageError } from '../../src/errors.js';
import { gc, HOUR, tree } from './support.js';

const kinds = (xs: Array<{ kind: string; reason: string }>): string[] => xs.map((x) => `${x.kind} ${x.reason}`).sort();

test('--min-age: a fresh blob and an old blob a push just linked stay; old garbage goes', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  const old = s.blob('unreferenced and old');
  const mounted = s.blob('old blob a push in progress mounts');
  s.age(2 * HOUR);
  const fresh = s.blob('just uploaded');
  s.layerLink('pushing', mounted); // written now
  const run = await gc(s);
  const blobs = run.plan.items.filter((i) => i.kind === 'blob').map((i) => i.digest);
  assert.deepEqual(blobs, [old]);
  const kept = new Map(run.plan.kept.map((k) => [k.digest ?? k.path, k.reason]));
  assert.equal(kept.get(fresh), 'recent');
  assert.equal(kept.get(mounted), 'recent-link');
  assert.equal(run.plan.totals.blobBytes, 'unreferenced and old'.length);
  const json = JSON.parse(run.output) as { applied: boolean; mode: string; items: unknown[] };
  assert.deepEqual([json.applied, json.mode, json.items.length], [false, 'dry-run', run.plan.items.length]);
});

test('--delete-untagged: an untagged image goes with what only it holds; the children of a tagged index stay', async (t) => {
  const s = tree(t);
  const a = s.image('multi', null, ['amd64 layer']);
  const b = s.image('multi', null, ['arm64 layer']);
  s.index('multi', 'latest', [a.manifest, b.manifest]);
  const old = s.image('app', null, ['base', 'old only']);
  s.image('app', 'v1', ['base', 'new']);
  s.age(2 * HOUR);
  const plain = await gc(s);
  assert.equal(plain.plan.totals.manifests, 0, 'without the flag nothing untagged is planned');
  const run = await gc(s, { deleteUntagged: true });
  const manifests = run.plan.items.filter((i) => i.kind === 'manifest').map((i) => `${i.repository} ${i.digest}`);
  assert.deepEqual(manifests, [`app ${old.manifest}`]);
  const blobs = run.plan.items.filter((i) => i.kind === 'blob');
  assert.deepEqual(blobs.map((i) => i.digest).sort(), [old.manifest, old.config, old.layers[1]!].sort());
  assert.ok(blobs.every((i) => i.reason === 'untagged-only' && i.repository === 'app'));
  assert.deepEqual(
    run.plan.items
      .filter((i) => i.kind === 'layer-link')
      .map((i) => i.digest)
      .sort(),
    [old.config, old.layers[1]!].sort(),
    'the shared base stays linked',
  );
  assert.equal(run.plan.repositories.find((r) => r.name === 'app')?.bytes, run.plan.totals.blobBytes);
});

test('--delete-untagged: an untagged revision newer than --min-age keeps what untagged manifests hold', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  const old = s.image('app', null, ['old only']);
  s.age(2 * HOUR);
  s.image('app', null, ['just pushed, tag next']);
  const run = await gc(s, { deleteUntagged: true });
  assert.ok(!run.plan.items.some((i) => i.digest === old.layers[0]), 'held by an untagged manifest while one is kept');
  assert.ok(run.plan.kept.some((k) => k.kind === 'manifest' && k.reason === 'recent'));
});

test('the switches: --no-layer-links, --no-uploads, --no-repositories', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  const d = s.blob('pending layer');
  s.layerLink('pending', d);
  s.layerLink('app', s.blob('unreferenced in app'));
  s.upload('app', 'u1', '2020-01-01T00:00:00Z', 'half');
  s.age(200 * HOUR);
  const all = await gc(s);
  assert.deepEqual(kinds(all.plan.items), [
    'blob unreferenced',
    'blob unreferenced',
    'layer-link unreferenced-link',
    'repository empty-repository',
    'upload stale-upload',
  ]);
  const none = await gc(s, { layerLinks: false, uploads: false, repositories: false });
  assert.deepEqual(kinds(none.plan.items), ['blob unreferenced', 'blob unreferenced']);
});

test('part of the storage unreadable: the plan says why, --apply refuses and changes nothing', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  s.blob('garbage');
  s.age(2 * HOUR);
  symlinkSync(path.join(s.v2, 'repositories/app'), path.join(s.v2, 'repositories/mirror'));
  const run = await gc(s);
  assert.ok(run.plan.blocked.length > 0, 'blocked');
  assert.match(run.output, /"blocked": \[/);
  const before = s.listing();
  await assert.rejects(
    gc(s, { apply: true }),
    (e: unknown) => e instanceof StorageError && /could not be read/.test(e.message),
  );
  assert.deepEqual(s.listing(), before);
});

test('a revision whose manifest could not be parsed blocks the plan, which names it', async (t) => {
  const s = tree(t);
  const img = s.image('app', 'v1', ['base']);
  s.blob('garbage');
  s.age(2 * HOUR);
  const hex = img.manifest.slice('sha256:'.length);
  writeFileSync(path.join(s.v2, `blobs/sha256/${hex.slice(0, 2)}/${hex}/data`), 'not a manifest');
  const run = await gc(s);
  assert.deepEqual(
    run.plan.blocked.filter((b) => b.why.startsWith('manifest ')),
    [{ where: 'app', why: `manifest ${img.manifest} was not read (not-json)` }],
  );
});

test('storage changed since the scan: --apply from the index refuses and changes nothing', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  s.blob('garbage');
  s.age(2 * HOUR);
  await gc(s); // scans into the index
  s.image('late', 'v1', ['pushed after the scan']);
  const tag = path.join(s.v2, 'repositories/late/_manifests/tags/v1/current/link');
  utimesSync(tag, new Date(Date.now() - 2 * HOUR), new Date(Date.now() - 2 * HOUR));
  const before = s.listing();
  await assert.rejects(
    runGc({
      dbFile: path.join(s.root, 'idx.db'),
      format: 'json',
      apply: true,
      now: Date.now(),
      minAgeMs: 0,
      uploadAgeMs: 0,
      deleteUntagged: false,
      layerLinks: true,
      uploads: true,
      repositories: true,
    }),
    (e: unknown) => e instanceof StorageError && /changed since the scan \(repository late appeared\)/.test(e.message),
  );
  assert.deepEqual(s.listing(), before);
});

/** Each run scans again: its scan time is the one difference. */
const scanTime = (out: string): string => out.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T');

test('a dry run written as it is planned: items spilled to a file read back exactly as planned in memory', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['base']);
  s.image('app', null, ['untagged']); // an untagged manifest, its config and layer
  const deleted = s.image('gone', 'v1', ['only here']);
  s.apiDelete('gone', deleted.manifest, ['v1']);
  for (let i = 0; i < 5; i++) s.blob(`garbage ${i}`);
  s.layerLink('app', s.blob('linked garbage'));
  s.upload('app', 'stale', '2020-01-01T00:00:00Z', 'partial');
  s.age(200 * HOUR);
  for (const deleteUntagged of [false, true])
    for (const format of ['json', 'csv', 'table'] as const) {
      const held = await gc(s, { deleteUntagged, format, uploadAgeMs: HOUR });
      assert.ok(held.plan.items.length >= 8, `${format}: a plan of several kinds (${held.plan.items.length} items)`);
      for (const heldItems of [1, 3, 1000]) {
        const chunks: string[] = [];
        const written = await gc(s, {
          deleteUntagged,
          format,
          uploadAgeMs: HOUR,
          heldItems,
          write: (c) => chunks.push(c),
        });
        assert.equal(
          scanTime(chunks.join('')),
          scanTime(held.output),
          `${format}, deleteUntagged ${deleteUntagged}, ${heldItems} held`,
        );
        assert.deepEqual(written.plan.totals, held.plan.totals);
        if (format === 'table') assert.equal(written.plan.items.length, 0, 'a table lists no items, so none are kept');
        else if (heldItems < held.plan.items.length) {
          assert.equal(written.plan.items.length, 0);
          assert.ok(written.plan.each, 'spilled: items read back from the spill file as they were written');
        } else assert.deepEqual(written.plan.items, held.plan.items);
      }
    }
});
