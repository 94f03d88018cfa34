/**
 * The checks `regaudit gc --apply` makes against the scan (src/reclaim/guard.ts), each shown to
 * hold: a repository changed between the scan and the apply (even a link rewritten with its size
 * and mtime put back) stops the run; a link naming a doomed blob that appears while the run is
 * removing links (in an untouched repository, in one the run removed a link from, in a new one, or
 * by rewriting a tag) keeps that blob; an upload written to, or an empty repository tagged, just
 * before its turn stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { runGc, GcOptions } from '../../src/app/gc.js';
import { StorageError } from '../../src/errors.js';
import type { GcItemResult } from '../../src/reclaim/apply.js';
import type { StorageTree } from '../helpers/tree.js';
import { gc as gcDryRun, HOUR, tree } from './support.js';

function gc(s: StorageTree, o: Partial<GcOptions> = {}): ReturnType<typeof runGc> {
  return gcDryRun(s, { apply: true, uploadAgeMs: HOUR, ...o });
}

/** Runs `fn` once, after the first finished item of kind `after`. */
function once(after: GcItemResult['kind'], fn: () => void): (r: GcItemResult) => void {
  let done = false;
  return (r) => {
    if (done || r.kind !== after) return;
    done = true;
    fn();
  };
}

/** A tree with a tagged image, an old unreferenced blob linked from `stale` (the run removes that link), and `garbage`. */
function base(s: StorageTree): { garbage: string; linked: string } {
  s.image('app', 'v1', ['base']);
  s.image('other', 'v1', ['other base']);
  const garbage = s.blob('garbage');
  const linked = s.blob('linked from stale only');
  s.layerLink('stale', linked);
  s.image('stale', 'v1', ['stale base']);
  s.age(2 * HOUR);
  return { garbage, linked };
}

async function scanOnly(s: StorageTree): Promise<void> {
  await gc(s, { apply: false });
}

const outcome = (items: GcItemResult[], rel: string): string | undefined => {
  const i = items.find((x) => x.path === rel);
  return i && `${i.outcome}${i.detail ? `: ${i.detail}` : ''}`;
};

const blobRel = (d: string): string => `blobs/sha256/${d.slice(7, 9)}/${d.slice(7)}`;

test('a link added to a repository after the scan stops the run before anything changes', async (t) => {
  const s = tree(t);
  base(s);
  await scanOnly(s);
  s.layerLink('other', s.blob('pushed after the scan'));
  const before = s.listing();
  await assert.rejects(
    gc(s, { root: undefined }),
    (e: unknown) => e instanceof StorageError && /changed since the scan \(repository other changed/.test(e.message),
  );
  assert.deepEqual(s.listing(), before);
});

test('a link rewritten after the scan, size and mtime put back, stops the run (its ctime moved)', async (t) => {
  const s = tree(t);
  const { garbage } = base(s);
  await scanOnly(s);
  const link = path.join(s.v2, 'repositories/other/_manifests/tags/v1/current/link');
  // Same length (a sha256 digest), same mtime as before: only the ctime tells.
  const old = new Date(Date.now() - 2 * HOUR);
  writeFileSync(link, garbage);
  utimesSync(link, old, old);
  await assert.rejects(
    gc(s, { root: undefined }),
    (e: unknown) => e instanceof StorageError && /repository other changed/.test(e.message),
  );
});

for (const where of ['app', 'stale', 'newcomer'] as const) {
  test(`a layer link naming a doomed blob, written in ${where} while links are removed, keeps the blob`, async (t) => {
    const s = tree(t);
    const { garbage, linked } = base(s);
    const run = await gc(s, {
      onItem: once('layer-link', () => s.layerLink(where, garbage)),
    });
    const items = run.result!.items;
    assert.equal(outcome(items, blobRel(garbage)), 'skipped: a repository links it now');
    assert.equal(outcome(items, blobRel(linked)), 'deleted', 'what no link names still goes');
    assert.ok(s.exists(`${blobRel(garbage)}/data`));
  });
}

test('a tag rewritten to name a doomed manifest blob while links are removed keeps the blob', async (t) => {
  const s = tree(t);
  const { garbage } = base(s);
  const run = await gc(s, {
    onItem: once('layer-link', () => s.file('repositories/app/_manifests/tags/v1/current/link', garbage)),
  });
  assert.equal(outcome(run.result!.items, blobRel(garbage)), 'skipped: a repository links it now');
});

test('a stray entry in a directory the run removed a link from is read, not trusted', async (t) => {
  const s = tree(t);
  const { garbage } = base(s);
  const run = await gc(s, {
    onItem: once('layer-link', () => s.dir(`repositories/stale/_layers/sha256/${garbage.slice(7)}`)),
  });
  // An empty link directory names nothing (the registry reads it as absent): the blob goes, after a re-read.
  assert.equal(outcome(run.result!.items, blobRel(garbage)), 'deleted');
});

test('an upload written to just before its turn stays', async (t) => {
  const s = tree(t);
  base(s);
  s.upload('stale', 'u1', '2020-01-01T00:00:00Z', 'half');
  s.age(2 * HOUR);
  const run = await gc(s, {
    onItem: once('layer-link', () => s.file('repositories/stale/_uploads/u1/data', 'half and more')),
  });
  assert.equal(outcome(run.result!.items, 'repositories/stale/_uploads/u1'), 'skipped: written to since the scan');
  assert.ok(s.exists('repositories/stale/_uploads/u1/data'));
});

test('an empty repository tagged just before its turn stays', async (t) => {
  const s = tree(t);
  const { garbage } = base(s);
  s.layerLink('empty', s.blob('pending layer'));
  s.age(2 * HOUR);
  const run = await gc(s, {
    onItem: once('layer-link', () => s.tagLink('empty', 'v1', garbage)),
  });
  assert.equal(outcome(run.result!.items, 'repositories/empty'), 'skipped: its contents changed');
  assert.equal(outcome(run.result!.items, blobRel(garbage)), 'skipped: a repository links it now');
  assert.ok(s.exists('repositories/empty/_manifests/tags/v1/current/link'));
});
